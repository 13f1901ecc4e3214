/**
 * Issue 20, the crawling half: a hostile site's pages are skipped with a reason or stored within bounds,
 * and bad include/exclude patterns are refused at submission over REST and MCP. (The same inputs against a
 * real `doctor serve` process, with restarts, are in hostile-restart.test.ts.)
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { DomUtils, parseDocument } from 'htmlparser2';
import { marked } from 'marked';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { buildHttpApp } from '../src/http/app.js';
import { registerMcpRoutes } from '../src/mcp/http.js';
import { MAX_HEADING_PATH_CHARS, MAX_TITLE_CHARS } from '../src/ingest/extract/bounds.js';
import { fetchUrl } from '../src/service/jobs.js';
import { makeContext, type TestContext } from './helpers/context.js';
import { startHostileSite, type HostileSite } from './helpers/hostile-site.js';

/** DOCTOR_REQUEST_TIMEOUT_MS of the context that fetches the streaming and trickling pages. */
const TIMEOUT_MS = 3000;

/** Patterns that must be refused with 422, and what the message must say. */
export const BAD_PATTERNS: [string, RegExp][] = [
  ['/[/', /invalid regular expression in URL pattern \/\[\/: missing closing \]/],
  ['/(?=docs)/', /invalid regular expression in URL pattern .*no lookaround/],
  ['/(a)\\1/', /invalid regular expression in URL pattern/],
  ['/(.|.){300}Z/', /too complex/],
  [`https://x.test/${'*a'.repeat(25)}`, /has 25 "\*" \(at most 20\)/],
];

