import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { buildHttpApp } from '../src/http/app.js';
import { registerMcpRoutes } from '../src/mcp/http.js';
import { localBackend } from '../src/app/backend.js';
import { startDocSite, type DocSite } from './helpers/doc-site.js';
import { makeContext, type TestContext } from './helpers/context.js';
import { addPages } from './helpers/pages.js';
import { tempDir } from './helpers/tmp.js';

const READ_TOOLS = ['get_doc_page', 'job_progress', 'list_doc_pages', 'list_tags', 'search_docs'];
const ALL_TOOLS = [...READ_TOOLS, 'add_local', 'cancel_job', 'delete_docs', 'fetch_url'].sort();

type CallResult = { isError?: boolean; content: { type: string; text: string }[] };
const text = (r: unknown) => (r as CallResult).content[0]!.text;
const json = (r: unknown) => JSON.parse(text(r)) as Record<string, any>;

const INITIALIZE = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
};

/** A raw JSON-RPC POST to /mcp, for what the SDK client never does on its own. */
const rpc = (base: string, body: object, headers: Record<string, string> = {}) =>
  fetch(`${base}/mcp`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
    body: JSON.stringify(body),
  });

/** The same checks for every transport. */
async function exercise(client: Client, opts: { siteUrl?: string } = {}) {
  const { tools } = await client.listTools();
  assert.deepEqual(tools.map((t) => t.name).sort(), ALL_TOOLS);
  const search = tools.find((t) => t.name === 'search_docs')!;
  assert.ok((search.description ?? '').length > 100, 'descriptions written for an LLM');
  assert.ok((search.inputSchema.properties as Record<string, unknown>).max_results, 'input schema');
  assert.deepEqual(search.inputSchema.required, ['query']);
  const field = (tool: string, name: string) =>
    (tools.find((t) => t.name === tool)!.inputSchema.properties as Record<string, { description?: string }>)[name]!;
  assert.match(field('search_docs', 'tags').description ?? '', /at least one of these tags/, 'fields described for an LLM');
  assert.match(field('get_doc_page', 'ending_line').description ?? '', /-1/);
  assert.match(tools.find((t) => t.name === 'get_doc_page')!.description ?? '', /starting_line/, 'paging through a long page is explained');
  assert.match(tools.find((t) => t.name === 'fetch_url')!.description ?? '', /job_progress/);
  for (const t of tools) assert.ok((t.description ?? '').length > 80 && t.title, `${t.name} has a title and a description`);
  assert.equal(tools.find((t) => t.name === 'delete_docs')!.annotations?.destructiveHint, true);

  assert.deepEqual(json(await client.callTool({ name: 'list_tags', arguments: {} })).tags, ['kettle']);
  const pages = json(await client.callTool({ name: 'list_doc_pages', arguments: {} }));
  assert.equal(pages.doc_pages.length, 2);
  const page = json(await client.callTool({ name: 'get_doc_page', arguments: { page_id: 'retry', starting_line: 1, ending_line: 1 } }));
  assert.equal(page.text, '# Retries');
  assert.equal(page.total_lines, 3);
  const found = json(await client.callTool({ name: 'search_docs', arguments: { query: 'exponential backoff', max_results: 1 } }));
  assert.equal(found.results[0].page_id, 'retry');
  assert.equal(found.note, undefined);
  // reading around a result: the section of its passage, and which lines that is
  const around = json(await client.callTool({ name: 'get_doc_page', arguments: { page_id: 'retry', chunk_id: found.results[0].chunk_id } }));
  assert.deepEqual([around.text, around.starting_line, around.ending_line, around.total_lines], ['# Retries\n\nFailed tasks are retried with exponential backoff.', 1, 3, 3]);
  // a word no page holds: the agent is told, rather than left to trust results that match only the others
  const unknown = json(await client.callTool({ name: 'search_docs', arguments: { query: 'sargable exponential backoff', max_results: 1 } }));
  assert.equal(unknown.results[0].page_id, 'retry');
  assert.match(unknown.note, /^No indexed page contains "sargable": the results match the query's other words/);
  // a Python client's str(True) is "True", which the Python Doctor (pydantic) read as true
  const whole = json(await client.callTool({ name: 'search_docs', arguments: { query: 'exponential backoff', max_results: 1, return_full_document_text: 'True' } }));
  assert.equal(whole.results[0].full_document, true);

  // a page by the url a search result gave
  const byUrl = json(await client.callTool({ name: 'get_doc_page', arguments: { url: found.results[0].url, ending_line: 1 } }));
  assert.deepEqual([byUrl.page_id, byUrl.text], ['retry', '# Retries']);
  const missing = (await client.callTool({ name: 'get_doc_page', arguments: { page_id: 'nope' } })) as CallResult;
  assert.equal(missing.isError, true);
  assert.match(text(missing), /no page with id "nope"/);
  const invalid = (await client.callTool({ name: 'search_docs', arguments: { query: 'x', max_results: 500 } })) as CallResult;
  assert.equal(invalid.isError, true);
  assert.match(text(invalid), /max_results/);
  assert.match(text(invalid), /100/, 'the message says the limit');
  const noSelector = (await client.callTool({ name: 'delete_docs', arguments: {} })) as CallResult;
  assert.equal(noSelector.isError, true);
  assert.match(text(noSelector), /give at least one of tags, domain or page_ids/);
  const badJob = (await client.callTool({ name: 'job_progress', arguments: { job_id: 'ffffffff-0000' } })) as CallResult;
  assert.equal(badJob.isError, true);
  assert.match(text(badJob), /no job with id "ffffffff-0000"/);
  const structured = (await client.callTool({ name: 'list_tags', arguments: {} })) as { structuredContent?: { tags?: string[] } };
  assert.deepEqual(structured.structuredContent?.tags, ['kettle'], 'structured content beside the JSON text');

  if (opts.siteUrl) {
    // Without wait: the job id at once, then job_progress and cancel_job.
    const started = json(await client.callTool({ name: 'fetch_url', arguments: { url: `${opts.siteUrl}/docs/`, max_pages: 50, tags: ['to-cancel'] } }));
    assert.match(started.job_id, /^[0-9a-f-]{36}$/);
    assert.equal(started.status, 'pending');
    assert.equal(json(await client.callTool({ name: 'job_progress', arguments: { job_id: started.job_id } })).job_id, started.job_id);
    const cancelled = json(await client.callTool({ name: 'cancel_job', arguments: { job_id: started.job_id.slice(0, 8) } }));
    assert.equal(cancelled.status, 'cancelled');
    assert.equal(cancelled.completed, true);
    await client.callTool({ name: 'delete_docs', arguments: { tags: ['to-cancel'] } });

    // With wait and a progress token: progress notifications while pages are crawled, then the final progress.
    const progress: { progress: number; total?: number; message?: string }[] = [];
    const done = json(await client.callTool(
      { name: 'fetch_url', arguments: { url: `${opts.siteUrl}/docs/guide/intro.html`, max_pages: 3, max_depth: 2, wait: true, tags: ['widget'] } },
      undefined,
      { onprogress: (p) => progress.push(p), timeout: 60_000 },
    ));
    assert.equal(done.status, 'completed');
    assert.ok(done.pages_crawled >= 2);
    assert.ok(progress.length >= 1, 'progress notifications sent');
    for (let i = 1; i < progress.length; i++) assert.ok(progress[i]!.progress > progress[i - 1]!.progress, 'progress increases');
    assert.equal(progress.at(-1)!.progress, done.pages_crawled);
    assert.match(progress.at(-1)!.message ?? '', /pages? crawled/);
    assert.equal(json(await client.callTool({ name: 'job_progress', arguments: { job_id: done.job_id.slice(0, 8) } })).status, 'completed');
    const del = json(await client.callTool({ name: 'delete_docs', arguments: { tags: ['widget'] } }));
    assert.equal(del.deleted_pages, done.pages_crawled);
  }
}

describe('MCP over HTTP', () => {
  let ctx: TestContext;
  let app: FastifyInstance;
  let base = '';
  let site: DocSite;
  before(async () => {
    site = await startDocSite({ delayMs: 50 });
    ctx = await makeContext({ config: { render: 'never' } });
    await addPages(ctx, [
      { id: 'retry', title: 'Retries', markdown: '# Retries\n\nFailed tasks are retried with exponential backoff.', tags: ['kettle'] },
      { id: 'install', title: 'Install', markdown: '# Install\n\npip install kettle', tags: ['kettle'] },
    ]);
    app = await buildHttpApp(ctx, {});
    // The context itself (as `doctor serve` could pass it); a long poll interval, so fetch_url's wait must be
    // driven by the job runner's progress events.
    await registerMcpRoutes(app, ctx, { progressIntervalMs: 120_000 });
    await app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  });
  after(async () => {
    await app.close();
    await ctx.close();
    await site.close();
  });

  it('Streamable HTTP at /mcp', async () => {
    const client = new Client({ name: 'test', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`)) as Transport);
    try {
      await exercise(client, { siteUrl: site.url });
    } finally {
      await client.close();
    }
  });

  it('the older SSE transport at the same /mcp URL', async () => {
    const client = new Client({ name: 'test-sse', version: '1' });
    await client.connect(new SSEClientTransport(new URL(`${base}/mcp`)));
    try {
      await exercise(client);
    } finally {
      await client.close();
    }
  });

  it('GET /sse is an alias for the SSE transport', async () => {
    const client = new Client({ name: 'test-sse-alias', version: '1' });
    await client.connect(new SSEClientTransport(new URL(`${base}/sse`)));
    try {
      assert.deepEqual(json(await client.callTool({ name: 'list_tags', arguments: { search_substring: 'ket' } })).tags, ['kettle']);
    } finally {
      await client.close();
    }
  });

  it('sessions: DELETE ends one, unknown ids get 404, requests without a session need initialize', async () => {
    const transport = new StreamableHTTPClientTransport(new URL(`${base}/mcp`));
    const client = new Client({ name: 'session', version: '1' });
    await client.connect(transport as Transport);
    const sid = transport.sessionId!;
    assert.ok(sid);
    await transport.terminateSession();
    await client.close();
    const again = await rpc(base, { jsonrpc: '2.0', id: 2, method: 'tools/list' }, { 'mcp-session-id': sid });
    assert.equal(again.status, 404);
    assert.match(((await again.json()) as { error: { message: string } }).error.message, /unknown or expired MCP session/);
    const noSession = await rpc(base, { jsonrpc: '2.0', id: 3, method: 'tools/list' });
    assert.equal(noSession.status, 400);
    assert.match(await noSession.text(), /send an initialize request/);
    const noSse = await fetch(`${base}/messages?sessionId=nope`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(noSse.status, 404);
  });

  it('refuses requests from web pages on other origins (DNS rebinding), allows local ones', async () => {
    const evil = await rpc(base, INITIALIZE, { origin: 'http://attacker.example:9111' });
    assert.equal(evil.status, 403);
    assert.match(await evil.text(), /attacker\.example/);
    const sse = await fetch(`${base}/mcp`, { headers: { accept: 'text/event-stream', origin: 'http://attacker.example' } });
    assert.equal(sse.status, 403);
    const local = await rpc(base, INITIALIZE, { origin: 'http://localhost:6274' });
    assert.equal(local.status, 200);
    assert.ok(local.headers.get('mcp-session-id'));
    await local.body?.cancel();
  });

  it('read-only hides the write tools', async () => {
    const ro = await buildHttpApp(ctx, { readOnly: true });
    await registerMcpRoutes(ro, localBackend(ctx), { readOnly: true });
    await ro.listen({ host: '127.0.0.1', port: 0 });
    const client = new Client({ name: 'ro', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${(ro.server.address() as { port: number }).port}/mcp`)) as Transport);
    try {
      assert.deepEqual((await client.listTools()).tools.map((t) => t.name).sort(), READ_TOOLS);
    } finally {
      await client.close();
      await ro.close();
    }
  });

  it('a token protects /mcp too', async () => {
    const secured = await buildHttpApp(ctx, { apiToken: 'mcp-secret-token' });
    await registerMcpRoutes(secured, localBackend(ctx));
    await secured.listen({ host: '127.0.0.1', port: 0 });
    const url = new URL(`http://127.0.0.1:${(secured.server.address() as { port: number }).port}/mcp`);
    try {
      await assert.rejects(new Client({ name: 'x', version: '1' }).connect(new StreamableHTTPClientTransport(url) as Transport));
      const client = new Client({ name: 'y', version: '1' });
      await client.connect(new StreamableHTTPClientTransport(url, { requestInit: { headers: { authorization: 'Bearer mcp-secret-token' } } }) as Transport);
      assert.ok((await client.listTools()).tools.length > 0);
      await client.close();
    } finally {
      await secured.close();
    }
  });
});

