/**
 * Operations that overlap as users make them overlap: a crawl of a site started twice, a site deleted or
 * re-crawled while its crawl runs. Real crawls of a site served on 127.0.0.1, through the REST API.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { buildHttpApp } from '../src/http/app.js';
import { JobRunner } from '../src/ingest/job-runner.js';
import { addLocal, ConflictError, deleteDocs, fetchUrl, listDocPages, recrawlSite, searchDocs } from '../src/service/index.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './helpers/tmp.js';
import { GroupWriter } from '../src/ingest/group-writer.js';
import { writePage } from '../src/ingest/page-writer.js';
import type { ExtractedPage } from '../src/ingest/extract/extract.js';
import { addPages } from './helpers/pages.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { makeContext, type TestContext } from './helpers/context.js';
import { listenWithMcp } from './helpers/mcp-app.js';

/** A site of `size` pages (/s/0.html links to 1-4, each page n to 4n+1..4n+4), each answered after `delayMs`. */
async function treeSite(size: number, delayMs: number, sections = 1): Promise<{ url: string; delayMs: number; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const n = Number(/^\/s\/(\d+)\.html$/.exec(req.url ?? '')?.[1] ?? -1);
    if (n < 0 || n >= size) return void res.writeHead(404).end('not found');
    setTimeout(() => {
      const links = [1, 2, 3, 4].map((i) => 4 * n + i).filter((c) => c < size);
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(`<html><head><title>Tree page ${n}</title></head><body><main><h1>Tree page ${n}</h1>
        ${Array.from({ length: sections }, (_, i) => `<h2>Part ${i}</h2><p>Page ${n} explains the marmoset setting ${n} in detail. ${'More words about marmosets. '.repeat(30)}</p>`).join('')}
        ${links.map((c) => `<a href="/s/${c}.html">page ${c}</a>`).join(' ')}</main></body></html>`);
    }, site.delayMs);
  });
  const site = {
    url: '',
    delayMs,
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  site.url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return site;
}