describe('a hostile site: every page skipped with a reason or stored within bounds (issue 20)', () => {
  let ctx: TestContext;
  /** A second database and job runner with a short request timeout, for the bodies that never end. */
  let shortCtx: TestContext;
  let app: FastifyInstance;
  let base = '';
  let site: HostileSite;
  const api = async (method: 'GET' | 'POST', path: string, body?: unknown) => {
    const r = await fetch(base + path, { method, headers: body ? { 'content-type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined });
    return { status: r.status, body: (await r.json().catch(() => ({}))) as Record<string, any> };
  };
  const crawlOne = async (path: string, extra: Record<string, unknown> = {}) => {
    const started = Date.now();
    const r = await api('POST', '/fetch_url', { url: `${site.url}${path}`, max_pages: 1, max_depth: 0, tags: ['hostile'], ...extra });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const job = await ctx.runner!.waitFor(r.body.job_id);
    return { job, ms: Date.now() - started };
  };
  const pageOf = async (path: string) => (await ctx.store.pages.getByUrl(`${site.url}${path}`))!;
  const chunkStats = async (pageId: string) =>
    (
      await ctx.store.db.all<{ n: number; title: number; path: number; titles: number }>(
        `SELECT count(*)::INTEGER AS n, max(length(title))::INTEGER AS title, coalesce(max(length(heading_path)), 0)::INTEGER AS path,
                sum(length(title))::BIGINT AS titles FROM document_embeddings WHERE page_id = ?`,
        [pageId],
      )
    )[0]!;

  before(async () => {
    site = await startHostileSite();
    ctx = await makeContext({ config: { render: 'never' } });
    shortCtx = await makeContext({ config: { render: 'never', requestTimeoutMs: TIMEOUT_MS } });
    app = await buildHttpApp(ctx, {});
    await registerMcpRoutes(app, ctx);
    await app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  });
  after(async () => {
    await app.close();
    await ctx.close();
    await shortCtx.close();
    await site.close();
  });

  it('a Content-Encoding Doctor does not decode (zstd, compress): skipped with the reason, process alive', async () => {
    for (const [path, coding] of [['/zstd', 'zstd'], ['/compress', 'compress']]) {
      const { job } = await crawlOne(path!);
      assert.equal(job.status, 'failed');
      assert.match(job.error_message!, new RegExp(`unsupported Content-Encoding "${coding}": page skipped`));
    }
    assert.equal((await api('GET', '/health')).status, 200);
  });

  it('"gzip, gzip" is undone twice and stored; a body that does not match its codings is skipped', async () => {
    const twice = await crawlOne('/gzip-gzip');
    assert.equal(twice.job.status, 'completed', twice.job.error_message ?? '');
    assert.match((await pageOf('/gzip-gzip')).raw_text!, /Twice gzipped text about a quokka/);
    const once = await crawlOne('/gzip-gzip-once');
    assert.equal(once.job.status, 'failed');
    assert.match(once.job.error_message!, /could not decompress the body/);
  });

  it('a body declared as 50 MB is refused at once, its unfinished stream dropped safely', async () => {
    const { job } = await crawlOne('/declared-huge');
    assert.equal(job.status, 'failed');
    assert.match(job.error_message!, /larger than the 10 MB limit \(50 MB declared\)/);
  });

  it('a body that streams or trickles forever fails as a timeout within DOCTOR_REQUEST_TIMEOUT_MS (not retried)', async () => {
    for (const path of ['/stream', '/trickle']) {
      const started = Date.now();
      const { job_id } = await fetchUrl(shortCtx, { url: `${site.url}${path}`, max_pages: 1, max_depth: 0 });
      const job = await shortCtx.runner!.waitFor(job_id);
      const ms = Date.now() - started;
      assert.equal(job.status, 'failed');
      assert.match(job.error_message!, new RegExp(`timeout: no complete answer within ${TIMEOUT_MS} ms \\(DOCTOR_REQUEST_TIMEOUT_MS\\)`));
      assert.ok(ms < TIMEOUT_MS * 4, `${path} took ${ms} ms`);
    }
  });

  it('a page of 10,000 distinct links: the crawl queues at most 20 per page it may store (+1,000), not every link', async () => {
    const { job } = await crawlOne('/link-farm', { max_pages: 2, max_depth: 1 });
    assert.equal(job.status, 'completed', job.error_message ?? '');
    const visited = [...site.hits.keys()].filter((p) => p.startsWith('/farm/')).length;
    assert.equal(visited, 2 * 20 + 1_000 - 1, 'the start page is one of the URLs queued');
    assert.equal(site.hits.get('/farm/9999/' + 'x'.repeat(40)), undefined);
  });

  it('UTF-16LE declared in the header, without a byte-order mark, is decoded (not refused as binary)', async () => {
    const { job } = await crawlOne('/utf16');
    assert.equal(job.status, 'completed', job.error_message ?? '');
    assert.match((await pageOf('/utf16')).raw_text!, /Grüße aus UTF-16 ohne Byte-Order-Mark: naïve café\./);
  });

  it('a NUL byte in the first kilobyte does not make a page binary (the NUL is dropped)', async () => {
    const { job } = await crawlOne('/nul');
    assert.equal(job.status, 'completed', job.error_message ?? '');
    assert.match((await pageOf('/nul')).raw_text!, /beforeafter: a NUL byte/);
  });

  it('markup shown as text on the page is never live HTML in the stored Markdown or get_doc_page', async () => {
    await crawlOne('/escaped');
    const page = await pageOf('/escaped');
    const got = await api('GET', `/get_doc_page?page_id=${page.id}`);
    assert.equal(got.status, 200);
    const rendered = marked.parse(got.body.text as string, { async: false });
    const document = parseDocument(`<html><body>${rendered}</body></html>`);
    assert.equal(DomUtils.findAll((el) => el.name === 'script' || 'onerror' in el.attribs, document.children).length, 0, rendered);
    assert.deepEqual(DomUtils.getElementsByTagName('img', document).map((i) => i.attribs.src), [`${site.url}/i.png`], 'only the real image');
    assert.match(rendered, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
  });

  it('a 2,000,000-character <title> and a 500,000-character <h1>: capped title in one page row and every chunk row', async () => {
    const { job } = await crawlOne('/huge-title');
    assert.equal(job.status, 'completed', job.error_message ?? '');
    const page = await pageOf('/huge-title');
    assert.ok(page.title!.length <= MAX_TITLE_CHARS, `page title ${page.title!.length}`);
    const s = await chunkStats(page.id);
    assert.ok(s.title <= MAX_TITLE_CHARS && s.path <= MAX_HEADING_PATH_CHARS, `${s.n} chunks, longest title ${s.title}, longest path ${s.path}`);
    assert.ok(Number(s.titles) <= s.n * MAX_TITLE_CHARS && s.n < 1000, `${s.n} chunks carry ${Number(s.titles)} title characters`);
  });

  it('50,000 headings and a 9 MB word make a bounded number of chunks', async () => {
    const headings = await crawlOne('/many-headings');
    assert.equal(headings.job.status, 'completed', headings.job.error_message ?? '');
    const h = await chunkStats((await pageOf('/many-headings')).id);
    assert.ok(h.n < 5000 && h.path <= MAX_HEADING_PATH_CHARS, `${h.n} chunks (was 50,000: one per heading)`);
    const word = await crawlOne('/long-word');
    assert.equal(word.job.status, 'completed', word.job.error_message ?? '');
    const w = await chunkStats((await pageOf('/long-word')).id);
    assert.ok(w.n <= 10, `${w.n} chunks (was 11,278 pieces of one word)`);
  });

  it('a sitemap.xml of unclosed <loc> tags and an llms.txt of unclosed links (1 MB each) are read once: the crawl goes on at once', async () => {
    // Read with patterns that rescan the rest of the file from every unclosed tag or bracket, these two files
    // held the main thread (REST, MCP, every crawl) ~1 and ~8 minutes; a 10 MB pair, days.
    const files: Record<string, string> = {
      '/sitemap.xml': `<?xml version="1.0"?><urlset>${'<loc>'.repeat(200_000)}`,
      '/llms.txt': `# Docs\n${'[a](<'.repeat(200_000)}\n[Guide](/guide.html)\n`,
      '/start.html': '<html><head><title>Start</title></head><body><main><h1>Start</h1><p>The first page of a small site.</p></main></body></html>',
      '/guide.html': '<html><head><title>Guide</title></head><body><main><h1>Guide</h1><p>Listed only in llms.txt.</p></main></body></html>',
    };
    const server = createServer((req, res) => {
      const body = files[new URL(req.url ?? '/', 'http://x').pathname];
      const type = req.url?.endsWith('.html') ? 'text/html' : req.url?.endsWith('.xml') ? 'application/xml' : 'text/plain';
      res.writeHead(body === undefined ? 404 : 200, { 'content-type': `${type}; charset=utf-8` }).end(body ?? 'not found');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const started = Date.now();
      const r = await api('POST', '/fetch_url', { url: `${origin}/start.html`, max_pages: 5, max_depth: 1, tags: ['hostile-seed'] });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const job = await ctx.runner!.waitFor(r.body.job_id);
      const ms = Date.now() - started;
      assert.equal(job.status, 'completed', job.error_message ?? '');
      assert.ok(await ctx.store.pages.getByUrl(`${origin}/guide.html`), 'the one well-formed llms.txt link after the junk is still read');
      assert.ok(ms < 30_000, `the crawl took ${ms} ms`);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('bad include/exclude patterns are refused with 422 over REST, naming the pattern; nothing is queued', async () => {
    const before = (await ctx.store.jobs.list()).length;
    for (const field of ['include', 'exclude']) {
      for (const [pattern, why] of BAD_PATTERNS) {
        const r = await api('POST', '/fetch_url', { url: `${site.url}/links`, [field]: ['*/ok/*', pattern] });
        assert.equal(r.status, 422, `${field} ${pattern}: ${JSON.stringify(r.body)}`);
        assert.match(r.body.detail, new RegExp(`${field}\\.1: `));
        assert.match(r.body.detail, why);
      }
    }
    assert.equal((await ctx.store.jobs.list()).length, before, 'no job was created');
  });

  it('bad patterns are refused over MCP fetch_url with the same message', async () => {
    const client = new Client({ name: 'hostile', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`)) as Transport);
    try {
      for (const field of ['include', 'exclude']) {
        const r = (await client.callTool({ name: 'fetch_url', arguments: { url: `${site.url}/links`, [field]: ['/[/'] } })) as {
          isError?: boolean;
          content: { text: string }[];
        };
        assert.equal(r.isError, true);
        assert.match(r.content[0]!.text, /invalid regular expression in URL pattern \/\[\/: missing closing \]/);
      }
    } finally {
      await client.close();
    }
  });

  it('patterns that backtrack forever on a backtracking engine run in linear time; globs work as before', async () => {
    const { job } = await crawlOne('/links', { max_pages: 10, max_depth: 1, exclude: ['/(.|.){30}Z/', '/(.|.)*Z/'], include: ['*/links*'] });
    assert.equal(job.status, 'completed', job.error_message ?? '');
    assert.equal(job.pages_crawled, 10);
    const onlyOne = await crawlOne('/links', { max_pages: 10, max_depth: 1, include: ['*/links', '/seg-(seg-){19}7$/'] });
    assert.equal(onlyOne.job.status, 'completed');
    assert.ok(await ctx.store.pages.getByUrl(`${site.url}/links/${'seg-'.repeat(20)}7`));
    assert.equal(onlyOne.job.pages_crawled, 2, 'the /regex/ include matched exactly one link');
  });
});
