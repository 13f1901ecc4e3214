import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildHttpApp } from '../src/http/app.js';
import { isLoopbackHost, startHttpServer } from '../src/http/server.js';
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
    assert.equal(r.body.note, undefined);
    const missing = await get('/search_docs?query=sargable%20exponential%20backoff&max_results=1');
    assert.equal(missing.body.results[0].page_id, 'retry');
    assert.match(missing.body.note, /^No indexed page contains "sargable": the results match the query's other words/);
    const rep = await get('/search_docs?query=install&tags=python&tags=nothing');
    assert.deepEqual(rep.body.results.map((x: any) => x.page_id), ['install']);
    const csv = await get('/search_docs?query=install&tags=python,nothing');
    assert.deepEqual(csv.body.results.map((x: any) => x.page_id), ['install']);
    const full = await get('/search_docs?query=line&tags=text&return_full_document_text=true');
    assert.equal(full.body.results[0].chunk_text, lines);
    // Booleans as FastAPI read them: Python's requests sends params={'return_full_document_text': True} as "True".
    for (const [word, whole] of [['True', true], ['FALSE', false], ['yes', true], ['off', false], ['1', true]] as const) {
      const r = await get(`/search_docs?query=line&tags=text&return_full_document_text=${word}`);
      assert.equal(r.status, 200, `${word}: ${r.body.detail}`);
      assert.equal(r.body.results[0].full_document, whole, word);
    }
    // A single-valued parameter given twice takes its last value (as FastAPI did), not a confusing 422.
    const twice = await get('/search_docs?query=nothing&query=exponential%20backoff&max_results=7&max_results=1');
    assert.equal(twice.status, 200);
    assert.deepEqual(twice.body.results.map((x: any) => x.page_id), ['retry']);
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
    // total_pages counts documents, as the Python service's did (a client pages up to ceil(total_pages / pages_per_page))
    assert.equal(p1.body.total_pages, 123);
    assert.equal(p1.body.total_docs, 123);
    assert.equal(p1.body.listing_pages, 2);
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
    assert.deepEqual([part.body.starting_line, part.body.ending_line], [3, 5], 'the answer says which lines it holds');
    const tail = await get('/get_doc_page?page_id=lines&starting_line=29');
    assert.equal(tail.body.text, 'line 29\nline 30');
    const nf = await get('/get_doc_page?page_id=nope');
    assert.equal(nf.status, 404);
    assert.match(nf.body.detail, /no page with id "nope"/);
    assert.equal((await get('/get_doc_page?page_id=lines&starting_line=0')).status, 422);
    const none = await get('/get_doc_page');
    assert.equal(none.status, 422);
    assert.match(none.body.detail, /page_id is required.*or give the url of a stored page/);
  });

  it('GET /get_doc_page by url: as stored, or as the crawler writes it (fragment, dot segments); unknown url 404; not both', async () => {
    const byUrl = await get(`/get_doc_page?url=${encodeURIComponent('https://kettle.test/retry.html')}&ending_line=1`);
    assert.equal(byUrl.status, 200, JSON.stringify(byUrl.body));
    assert.deepEqual([byUrl.body.page_id, byUrl.body.text], ['retry', '# Retries']);
    const loose = await get(`/get_doc_page?url=${encodeURIComponent('HTTPS://Kettle.test/docs/../retry.html#backoff')}`);
    assert.equal(loose.body.page_id, 'retry');
    const unknown = await get(`/get_doc_page?url=${encodeURIComponent('https://kettle.test/nope.html')}`);
    assert.equal(unknown.status, 404);
    assert.match(unknown.body.detail, /no stored page has the URL "https:\/\/kettle\.test\/nope\.html": index it with fetch_url/);
    const both = await get(`/get_doc_page?page_id=retry&url=${encodeURIComponent('https://kettle.test/retry.html')}`);
    assert.equal(both.status, 422);
    assert.match(both.body.detail, /page_id or url, not both/);
    const long = await get(`/get_doc_page?url=${encodeURIComponent(`https://kettle.test/${'a'.repeat(2100)}`)}`);
    assert.equal(long.status, 422);
    assert.match(long.body.detail, /^url is too long: at most 2,048 characters \(got 2120\)$/);
    assert.equal((await get('/get_doc_page?url=')).status, 422, 'an empty url');
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
    const bad = await post('/fetch_url', '{not json');
    assert.equal(bad.status, 400);
    assert.match(bad.body.detail, /not valid JSON/);
    // bytes that are not UTF-8 would be read as U+FFFD and stored in a tag nobody can type
    const latin1 = await fetch(`${base}/fetch_url`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: Buffer.concat([Buffer.from('{"url":"https://x.test/","tags":["caf'), Buffer.from([0xe9]), Buffer.from('"]}')]),
    });
    assert.equal(latin1.status, 400);
    assert.match(((await latin1.json()) as { detail: string }).detail, /^the body is not valid UTF-8: send the JSON encoded as UTF-8/);
    // a compressed body was reported as "not valid UTF-8" (and a gzip of pure ASCII could not be told apart at all)
    const jobsBefore = (await get('/jobs')).body;
    for (const coding of ['gzip', 'br', 'deflate']) {
      const zipped = await fetch(`${base}/fetch_url`, {
        method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': coding },
        body: gzipSync('{"url":"https://x.test/","max_pages":1}'),
      });
      assert.equal(zipped.status, 415, coding);
      assert.equal(((await zipped.json()) as { detail: string }).detail, `a body with Content-Encoding "${coding}" is not accepted: send the JSON uncompressed`);
    }
    assert.deepEqual((await get('/jobs')).body, jobsBefore, 'no crawl was queued');
    const identity = await fetch(`${base}/search_docs`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': 'identity' }, body: '{"query":"x"}' });
    assert.equal(identity.status, 200, 'identity is no encoding');
    const proto = await post('/fetch_url', '{"url":"https://x.test/","__proto__":{"max_pages":1}}');
    assert.equal(proto.status, 400);
    assert.match(proto.body.detail, /holds a "__proto__" or "constructor": \{"prototype": \.\.\.\} key, which is refused/);
    assert.equal((await post('/fetch_url', '{"url":"https://x.test/", "tags": ["caf\u00e9"], "max_pages": 1, "max_depth": 0}')).status, 200, 'escaped and UTF-8 text is taken');
    // null for optional fields means "not given" (Python clients send None)
    const nulls = await post('/fetch_url', { url: 'https://x.test/none', tags: null, max_depth: null, include: null, max_pages: 1 });
    assert.equal(nulls.status, 200, JSON.stringify(nulls.body));
    const form = await post('/fetch_url', 'url=https://x.test/', { 'content-type': 'application/x-www-form-urlencoded' });
    assert.equal(form.status, 415);
    assert.match(form.body.detail, /Content-Type: application\/json/);
    const text = await post('/delete_docs', '{"tags":["bulk"]}', { 'content-type': 'text/plain' });
    assert.equal(text.status, 415, 'a text/plain body is refused, not read as a string');
  });

  it('/job_progress, /jobs and /cancel_job on jobs written in the store', async () => {
    const ids = ['abcdef01-0000-4000-8000-000000000001', 'abcdef01-0000-4000-8000-000000000002', '12345678-0000-4000-8000-000000000003'];
    for (const job_id of ids) await ctx.store.jobs.create({ job_id, start_url: 'https://docs.test/', max_pages: 10, max_depth: 2, tags: ['t'], options: {} as never });
    await ctx.store.jobs.update(ids[2]!, { status: 'completed', pages_crawled: 4, pages_discovered: 4 });
    const byPrefix = await get('/job_progress?job_id=12345678');
    assert.equal(byPrefix.status, 200);
    assert.equal(byPrefix.body.job_id, ids[2]);
    assert.equal(byPrefix.body.progress_percent, 100);
    assert.equal(byPrefix.body.completed, true);
    const ambiguous = await get('/job_progress?job_id=abcdef01');
    assert.equal(ambiguous.status, 422);
    assert.match(ambiguous.body.detail, /matches several jobs/);
    assert.equal((await get('/job_progress?job_id=1234567')).status, 404, 'prefixes shorter than 8 characters do not match');
    assert.equal((await get('/job_progress')).status, 422);
    const done = await get('/jobs?status=completed');
    assert.ok(done.body.jobs.some((j: any) => j.job_id === ids[2]));
    assert.ok(done.body.jobs.every((j: any) => j.status === 'completed'));
    assert.equal((await get('/jobs?limit=1')).body.jobs.length, 1);
    assert.equal((await get('/jobs?limit=0')).status, 422);
    assert.match((await get('/jobs?status=bogus')).body.detail, /status/);
    const cancelled = await post('/cancel_job', { job_id: ids[0] });
    assert.equal(cancelled.status, 200);
    assert.equal(cancelled.body.status, 'cancelled');
    assert.equal((await post('/cancel_job', { job_id: 'ffffffff-nope' })).status, 404);
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
    assert.match(spec.body.openapi, /^3\.1\./);
    const routes = { '/search_docs': 'get', '/list_doc_pages': 'get', '/get_doc_page': 'get', '/list_tags': 'get', '/fetch_url': 'post', '/job_progress': 'get', '/delete_docs': 'post', '/cancel_job': 'post', '/jobs': 'get', '/health': 'get' };
    for (const [path, method] of Object.entries(routes)) {
      const op = spec.body.paths[path]?.[method];
      assert.ok(op, `${method} ${path}`);
      assert.ok(op.summary && op.description, `${path} is described`);
    }
    const params = spec.body.paths['/search_docs'].get.parameters as any[];
    assert.deepEqual(params.map((p) => p.name).sort(), ['max_results', 'mode', 'query', 'return_full_document_text', 'tags']);
    assert.ok(params.every((p) => typeof p.description === 'string' && p.description.length > 0), 'every parameter is described');
    assert.equal(params.find((p) => p.name === 'query').required, true);
    assert.equal(params.find((p) => p.name === 'max_results').schema.maximum, 100);
    assert.equal(params.find((p) => p.name === 'tags').schema.type, 'array');
    const fetchBody = spec.body.paths['/fetch_url'].post.requestBody.content['application/json'].schema;
    assert.equal(fetchBody.properties.max_pages.maximum, 1000);
    assert.deepEqual(fetchBody.required, ['url']);
    for (const path of ['/map', '/map/site/{root_page_id}', '/map/page/{page_id}', '/map/page/{page_id}/raw']) assert.ok(spec.body.paths[path]?.get, path);
    const ui = await fetch(base + '/docs/');
    assert.equal(ui.status, 200);
    assert.match(await ui.text(), /swagger/i);
    assert.equal((await get('/nope')).status, 404);
    const wrongMethod = await fetch(base + '/list_tags', { method: 'POST' });
    assert.equal(wrongMethod.status, 405);
    assert.equal(wrongMethod.headers.get('allow'), 'GET');
    assert.equal((await get('/fetch_url')).status, 405);
    // 1 MiB body limit: just under passes to validation, just over is 413.
    const under = await post('/delete_docs', { domain: 'none.test', pad: 'y'.repeat(1_000_000) });
    assert.equal(under.status, 200);
    const over = await post('/delete_docs', { page_ids: ['x'.repeat(100)], pad: 'y'.repeat(1_100_000) });
    assert.equal(over.status, 413);
    assert.match(over.body.detail, /larger than 1048576 bytes/);
    // 24 KiB query-string limit: a 2,000-character query in a non-Latin script fits (9 bytes a character
    // percent-encoded); longer strings are refused with where to put long inputs.
    const cjk = await get(`/search_docs?query=${encodeURIComponent('文档'.repeat(1000))}&tags=a,b`);
    assert.equal(cjk.status, 200, JSON.stringify(cjk.body));
    assert.equal((await get(`/list_tags?search_substring=${'q'.repeat(150)}&pad=${'p'.repeat(24_000)}`)).status, 200);
    const long = await get(`/search_docs?query=${'q'.repeat(1000)}&pad=${'p'.repeat(25_000)}`);
    assert.equal(long.status, 414);
    assert.match(long.body.detail, /query string longer than 24576 characters: .*POST \/search_docs/);
    const posted = await post('/search_docs', { query: 'x'.repeat(2000), tags: Array.from({ length: 100 }, () => 'ü'.repeat(200)) });
    assert.equal(posted.status, 200, 'long inputs go in a POST body');
    assert.deepEqual(posted.body.results, []);
    const postedBad = await post('/search_docs', { query: '', max_results: 'lots' });
    assert.equal(postedBad.status, 422);
    assert.match(postedBad.body.detail, /query must not be empty; max_results must be a whole number from 1 to 100 \(got "lots"\)/);
  });
});

