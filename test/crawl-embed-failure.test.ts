/**
 * A crawl whose embeddings API is down stops after a few pages in a row fail to embed, failed with a message
 * naming the cause and what to do; it does not walk the whole site. One page the API refuses does not stop it.
 * Real parts: a site and an OpenAI-compatible embeddings server on 127.0.0.1, a DuckDB file.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { OpenAIEmbedder } from '../src/embed/openai.js';
import { EMBED_FAILURES_TO_STOP, UNREACHABLE_EMBED_FAILURES_TO_STOP } from '../src/ingest/crawler.js';
import { fetchUrl, jobProgress } from '../src/service/jobs.js';
import { makeContext } from './helpers/context.js';

const PAGES = 120;
const DIM = 16;

/** /p/0.html links to every other page; each page has its own text. `poison` pages carry a word the embeddings server refuses. */
async function startSite(poison: ReadonlySet<number> = new Set()): Promise<{ url: string; fetched: () => number; close(): Promise<void> }> {
  let fetched = 0;
  const server = createServer((req, res) => {
    const n = Number(/^\/p\/(\d+)\.html$/.exec(req.url ?? '')?.[1] ?? -1);
    if (n < 0 || n >= PAGES) return void res.writeHead(404).end('not found');
    fetched++;
    const links = n === 0 ? Array.from({ length: PAGES - 1 }, (_, i) => `<a href="/p/${i + 1}.html">page ${i + 1}</a>`).join(' ') : '<a href="/p/0.html">home</a>';
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(
      `<!DOCTYPE html><html><head><title>Page ${n}</title></head><body><nav>${links}</nav><main><h1>Page ${n}</h1>` +
        `<p>Topic number ${n}: how the gadget handles case ${n * 7} of its configuration.${poison.has(n) ? ' POISON' : ''}</p></main></body></html>`,
    );
  });
  await listen(server);
  return { url: `http://127.0.0.1:${port(server)}`, fetched: () => fetched, close: () => close(server) };
}

/**
 * An embeddings API that answers the first `okRequests` requests (Infinity: all), then `failStatus`; and
 * `failStatus` for any request holding POISON.
 */
async function startEmbeddings(opts: { okRequests: number; failStatus: number }): Promise<{ base: string; requests: () => number; close(): Promise<void> }> {
  let requests = 0;
  let ok = 0;
  const server = createServer(async (req, res) => {
    let body = '';
    for await (const c of req) body += c;
    requests++;
    const { input } = JSON.parse(body) as { input: string[] };
    if (input.some((t) => t.includes('POISON')) || ok >= opts.okRequests) {
      res.writeHead(opts.failStatus, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ error: { message: 'the model server fell over' } }));
    }
    ok++;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ data: input.map((t, index) => ({ index, embedding: Array.from({ length: DIM }, (_, j) => ((t.length + j) % 7) + 1) })) }));
  });
  await listen(server);
  return { base: `http://127.0.0.1:${port(server)}/v1`, requests: () => requests, close: () => close(server) };
}

