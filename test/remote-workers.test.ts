/**
 * Remote crawling through a real Redis (Debian's redis-server on a free loopback port): `doctor serve --redis`
 * and `doctor worker` processes crawl a loopback site; workers are killed, Redis is restarted, the server is
 * killed, a job is cancelled; every page ends up stored once with its chunks and vectors.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server as HttpServer } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CLI, env, Server, sleep, type Json } from './helpers/doctor-process.js';
import { loadConfig, type ConfigOverrides } from '../src/config/config.js';
import { LexicalEmbedder } from '../src/embed/lexical.js';
import { PageWorker, WorkerRefused } from '../src/ingest/remote/page-worker.js';
import { silentLogger } from '../src/log.js';
import { startServer } from '../src/server/serve.js';
import { freePort, RedisServer } from './helpers/redis-server.js';
import { makeContext } from './helpers/context.js';
import { tempDir } from './helpers/tmp.js';
import { chunkSearchText } from '../src/ingest/extract/chunker.js';

/** A binary tree of pages (page n links to 2n+1 and 2n+2), each answered after `delayMs`. */
class TreeSite {
  readonly hits = new Map<string, number>();
  inFlight = 0;
  maxInFlight = 0;
  private server!: HttpServer;
  url = '';

  constructor(private readonly delayMs: number) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const n = Number(/^\/p\/(\d+)\.html$/.exec(req.url ?? '')?.[1] ?? -1);
      if (n < 0) return void res.writeHead(404).end();
      this.hits.set(req.url!, (this.hits.get(req.url!) ?? 0) + 1);
      this.inFlight++;
      this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
      setTimeout(() => {
        this.inFlight--;
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end(
          `<html><head><title>Page ${n}</title></head><body><main><h1>Page ${n}</h1>` +
            `<h2>Install</h2><p>${`Page ${n} explains how to install widget ${n}. `.repeat(25)}</p>` +
            `<h2>Configure</h2><p>${`Configure option ${n} with care. `.repeat(25)}</p>` +
            `<a href="/p/${2 * n + 1}.html">left</a> <a href="/p/${2 * n + 2}.html">right</a></main></body></html>`,
        );
      }, this.delayMs);
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
    return this;
  }

  get pagesHit(): number {
    return this.hits.size;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}

/** A `doctor worker` child process. */
class WorkerProcess {
  readonly child: ChildProcess;
  stderr = '';
  readonly exited: Promise<number | null>;

