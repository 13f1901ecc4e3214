/**
 * Remote crawling through a real Redis (Debian's redis-server on a free loopback port): `doctor serve --redis`
 * and `doctor worker` crawl a loopback site; a worker is killed, Redis is restarted, a job is cancelled; every page
 * ends up stored once with its chunks and vectors. (The server killed mid-crawl: remote-server-restart.test.ts.)
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sleep } from './helpers/doctor-process.js';
import { freePort, RedisServer } from './helpers/redis-server.js';
import { tempDir } from './helpers/tmp.js';
import { LexicalEmbedder } from '../src/embed/lexical.js';
import { WorkerRefused, type PageWorker } from '../src/ingest/remote/page-worker.js';
import { assertStoredOnce, startLocalServer, startWorker, TreeSite, until, WorkerProcess } from './helpers/remote.js';

describe('remote crawl workers through Redis', () => {
  let redis: RedisServer;
  before(async () => {
    redis = await RedisServer.start();
  });
  after(async () => {
    await redis?.kill();
  });

  it('two workers crawl into one server; a worker killed with -9 and a Redis restart lose nothing and store nothing twice', async () => {
    const site = await new TreeSite(100).start();
    const dir = tempDir();
    const server = await startLocalServer(dir, redis.url, { perHostConcurrency: 2 });
    const a = new WorkerProcess(redis.url);
    let b: PageWorker | undefined;
    try {
      await a.ready();
      b = await startWorker(redis.url);
      const started = await server.api('POST', '/fetch_url', { url: `${site.url}/p/0.html`, max_pages: 40, max_depth: 10 });
      assert.equal(started.status, 200, JSON.stringify(started.body));
      await until('8 pages were fetched', () => site.pagesHit >= 8);
      await a.stop('SIGKILL');
      await until('20 pages were fetched', () => site.pagesHit >= 20);
      await redis.kill();
      await sleep(300);
      await redis.launch();
      const done = await server.waitForJob(started.body.job_id);
      assert.equal(done.status, 'completed', JSON.stringify(done));
      assert.equal(done.pages_crawled, 40);
      // politeness per host held across both workers (DOCTOR_PER_HOST_CONCURRENCY=2 on the server)
      assert.ok(site.maxInFlight <= 2, `at most 2 requests at once to the site, saw ${site.maxInFlight}`);

      const workers = await server.api('GET', '/workers');
      assert.equal(workers.body.remote, true);
      const live = (workers.body.workers as { id: string; pages_done: number; pages_last_minute: number }[]).filter((w) => w.id === b!.id);
      assert.equal(live.length, 1, `the live worker is listed: ${JSON.stringify(workers.body)}`);
      assert.ok(live[0]!.pages_done > 0 && live[0]!.pages_last_minute > 0, 'with its throughput');
      assert.ok(!(workers.body.workers as { pid: number }[]).some((w) => w.pid === a.child.pid), 'the killed worker is not listed as connected');
      assert.ok(b.pagesDone > 0, 'the worker in this process took pages too');
      const health = await server.api('GET', '/health');
      assert.equal(health.body.workers?.workers?.length, 1, JSON.stringify(health.body));
    } finally {
      await Promise.all([a.stop('SIGKILL'), b?.close()]);
      await server.close();
      await site.close();
    }
    await assertStoredOnce(dir, 40);
  });

  it('cancel: workers stop taking the job\'s pages', async () => {
    const site = await new TreeSite(300).start();
    const dir = tempDir();
    const server = await startLocalServer(dir, redis.url, { perHostConcurrency: 4 });
    const w = await startWorker(redis.url);
    try {
      const started = await server.api('POST', '/fetch_url', { url: `${site.url}/p/0.html`, max_pages: 500, max_depth: 20 });
      await until('6 pages were fetched', () => site.pagesHit >= 6);
      const cancelled = await server.api('POST', '/cancel_job', { job_id: started.body.job_id });
      assert.equal(cancelled.body.status, 'cancelled', JSON.stringify(cancelled.body));
      const atCancel = site.pagesHit;
      await sleep(1500);
      // pages already being fetched finish (at most the worker's 4), nothing new starts
      assert.ok(site.pagesHit <= atCancel + 4, `fetched after the cancel: ${site.pagesHit - atCancel}`);
      const c = redis.client();
      try {
        assert.equal(await c.llen('doctor:pages:wait'), 0, 'no page of the cancelled job waits in Redis');
      } finally {
        c.disconnect();
      }
    } finally {
      await w.close();
      await server.close();
      await site.close();
    }
  });

  it('a worker with another embedding model or dimension is refused with a clear message', async () => {
    const dir = tempDir();
    const server = await startLocalServer(dir, redis.url);
    try {
      await assert.rejects(
        startWorker(redis.url, {}, new LexicalEmbedder(128)),
        (e: Error) => e instanceof WorkerRefused && /dimension 128.*dimension 256.*DOCTOR_EMBEDDING_DIM/s.test(e.message),
      );
      const listed = await server.api('GET', '/workers');
      const refused = (listed.body.workers as { refused?: string }[]).filter((w) => w.refused);
      assert.equal(refused.length, 1, 'doctor workers shows the refused worker and why');
    } finally {
      await server.close();
    }
  });

  it('the worker applies its own SSRF guard; a re-crawl does not embed unchanged pages again', async () => {
    const site = await new TreeSite(0).start();
    const dir = tempDir();
    const server = await startLocalServer(dir, redis.url);
    let guarded: PageWorker | undefined = await startWorker(redis.url, { allowHosts: [] });
    let open: PageWorker | undefined;
    try {
      const first = await server.api('POST', '/fetch_url', { url: `${site.url}/p/0.html`, max_pages: 5, max_depth: 5 });
      const refused = await server.waitForJob(first.body.job_id);
      assert.equal(refused.status, 'failed', 'the worker without DOCTOR_ALLOW_HOSTS may not reach 127.0.0.1');
      assert.match(refused.error_message, /blocked|private|loopback/i, refused.error_message);
      assert.equal(site.pagesHit, 0, 'nothing was fetched from the blocked address');
      await guarded.close();
      guarded = undefined;

      open = await startWorker(redis.url);
      // depth 2 of the tree: the same 7 pages each time
      const second = await server.api('POST', '/fetch_url', { url: `${site.url}/p/0.html`, max_pages: 20, max_depth: 2 });
      assert.equal((await server.waitForJob(second.body.job_id)).pages_crawled, 7);
      const chunks = open.chunksMade;
      assert.ok(chunks > 0);
      const third = await server.api('POST', '/fetch_url', { url: `${site.url}/p/0.html`, max_pages: 20, max_depth: 2 });
      assert.equal((await server.waitForJob(third.body.job_id)).pages_crawled, 7);
      assert.equal(open.chunksMade, chunks, 'the unchanged pages were not chunked or embedded again');
    } finally {
      await guarded?.close();
      await open?.close();
      await server.close();
      await site.close();
    }
    await assertStoredOnce(dir, 7);
  });

  it('a password missing or wrong, or rediss:// to a Redis without TLS: serve and worker stop within seconds saying what to fix', async () => {
    const locked = await RedisServer.start(['--requirepass', 'sekret']);
    try {
      const url = (auth: string) => `redis://${auth}127.0.0.1:${locked.port}`;
      const t0 = Date.now();
      await assert.rejects(startLocalServer(tempDir(), url('')), /\(NOAUTH .*\): put its password in the URL \(redis:\/\/:password@host:port/);
      await assert.rejects(startWorker(url(':wrong@')), /redis:\/\/:\*\*\*@127.*\(WRONGPASS .*\): put its password in the URL/);
      await assert.rejects(startWorker(`rediss://127.0.0.1:${locked.port}`), /\(no answer\): rediss:\/\/ speaks TLS: use redis:\/\/ for a Redis without TLS/);
      assert.ok(Date.now() - t0 < 20_000, `within seconds (${Date.now() - t0} ms)`);
    } finally {
      await locked.kill();
    }
  });

  it('a second server (another database) on the same Redis is refused at start; on its own database number it crawls', async () => {
    const site = await new TreeSite(0).start();
    const first = await startLocalServer(tempDir(), redis.url);
    let second: Awaited<ReturnType<typeof startLocalServer>> | undefined;
    let worker: PageWorker | undefined;
    try {
      await assert.rejects(
        startLocalServer(tempDir(), redis.url),
        /another Doctor server \(database .*doctor\.duckdb on .*\) uses the Redis at redis:\/\/127\.0\.0\.1:\d+\/?: .*its own Redis or database number \(redis:\/\/host:6379\/1/,
      );
      second = await startLocalServer(tempDir(), `${redis.url}/1`);
      worker = await startWorker(`${redis.url}/1`);
      const started = await second.api('POST', '/fetch_url', { url: `${site.url}/p/0.html`, max_pages: 10, max_depth: 5 });
      const done = await second.waitForJob(started.body.job_id);
      assert.equal(done.pages_crawled, 10, JSON.stringify(done));
    } finally {
      await worker?.close();
      await second?.close();
      await first.close();
      await site.close();
    }
    // a server that stopped leaves the Redis to the next one at once
    const next = await startLocalServer(tempDir(), redis.url);
    await next.close();
  });

  it('a server and a worker stopped right after they start leave no error behind (BullMQ\'s connections finish their handshake first)', async () => {
    // Closed mid-handshake, BullMQ's blocking connection failed its handshake commands with nobody listening: an
    // unhandled rejection ("Connection is closed."), which ends a process. Seen on a busy machine, 1 run in 4.
    const rejections: unknown[] = [];
    const onRejection = (e: unknown) => rejections.push(e);
    process.on('unhandledRejection', onRejection);
    try {
      for (let i = 0; i < 10; i++) {
        const server = await startLocalServer(tempDir(), redis.url);
        await server.close();
        const worker = await startWorker(redis.url);
        await worker.close();
      }
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      process.off('unhandledRejection', onRejection);
    }
    assert.deepEqual(rejections.map(String), []);
  });

  it('a server that cannot reach its Redis stops at start with a message saying what to do', async () => {
    const port = await freePort();
    await assert.rejects(startLocalServer(tempDir(), `redis://127.0.0.1:${port}`), /cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+.*DOCTOR_REDIS_URL/);
  });
});