describe('MCP HTTP sessions and shutdown', () => {
  let ctx: TestContext;
  before(async () => {
    ctx = await makeContext({ runner: false });
  });
  after(async () => {
    await ctx.close();
  });

  const start = async (opts: Parameters<typeof registerMcpRoutes>[2] = {}) => {
    const app = Fastify();
    await registerMcpRoutes(app, ctx, opts);
    await app.listen({ host: '127.0.0.1', port: 0 });
    return { app, base: `http://127.0.0.1:${(app.server.address() as { port: number }).port}` };
  };

  it('closes sessions left idle, but not those whose client is still connected', async () => {
    const { app, base } = await start({ sessionIdleMs: 100 });
    try {
      const client = new Client({ name: 'live', version: '1' });
      await client.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`)) as Transport);
      const init = await rpc(base, INITIALIZE);
      const abandoned = init.headers.get('mcp-session-id')!;
      await init.text();
      assert.equal((await rpc(base, { jsonrpc: '2.0', method: 'notifications/initialized' }, { 'mcp-session-id': abandoned })).status, 202);
      await new Promise((r) => setTimeout(r, 400));
      assert.equal((await rpc(base, { jsonrpc: '2.0', id: 2, method: 'tools/list' }, { 'mcp-session-id': abandoned })).status, 404, 'idle session closed');
      assert.ok((await client.listTools()).tools.length > 0, 'a connected client keeps its session');
      await client.close();
    } finally {
      await app.close();
    }
  });

  const initialized = async (base: string) => {
    const init = await rpc(base, INITIALIZE);
    assert.equal(init.status, 200);
    const sid = init.headers.get('mcp-session-id')!;
    await init.text();
    assert.equal((await rpc(base, { jsonrpc: '2.0', method: 'notifications/initialized' }, { 'mcp-session-id': sid })).status, 202);
    return sid;
  };
  const listTools = async (base: string, sid: string) => {
    const res = await rpc(base, { jsonrpc: '2.0', id: 2, method: 'tools/list' }, { 'mcp-session-id': sid });
    await res.text();
    return res.status;
  };
  const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it('a full session table makes room for a new client by closing the session idle the longest', async () => {
    const { app, base } = await start({ maxSessions: 2 });
    const clients: Client[] = [];
    try {
      // sessions a client opened and never closed (no DELETE, no stream)
      const a = await initialized(base);
      await pause(5);
      const b = await initialized(base);
      await pause(5);
      assert.equal(await listTools(base, a), 200, 'a is used again: b is now the one idle the longest');
      await pause(5);
      const fresh = new Client({ name: 'fresh', version: '1' });
      await fresh.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`)) as Transport);
      clients.push(fresh);
      assert.ok((await fresh.listTools()).tools.length > 0, 'a new client gets in although the table was full');
      assert.equal(await listTools(base, b), 404, 'the session idle the longest was closed: its client is told to initialize again');
      assert.equal(await listTools(base, a), 200, 'the more recently used one is kept');
      const next = new Client({ name: 'next', version: '1' });
      await next.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`)) as Transport);
      clients.push(next);
      assert.ok((await next.listTools()).tools.length > 0);
      assert.equal(await listTools(base, a), 404);
      assert.ok((await fresh.listTools()).tools.length > 0, 'the connected client keeps its session');
    } finally {
      for (const c of clients) await c.close();
      await app.close();
    }
  });

  it('connected clients a program never closed (each holding its notification stream) give way to a new one', async () => {
    const { app, base } = await start({ maxSessions: 2 });
    const clients: Client[] = [];
    const connect = async (name: string) => {
      const c = new Client({ name, version: '1' });
      await c.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`)) as Transport);
      clients.push(c);
      assert.ok((await c.listTools()).tools.length > 0, name);
      await pause(50); // its GET stream opens
      return c;
    };
    try {
      const leaked = await connect('leaked-1');
      const used = await connect('leaked-2');
      assert.ok((await used.listTools()).tools.length > 0);
      const fresh = await connect('fresh');
      assert.ok((await fresh.listTools()).tools.length > 0, 'the new client got in');
      await assert.rejects(leaked.listTools(), /404|session/i, 'the session unused the longest was closed');
      assert.ok((await used.listTools()).tools.length > 0, 'the recently used one is kept');
    } finally {
      for (const c of clients) await c.close().catch(() => {});
      await app.close();
    }
  });

  it('new clients arriving together into a table of leaked connected clients all get in (they do not close each other)', async () => {
    const { app, base } = await start({ maxSessions: 3, sessionSettleMs: 300 });
    const clients: Client[] = [];
    const connect = async (name: string) => {
      const c = new Client({ name, version: '1' });
      clients.push(c);
      await c.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`)) as Transport);
      return (await c.listTools()).tools.length;
    };
    try {
      for (const name of ['leaked-1', 'leaked-2', 'leaked-3']) await connect(name);
      await pause(400); // their GET streams open, and they sit unused
      // each new session used to be the first to go (nothing open yet), so the next newcomer closed it
      const arrivals = await Promise.allSettled([connect('a'), connect('b'), connect('c')]);
      assert.deepEqual(arrivals.map((r) => (r.status === 'fulfilled' ? 'in' : String(r.reason).slice(0, 120))), ['in', 'in', 'in']);
      for (const c of clients.slice(0, 3)) await assert.rejects(c.listTools(), /404|session/i, 'the leaked ones gave way');
    } finally {
      for (const c of clients) await c.close().catch(() => {});
      await app.close();
    }
  });

  it('when no session can give way, a new client gets 503 with Retry-After and what to do', async () => {
    const { app, base } = await start({ maxSessions: 1 });
    try {
      // a legacy SSE session is its stream: it is never closed to make room
      const held = await fetch(`${base}/sse`, { headers: { accept: 'text/event-stream' } });
      assert.equal(held.status, 200);
      const reader = held.body!.getReader();
      const endpoint = new TextDecoder().decode((await reader.read()).value);
      const sessionId = /sessionId=([\w-]+)/.exec(endpoint)?.[1];
      assert.ok(sessionId, endpoint);
      const refused = await rpc(base, INITIALIZE);
      assert.equal(refused.status, 503);
      assert.match(refused.headers.get('retry-after') ?? '', /^[1-9]\d*$/, 'Retry-After in seconds');
      const body = (await refused.json()) as { error: { message: string } };
      assert.match(body.error.message, /too many MCP sessions \(1\).*try again in \d+ s.*DELETE \/mcp/i);
      const sse = await fetch(`${base}/sse`, { headers: { accept: 'text/event-stream' } });
      assert.equal(sse.status, 503, 'the SSE transport too');
      assert.match(sse.headers.get('retry-after') ?? '', /^[1-9]\d*$/);
      await sse.text();

      await reader.cancel();
      // once its stream has closed the session is gone, and a new client gets in
      let admitted = 0;
      for (let i = 0; i < 50 && admitted !== 200; i++) {
        await pause(20);
        const res = await rpc(base, INITIALIZE);
        admitted = res.status;
        await res.text();
      }
      assert.equal(admitted, 200);
    } finally {
      await app.close();
    }
  });

  it('shutting down closes open SSE and Streamable HTTP streams instead of hanging', async () => {
    const { app, base } = await start();
    const sse = new Client({ name: 'sse', version: '1' });
    await sse.connect(new SSEClientTransport(new URL(`${base}/mcp`)));
    const http = new Client({ name: 'http', version: '1' });
    await http.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`)) as Transport);
    const closed = await Promise.race([app.close().then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 3000).unref())]);
    assert.ok(closed, 'app.close() finishes within 3 s while MCP clients are connected');
    await sse.close();
    await http.close();
  });
});