describe('a crawl whose embeddings API is down', () => {
  let site: Awaited<ReturnType<typeof startSite>>;
  beforeEach(async () => {
    site = await startSite();
  });
  afterEach(() => site.close());

  it('answering 500: stops, failed, after a few pages in a row, keeping the pages stored before', async () => {
    const api = await startEmbeddings({ okRequests: 3, failStatus: 500 });
    // one retry: the embedder's own retries still happen before a page counts as failed
    const embedder = new OpenAIEmbedder({ apiKey: 'k', baseUrl: api.base, model: 'test-embed', dimension: DIM, maxRetries: 1 });
    const ctx = await makeContext({ embedder, config: { render: 'never', crawlConcurrency: 3 } });
    try {
      const { job_id } = await fetchUrl(ctx, { url: `${site.url}/p/0.html`, max_pages: 1000, max_depth: 2 });
      await ctx.runner!.waitFor(job_id);
      const job = await jobProgress(ctx, { job_id });
      assert.equal(job.status, 'failed', `status ${job.status}: ${job.error_message}`);
      const msg = job.error_message ?? '';
      assert.match(msg, new RegExp(`${EMBED_FAILURES_TO_STOP} pages in a row could not be embedded`), msg);
      assert.match(msg, /embeddings API at http:\/\/127\.0\.0\.1:\d+\/v1 answered 500: the model server fell over after 1 retries/, msg);
      assert.match(msg, /OPENAI_BASE_URL.*then crawl the site again/, msg);
      // far fewer pages fetched than the site has: the frontier was not walked
      assert.ok(site.fetched() <= 3 + EMBED_FAILURES_TO_STOP + 3 + 2, `pages fetched: ${site.fetched()}`);
      assert.ok(job.pages_discovered >= PAGES, `the site is larger (${job.pages_discovered} found)`);
      // the pages embedded before the API went down are kept, searchable, and the job row counts them
      assert.equal(await ctx.store.pages.count(), 3);
      assert.equal(job.pages_crawled, 3);
      assert.ok((await ctx.store.chunks.count()) >= 3);
      assert.ok(job.pages_skipped >= EMBED_FAILURES_TO_STOP - 1, `skipped ${job.pages_skipped}`);
      assert.ok(job.skipped.some((s) => /answered 500/.test(s.reason)), JSON.stringify(job.skipped));
    } finally {
      await ctx.close();
      await api.close();
    }
  });

  it('unreachable (connection refused): stops, failed, naming the address', async () => {
    const closed = await startEmbeddings({ okRequests: Infinity, failStatus: 500 });
    const base = closed.base;
    await closed.close(); // nothing listens on that port any more
    const embedder = new OpenAIEmbedder({ baseUrl: base, model: 'test-embed', dimension: DIM, maxRetries: 0 });
    const ctx = await makeContext({ embedder, config: { render: 'never', crawlConcurrency: 2 } });
    try {
      const { job_id } = await fetchUrl(ctx, { url: `${site.url}/p/0.html`, max_pages: 1000, max_depth: 2 });
      await ctx.runner!.waitFor(job_id);
      const before = site.fetched();
      const job = await jobProgress(ctx, { job_id });
      assert.equal(job.status, 'failed', `status ${job.status}: ${job.error_message}`);
      const msg = job.error_message ?? '';
      assert.match(msg, new RegExp(`${UNREACHABLE_EMBED_FAILURES_TO_STOP} pages in a row could not be embedded`), msg);
      assert.ok(msg.includes(`cannot reach the embeddings API at ${base}/embeddings`), msg);
      assert.match(msg, /ECONNREFUSED/, msg);
      assert.equal(await ctx.store.pages.count(), 0);
      assert.ok(before <= UNREACHABLE_EMBED_FAILURES_TO_STOP + 2 + 2, `pages fetched: ${before}`);
      // and nothing goes on in the background once the job has ended
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(site.fetched(), before);
    } finally {
      await ctx.close();
    }
  });
});

describe('a crawl with one page the embeddings API refuses', () => {
  it('skips that page with the reason and completes', async () => {
    const site = await startSite(new Set([5]));
    const api = await startEmbeddings({ okRequests: Infinity, failStatus: 500 });
    const embedder = new OpenAIEmbedder({ apiKey: 'k', baseUrl: api.base, model: 'test-embed', dimension: DIM, maxRetries: 1 });
    const ctx = await makeContext({ embedder, config: { render: 'never', crawlConcurrency: 3 } });
    try {
      const { job_id } = await fetchUrl(ctx, { url: `${site.url}/p/0.html`, max_pages: 30, max_depth: 2 });
      await ctx.runner!.waitFor(job_id);
      const job = await jobProgress(ctx, { job_id });
      assert.equal(job.status, 'completed', job.error_message ?? '');
      // max_pages counts pages stored: the crawl went on past the refused page
      assert.equal(job.pages_crawled, 30);
      const reason = job.skipped.find((s) => s.url.endsWith('/p/5.html'))?.reason ?? '';
      assert.match(reason, /answered 500/, JSON.stringify(job.skipped));
      assert.equal(await ctx.store.pages.count(), 30);
    } finally {
      await ctx.close();
      await api.close();
      await site.close();
    }
  });
});

function listen(server: Server): Promise<void> {
  return new Promise((r) => server.listen(0, '127.0.0.1', r));
}

function port(server: Server): number {
  return (server.address() as { port: number }).port;
}

function close(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((r) => server.close(() => r()));
}