  constructor(redisUrl: string, extraEnv: Record<string, string> = {}) {
    this.child = spawn(process.execPath, [...CLI, 'worker', '--redis', redisUrl, '--concurrency', '4'], {
      env: { ...env, DOCTOR_WORKER_LOCK_MS: '1500', ...extraEnv },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.child.stderr!.on('data', (d) => (this.stderr += d));
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  async ready(): Promise<this> {
    for (let i = 0; i < 600 && !this.stderr.includes('is taking crawl pages'); i++) {
      assert.equal(this.child.exitCode, null, `doctor worker exited: ${this.stderr}`);
      await sleep(50);
    }
    assert.ok(this.stderr.includes('is taking crawl pages'), `the worker did not start: ${this.stderr}`);
    return this;
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    await this.exited;
  }
}

/** A worker in this process (the faults that need a process of their own use WorkerProcess). */
async function startWorker(redisUrl: string, overrides: ConfigOverrides = {}, dimension = 256): Promise<PageWorker> {
  const config = loadConfig({ logLevel: 'silent', allowHosts: '127.0.0.1', perHostDelayMs: 0, render: 'never', ...overrides }, {});
  const w = new PageWorker({ redisUrl, config, embedder: new LexicalEmbedder(dimension), log: silentLogger, concurrency: 4, lockMs: 1500 });
  try {
    await w.start();
  } catch (e) {
    await w.close();
    throw e;
  }
  return w;
}

/** `doctor serve --redis` in this process. */
async function startLocalServer(dir: string, redisUrl: string, overrides: ConfigOverrides = {}) {
  const config = loadConfig(
    {
      dataDir: dir,
      port: 0,
      redisUrl,
      embeddingProvider: 'lexical',
      embeddingDimension: 256,
      allowHosts: '127.0.0.1',
      perHostDelayMs: 0,
      render: 'never',
      logLevel: 'silent',
      ...overrides,
    },
    {},
  );
  const server = await startServer(config);
  const api = async (method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; body: Json }> => {
    const r = await fetch(server.url + path, {
      method,
      headers: body ? { 'content-type': 'application/json' } : {},
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: r.status, body: (await r.json()) as Json };
  };
  const waitForJob = async (jobId: string): Promise<Json> => {
    let p: Json = {};
    await until(`job ${jobId} finished`, async () => (p = (await api('GET', `/job_progress?job_id=${jobId}`)).body).completed, 90_000);
    return p;
  };
  return { ...server, api, waitForJob };
}

async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    assert.ok(Date.now() < end, `timed out waiting until ${what}`);
    await sleep(50);
  }
}

/** Opens the database the server left and checks: every page once, each with its chunks, each chunk with a vector. */
async function assertStoredOnce(dir: string, expectedPages: number): Promise<void> {
  const ctx = await makeContext({ dbPath: join(dir, 'doctor.duckdb'), runner: false });
  try {
    const db = ctx.store.db;
    const [pages] = await db.all<{ n: number; urls: number }>('SELECT count(*)::INTEGER AS n, count(DISTINCT url)::INTEGER AS urls FROM pages');
    assert.equal(pages!.n, expectedPages, 'every page of the crawl is stored');
    assert.equal(pages!.urls, expectedPages, 'no page is stored twice');
    const [noChunks] = await db.all<{ n: number }>(
      'SELECT count(*)::INTEGER AS n FROM pages p WHERE NOT EXISTS (SELECT 1 FROM document_embeddings e WHERE e.page_id = p.id)',
    );
    assert.equal(noChunks!.n, 0, 'every page has its chunks');
    const [dupChunks] = await db.all<{ n: number }>(
      'SELECT count(*)::INTEGER AS n FROM (SELECT page_id, chunk_index FROM document_embeddings GROUP BY ALL HAVING count(*) > 1)',
    );
    assert.equal(dupChunks!.n, 0, 'no chunk is stored twice');
    const [noVector] = await db.all<{ n: number }>(
      'SELECT count(*)::INTEGER AS n FROM document_embeddings WHERE embedding IS NULL OR array_length(embedding) <> 256',
    );
    assert.equal(noVector!.n, 0, 'every chunk has its 256-dimension vector');
    // the vectors are the ones the server's own embedder makes for those chunks
    const sample = await db.all<{ text_chunk: string; title: string; heading_path: string | null; embedding: number[] }>(
      'SELECT text_chunk, title, heading_path, embedding FROM document_embeddings ORDER BY url, chunk_index LIMIT 5',
    );
    const texts = sample.map((r) => chunkSearchText({ text: r.text_chunk, headingPath: r.heading_path ? r.heading_path.split(' > ') : [], index: 0 }, r.title));
    const expected = await ctx.embedder.embed(texts);
    sample.forEach((r, i) => {
      const got = Array.from(r.embedding as ArrayLike<number>);
      got.forEach((x, j) => assert.ok(Math.abs(x - expected[i]![j]!) < 1e-5, `chunk ${i}, element ${j}: ${x} vs ${expected[i]![j]}`));
    });
  } finally {
    await ctx.close();
  }
}

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
    const t0 = Date.now();
    const t = (what: string) => console.log(`${what} at ${Date.now() - t0} ms, ${site.pagesHit} pages fetched`);
    const a = new WorkerProcess(redis.url);
    let b: PageWorker | undefined;
    try {
      await a.ready();
      t('worker process ready');
      b = await startWorker(redis.url);
      const started = await server.api('POST', '/fetch_url', { url: `${site.url}/p/0.html`, max_pages: 40, max_depth: 10 });
      assert.equal(started.status, 200, JSON.stringify(started.body));
      t('job started');
      await until('8 pages were fetched', () => site.pagesHit >= 8);
      t('8 pages');
      await a.stop('SIGKILL');
      await until('20 pages were fetched', () => site.pagesHit >= 20);
      await redis.kill();
      await sleep(300);
      await redis.launch();
      t('redis back');
      const done = await server.waitForJob(started.body.job_id);
      t('job done');
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
        startWorker(redis.url, {}, 128),
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

  it('a server that cannot reach its Redis stops at start with a message saying what to do', async () => {
    const port = await freePort();
    await assert.rejects(startLocalServer(tempDir(), `redis://127.0.0.1:${port}`), /cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+.*DOCTOR_REDIS_URL/);
  });
});
