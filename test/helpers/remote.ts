/** For the remote-crawl tests: a loopback site, workers (in this process or as processes), a server with --redis, checks. */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server as HttpServer } from 'node:http';
import { join } from 'node:path';
import { CLI, env, sleep, type Json } from './doctor-process.js';
import { loadConfig, type ConfigOverrides } from '../../src/config/config.js';
import type { Embedder } from '../../src/embed/embedder.js';
import { LexicalEmbedder } from '../../src/embed/lexical.js';
import { PageWorker } from '../../src/ingest/remote/page-worker.js';
import { silentLogger } from '../../src/log.js';
import { startServer } from '../../src/server/serve.js';
import { makeContext } from './context.js';
import { chunkSearchText } from '../../src/ingest/extract/chunker.js';

/** A binary tree of pages (page n links to 2n+1 and 2n+2), each answered after `delayMs`. */
export class TreeSite {
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
export class WorkerProcess {
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
export async function startWorker(redisUrl: string, overrides: ConfigOverrides = {}, embedder: Embedder = new LexicalEmbedder(256)): Promise<PageWorker> {
  const config = loadConfig({ logLevel: 'silent', allowHosts: '127.0.0.1', perHostDelayMs: 0, render: 'never', ...overrides }, {});
  const w = new PageWorker({ redisUrl, config, embedder, log: silentLogger, concurrency: 4, lockMs: 1500 });
  try {
    await w.start();
  } catch (e) {
    await w.close();
    throw e;
  }
  return w;
}

/** `doctor serve --redis` in this process. */
export async function startLocalServer(dir: string, redisUrl: string, overrides: ConfigOverrides = {}) {
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

export async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    assert.ok(Date.now() < end, `timed out waiting until ${what}`);
    await sleep(50);
  }
}

/** Opens the database the server left and checks: every page once, each with its chunks, each chunk with a vector. */
export async function assertStoredOnce(dir: string, expectedPages: number): Promise<void> {
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

