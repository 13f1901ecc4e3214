/**
 * Redis out of memory during a crawl through workers (maxmemory reached with maxmemory-policy noeviction:
 * every write is refused with OOM): the crawl stops within seconds saying so and what to do, instead of
 * waiting forever for results Redis cannot hand over; the server stays up and crawls again once Redis has room.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RedisServer } from './helpers/redis-server.js';
import { tempDir } from './helpers/tmp.js';
import { startLocalServer, startWorker, TreeSite, until, WorkerProcess } from './helpers/remote.js';

describe('remote crawl workers: Redis out of memory', () => {
  let redis: RedisServer;
  before(async () => {
    redis = await RedisServer.start();
  });
  after(async () => {
    await redis?.kill();
  });

  it('a Redis that may evict keys is named once, with what to set, by doctor worker', async () => {
    const admin = redis.client();
    await admin.config('SET', 'maxmemory-policy', 'allkeys-lru');
    const w = new WorkerProcess(redis.url);
    try {
      await until('the worker warned', () => w.stderr.includes('maxmemory-policy allkeys-lru'), 30_000);
      const ours = w.stderr.split('maxmemory-policy allkeys-lru: when full it deletes queued crawl pages').length - 1;
      assert.equal(ours, 1, w.stderr);
      assert.match(w.stderr, /Set it to noeviction \(redis-cli CONFIG SET maxmemory-policy noeviction/);
    } finally {
      await w.stop();
      await admin.config('SET', 'maxmemory-policy', 'noeviction');
      admin.disconnect();
    }
  });

  it('a crawl stops with a message naming maxmemory when Redis refuses writes; the server stays up', async () => {
    const site = await new TreeSite(30).start();
    const server = await startLocalServer(tempDir(), redis.url);
    const worker = await startWorker(redis.url);
    const admin = redis.client();
    try {
      const started = await server.api('POST', '/fetch_url', { url: `${site.url}/p/0.html`, max_pages: 300, max_depth: 10 });
      await until('10 pages were fetched', () => site.pagesHit >= 10);
      await admin.config('SET', 'maxmemory-policy', 'noeviction');
      await admin.config('SET', 'maxmemory', '1'); // below what Redis holds: every write is refused
      const t0 = Date.now();
      const done = await server.waitForJob(started.body.job_id);
      assert.ok(Date.now() - t0 < 30_000, `stopped within seconds (${Date.now() - t0} ms)`);
      assert.equal(done.status, 'failed', JSON.stringify(done));
      assert.match(done.error_message, /Redis at redis:\/\/127\.0\.0\.1:\d+\/? is out of memory.*raise its maxmemory/, done.error_message);
      assert.ok(done.pages_crawled > 0 && done.pages_crawled < 300, `pages stored before: ${done.pages_crawled}`);
      assert.equal((await server.api('GET', '/health')).status, 200);

      await admin.config('SET', 'maxmemory', '0');
      const again = await server.api('POST', '/fetch_url', { url: `${site.url}/p/0.html`, max_pages: 20, max_depth: 10 });
      const second = await server.waitForJob(again.body.job_id);
      assert.equal(second.status, 'completed', JSON.stringify(second));
      assert.equal(second.pages_crawled, 20);
    } finally {
      admin.disconnect();
      await worker.close();
      await server.close();
      await site.close();
    }
  });
});
