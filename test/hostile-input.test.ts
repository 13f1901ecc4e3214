import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildHttpApp } from '../src/http/app.js';
import { makeContext, type TestContext } from './helpers/context.js';
import { addPages } from './helpers/pages.js';
import { fetchUrlInput, parseInput } from '../src/service/inputs.js';
import { queryTerms } from '../src/text/highlight.js';

/** A site serving hostile pages. */
function hostileSite(): Server {
  return createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const html = (body: string, title = 'Hostile') => `<html><head><title>${title}</title></head><body><main>${body}</main></body></html>`;
    switch (path) {
      case '/loop':
        res.writeHead(302, { location: '/loop' });
        return res.end();
      case '/elsewhere':
        res.writeHead(302, { location: 'https://example.invalid/docs' });
        return res.end();
      case '/huge': {
        res.writeHead(200, { 'content-type': 'text/html' }); // no Content-Length: the limit applies while streaming
        const chunk = Buffer.alloc(1024 * 1024, 'a');
        let sent = 0;
        const pump = () => {
          while (sent < 50 && res.write(chunk)) sent++;
          if (sent >= 50) return res.end();
          res.once('drain', () => { sent++; pump(); });
        };
        return pump();
      }
      case '/binary':
        res.writeHead(200, { 'content-type': 'text/html' });
        return res.end(Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256)));
      case '/bad-utf8':
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        return res.end(Buffer.concat([Buffer.from('<html><body><main><p>before '), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from(' after invalid bytes</p></main></body></html>')]));
      case '/nested':
        res.writeHead(200, { 'content-type': 'text/html' });
        return res.end(html(`${'<div><span>'.repeat(20_000)}deeply nested words${'</span></div>'.repeat(20_000)}`));
      case '/long-line':
        res.writeHead(200, { 'content-type': 'text/plain' });
        // distinct words: pieces of one repeated word are identical chunks, which a page keeps once
        return res.end(Array.from({ length: 300_000 }, (_, i) => `longline${i}`).join(' '));
      case '/inject':
        res.writeHead(200, { 'content-type': 'text/html' });
        return res.end(html(`<p>&lt;script&gt;alert('text')&lt;/script&gt; and <img src=x onerror="alert('img')"> and <a href="javascript:alert('a')">link</a></p><p>Robert'); DROP TABLE pages; -- and 100% _under_</p>`, `<script>alert('title')</script>`));
      default:
        res.writeHead(404);
        return res.end();
    }
  });
}

