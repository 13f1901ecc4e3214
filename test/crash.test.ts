import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { JobRunner } from '../src/ingest/job-runner.js';
import { migrateQdrant, resumeState } from '../src/migrate/qdrant.js';
import { openStore } from '../src/store/store.js';
import { createServer } from 'node:http';
import { makeContext } from './helpers/context.js';
import { startFakeQdrant } from './helpers/qdrant-server.js';
import { randomVectors } from './helpers/vectors.js';
import { tempDir } from './helpers/tmp.js';

const CLI = ['--import', 'tsx', 'src/cli/main.ts'];
const env = { ...process.env, DOCTOR_LOG_LEVEL: 'silent', DOCTOR_RENDER: 'never', DOCTOR_PER_HOST_DELAY_MS: '0' };

/** Starts a doctor command, waits until `ready()` says so, then kills it with SIGKILL. */
async function killWhen(args: string[], ready: (stderr: string) => boolean): Promise<void> {
  const child = spawn(process.execPath, [...CLI, ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  for (let i = 0; i < 2400 && !ready(stderr); i++) {
    if (child.exitCode !== null) throw new Error(`the command ended before it could be killed: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(ready(stderr), 'reached the point to kill at');
  child.kill('SIGKILL');
  await exited;
}

describe('SIGKILL in the middle of the work', () => {
  it('a crawl: the database opens, committed pages keep their chunks, the job resumes to the end', async () => {
    // a chain of pages, each linking to the next two
    const hits = new Set<string>();
    const server = createServer((req, res) => {
      const n = Number(/\/p\/(\d+)\.html/.exec(req.url ?? '')?.[1] ?? -1);
      setTimeout(() => {
        if (n < 0) return void res.writeHead(404).end();
        hits.add(req.url!);
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end(`<html><head><title>Page ${n}</title></head><body><main><h1>Page ${n}</h1><p>${'Text of page ' + n + '. '.repeat(30)}</p>
          <a href="/p/${n + 1}.html">next</a> <a href="/p/${n + 2}.html">after</a></main></body></html>`);
      }, 80);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const site = { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, close: () => new Promise<void>((r) => server.close(() => r())) };
    const dir = tempDir();
    try {
      await killWhen(['--data-dir', dir, 'crawl', `${site.url}/p/0.html`, '--max-pages', '25', '--max-depth', '20', '--allow-hosts', '127.0.0.1'], () => hits.size >= 14);
      const ctx = await makeContext({ dbPath: join(dir, 'doctor.duckdb'), runner: false, embedder: new (await import('../src/embed/lexical.js')).LexicalEmbedder() });
      try {
        const [job] = await ctx.store.jobs.list();
        assert.equal(job!.status, 'running', 'the interrupted job is still marked running');
        const before = (await ctx.store.pages.list({ limit: 1000 })).pages;
        assert.ok(before.length >= 3, `pages committed before the kill: ${before.length}`);
        const [bad] = await ctx.store.db.all<{ n: number }>(
          'SELECT count(*)::INTEGER AS n FROM pages p WHERE NOT EXISTS (SELECT 1 FROM document_embeddings e WHERE e.page_id = p.id)',
        );
        assert.equal(bad!.n, 0, 'no page without its chunks');
        const [orphans] = await ctx.store.db.all<{ n: number }>('SELECT count(*)::INTEGER AS n FROM document_embeddings e ANTI JOIN pages p ON p.id = e.page_id');
        assert.equal(orphans!.n, 0, 'no chunk without its page');
        ctx.runner = new JobRunner(ctx);
        ctx.jobs = ctx.runner;
        await ctx.runner.start();
        const done = await ctx.runner.waitFor(job!.job_id);
        assert.equal(done.status, 'completed');
        assert.equal(done.pages_crawled, 25);
        const after = new Set((await ctx.store.pages.list({ limit: 1000 })).pages.map((p) => p.id));
        for (const p of before) assert.ok(after.has(p.id), 'nothing committed before the kill is lost');
        assert.equal(after.size, 25);
      } finally {
        await ctx.close();
      }
    } finally {
      await site.close();
    }
  });

  it('a crawl in a link trap: the limit of query-string variants per path holds across the restart', async () => {
    // A calendar: every /cal?d=N links to the next two days, without end. A crawl follows 10 variants of /cal.
    const hits = new Set<string>();
    const server = createServer((req, res) => {
      const u = new URL(req.url ?? '/', 'http://x');
      const n = u.pathname === '/cal' ? Number(u.searchParams.get('d')) : u.pathname === '/' ? 0 : -1;
      setTimeout(() => {
        if (n < 0 || !Number.isInteger(n)) return void res.writeHead(404).end();
        hits.add(req.url!);
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end(`<html><head><title>Day ${n}</title></head><body><main><h1>Day ${n}</h1><p>${'Events of day ' + n + '. '.repeat(30)}</p>
          <a href="/cal?d=${n + 1}">next</a> <a href="/cal?d=${n + 2}">after</a></main></body></html>`);
      }, 150);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const site = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const dir = tempDir();
    try {
      await killWhen(['--data-dir', dir, 'crawl', `${site}/`, '--max-pages', '100', '--max-depth', '20', '--allow-hosts', '127.0.0.1'], () => hits.size >= 6);
      const ctx = await makeContext({ dbPath: join(dir, 'doctor.duckdb'), runner: false, embedder: new (await import('../src/embed/lexical.js')).LexicalEmbedder() });
      try {
        const [job] = await ctx.store.jobs.list();
        assert.equal(job!.status, 'running', 'the interrupted job is still marked running');
        ctx.runner = new JobRunner(ctx);
        ctx.jobs = ctx.runner;
        await ctx.runner.start();
        const done = await ctx.runner.waitFor(job!.job_id);
        assert.equal(done.status, 'completed');
        const days = (await ctx.store.pages.list({ limit: 1000 })).pages.filter((p) => new URL(p.url).pathname === '/cal');
        assert.ok(days.length >= 6, `the crawl went on after the restart: ${days.length} days stored`);
        assert.ok(days.length <= 10, `at most 10 query-string variants of /cal, as without a restart: ${days.length} stored`);
      } finally {
        await ctx.close();
      }
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('a Qdrant migration: only whole batches are committed, and --resume completes it', async () => {
    const DIM = 32;
    // 5,000 points: a transaction of 2,100 (whole pages of 100), then the last one with the 2,900 left
    const points = randomVectors(5000, DIM, 9).map((v, i) => ({ id: i, vector: Array.from(v), payload: { text: `p${i}`, tags: ['t'] } }));
    const q = await startFakeQdrant({ doctor_chunks: { vectors: { size: DIM, distance: 'Cosine' }, points } });
    q.scrollDelayMs = 60;
    const dir = tempDir();
    const scrolls = () => q.requests.filter((r) => r.path.endsWith('/scroll')).length;
    try {
      await killWhen(['--data-dir', dir, 'migrate', 'qdrant', '--url', q.url, '--batch-size', '100'], (stderr) => scrolls() >= 16 && /migrated [1-9]/.test(stderr));
      const identity = { provider: 'openai', model: 'text-embedding-ada-002', dimension: DIM };
      const store = await openStore({ path: join(dir, 'doctor.duckdb'), embedding: identity });
      try {
        const rows = await store.chunks.count();
        const state = (await resumeState(store, 'doctor_chunks'))!;
        assert.ok(rows > 0, 'at least one group committed');
        assert.equal(rows, state.written, 'rows and the saved resume point agree');
        assert.equal(state.next_offset, rows, 'the resume point is the first id not written');
        const report = await migrateQdrant(store, { url: q.url, collection: 'doctor_chunks', batchSize: 100, onError: 'stop', resume: true });
        assert.equal(await store.chunks.count(), 5000);
        assert.equal(report.verification!.countsMatch, true);
        assert.equal(report.verification!.sampleMismatches.length, 0);
      } finally {
        await store.close();
      }
    } finally {
      await q.close();
    }
  });
});