describe('operations that race a crawl', () => {
  let ctx: TestContext;
  let app: Awaited<ReturnType<typeof buildHttpApp>>;
  let site: Awaited<ReturnType<typeof treeSite>>;
  const post = async (path: string, payload: unknown) => {
    const res = await app.inject({ method: 'POST', url: path, payload: payload as object });
    return { status: res.statusCode, body: res.json<Record<string, any>>() };
  };

  before(async () => {
    site = await treeSite(40, 30);
    ctx = await makeContext({ config: { render: 'never', crawlConcurrency: 2, respectRobots: false } });
    app = await buildHttpApp(ctx, {});
  });
  after(async () => {
    await app.close();
    await ctx.close();
    await site.close();
  });

  it('a second fetch_url of a start URL whose crawl runs is refused with the running job; recrawl_site too; no page is stored twice', async () => {
    const start = `${site.url}/s/0.html`;
    const crawls = await Promise.all([1, 2].map(() => post('/fetch_url', { url: start, max_pages: 40, max_depth: 5, tags: ['tree'] })));
    const ok = crawls.filter((c) => c.status === 200);
    const refused = crawls.filter((c) => c.status !== 200);
    assert.equal(ok.length, 1, JSON.stringify(crawls));
    const jobId = ok[0]!.body.job_id as string;
    assert.equal(refused[0]!.status, 409);
    assert.match(refused[0]!.body.detail, new RegExp(`a crawl of ${start} is (pending|running) already \\(job ${jobId}\\): follow it with job_progress`));

    // once its start page is stored, re-crawling the site is refused the same way while the crawl runs
    for (let i = 0; i < 200 && (await ctx.store.pages.count()) === 0; i++) await new Promise((r) => setTimeout(r, 25));
    const root = (await ctx.store.pages.getByUrl(start))!;
    const again = await post('/recrawl_site', { root_page_id: root.id });
    assert.equal(again.status, 409, JSON.stringify(again.body));
    assert.match(again.body.detail, new RegExp(`\\(job ${jobId}\\)`));

    const done = await ctx.runner!.waitFor(jobId);
    assert.equal(done.status, 'completed', done.error_message ?? '');
    const [{ n, urls }] = await ctx.store.db.all<{ n: number; urls: number }>('SELECT count(*)::INTEGER AS n, count(DISTINCT url)::INTEGER AS urls FROM pages');
    assert.equal(n, 40);
    assert.equal(urls, n, 'each page stored once');

    // finished: the site can be crawled again
    const later = await post('/recrawl_site', { root_page_id: root.id });
    assert.equal(later.status, 200, JSON.stringify(later.body));
    assert.equal((await ctx.runner!.waitFor(later.body.job_id)).status, 'completed');
    assert.equal(await ctx.store.pages.count(), 40);
  });

  it('cancel_job answers once the crawl has stopped writing: no page of the cancelled job is stored after it', async () => {
    // pages of many chunks, fetched at once: when the cancel comes, pages wait for their group commit
    const busy = await treeSite(2000, 0, 30);
    try {
      for (const after of [20, 60, 120]) {
        await ctx.store.pages.delete({ domain: '127.0.0.1' });
        const crawl = await post('/fetch_url', { url: `${busy.url}/s/0.html`, max_pages: 1000, max_depth: 8, tags: ['busy'] });
        assert.equal(crawl.status, 200, JSON.stringify(crawl.body));
        for (let i = 0; i < 2000 && (await ctx.store.pages.count()) < after; i++) await new Promise((r) => setTimeout(r, 5));
        const cancelled = await post('/cancel_job', { job_id: crawl.body.job_id });
        assert.equal(cancelled.body.status, 'cancelled');
        const atCancel = await ctx.store.pages.count();
        await new Promise((r) => setTimeout(r, 1500));
        assert.equal(await ctx.store.pages.count(), atCancel, `pages stored after the cancel answered (cancelled after ${after})`);
      }
    } finally {
      await ctx.store.pages.delete({ domain: '127.0.0.1' });
      await busy.close();
    }
  });

  it('delete_docs of a site while it is crawled cancels the crawl: the site stays deleted, search finds none of it, a new crawl stores it again', async () => {
    const big = await treeSite(400, 15);
    try {
      const start = `${big.url}/s/0.html`;
      const crawl = await post('/fetch_url', { url: start, max_pages: 400, max_depth: 6, tags: ['big'] });
      assert.equal(crawl.status, 200, JSON.stringify(crawl.body));
      const stored = () => ctx.store.pages.count();
      const before = await stored();
      for (let i = 0; i < 400 && (await stored()) < before + 20; i++) await new Promise((r) => setTimeout(r, 25));
      const root = (await ctx.store.pages.getByUrl(start))!;
      const del = await post('/delete_docs', { root_page_id: root.id });
      assert.equal(del.status, 200, JSON.stringify(del.body));
      assert.ok(del.body.deleted_pages >= 20);
      assert.deepEqual(del.body.cancelled_jobs, [crawl.body.job_id]);
      const job = await ctx.runner!.waitFor(crawl.body.job_id);
      assert.equal(job.status, 'cancelled');
      assert.equal(job.error_message, 'cancelled: the pages it was storing were deleted (delete_docs)', 'the job says why');
      // nothing of the site comes back: not from pages in flight when it was deleted, not from the crawl going on
      await new Promise((r) => setTimeout(r, 1000));
      const left = await ctx.store.db.all<{ n: number }>('SELECT count(*)::INTEGER AS n FROM pages WHERE url LIKE ?', [`${big.url}/%`]);
      assert.equal(left[0]!.n, 0, 'no page of the deleted site');
      const orphans = await ctx.store.db.all<{ n: number }>('SELECT count(*)::INTEGER AS n FROM document_embeddings e WHERE NOT EXISTS (SELECT 1 FROM pages p WHERE p.id = e.page_id)');
      assert.equal(orphans[0]!.n, 0, 'no chunk without its page');
      const found = await app.inject({ method: 'GET', url: '/search_docs?query=marmoset%20setting&tags=big&max_results=10' });
      assert.deepEqual(found.json<{ results: unknown[] }>().results, []);

      // deleting pages by id leaves a crawl alone, and the site can be crawled again
      const again = await post('/fetch_url', { url: start, max_pages: 30, max_depth: 6, tags: ['big'] });
      assert.equal(again.status, 200, JSON.stringify(again.body));
      for (let i = 0; i < 400 && (await stored()) < before + 5; i++) await new Promise((r) => setTimeout(r, 25));
      const one = (await ctx.store.pages.getByUrl(start))!;
      const byId = await post('/delete_docs', { page_ids: [one.id] });
      assert.deepEqual(byId.body.cancelled_jobs, []);
      const done = await ctx.runner!.waitFor(again.body.job_id);
      assert.equal(done.status, 'completed', done.error_message ?? '');
      assert.equal(done.pages_crawled, 30);
    } finally {
      await big.close();
    }
  });

  it('a site deleted with no server running (doctor delete) stays deleted: its interrupted crawl is cancelled, not resumed at the next start', async () => {
    const slow = await treeSite(300, 20);
    const local = await makeContext({ config: { render: 'never', crawlConcurrency: 2, respectRobots: false } });
    try {
      const start = `${slow.url}/s/0.html`;
      const { job_id } = await fetchUrl(local, { url: start, max_pages: 300, max_depth: 6 });
      for (let i = 0; i < 400 && (await local.store.pages.count()) < 10; i++) await new Promise((r) => setTimeout(r, 25));
      // the server stops mid-crawl (the job stays running, to resume); the CLI then opens the database itself
      await local.runner!.stop();
      local.runner = undefined;
      local.jobs = undefined;
      assert.equal((await local.store.jobs.get(job_id))!.status, 'running');
      const root = (await local.store.pages.getByUrl(start))!;
      const del = await deleteDocs(local, { root_page_id: root.id });
      assert.deepEqual(del.cancelled_jobs, [job_id]);
      const cancelled = (await local.store.jobs.get(job_id))!;
      assert.equal(cancelled.status, 'cancelled');
      assert.equal(cancelled.error_message, 'cancelled: the pages it was storing were deleted (delete_docs); no server was running it');
      // the server starts again: nothing to resume, the site stays deleted
      local.runner = new JobRunner(local);
      local.jobs = local.runner;
      await local.runner.start();
      await new Promise((r) => setTimeout(r, 1000));
      assert.equal(await local.store.pages.count(), 0);
    } finally {
      await local.close();
      await slow.close();
    }
  });

  it('delete_docs of a site right after its re-crawl started (nothing stored by it yet) cancels the re-crawl too', async () => {
    const site2 = await treeSite(10, 0);
    const fresh = await makeContext({ config: { render: 'never', crawlConcurrency: 2, respectRobots: false } });
    try {
      const first = await fetchUrl(fresh, { url: `${site2.url}/s/0.html`, max_pages: 10 });
      assert.equal((await fresh.runner!.waitFor(first.job_id)).status, 'completed');
      const root = (await fresh.store.pages.getByUrl(`${site2.url}/s/0.html`))!;
      site2.delayMs = 1500; // the re-crawl's first page is on its way when the site is deleted
      const again = await recrawlSite(fresh, { root_page_id: root.id });
      await new Promise((r) => setTimeout(r, 200));
      const del = await deleteDocs(fresh, { root_page_id: root.id });
      assert.equal(del.deleted_pages, 10);
      assert.deepEqual(del.cancelled_jobs, [again.job_id]);
      assert.equal((await fresh.store.jobs.get(again.job_id))!.status, 'cancelled');
      await new Promise((r) => setTimeout(r, 2000));
      assert.equal(await fresh.store.pages.count(), 0, 'the site stays deleted');
    } finally {
      await fresh.close();
      await site2.close();
    }
  });

  it('two crawls reaching the same pages at once (different start URLs of one site) store each page once', async () => {
    const shared = await treeSite(120, 10);
    const both = await makeContext({ config: { render: 'never', crawlConcurrency: 2, respectRobots: false, workers: 2 } });
    try {
      // the second crawl's pages are a part of the first's: both store them, at about the same time
      const jobs = await Promise.all(['/s/0.html', '/s/1.html'].map((p) => fetchUrl(both, { url: shared.url + p, max_pages: 200, max_depth: 10, scope: 'host' })));
      for (const j of jobs) assert.equal((await both.runner!.waitFor(j.job_id)).status, 'completed');
      const [{ n, urls }] = await both.store.db.all<{ n: number; urls: number }>('SELECT count(*)::INTEGER AS n, count(DISTINCT url)::INTEGER AS urls FROM pages');
      assert.equal(urls, 120);
      assert.equal(n, urls, 'no page stored twice');
      const [{ orphans }] = await both.store.db.all<{ orphans: number }>(
        'SELECT count(*)::INTEGER AS orphans FROM document_embeddings e WHERE NOT EXISTS (SELECT 1 FROM pages p WHERE p.id = e.page_id)',
      );
      assert.equal(orphans, 0, 'no chunk left without its page');
      const hits = await searchDocs(both, { query: 'marmoset setting 57', max_results: 5, mode: 'keyword' });
      assert.equal(new Set(hits.results.map((r) => r.url)).size, hits.results.length, 'no result repeated');
    } finally {
      await both.close();
      await shared.close();
    }
  });

  it('a page deleted while a re-crawl stores it unchanged stays deleted: it does not come back without its chunks', async () => {
    const one = await makeContext({ runner: false });
    try {
      await addPages(one, [{ id: 'p1', title: 'Kept page', markdown: '# Kept page\n\nThe ocelot option is described here.' }]);
      const existing = (await one.store.pages.get('p1'))!;
      const writer = new GroupWriter(one.store.db);
      // the re-crawl read the page (unchanged) before the delete committed, and writes after it
      await deleteDocs(one, { page_ids: ['p1'] });
      const stored = await writePage(
        { store: one.store, embedder: one.embedder, writer, chunking: { maxChars: 400, overlap: 0 } },
        {
          id: existing.id, url: existing.url, existing, tags: existing.tags, job_id: 'job-2', parent_page_id: null, root_page_id: existing.id, depth: 0,
          page: { title: existing.title, markdown: existing.raw_text!, links: [] } as unknown as ExtractedPage, hash: existing.content_hash!,
        },
      );
      assert.equal(stored.unchanged, true);
      assert.equal(await one.store.pages.get('p1'), undefined, 'no page without chunks');
      const listed = await listDocPages(one, {});
      assert.equal(listed.total_pages, 0);
    } finally {
      await one.close();
    }
  });

  it('an MCP fetch_url waiting for its crawl when the server stops is answered (the crawl resumes later), not left hanging', async () => {
    const slow = await treeSite(200, 100);
    const mcpCtx = await makeContext({ config: { render: 'never', crawlConcurrency: 1, respectRobots: false } });
    const { app: mcpApp, base } = await listenWithMcp(mcpCtx);
    const client = new Client({ name: 'waiting-agent', version: '1' });
    try {
      await client.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`)) as Transport);
      const call = client.callTool({ name: 'fetch_url', arguments: { url: `${slow.url}/s/0.html`, max_pages: 200, wait: true } }, undefined, { timeout: 20_000 });
      for (let i = 0; i < 400 && (await mcpCtx.store.pages.count()) < 3; i++) await new Promise((r) => setTimeout(r, 25));
      const t0 = performance.now();
      await mcpApp.close(); // what doctor serve does first when it stops
      const answer = (await call) as unknown as { structuredContent: { job_id: string; status: string; completed: boolean; note: string } };
      assert.ok(performance.now() - t0 < 10_000);
      assert.equal(answer.structuredContent.completed, false);
      assert.equal(answer.structuredContent.status, 'running');
      assert.match(answer.structuredContent.note, /the Doctor server is stopping: the crawl goes on when it starts again; poll job_progress then/);
    } finally {
      await client.close().catch(() => {});
      await mcpApp.close();
      await mcpCtx.close();
      await slow.close();
    }
  });

  it('delete_docs of a local source while add_local indexes it stops that run, which says why: the source stays deleted', async () => {
    const dir = join(tempDir(), 'notes');
    mkdirSync(dir);
    for (let i = 0; i < 1500; i++) {
      writeFileSync(join(dir, `note-${i}.md`), `# Note ${i}\n\n${'The capybara parameter ' + i + ' tunes the indexer. '.repeat(40)}\n`);
    }
    const local = await makeContext({ runner: false });
    try {
      const run = addLocal(local, { path: dir, tags: ['notes'] });
      const outcome = run.then(() => 'finished', (e: Error) => e);
      for (let i = 0; i < 2000 && (await local.store.pages.count()) < 30; i++) await new Promise((r) => setTimeout(r, 10));
      const del = await deleteDocs(local, { tags: ['notes'] });
      assert.ok(del.deleted_pages >= 30);
      const ended = await outcome;
      assert.ok(ended instanceof ConflictError, String(ended));
      assert.match(ended.message, /the pages of .*notes were deleted \(delete_docs\) while it was being indexed, so indexing stopped: run add_local on it again to index it/);
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(await local.store.pages.count(), 0, 'nothing of the deleted source comes back');
      // indexed again on request
      const again = await addLocal(local, { path: dir, tags: ['notes'] });
      assert.equal(again.added, 1500);
    } finally {
      await local.close();
    }
  });
});