describe('hostile input (each: a clear error or a clean skip; nothing stored is lost)', () => {
  let ctx: TestContext;
  let app: FastifyInstance;
  let base = '';
  let site: Server;
  let siteUrl = '';
  const api = async (method: 'GET' | 'POST', path: string, body?: unknown) => {
    const r = await fetch(base + path, { method, headers: body ? { 'content-type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined });
    return { status: r.status, body: (await r.json().catch(() => ({}))) as Record<string, any> };
  };
  const crawlOne = async (path: string) => {
    const r = await api('POST', '/fetch_url', { url: `${siteUrl}${path}`, max_pages: 1, max_depth: 0, tags: ['hostile'] });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return ctx.runner!.waitFor(r.body.job_id);
  };
  const storedBefore = async () => ctx.store.pages.count();

  before(async () => {
    site = hostileSite();
    await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
    siteUrl = `http://127.0.0.1:${(site.address() as { port: number }).port}`;
    ctx = await makeContext({ config: { render: 'never', maxRedirects: 3 } });
    await addPages(ctx, [{ id: 'keep', title: 'Keep me', markdown: '# Keep\n\nThis page must survive every test.', tags: ['keep'] }]);
    app = await buildHttpApp(ctx, {});
    await app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  });
  after(async () => {
    assert.ok(await ctx.store.pages.get('keep'), 'the stored page survived all hostile input');
    await app.close();
    await ctx.close();
    site.close();
  });

  it('malformed URL', async () => {
    const r = await api('POST', '/fetch_url', { url: 'ht!tp:/ /broken' });
    assert.equal(r.status, 422);
    assert.match(r.body.detail, /not a valid URL/);
  });

  it('non-http URL', async () => {
    for (const url of ['file:///etc/passwd', 'ftp://x.test/', 'javascript:alert(1)', 'data:text/html,hi']) {
      const r = await api('POST', '/fetch_url', { url });
      assert.equal(r.status, 422, url);
      assert.match(r.body.detail, /only http and https/);
    }
  });

  it('URL with credentials', async () => {
    const r = await api('POST', '/fetch_url', { url: 'https://admin:hunter2@docs.test/' });
    assert.equal(r.status, 422);
    assert.match(r.body.detail, /credentials/);
  });

  it('redirect loop', async () => {
    const job = await crawlOne('/loop');
    assert.equal(job.status, 'failed');
    assert.match(job.error_message!, /redirect loop/);
  });

  it('redirect to another host', async () => {
    const job = await crawlOne('/elsewhere');
    assert.equal(job.status, 'failed');
    assert.match(job.error_message!, /redirected out of scope to https:\/\/example\.invalid\/docs/);
  });

  it('a 50 MB page is skipped at the 10 MB limit', async () => {
    const n = await storedBefore();
    const job = await crawlOne('/huge');
    assert.equal(job.status, 'failed');
    assert.match(job.error_message!, /larger than the 10 MB limit/);
    assert.equal(await ctx.store.pages.count(), n);
  });

  it('a binary body served as text/html', async () => {
    const job = await crawlOne('/binary');
    assert.equal(job.status, 'failed');
    assert.match(job.error_message!, /binary content served as text\/html/);
  });

  it('invalid UTF-8', async () => {
    const job = await crawlOne('/bad-utf8');
    assert.equal(job.status, 'completed');
    const page = await ctx.store.pages.getByUrl(`${siteUrl}/bad-utf8`);
    assert.match(page!.raw_text!, /before \uFFFD+ after invalid bytes/);
  });

  it('deeply nested HTML', async () => {
    const job = await crawlOne('/nested');
    assert.equal(job.status, 'completed');
    assert.match((await ctx.store.pages.getByUrl(`${siteUrl}/nested`))!.raw_text!, /deeply nested words/);
  });

  it('a huge single line', async () => {
    const job = await crawlOne('/long-line');
    assert.equal(job.status, 'completed');
    const page = await ctx.store.pages.getByUrl(`${siteUrl}/long-line`);
    const [chunks] = await ctx.store.db.all<{ n: number; longest: number }>('SELECT count(*)::INTEGER AS n, max(length(text_chunk))::INTEGER AS longest FROM document_embeddings WHERE page_id = ?', [page!.id]);
    assert.ok(chunks!.n > 100 && chunks!.longest <= 1200, `chunked: ${chunks!.n} chunks, longest ${chunks!.longest}`);
  });

  it('HTML/script injection in page text and title is stored as text and rendered inert', async () => {
    await crawlOne('/inject');
    const page = (await ctx.store.pages.getByUrl(`${siteUrl}/inject`))!;
    const map = await (await fetch(`${base}/map/page/${page.id}`)).text();
    assert.ok(!/<script/i.test(map));
    assert.ok(!/onerror=|href="javascript:/i.test(map));
    const search = await api('GET', `/search_docs?query=${encodeURIComponent("Robert'); DROP TABLE pages; --")}`);
    assert.equal(search.status, 200);
    assert.equal(search.body.results[0].page_id, page.id);
  });

  it("quotes, % and _ in tags and job ids", async () => {
    await addPages(ctx, [{ id: 'odd', title: 'Odd', markdown: 'odd tags page', tags: ["o'brien", '100%', 'snake_case'] }]);
    assert.deepEqual((await api('GET', `/list_doc_pages?tags=${encodeURIComponent("o'brien")}`)).body.doc_pages.map((d: any) => d.page_id), ['odd']);
    assert.deepEqual((await api('GET', '/list_doc_pages?tags=%25')).body.doc_pages, [], '"%" is not a wildcard');
    assert.deepEqual((await api('GET', '/list_doc_pages?tags=snake%5Fcas_')).body.doc_pages, [], '"_" is not a wildcard');
    assert.equal((await api('GET', `/job_progress?job_id=${encodeURIComponent('%%%%%%%%')}`)).status, 404, 'no LIKE-style match on job ids');
    assert.equal((await api('GET', `/job_progress?job_id=${encodeURIComponent("x' OR '1'='1")}`)).status, 404);
  });

  it('a tag in either Unicode form (composed "café" or "cafe" + a combining accent) selects the same pages, and is stored composed', async () => {
    const [nfc, nfd] = ['caf\u00e9', 'cafe\u0301'];
    await addPages(ctx, [
      { id: 'composed', title: 'Composed', markdown: 'kaffeeklatsch composed', tags: [nfc] },
      { id: 'decomposed', title: 'Decomposed', markdown: 'kaffeeklatsch decomposed', tags: [nfd] }, // stored before tags were normalised
    ]);
    for (const tag of [nfc, nfd]) {
      const listed = (await api('GET', `/list_doc_pages?tags=${encodeURIComponent(tag)}`)).body.doc_pages.map((d: any) => d.page_id).sort();
      assert.deepEqual(listed, ['composed', 'decomposed'], `list_doc_pages tags=${JSON.stringify(tag)}`);
      const found = (await api('POST', '/search_docs', { query: 'kaffeeklatsch', mode: 'keyword', tags: [tag] })).body.results.map((r: any) => r.page_id).sort();
      assert.deepEqual(found, ['composed', 'decomposed'], `search_docs tags=${JSON.stringify(tag)}`);
    }
    // a crawl stores its tags composed, whichever form it was given
    assert.deepEqual(parseInput(fetchUrlInput, { url: 'https://docs.test/', tags: [nfd, nfc] }).tags, [nfc]);
    assert.equal((await api('POST', '/delete_docs', { tags: [nfd] })).body.deleted_pages, 2);
  });

  it('a query typed decomposed ("cafe" + a combining accent, as macOS input gives it) finds and marks the composed words of pages', async () => {
    await addPages(ctx, [{ id: 'crema', title: 'Crema', markdown: 'Un café crème at the zwölfte Stunde, 한국어 문서.' }]);
    for (const [query, term] of [['cafe\u0301 cre\u0300me', 'café'], ['zwo\u0308lfte', 'zwölfte'], ['\u1112\u1161\u11ab\u1100\u116e\u11a8\u110b\u1165', '한국']] as const) {
      const res = await api('POST', '/search_docs', { query, mode: 'keyword' });
      assert.deepEqual(res.body.results.map((r: any) => r.page_id), ['crema'], `keyword search for ${JSON.stringify(query)}`);
      assert.ok(queryTerms(query).has(term), `the page view marks ${term} for ${JSON.stringify(query)}`);
    }
  });

  it('SQL-looking strings everywhere', async () => {
    const evil = "'; DROP TABLE pages; --";
    assert.equal((await api('GET', `/get_doc_page?page_id=${encodeURIComponent(evil)}`)).status, 404);
    assert.equal((await api('GET', `/search_docs?query=${encodeURIComponent(evil)}&tags=${encodeURIComponent(evil)}`)).status, 200);
    assert.equal((await api('GET', `/list_tags?search_substring=${encodeURIComponent(evil)}`)).status, 200);
    assert.deepEqual((await api('POST', '/delete_docs', { tags: [evil], domain: evil, page_ids: [evil] })).body.deleted_pages, 0);
    assert.ok((await ctx.store.pages.count()) > 1, 'tables intact');
  });

  it('max_results / max_pages out of range', async () => {
    for (const q of ['max_results=0', 'max_results=101', 'max_results=-5', 'max_results=1e9', 'max_results=ten']) {
      assert.equal((await api('GET', `/search_docs?query=x&${q}`)).status, 422, q);
    }
    for (const max_pages of [0, 1001, -1, 2.5, 'many']) {
      assert.equal((await api('POST', '/fetch_url', { url: 'https://docs.test/', max_pages })).status, 422, String(max_pages));
    }
  });
});
