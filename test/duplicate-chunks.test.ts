/**
 * A page of one phrase repeated (a 9 MB line of "abcdefghij ", 3,000 copies of one paragraph) chunks into
 * thousands of identical chunks, hence identical vectors: the input an HNSW index inserts worst. Each copy
 * made usearch's worker search the whole graph (1,000 identical vectors: ~14 s of CPU, 2,000: ~33 s, the 9 MB
 * line: ~200 s), and `doctor crawl` reported "completed" then did not exit until the index had them all. A
 * chunk repeating an earlier one of its page (same headings, same text) is now left out.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chunkMarkdown } from '../src/ingest/extract/chunker.js';
import { fetchUrl, jobProgress } from '../src/service/jobs.js';
import { makeContext, type TestContext } from './helpers/context.js';
import { tempDir } from './helpers/tmp.js';

const PHRASE = 'Retry the request with exponential backoff when the server answers 503.';

/** A site on 127.0.0.1 answering every request with `page(path)`: [status, HTML], after `delayMs`. */
async function site(page: (path: string) => [number, string], delayMs = 0): Promise<{ server: Server; base: string }> {
  const server = createServer((req, res) => {
    const [status, body] = page(req.url ?? '/');
    setTimeout(() => res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' }).end(body), delayMs);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe('a page of one repeated phrase', () => {
  let server: Server;
  let url = '';
  let ctx: TestContext;

  before(async () => {
    const s = await site((path) =>
      path === '/repeat.html'
        ? [200, `<!doctype html><title>Repeat</title><h1>Repeat</h1>${`<p>${PHRASE}</p>`.repeat(3000)}<h2>Other</h2><p>${PHRASE}</p><p>A different closing line.</p>`]
        : [404, '<title>missing</title>'],
    );
    server = s.server;
    url = `${s.base}/repeat.html`;
    ctx = await makeContext({ vectorEngine: 'usearch', config: { render: 'never' } });
  });
  after(async () => {
    await ctx?.close();
    await new Promise((r) => server.close(r));
  });

  it('chunkMarkdown keeps one of each identical chunk (per heading path), in order, numbered from 0', () => {
    const md = `# A\n\n${`${PHRASE}\n\n`.repeat(500)}# B\n\n${`${PHRASE}\n\n`.repeat(500)}Last words.`;
    const chunks = chunkMarkdown(md, { maxChars: 1000, overlap: 200 });
    const keys = chunks.map((c) => `${c.headingPath.join('>')}|${c.text}`);
    assert.equal(new Set(keys).size, keys.length, 'no two chunks alike');
    assert.ok(chunks.length <= 8, `${chunks.length} chunks`);
    assert.deepEqual(chunks.map((c) => c.index), chunks.map((_, i) => i));
    assert.deepEqual([...new Set(chunks.map((c) => c.headingPath.join('>')))], ['A', 'B']);
    assert.ok(chunks.at(-1)!.text.includes('Last words.'));
  });

  it('is crawled, stored with a handful of chunks, indexed by usearch and closed within seconds', async () => {
    const started = Date.now();
    const res = await fetchUrl(ctx, { url, max_pages: 1, max_depth: 0, tags: ['repeat'] });
    const job = await ctx.runner!.waitFor(res.job_id);
    assert.equal(job.status, 'completed', JSON.stringify(job));
    const [row] = await ctx.store.db.all<{ n: number }>(`SELECT count(*)::INTEGER AS n FROM document_embeddings WHERE url = ?`, [url]);
    assert.ok(row!.n >= 2 && row!.n <= 10, `${row!.n} chunks stored`);
    // close waits for the usearch worker to take every vector and save: before the fix, minutes here
    await ctx.close();
    ctx = undefined as unknown as TestContext;
    assert.ok(Date.now() - started < 30_000, `crawl and close took ${Date.now() - started} ms`);
  });
});

describe('a site that answers every URL with the same page (a "not found" page with status 200)', () => {
  let server: Server;
  let base = '';
  let ctx: TestContext;
  const index = `<!doctype html><title>Docs</title><main><h1>Docs</h1><p>The index of a small site.</p>${Array.from({ length: 30 }, (_, i) => `<a href="/missing-${i}.html">page ${i}</a>`).join(' ')}</main>`;
  const notFound = '<!doctype html><title>Not found</title><main><h1>Not found</h1><p>Sorry, this page does not exist. Try the search box.</p></main>';
  before(async () => {
    ({ server, base } = await site((path) => [200, path === '/' ? index : notFound]));
    ctx = await makeContext({ config: { render: 'never' } });
  });
  after(async () => {
    await ctx.close();
    await new Promise((r) => server.close(r));
  });

  it('a crawl resumed after a restart still stores that page once', async () => {
    const slow = await site((path) => [200, path === '/' ? index : notFound], 100);
    const dbPath = join(tempDir(), 'resume.duckdb');
    const config = { render: 'never' as const, crawlConcurrency: 1 };
    const first = await makeContext({ dbPath, config });
    const { job_id } = await fetchUrl(first, { url: `${slow.base}/`, max_pages: 50, max_depth: 1 });
    // stop once the twin is stored and the crawl has gone past it
    while ((await jobProgress(first, { job_id })).pages_skipped < 2) await new Promise((r) => setTimeout(r, 30));
    await first.close(); // the process stops: the job stays "running" and resumes on the next start
    const second = await makeContext({ dbPath, config });
    try {
      const job = await second.runner!.waitFor(job_id);
      assert.equal(job.status, 'completed', JSON.stringify(job));
      const pages = (await second.store.pages.list({ limit: 100 })).pages;
      assert.equal(pages.length, 2, `one index and one "not found" page: ${pages.map((p) => p.url).join(', ')}`);
      assert.equal(job.pages_skipped, 29);
      assert.equal(job.skipped.length, 29);
    } finally {
      await second.close();
      await new Promise((r) => slow.server.close(r));
    }
  });

  it('stores that page once; its twins are skipped with the URL they repeat', async () => {
    const res = await fetchUrl(ctx, { url: `${base}/`, max_pages: 50, max_depth: 1 });
    const job = await ctx.runner!.waitFor(res.job_id);
    assert.equal(job.status, 'completed', JSON.stringify(job));
    const pages = (await ctx.store.pages.list({ limit: 100 })).pages;
    assert.equal(pages.length, 2, pages.map((p) => p.url).join(', '));
    const twin = pages.find((p) => p.url !== `${base}/`)!.url;
    assert.equal(job.pages_skipped, 29);
    assert.equal(job.skipped.length, 29);
    for (const s of job.skipped) assert.equal(s.reason, `duplicate: same text as ${twin}`);
  });
});
