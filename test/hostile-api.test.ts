/**
 * Hostile requests against the API and MCP (issue 20): oversized answers and batches, slow clients, bad ids
 * and types, malformed URLs and tool calls. Each must get a clear error (JSON `{detail}` or a JSON-RPC error)
 * and leave the server answering.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { buildHttpApp } from '../src/http/app.js';
import { DEFAULT_TIMEOUTS } from '../src/http/limits.js';
import { registerMcpRoutes } from '../src/mcp/http.js';
import { MAX_BATCH_MESSAGES } from '../src/mcp/limits.js';
import { makeContext, type TestContext } from './helpers/context.js';
import { addPages } from './helpers/pages.js';

/** The documented cap on page text in one search_docs answer (README, Limits). */
const MAX_FULL_TEXT_CHARS = 1_000_000;

const listen = async (app: FastifyInstance) => {
  await app.listen({ host: '127.0.0.1', port: 0 });
  return { base: `http://127.0.0.1:${(app.server.address() as { port: number }).port}`, port: (app.server.address() as { port: number }).port };
};

const INITIALIZE = {
  jsonrpc: '2.0',
  id: 0,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
};

/** JSON-RPC messages out of a Streamable HTTP answer (JSON, or an event stream of `data:` lines). */
async function rpcMessages(res: Response): Promise<Record<string, any>[]> {
  const text = await res.text();
  if ((res.headers.get('content-type') ?? '').includes('text/event-stream')) {
    return text.split('\n').filter((l) => l.startsWith('data: ')).map((l) => JSON.parse(l.slice(6)));
  }
  const body = JSON.parse(text);
  return Array.isArray(body) ? body : [body];
}

/** An initialized Streamable HTTP session; `post` sends raw JSON-RPC bodies in it. */
async function rawSession(base: string) {
  const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
  const init = await fetch(`${base}/mcp`, { method: 'POST', headers, body: JSON.stringify(INITIALIZE) });
  const sid = init.headers.get('mcp-session-id')!;
  await init.text();
  const withSession = { ...headers, 'mcp-session-id': sid, 'mcp-protocol-version': '2025-06-18' };
  await (await fetch(`${base}/mcp`, { method: 'POST', headers: withSession, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) })).text();
  return {
    post: (body: unknown) => fetch(`${base}/mcp`, { method: 'POST', headers: withSession, body: JSON.stringify(body) }),
    close: async () => void (await (await fetch(`${base}/mcp`, { method: 'DELETE', headers: withSession })).text()),
  };
}

/** Sends raw bytes and resolves with what the server answers (status line and body) and how long it took. */
function rawExchange(port: number, bytes: string, waitMs = 20_000): Promise<{ status: number; body: string; ms: number; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const socket = connect(port, '127.0.0.1', () => socket.write(bytes));
    let data = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ status: 0, body: data, ms: performance.now() - t0, closed: false });
    }, waitMs);
    socket.on('data', (d) => (data += d));
    socket.on('error', reject);
    socket.on('close', () => {
      clearTimeout(timer);
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0);
      resolve({ status, body: data.slice(data.indexOf('\r\n\r\n') + 4), ms: performance.now() - t0, closed: true });
    });
  });
}