describe('MCP over stdio (doctor mcp)', () => {
  const seeded = async () => {
    const dir = tempDir();
    const seed = await makeContext({ dbPath: join(dir, 'doctor.duckdb'), runner: false, embedder: new (await import('../src/embed/lexical.js')).LexicalEmbedder() });
    await addPages(seed, [
      { id: 'retry', title: 'Retries', markdown: '# Retries\n\nFailed tasks are retried with exponential backoff.', tags: ['kettle'] },
      { id: 'install', title: 'Install', markdown: '# Install\n\npip install kettle', tags: ['kettle'] },
    ]);
    await seed.close();
    return dir;
  };
  const childEnv = { ...process.env, DOCTOR_LOG_LEVEL: 'warn', DOCTOR_ALLOW_HOSTS: '127.0.0.1' } as Record<string, string>;
  /** `doctor mcp` on a data directory, its output collected as it comes. */
  const startMcp = (dir: string) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', '--data-dir', dir, 'mcp'], { env: childEnv, stdio: ['pipe', 'pipe', 'pipe'] });
    const out = { stdout: '', stderr: '' };
    child.stdout.on('data', (d) => (out.stdout += d));
    child.stderr.on('data', (d) => (out.stderr += d));
    return { child, out, exited: once(child, 'exit') };
  };

  it('serves the tools from the database when no server runs', async () => {
    const dir = await seeded();
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: ['--import', 'tsx', 'src/cli/main.ts', '--data-dir', dir, 'mcp'],
      env: childEnv,
      stderr: 'pipe',
    });
    const client = new Client({ name: 'stdio', version: '1' });
    await client.connect(transport);
    try {
      await exercise(client);
      // no server here: the agent's `doctor mcp` itself needs --allow-local, not a server it does not use
      const refused = (await client.callTool({ name: 'add_local', arguments: { path: dir } })) as { isError?: boolean; content: { text: string }[] };
      assert.equal(refused.isError, true);
      assert.match(refused.content[0]!.text, /`doctor mcp --allow-local <dir>`/);
    } finally {
      await client.close();
    }
  });

  it('a crawl the agent started is stopped before the database closes when stdin ends (no "database is closed" error)', async () => {
    const dir = await seeded();
    const slow = await startDocSite({ delayMs: 400 });
    try {
      const { child, out, exited } = startMcp(dir);
      const send = (m: object) => child.stdin.write(JSON.stringify(m) + '\n');
      send(INITIALIZE);
      send({ jsonrpc: '2.0', method: 'notifications/initialized' });
      send({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'fetch_url', arguments: { url: `${slow.url}/docs/index.html`, max_pages: 20 } } });
      for (let i = 0; i < 300 && !out.stdout.includes('"id":2'); i++) await new Promise((r) => setTimeout(r, 100));
      assert.match(out.stdout, /job_id/, out.stderr);
      await new Promise((r) => setTimeout(r, 1000)); // the crawl is under way
      child.stdin.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      const [code] = await exited;
      clearTimeout(timer);
      assert.equal(code, 0, out.stderr);
      assert.ok(!/could not be run|database is closed/i.test(out.stderr), out.stderr);
    } finally {
      await slow.close();
    }
  });

  it('answers every request it received before stdin ended, then exits', async () => {
    const dir = await seeded();
    const { child, out, exited } = startMcp(dir);
    const call = (id: number, name: string, args: object) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } });
    // as `printf '...' | doctor mcp` sends them: all at once, then end of input
    child.stdin.end(
      [
        INITIALIZE,
        { jsonrpc: '2.0', method: 'notifications/initialized' },
        call(2, 'search_docs', { query: 'retried with backoff' }),
        call(3, 'list_tags', {}),
        call(4, 'get_doc_page', { page_id: 'install' }),
        { jsonrpc: '2.0', id: 5, method: 'tools/list' },
      ]
        .map((m) => JSON.stringify(m))
        .join('\n') + '\n',
    );
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    const [code] = await exited;
    clearTimeout(timer);
    assert.equal(code, 0, out.stderr);
    const answers = new Map(out.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>).map((m) => [m.id, m]));
    assert.deepEqual([...answers.keys()].sort(), [1, 2, 3, 4, 5], `every request answered; stdout: ${out.stdout.slice(0, 500)}`);
    assert.equal(JSON.parse(answers.get(2)!.result.content[0].text).results[0].page_id, 'retry');
    assert.deepEqual(JSON.parse(answers.get(3)!.result.content[0].text).tags, ['kettle']);
    assert.match(answers.get(4)!.result.content[0].text, /pip install kettle/);
    assert.equal(answers.get(5)!.result.tools.length, ALL_TOOLS.length);
  });

  it('a line that is no JSON-RPC message is answered with an error, and one over 10 MiB does not end the server', async () => {
    const dir = await seeded();
    const { child, out, exited } = startMcp(dir);
    child.stdin.end(
      [
        JSON.stringify(INITIALIZE),
        JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
        'not json',
        // were dropped without an answer: the client waited for ids 2 and 3 forever
        JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: 'list_tags' }),
        JSON.stringify({ jsonrpc: '2.0', id: 3, method: 5 }),
        // closed the SDK's transport for good: nothing after it was answered
        `{"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {"name": "search_docs", "arguments": {"query": "${'x'.repeat(11 * 2 ** 20)}"}}}`,
        JSON.stringify({ jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: 'list_tags', arguments: {} } }),
      ].join('\n') + '\n',
    );
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    const [code] = await exited;
    clearTimeout(timer);
    assert.equal(code, 0, out.stderr);
    const lines = out.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
    const byId = new Map(lines.map((m) => [m.id, m]));
    assert.equal(byId.get(2)?.error?.code, -32602, out.stdout.slice(0, 2000));
    assert.match(byId.get(2)!.error.message, /tools\/call needs params \{name, arguments\}: params is string/);
    assert.equal(byId.get(3)?.error?.code, -32600);
    assert.match(byId.get(3)!.error.message, /not a JSON-RPC 2\.0 message; send an object such as/);
    const unnamed = lines.filter((m) => m.id === null).map((m) => m.error.message as string);
    assert.ok(unnamed.some((m) => /Parse error: a line that is not JSON/.test(m)), unnamed.join('\n'));
    assert.ok(unnamed.some((m) => /a message longer than 10485760 bytes was dropped: send less/.test(m)), unnamed.join('\n'));
    assert.deepEqual(JSON.parse(byId.get(4)?.result?.content?.[0]?.text ?? '{}').tags, ['kettle'], 'the server still answers after them');
  });
});
