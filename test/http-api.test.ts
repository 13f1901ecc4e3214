import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildHttpApp } from '../src/http/app.js';
import { startDocSite, type DocSite } from './helpers/doc-site.js';
import { makeContext, type TestContext } from './helpers/context.js';
import { addPages } from './helpers/pages.js';

const lines = Array.from({ length: 30 }, (_, i) => `line ${i + 1}`).join('\n');

async function listen(app: FastifyInstance): Promise<string> {
  await app.listen({ host: '127.0.0.1', port: 0 });
  return `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
}

describe('REST API', () => {
  let ctx: TestContext;
  let app: FastifyInstance;
  let base = '';
  let site: DocSite;
  const get = async (path: string) => {
    const res = await fetch(base + path);
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };
  const post = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(base + path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };

  before(async () => {
    site = await startDocSite();
    ctx = await makeContext({ config: { render: 'never' } });
    await addPages(ctx, [
      { id: 'lines', title: 'Thirty lines', markdown: lines, tags: ['text'] },
      { id: 'install', title: 'Install', markdown: '# Install\n\nRun `pip install kettle` to install Kettle.', tags: ['kettle', 'python'], domain: 'kettle.test', url: 'https://kettle.test/install.html' },
      { id: 'retry', title: 'Retries', markdown: '# Retries\n\nKettle retries failed tasks with exponential backoff.', tags: ['kettle'], domain: 'kettle.test', url: 'https://kettle.test/retry.html' },
      ...Array.from({ length: 120 }, (_, i) => ({ id: `bulk-${i}`, title: `Bulk ${i}`, markdown: `Bulk page ${i} about widgets.`, tags: ['bulk'] })),
    ]);
    app = await buildHttpApp(ctx, {});
    base = await listen(app);
  });
  after(async () => {
    await app.close();
    await ctx.close();
    await site.close();
  });

  it('GET /search_docs: results with the Python fields, tags repeatable or comma-separated', async () => {
    const r = await get('/search_docs?query=exponential%20backoff&tags=kettle&max_results=5');
    assert.equal(r.status, 200);
    const top = r.body.results[0];
    for (const f of ['chunk_text', 'page_id', 'tags', 'score', 'url', 'title']) assert.ok(f in top, `field ${f}`);
    assert.equal(top.page_id, 'retry');
    const rep = await get('/search_docs?query=install&tags=python&tags=nothing');
    assert.deepEqual(rep.body.results.map((x: any) => x.page_id), ['install']);
    const csv = await get('/search_docs?query=install&tags=python,nothing');
    assert.deepEqual(csv.body.results.map((x: any) => x.page_id), ['install']);
    const full = await get('/search_docs?query=line&tags=text&return_full_document_text=true');
    assert.equal(full.body.results[0].chunk_text, lines);
  });

  it('GET /search_docs validation: 422 with a readable detail', async () => {
    for (const q of ['', '?query=', '?query=x&max_results=0', '?query=x&max_results=101', '?query=x&max_results=abc', '?query=x&mode=nope']) {
      const r = await get('/search_docs' + q);
      assert.equal(r.status, 422, q);
      assert.equal(typeof r.body.detail, 'string');
    }
    assert.match((await get('/search_docs')).body.detail, /query is required/);
  });

  it('GET /list_doc_pages pages through 100 per page', async () => {
    const p1 = await get('/list_doc_pages');
    assert.equal(p1.body.doc_pages.length, 100);
    assert.equal(p1.body.total_pages, 2);
    assert.equal(p1.body.current_page, 1);
    assert.equal(p1.body.pages_per_page, 100);
    for (const f of ['page_id', 'domain', 'tags', 'crawl_date', 'url']) assert.ok(f in p1.body.doc_pages[0]);
    const p2 = await get('/list_doc_pages?page=2');
    assert.equal(p2.body.doc_pages.length, 23);
    const tagged = await get('/list_doc_pages?tags=kettle');
    assert.deepEqual(tagged.body.doc_pages.map((d: any) => d.page_id).sort(), ['install', 'retry']);
    assert.equal((await get('/list_doc_pages?page=0')).status, 422);
  });

  it('GET /get_doc_page: whole page, line ranges, total_lines, 404', async () => {
    const all = await get('/get_doc_page?page_id=lines');
    assert.equal(all.body.text, lines);
    assert.equal(all.body.total_lines, 30);
    const part = await get('/get_doc_page?page_id=lines&starting_line=3&ending_line=5');
    assert.equal(part.body.text, 'line 3\nline 4\nline 5');
    const tail = await get('/get_doc_page?page_id=lines&starting_line=29');
    assert.equal(tail.body.text, 'line 29\nline 30');
    const nf = await get('/get_doc_page?page_id=nope');
    assert.equal(nf.status, 404);
    assert.match(nf.body.detail, /no page with id "nope"/);
    assert.equal((await get('/get_doc_page?page_id=lines&starting_line=0')).status, 422);
    assert.equal((await get('/get_doc_page')).status, 422);
  });

  it('GET /list_tags with a (typo-tolerant) substring', async () => {
    assert.deepEqual((await get('/list_tags')).body.tags, ['bulk', 'kettle', 'python', 'text']);
    assert.deepEqual((await get('/list_tags?search_substring=KET')).body.tags, ['kettle']);
    assert.deepEqual((await get('/list_tags?search_substring=pythn')).body.tags, ['python']);
  });

  it('POST /fetch_url returns a job id at once; /job_progress by full id and by 8-char prefix; 404 and 422', async () => {
    const r = await post('/fetch_url', { url: `${site.url}/docs/guide/config.html`, tags: ['widget'], max_pages: 2, max_depth: 0 });
    assert.equal(r.status, 200);
    const id = r.body.job_id as string;
    const p = await get(`/job_progress?job_id=${id}`);
    assert.equal(p.status, 200);
    for (const f of ['pages_crawled', 'pages_total', 'completed', 'status', 'error_message', 'progress_percent', 'url', 'max_pages', 'created_at', 'updated_at']) assert.ok(f in p.body, f);
    await ctx.runner!.waitFor(id);
    const done = await get(`/job_progress?job_id=${id.slice(0, 8)}`);
    assert.equal(done.body.status, 'completed');
    assert.equal(done.body.completed, true);
    assert.equal(done.body.pages_crawled, 1);
    assert.equal((await get('/job_progress?job_id=00000000-dead')).status, 404);
    assert.equal((await post('/fetch_url', { url: 'ftp://x.test/' })).status, 422);
    assert.equal((await post('/fetch_url', { url: 'https://x.test/', max_pages: 1001 })).status, 422);
    assert.equal((await post('/fetch_url', { url: 'https://u:p@x.test/' })).status, 422);
    assert.equal((await post('/fetch_url', '{not json')).status, 400);
  });

  it('POST /delete_docs says what it deleted and refuses an empty selector', async () => {
    assert.equal((await post('/delete_docs', {})).status, 422);
    const r = await post('/delete_docs', { page_ids: ['bulk-0', 'bulk-1'] });
    assert.equal(r.body.deleted_pages, 2);
    assert.ok(r.body.deleted_chunks >= 2);
    assert.deepEqual(r.body.page_ids.sort(), ['bulk-0', 'bulk-1']);
    const byTag = await post('/delete_docs', { tags: ['bulk'] });
    assert.equal(byTag.body.deleted_pages, 118);
    const byDomain = await post('/delete_docs', { domain: 'kettle.test' });
    assert.equal(byDomain.body.deleted_pages, 2);
    assert.equal((await get('/search_docs?query=kettle')).body.results.filter((x: any) => x.url.includes('kettle.test')).length, 0);
  });

  it('/openapi.json lists every route; /docs serves the UI; unknown routes 404; body and query limits', async () => {
    const spec = await get('/openapi.json');
    for (const path of ['/search_docs', '/list_doc_pages', '/get_doc_page', '/list_tags', '/fetch_url', '/job_progress', '/delete_docs']) assert.ok(spec.body.paths[path], path);
    const ui = await fetch(base + '/docs/');
    assert.equal(ui.status, 200);
    assert.match(await ui.text(), /swagger/i);
    assert.equal((await get('/nope')).status, 404);
    assert.equal((await post('/delete_docs', { page_ids: ['x'.repeat(100)], pad: 'y'.repeat(2_000_000) })).status, 413);
    assert.equal((await fetch(`${base}/search_docs?query=${'q'.repeat(10_000)}`)).status, 414);
  });
});

describe('REST API security options', () => {
  it('a token protects every route but /health; read-only refuses writes', async () => {
    const ctx = await makeContext({ runner: false });
    const app = await buildHttpApp(ctx, { apiToken: 'secret-token-123', readOnly: true });
    const base = await listen(app);
    try {
      assert.equal((await fetch(base + '/health')).status, 200);
      assert.equal((await fetch(base + '/list_tags')).status, 401);
      assert.equal((await fetch(base + '/list_tags', { headers: { authorization: 'Bearer wrong' } })).status, 401);
      assert.equal((await fetch(base + '/openapi.json')).status, 401);
      const ok = await fetch(base + '/list_tags', { headers: { authorization: 'Bearer secret-token-123' } });
      assert.equal(ok.status, 200);
      const write = await fetch(base + '/delete_docs', { method: 'POST', headers: { authorization: 'Bearer secret-token-123', 'content-type': 'application/json' }, body: '{"tags":["x"]}' });
      assert.equal(write.status, 403);
      assert.match(((await write.json()) as { detail: string }).detail, /read-only/);
    } finally {
      await app.close();
      await ctx.close();
    }
  });
});
