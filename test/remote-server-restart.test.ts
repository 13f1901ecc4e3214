/**
 * Remote crawling through a real Redis: `doctor serve --redis` killed with SIGKILL mid-crawl resumes the job from
 * its frontier when started again; results addressed to the dead server are dropped; every page stored once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Server } from './helpers/doctor-process.js';
import { RedisServer } from './helpers/redis-server.js';
import { tempDir } from './helpers/tmp.js';
import { assertStoredOnce, startWorker, TreeSite, until } from './helpers/remote.js';

describe('remote crawl workers through Redis: the server restarts', () => {
  let redis: RedisServer;
  before(async () => {
    redis = await RedisServer.start();
  });
  after(async () => {
    await redis?.kill();
  });

  it('the server killed mid-crawl resumes from its frontier; results addressed to the dead server are dropped', async () => {
    const site = await new TreeSite(80).start();
    const dir = tempDir();
    const serverEnv = { DOCTOR_REDIS_URL: redis.url, DOCTOR_PER_HOST_CONCURRENCY: '4' };
    let server = await new Server(dir, serverEnv).ready();
    const w = await startWorker(redis.url);
    try {
      const started = await server.api('POST', '/fetch_url', { url: `${site.url}/p/0.html`, max_pages: 30, max_depth: 10 });
      assert.equal(started.status, 200, JSON.stringify(started.body));
      await until('10 pages were fetched', () => site.pagesHit >= 10);
      await server.stop('SIGKILL');
      server = await new Server(dir, serverEnv).ready();
      const done = await server.waitForJob(started.body.job_id, 90_000);
      assert.equal(done.status, 'completed', JSON.stringify(done));
      assert.equal(done.pages_crawled, 30);
    } finally {
      await w.close();
      await server.stop();
      await site.close();
    }
    await assertStoredOnce(dir, 30);
  });

});