describe('hostile API requests', () => {
  let ctx: TestContext;
  let app: FastifyInstance;
  let base = '';
  // Pages whose full text adds up to well over one answer's budget: 30 x 60,000 characters.
  const BIG = 60_000;
  before(async () => {
    ctx = await makeContext({ config: { render: 'never' } });
    await addPages(ctx, [
      { id: 'lines', title: 'Lines', markdown: Array.from({ length: 10 }, (_, i) => `line ${i + 1}`).join('\n'), tags: ['small'] },
      ...Array.from({ length: 30 }, (_, i) => ({ id: `big-${i}`, title: `Quokka fences ${i}`, markdown: `# Quokka fences ${i}\n\nAbout quokka fences.`, tags: ['big'] })),
    ]);
    // Long pages (their chunks do not matter here: search_docs returns the stored page text).
    for (let i = 0; i < 30; i++) {
      const text = `# Quokka fences ${i}\n\n${`Paragraph ${i} about quokka fences and gate latches. `.repeat(Math.ceil(BIG / 50))}`.slice(0, BIG);
      await ctx.store.db.run('UPDATE pages SET raw_text = ? WHERE id = ?', [text, `big-${i}`]);
    }
    app = await buildHttpApp(ctx, {});
    await registerMcpRoutes(app, ctx);
    ({ base } = await listen(app));
  });
  after(async () => {
    await app.close();
    await ctx.close();
  });

  const get = async (path: string, headers: Record<string, string> = {}) => {
    const r = await fetch(base + path, { headers });
    const text = await r.text();
    return { status: r.status, type: r.headers.get('content-type') ?? '', text, body: (() => { try { return JSON.parse(text); } catch { return undefined; } })() as Record<string, any> | undefined };
  };

  it('search_docs with max_results 100 and full text: at most 1,000,000 characters of page text, truncation flagged', async () => {
    const r = await get('/search_docs?query=quokka%20fences&tags=big&max_results=100&return_full_document_text=true');
    assert.equal(r.status, 200);
    const results = r.body!.results as { chunk_text: string; full_document: boolean; truncated: boolean }[];
    assert.equal(results.length, 30, 'every matching page is still a result');
    const fullChars = results.filter((x) => x.full_document).reduce((n, x) => n + x.chunk_text.length, 0);
    assert.ok(fullChars <= MAX_FULL_TEXT_CHARS, `${fullChars} characters of page text`);
    assert.ok(fullChars > MAX_FULL_TEXT_CHARS * 0.9, 'the budget is used, not wasted');
    assert.ok(r.text.length < MAX_FULL_TEXT_CHARS * 1.2, `answer of ${r.text.length} characters`);
    const whole = results.filter((x) => x.full_document && !x.truncated);
    assert.ok(whole.length >= 15 && whole.every((x) => x.chunk_text.length === BIG), 'the best pages come whole');
    assert.ok(results.some((x) => x.truncated && !x.full_document), 'pages past the budget keep their best passage, flagged');
    assert.match(r.body!.note, /at most 1,000,000 characters/);
    assert.match(r.body!.note, /get_doc_page/);
    // Within the budget nothing is flagged and there is no note.
    const small = await get('/search_docs?query=line&tags=small&return_full_document_text=true');
    assert.equal(small.body!.results[0].truncated, false);
    assert.equal(small.body!.note, undefined);
    assert.equal((await get('/search_docs?query=line&tags=small')).body!.results[0].truncated, undefined, 'no truncated field without full text');
  });

  it(`an MCP batch is capped at ${MAX_BATCH_MESSAGES} messages; a full batch of full-text searches stays bounded and the server keeps answering`, async () => {
    const session = await rawSession(base);
    try {
      const call = (id: number) => ({
        jsonrpc: '2.0', id, method: 'tools/call',
        params: { name: 'search_docs', arguments: { query: 'quokka fences', max_results: 100, return_full_document_text: true } },
      });
      const huge = await session.post(Array.from({ length: 100 }, (_, i) => call(i + 1)));
      assert.equal(huge.status, 400);
      const [refusal] = await rpcMessages(huge);
      assert.equal(refusal!.error.code, -32600);
      assert.match(refusal!.error.message, new RegExp(`batch of 100 messages is over the limit of ${MAX_BATCH_MESSAGES}`));

      const t0 = performance.now();
      const full = await session.post(Array.from({ length: MAX_BATCH_MESSAGES }, (_, i) => call(i + 1)));
      assert.equal(full.status, 200);
      const answers = await rpcMessages(full);
      assert.equal(answers.length, MAX_BATCH_MESSAGES);
      for (const a of answers) {
        const chars = (a.result.structuredContent.results as { chunk_text: string; full_document: boolean }[])
          .filter((x) => x.full_document)
          .reduce((n, x) => n + x.chunk_text.length, 0);
        assert.ok(chars <= MAX_FULL_TEXT_CHARS, `${chars} characters in one answer`);
      }
      const health = performance.now();
      assert.equal((await get('/health')).status, 200);
      assert.ok(performance.now() - health < 20_000, '/health still answers');
      assert.ok(performance.now() - t0 < 120_000);
    } finally {
      await session.close();
    }
  });

  it('MCP tools/call with missing or non-object arguments: -32602 invalid params with a readable message', async () => {
    const session = await rawSession(base);
    try {
      const cases: [unknown, RegExp][] = [
        [{ name: 'search_docs', arguments: 'quokka' }, /arguments of search_docs must be an object of named inputs \(got string\)/],
        [{ name: 'search_docs', arguments: ['quokka'] }, /must be an object .*got a list/],
        [{ name: 'search_docs', arguments: null }, /must be an object .*got null/],
        [{ name: 'search_docs' }, /arguments of search_docs are missing: give an object with at least query/],
        [{ name: 'get_doc_page', arguments: 7 }, /arguments of get_doc_page must be an object/],
        [[1, 2], /tools\/call needs params \{name, arguments\}: params is a list/],
        [undefined, /params is missing/],
      ];
      let id = 100;
      for (const [params, message] of cases) {
        const res = await session.post({ jsonrpc: '2.0', id: ++id, method: 'tools/call', ...(params === undefined ? {} : { params }) });
        const [answer] = await rpcMessages(res);
        assert.equal(answer!.id, id);
        assert.equal(answer!.error?.code, -32602, JSON.stringify(answer));
        assert.match(answer!.error.message, message);
        assert.ok(!/"code":|invalid_type|expected/.test(answer!.error.message), 'no raw validation dump');
      }
      // Other requests whose params do not fit their method: they got -32603 "internal error" with a dump of zod's issues.
      const protocol: [string, unknown, RegExp][] = [
        ['tools/list', { cursor: 5 }, /invalid params for tools\/list: params\.cursor: expected string, received number/],
        ['initialize', {}, /invalid params for initialize: params\.protocolVersion: expected string, received undefined/],
        ['logging/setLevel', { level: 'loud' }, /invalid params for logging\/setLevel: params\.level/],
      ];
      for (const [method, params, message] of protocol) {
        const [answer] = await rpcMessages(await session.post({ jsonrpc: '2.0', id: ++id, method, params }));
        assert.equal(answer!.id, id);
        assert.equal(answer!.error?.code, -32602, JSON.stringify(answer));
        assert.match(answer!.error.message, message);
        assert.ok(!/"code":/.test(answer!.error.message), 'no raw validation dump');
      }
      // A tool whose inputs are all optional may be called without arguments.
      const [tags] = await rpcMessages(await session.post({ jsonrpc: '2.0', id: ++id, method: 'tools/call', params: { name: 'list_tags' } }));
      assert.deepEqual(tags!.result.structuredContent.tags, ['big', 'small']);
    } finally {
      await session.close();
    }

    // The older SSE transport: the answer comes on the event stream, with the request's id.
    const controller = new AbortController();
    const stream = await fetch(`${base}/sse`, { headers: { accept: 'text/event-stream' }, signal: controller.signal });
    const reader = stream.body!.getReader();
    let buffered = '';
    const nextData = async (pattern: RegExp) => {
      for (;;) {
        const m = pattern.exec(buffered);
        if (m) return m[1]!;
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended: ${buffered}`);
        buffered += new TextDecoder().decode(value);
      }
    };
    try {
      const endpoint = await nextData(/event: endpoint\ndata: (\S+)/);
      for (const [rid, params] of [[71, 'x'], [72, { name: 'search_docs', arguments: 5 }]] as const) {
        const posted = await fetch(new URL(endpoint, base), {
          method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: rid, method: 'tools/call', params }),
        });
        assert.equal(posted.status, 202);
        await posted.text();
        const answer = JSON.parse(await nextData(new RegExp(`data: (\\{[^\\n]*"id":${rid}[^\\n]*\\})`)));
        assert.equal(answer.error.code, -32602, JSON.stringify(answer));
      }
    } finally {
      controller.abort();
    }
  });

  it('wrong types and too-long ids say what is wrong (REST and MCP alike)', async () => {
    const page = await get(`/get_doc_page?page_id=${'a'.repeat(201)}`);
    assert.equal(page.status, 422);
    assert.equal(page.body!.detail, 'page_id is too long: at most 200 characters (got 201)');
    const job = await get(`/job_progress?job_id=${'b'.repeat(101)}`);
    assert.equal(job.status, 422);
    assert.equal(job.body!.detail, 'job_id is too long: at most 100 characters (got 101)');
    assert.match((await get('/get_doc_page')).body!.detail, /^page_id is required: the id of a page from search_docs or list_doc_pages \(or give the url of a stored page instead\)$/);
    const notNumber = await get('/search_docs?query=x&max_results=lots');
    assert.equal(notNumber.body!.detail, 'max_results must be a whole number from 1 to 100 (got "lots")');
    // an empty query value, null, true or hex is not read as 0, 1 or 16: the caller gave no such number
    const empty = await get('/search_docs?query=x&max_results=');
    assert.equal(empty.status, 422);
    assert.equal(empty.body!.detail, 'max_results must be a whole number from 1 to 100 (got "")');
    const jobsBefore = (await get('/jobs')).body;
    const crawl = await fetch(`${base}/fetch_url`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ url: 'https://docs.test/', max_pages: true, max_depth: null }),
    });
    assert.equal(crawl.status, 422);
    // null for an optional field (max_depth) means "not given", as pydantic clients send None; max_pages has a default
    assert.equal(((await crawl.json()) as { detail: string }).detail, 'max_pages must be a whole number from 1 to 1,000 (got a boolean)');
    const nullPages = await fetch(`${base}/fetch_url`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"url":"https://docs.test/","max_pages":null}' });
    assert.equal(((await nullPages.json()) as { detail: string }).detail, 'max_pages must be a whole number from 1 to 1,000 (got null)');
    assert.equal(((await get('/get_doc_page?page_id=lines&ending_line=0x10')).body!.detail), 'ending_line must be a whole number from -1 to 9,007,199,254,740,991 (got "0x10")');
    assert.deepEqual((await get('/jobs')).body, jobsBefore, 'no crawl was queued');

    const client = new Client({ name: 'types', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`)) as Transport);
    try {
      const r = (await client.callTool({ name: 'search_docs', arguments: { query: 123 } })) as { isError?: boolean; content: { text: string }[] };
      assert.equal(r.isError, true);
      assert.match(r.content[0]!.text, /query must be a string \(got a number\)/);
      assert.ok(!/is required/.test(r.content[0]!.text));
      const list = (await client.callTool({ name: 'get_doc_page', arguments: { page_id: ['x'] } })) as { content: { text: string }[] };
      assert.match(list.content[0]!.text, /page_id must be a string \(got a list\)/);
      // as over REST: the wrong value is shown, and "" or null is not read as 0
      const lots = (await client.callTool({ name: 'search_docs', arguments: { query: 'x', max_results: 'lots' } })) as { isError?: boolean; content: { text: string }[] };
      assert.equal(lots.isError, true);
      assert.equal(lots.content[0]!.text, 'Input validation error: Invalid arguments for tool search_docs: max_results must be a whole number from 1 to 100 (got "lots")');
      const nothing = (await client.callTool({ name: 'fetch_url', arguments: { url: 'https://docs.test/', max_pages: '', max_depth: null } })) as { isError?: boolean; content: { text: string }[] };
      assert.equal(nothing.isError, true);
      assert.match(nothing.content[0]!.text, /max_pages must be a whole number from 1 to 1,000 \(got ""\)$/);
      // an agent's null for an optional argument means "not given" (the SDK's own pass refused it)
      const nulls = (await client.callTool({ name: 'search_docs', arguments: { query: 'quokka', tags: null, mode: 'keyword' } })) as { isError?: boolean; content: { text: string }[] };
      assert.ok(!nulls.isError, nulls.content[0]?.text);
      const good = (await client.callTool({ name: 'search_docs', arguments: { query: 'quokka', max_results: '2' } })) as { isError?: boolean };
      assert.ok(!good.isError, 'a number as text is still taken');
    } finally {
      await client.close();
    }
  });

  it('wrong JSON types name the field and what it takes, never a bare "Invalid input" (REST and MCP alike)', async () => {
    const post = async (path: string, body: string) => {
      const r = await fetch(base + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      return { status: r.status, detail: ((await r.json()) as { detail: string }).detail };
    };
    const cases: [string, string, RegExp][] = [
      ['/fetch_url', 'true', /^the inputs must be a JSON object of named fields, e\.g\. \{"url": \.\.\.\} \(got a boolean\)$/],
      ['/recrawl_site', '["x"]', /must be a JSON object of named fields.*\(got a list\)/],
      ['/delete_docs', '{"page_ids":"big-1"}', /^page_ids must be a list of page ids \(strings\) \(got a string\)$/],
      ['/delete_docs', '{"tags":[1]}', /^tags must be a list of strings or one comma-separated string \(got a list holding a number\)$/],
      ['/fetch_url', '{"url":"https://docs.test/","include":"a","scope":3,"respect_robots":"maybe"}',
        /scope must be one of prefix, host or domain \(got a number\); include must be a list of URL patterns \(strings\) \(got a string\); respect_robots must be true or false \(got "maybe"\)/],
      ['/fetch_url', JSON.stringify({ url: 'https://docs.test/', exclude: Array(51).fill('a') }), /exclude has too many entries: at most 50 \(got 51\): combine patterns/],
      // a lone surrogate would be stored as U+FFFD: a tag nobody could type again
      ['/fetch_url', '{"url":"https://docs.test/","tags":["ok","\\ud800"]}', /^tags must be valid Unicode text \(it holds a lone UTF-16 surrogate/],
      // a misspelt field would silently leave its field at the default: 100 pages crawled for max_page 5
      ['/fetch_url', '{"url":"https://docs.test/","max_page":5,"maxDepth":1,"tag":"x","comment":"extra fields are ignored"}',
        /^"max_page" is not an input here: did you mean max_pages\?; "maxDepth" is not an input here: did you mean max_depth\?; "tag" is not an input here: did you mean tags\?$/],
      // tags are words to filter on: bounded in number and length, no control characters
      ['/fetch_url', JSON.stringify({ url: 'https://docs.test/', tags: Array.from({ length: 2000 }, (_, i) => `t${i}`) }), /^tags has too many entries: at most 100 \(got 2,000\)$/],
      ['/fetch_url', JSON.stringify({ url: 'https://docs.test/', tags: ['ok', 'x'.repeat(300_000)] }), /^tags must each be at most 200 characters \(got one of 300,000: "xxx/],
      ['/fetch_url', JSON.stringify({ url: 'https://docs.test/', tags: ['ok', 'two\nlines'] }), /^tags must not hold control characters such as a newline, tab or NUL \(got "two\\nlines"\)$/],
      ['/fetch_url', JSON.stringify({ url: 'https://docs.test/', tags: 'nul\u0000tag' }), /control characters/],
      ['/add_local', '{"path":"/x","base_url":5,"max_file_bytes":"lots"}', /base_url must be a string \(got a number\); max_file_bytes must be a whole number from 1,024 to 1,073,741,824 \(got "lots"\)$/],
    ];
    for (const [path, body, detail] of cases) {
      const r = await post(path, body);
      assert.equal(r.status, 422, `${path} ${body}`);
      assert.match(r.detail, detail);
      assert.ok(!/Invalid input|Invalid option|expected (array|object|number)/.test(r.detail), r.detail);
    }
    const search = await get('/search_docs?query=x&tags=a&return_full_document_text=sure&mode=fast&max_results=1e308');
    assert.equal(search.status, 422);
    // one message per wrong field, even when a value fails several checks
    assert.equal(
      search.body!.detail,
      'max_results must be a whole number from 1 to 100 (got 1e+308); return_full_document_text must be true or false (got "sure"); mode must be one of hybrid, vector or keyword (got "fast")',
    );
    const typo = await get('/search_docs?query=x&max_result=3&utm_source=mail');
    assert.equal(typo.status, 422);
    assert.equal(typo.body!.detail, '"max_result" is not an input here: did you mean max_results?');
    // one letter off a short field name is often another word a client sends for its own reasons
    assert.equal((await get('/search_docs?query=x&model=gpt&node=1&code=2&uri=a')).status, 200);
    const jobs = await get('/jobs?limit=many&status=done');
    assert.equal(jobs.status, 422);
    assert.equal(jobs.body!.detail, 'limit must be a whole number from 1 to 1,000 (got "many"); status must be one of pending, running, completed, failed, cancelled (got "done")');

    const client = new Client({ name: 'types', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`)) as Transport);
    try {
      const r = (await client.callTool({ name: 'delete_docs', arguments: { page_ids: 'big-1', tags: { a: 1 } } })) as { isError?: boolean; content: { text: string }[] };
      assert.equal(r.isError, true);
      assert.match(r.content[0]!.text, /page_ids must be a list of page ids \(strings\) \(got a string\)/);
      assert.match(r.content[0]!.text, /tags must be a list of strings or one comma-separated string \(got an object\)/);
      // the MCP SDK lists every issue: a value failing two checks must still give one message
      const huge = (await client.callTool({ name: 'get_doc_page', arguments: { page_id: 'lines', starting_line: 1e308 } })) as { content: { text: string }[] };
      assert.equal(huge.content[0]!.text.match(/starting_line must be a whole number from 1 to [\d,]+ \(got 1e\+308\)/g)?.length, 1, huge.content[0]!.text);
    } finally {
      await client.close();
    }
    assert.equal((await get('/search_docs?query=quokka&tags=big')).status, 200, 'nothing was deleted, search still answers');
  });

  it('get_doc_page: a backwards line range or ending_line=0 is 422; job ids are case-insensitive', async () => {
    const backwards = await get('/get_doc_page?page_id=lines&starting_line=5&ending_line=2');
    assert.equal(backwards.status, 422);
    assert.match(backwards.body!.detail, /ending_line \(2\) is before starting_line \(5\)/);
    const zero = await get('/get_doc_page?page_id=lines&ending_line=0');
    assert.equal(zero.status, 422);
    assert.match(zero.body!.detail, /ending_line must be -1 \(to the end of the page\) or a line number from 1/);
    const ok = await get('/get_doc_page?page_id=lines&starting_line=3&ending_line=3');
    assert.equal(ok.body!.text, 'line 3');
    assert.equal((await get('/get_doc_page?page_id=lines&starting_line=9&ending_line=-1')).body!.text, 'line 9\nline 10');

    const job = { job_id: '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d', start_url: 'https://docs.test/', max_pages: 1, max_depth: 0, tags: [], options: {} };
    await ctx.store.jobs.create(job as never);
    for (const id of [job.job_id.toUpperCase(), job.job_id.slice(0, 8).toUpperCase(), '0A1b2C3d']) {
      const r = await get(`/job_progress?job_id=${id}`);
      assert.equal(r.status, 200, id);
      assert.equal(r.body!.job_id, job.job_id);
    }
  });

  it('every error answer is JSON {detail} with the right status', async () => {
    const cases: [string, number, RegExp][] = [
      [`/search_docs?query=${'q'.repeat(33 * 1024)}`, 431, /larger than 32 KiB: send a shorter query string \(search_docs also takes its inputs as a JSON body: POST \/search_docs\)/],
      [`/search_docs?query=${'q'.repeat(25 * 1024)}`, 414, /query string longer than 24576 characters/],
      [`/map/page/${'p'.repeat(600)}`, 414, /longer than 500 characters/],
      ['/map/page/%ZZ', 400, /not valid percent-encoding/],
      ['/map/page/x/raw', 404, /no page with id "x"/],
      ['/map/page/x', 404, /no page with id "x"/],
      ['/no/such/route', 404, /no route GET \/no\/such\/route/],
      // route-pattern characters in an unknown path are plain text, not a 500 from the router
      ['/ui/jobs/*/raw', 404, /no route GET \/ui\/jobs\/\*\/raw/],
      ['/a*/b:c', 404, /no route GET \/a\*\/b:c/],
    ];
    for (const [path, status, detail] of cases) {
      const r = await get(path, { accept: 'application/json' });
      assert.equal(r.status, status, path.slice(0, 40));
      assert.match(r.type, /^application\/json/, path.slice(0, 40));
      assert.equal(typeof r.body?.detail, 'string', `${path.slice(0, 40)}: ${r.text.slice(0, 100)}`);
      assert.match(r.body!.detail, detail, path.slice(0, 40));
    }
    // A malformed request line is answered by Node's parser: JSON too.
    const { port } = { port: (app.server.address() as { port: number }).port };
    // fetch() would resolve the dot segments: sent as it is, the path must not reach outside /docs/static.
    const dots = await rawExchange(port, 'GET /docs/static/../.. HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n', 5000);
    assert.equal(dots.status, 403);
    assert.match(dots.body, /"detail":"Forbidden: \/docs\/static\/..\/.. is outside what this server serves"/);
    const garbage = await rawExchange(port, 'GARBAGE / HTTP/1.1\r\nHost: x\r\n\r\n', 5000);
    assert.equal(garbage.status, 400);
    assert.match(JSON.parse(garbage.body).detail, /malformed HTTP request/);
    assert.equal((await get('/health')).status, 200);
  });
});

describe('slow clients', () => {
  let ctx: TestContext;
  let app: FastifyInstance;
  let base = '';
  let port = 0;
  let site: ReturnType<typeof createServer>;
  let siteUrl = '';
  const timeouts = { headersMs: 600, requestMs: 1200, keepAliveMs: 500, checkIntervalMs: 100 };
  before(async () => {
    // A site whose pages take 400 ms each: a crawl that outlasts the request timeout.
    site = createServer((req, res) => {
      const n = Number(/\/p(\d+)\.html/.exec(req.url ?? '')?.[1] ?? -1);
      if (n < 0) return void res.writeHead(404).end();
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end(`<html><head><title>Slow ${n}</title></head><body><main><h1>Slow page ${n}</h1><p>Patience is a virtue, page ${n}.</p><a href="/p${n + 1}.html">next</a></main></body></html>`);
      }, 400);
    });
    await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
    siteUrl = `http://127.0.0.1:${(site.address() as { port: number }).port}`;
    ctx = await makeContext({ config: { render: 'never', respectRobots: false } });
    await addPages(ctx, [{ id: 'p', title: 'Page', markdown: '# Page\n\nSome text about patience.', tags: ['t'] }]);
    app = await buildHttpApp(ctx, { timeouts });
    await registerMcpRoutes(app, ctx, { progressIntervalMs: 100 });
    ({ base, port } = await listen(app));
  });
  after(async () => {
    await app.close();
    await ctx.close();
    site.closeAllConnections();
    await new Promise<void>((r) => site.close(() => r()));
  });

  it('the defaults suit a local service: headers 10 s, whole request 30 s, keep-alive 5 s', async () => {
    const plain = await buildHttpApp(ctx, {});
    try {
      assert.deepEqual(DEFAULT_TIMEOUTS, { headersMs: 10_000, requestMs: 30_000, keepAliveMs: 5_000, checkIntervalMs: 1_000 });
      assert.equal(plain.server.headersTimeout, 10_000);
      assert.equal(plain.server.requestTimeout, 30_000);
      assert.equal(plain.server.keepAliveTimeout, 5_000);
    } finally {
      await plain.close();
    }
  });

  it('a body announced and never sent: 408 JSON once the request timeout passes, the connection closed', async () => {
    const r = await rawExchange(port, 'POST /fetch_url HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"url":');
    assert.equal(r.status, 408);
    assert.ok(r.closed);
    assert.ok(r.ms >= timeouts.requestMs - 50 && r.ms < timeouts.requestMs + 5000, `answered after ${r.ms.toFixed(0)} ms`);
    assert.match(JSON.parse(r.body).detail, /not received in time/);
  });

  it('headers never finished: 408 JSON after the headers timeout', async () => {
    const r = await rawExchange(port, 'GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ');
    assert.equal(r.status, 408);
    assert.ok(r.ms < timeouts.headersMs + 5000, `answered after ${r.ms.toFixed(0)} ms`);
    assert.match(JSON.parse(r.body).detail, /not received in time/);
  });

  it('an idle kept-alive connection is closed after the keep-alive timeout', async () => {
    const r = await rawExchange(port, 'GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    assert.equal(r.status, 200);
    assert.ok(r.closed && r.ms < timeouts.keepAliveMs + 5000, `closed after ${r.ms.toFixed(0)} ms`);
  });

  it('long-lived streams still work: an SSE MCP session idle past the timeouts, and a crawl streamed over Streamable HTTP', async () => {
    const sse = new Client({ name: 'sse', version: '1' });
    await sse.connect(new SSEClientTransport(new URL(`${base}/mcp`)));
    const http = new Client({ name: 'http', version: '1' });
    await http.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`)) as Transport);
    try {
      // fetch_url with wait streams progress for longer than the request timeout (4 pages x 400 ms).
      const t0 = performance.now();
      const progress: number[] = [];
      const done = (await http.callTool(
        { name: 'fetch_url', arguments: { url: `${siteUrl}/p1.html`, max_pages: 4, max_depth: 5, wait: true } },
        undefined,
        { onprogress: (p) => progress.push(p.progress), timeout: 60_000 },
      )) as unknown as { structuredContent: { status: string; pages_crawled: number } };
      const ms = performance.now() - t0;
      assert.equal(done.structuredContent.status, 'completed');
      assert.equal(done.structuredContent.pages_crawled, 4);
      assert.ok(ms > timeouts.requestMs, `the call streamed for ${ms.toFixed(0)} ms`);
      assert.ok(progress.length >= 1);
      // The SSE session sat idle through all of that, well past the headers, request and keep-alive timeouts.
      const r = (await sse.callTool({ name: 'search_docs', arguments: { query: 'patience', max_results: 3 } })) as unknown as { structuredContent: { results: unknown[] } };
      assert.ok(r.structuredContent.results.length >= 1);
    } finally {
      await sse.close();
      await http.close();
    }
  });
});