describe('REST API security options', () => {
  it('a token protects every route but /health; read-only refuses writes', async () => {
    const ctx = await makeContext({ runner: false });
    const app = await buildHttpApp(ctx, { apiToken: 'secret-token-123', readOnly: true });
    const base = await listen(app);
    try {
      const health = await fetch(base + '/health');
      assert.equal(health.status, 200);
      const h = (await health.json()) as Record<string, unknown>;
      assert.equal(h.status, 'ok');
      for (const f of ['version', 'pages', 'chunks', 'engine']) assert.ok(f in h, f);
      assert.equal((await fetch(base + '/list_tags')).status, 401);
      assert.equal((await fetch(base + '/list_tags', { headers: { authorization: 'Bearer wrong' } })).status, 401);
      assert.equal((await fetch(base + '/openapi.json')).status, 401);
      const ok = await fetch(base + '/list_tags', { headers: { authorization: 'Bearer secret-token-123' } });
      assert.equal(ok.status, 200);
      const write = await fetch(base + '/delete_docs', { method: 'POST', headers: { authorization: 'Bearer secret-token-123', 'content-type': 'application/json' }, body: '{"tags":["x"]}' });
      assert.equal(write.status, 403);
      assert.match(((await write.json()) as { detail: string }).detail, /read-only/);
      for (const path of ['/fetch_url', '/cancel_job']) {
        const r = await fetch(base + path, { method: 'POST', headers: { authorization: 'Bearer secret-token-123', 'content-type': 'application/json' }, body: '{"url":"https://x.test/","job_id":"x"}' });
        assert.equal(r.status, 403, path);
      }
      assert.equal((await fetch(base + '/docs/', { headers: { authorization: 'Bearer secret-token' } })).status, 401, 'a prefix of the token is wrong');
      assert.equal((await fetch(base + '/map')).status, 401);
    } finally {
      await app.close();
      await ctx.close();
    }
  });

  it('without a job runner, fetch_url answers 409 with what to do', async () => {
    const ctx = await makeContext({ runner: false });
    const app = await buildHttpApp(ctx, {});
    const base = await listen(app);
    try {
      const r = await fetch(base + '/fetch_url', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"url":"https://docs.test/"}' });
      assert.equal(r.status, 409);
      assert.match(((await r.json()) as { detail: string }).detail, /doctor serve/);
    } finally {
      await app.close();
      await ctx.close();
    }
  });

  it('startHttpServer: a dialable url, no warning on loopback, a clear message when the port is taken', async () => {
    const ctx = await makeContext({ runner: false });
    const warnings: string[] = [];
    const log = { ...ctx.log, warn: (_o: unknown, msg: string) => void warnings.push(msg) } as unknown as typeof ctx.log;
    const app = await buildHttpApp(ctx, {});
    const other = await buildHttpApp(ctx, {});
    try {
      const srv = await startHttpServer(app, { host: '127.0.0.1', port: 0, log });
      assert.match(srv.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.equal((await fetch(srv.url + '/health')).status, 200);
      assert.deepEqual(warnings, []);
      const port = Number(new URL(srv.url).port);
      await assert.rejects(startHttpServer(other, { host: '127.0.0.1', port, log }), /port \d+ on 127\.0\.0\.1 is in use: stop the other server or pass --port/);
      await srv.close();
    } finally {
      await app.close();
      await other.close();
      await ctx.close();
    }
    for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1']) assert.equal(isLoopbackHost(h), true, h);
    for (const h of ['0.0.0.0', '::', '192.168.1.4', '10.0.0.1', 'example.com']) assert.equal(isLoopbackHost(h), false, h);
  });
});
