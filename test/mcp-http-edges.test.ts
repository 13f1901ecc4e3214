/**
 * MCP over HTTP at its edges: what a client gets when a request is refused before the MCP transport sees it
 * (a JSON-RPC error, as the SDK's transport answers, with the same status and headers as before), a
 * JSON-RPC batch holding an initialize, and a session table held by legacy SSE streams.
 */
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { HttpAppOptions } from '../src/http/app.js';
import type { McpHttpOptions } from '../src/mcp/http.js';
import { makeContext, type TestContext } from './helpers/context.js';
import { listenWithMcp } from './helpers/mcp-app.js';
import { addPages } from './helpers/pages.js';
import { doctor, Server, sleep } from './helpers/doctor-process.js';
import { tempDir } from './helpers/tmp.js';

const INITIALIZE = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
};
const ACCEPT = 'application/json, text/event-stream';

type RpcError = { jsonrpc: string; id: unknown; error: { code: number; message: string }; detail?: unknown };

/** A POST of raw bytes or text; `body` is the answer's JSON, when it is JSON. */
async function post(url: string, body: string | Uint8Array, headers: Record<string, string> = {}) {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', accept: ACCEPT, ...headers }, body: typeof body === 'string' ? body : new Uint8Array(body) });
  const text = await res.text();
  // an answer to a request the transport took may be an event stream: see messagesOf
  const json = /^application\/json/.test(res.headers.get('content-type') ?? '');
  return { status: res.status, headers: res.headers, text, body: (json ? JSON.parse(text) : {}) as RpcError };
}

/** The JSON-RPC error shape the SDK's transport answers with, and not the REST API's `{detail}`. */
function assertRpcError(r: { status: number; headers: Headers; body: RpcError; text: string }, status: number, code: number, message: RegExp) {
  assert.equal(r.status, status, r.text);
  assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
  assert.equal(r.body.jsonrpc, '2.0', r.text);
  assert.equal(r.body.id, null);
  assert.equal(r.body.error.code, code, r.text);
  assert.match(r.body.error.message, message);
  assert.equal(r.body.detail, undefined, 'no REST-style detail');
}

/** The answers of a POST to /mcp: JSON, or the `data:` lines of an event stream. */
function messagesOf(text: string): Record<string, any>[] {
  const trimmed = text.trim();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) return [JSON.parse(trimmed)].flat();
  return trimmed.split('\n').filter((l) => l.startsWith('data: ') && l.length > 6).map((l) => JSON.parse(l.slice(6)));
}

let ctx: TestContext;
const apps: FastifyInstance[] = [];
/** A server (REST app + MCP routes) on the one database of this file; closed at the end. */
const start = async (httpOpts: HttpAppOptions = {}, mcpOpts: McpHttpOptions = {}) => {
  const { app, base } = await listenWithMcp(ctx, httpOpts, mcpOpts);
  apps.push(app);
  return base;
};
before(async () => {
  ctx = await makeContext({ runner: false });
  await addPages(ctx, [{ id: 'retry', title: 'Retries', markdown: '# Retries\n\nFailed tasks are retried.', tags: ['kettle'] }]);
});
after(async () => {
  for (const app of apps) await app.close();
  await ctx.close();
});

describe('MCP over HTTP: refusals before the MCP transport', () => {
  let base = '';
  before(async () => {
    base = await start();
  });

  it('a body over the size limit gets 413 with a JSON-RPC error that says the limit and what to do', async () => {
    const big = JSON.stringify({ ...INITIALIZE, params: { ...INITIALIZE.params, pad: 'x'.repeat(1_100_000) } });
    const r = await post(`${base}/mcp`, big);
    assertRpcError(r, 413, -32000, /larger than 1048576 bytes.*fewer messages in a batch|larger than 1048576 bytes.*shorter/);

    // A real client sees the message too (the SDK client puts the body of a refused POST in its error).
    const client = new Client({ name: 'big', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`)) as Transport);
    try {
      await assert.rejects(
        client.callTool({ name: 'search_docs', arguments: { query: 'q'.repeat(1_100_000) } }),
        (e: Error & { code?: number }) => e.code === 413 && /"jsonrpc":"2.0"/.test(e.message) && /larger than 1048576 bytes/.test(e.message),
      );
      assert.ok((await client.listTools()).tools.length > 0, 'the session still works');
    } finally {
      await client.close();
    }
  });

  it('415, bad JSON, bad UTF-8, an empty or compressed body, a method not served: JSON-RPC errors with the same status', async () => {
    assertRpcError(await post(`${base}/mcp`, JSON.stringify(INITIALIZE), { 'content-type': 'text/plain' }), 415, -32000, /Content-Type: application\/json/);
    assertRpcError(
      await post(`${base}/mcp`, gzipSync(JSON.stringify(INITIALIZE)), { 'content-encoding': 'gzip' }),
      415,
      -32000,
      /Content-Encoding "gzip" is not accepted: send the JSON uncompressed/,
    );
    assertRpcError(await post(`${base}/mcp`, '{"jsonrpc": "2.0", "id": 1, '), 400, -32700, /JSON/);
    assertRpcError(await post(`${base}/mcp`, Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d])), 400, -32700, /not valid UTF-8/);
    assertRpcError(await post(`${base}/mcp`, ''), 400, -32700, /empty|JSON/i);
    const put = await fetch(`${base}/mcp`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{}' });
    assertRpcError({ status: put.status, headers: put.headers, text: '', body: (await put.json()) as RpcError }, 405, -32000, /PUT is not allowed on \/mcp/);
    // OPTIONS got the REST API's {"detail": "OPTIONS is not allowed on /mcp: use GET or POST"}, leaving out DELETE
    const options = await fetch(`${base}/mcp`, { method: 'OPTIONS' });
    assertRpcError({ status: options.status, headers: options.headers, text: '', body: (await options.json()) as RpcError }, 405, -32000, /OPTIONS is not allowed on \/mcp: POST sends messages, GET opens a stream, DELETE ends a session/);
    assert.equal(options.headers.get('allow'), 'GET, POST, DELETE');
    assert.equal(put.headers.get('allow'), 'GET, POST, DELETE');
    // the legacy SSE transport's message endpoint likewise
    assertRpcError(await post(`${base}/messages?sessionId=nope`, '{"jsonrpc"'), 400, -32700, /JSON/);
    assertRpcError(await post(`${base}/messages?sessionId=nope`, JSON.stringify(INITIALIZE)), 404, -32001, /unknown or closed MCP SSE session: reconnect/);
  });

  it('a missing token (401 with WWW-Authenticate) and a foreign web origin (403) are JSON-RPC errors too', async () => {
    const secured = await start({ apiToken: 'edge-token' });
    const r = await post(`${secured}/mcp`, JSON.stringify(INITIALIZE));
    assertRpcError(r, 401, -32000, /Authorization: Bearer/);
    assert.equal(r.headers.get('www-authenticate'), 'Bearer');
    assertRpcError(await post(`${base}/mcp`, JSON.stringify(INITIALIZE), { origin: 'http://attacker.example' }), 403, -32000, /attacker\.example/);
  });

  it('the REST API keeps its {detail} errors', async () => {
    const res = await fetch(`${base}/delete_docs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"tags": [' });
    assert.equal(res.status, 400);
    const body = (await res.json()) as { detail?: string; jsonrpc?: string };
    assert.match(body.detail ?? '', /JSON/);
    assert.equal(body.jsonrpc, undefined);
  });
});

describe('MCP over HTTP: initialize in a JSON-RPC batch', () => {
  let base = '';
  before(async () => {
    base = await start();
  });

  it('a batch holding only an initialize opens a session, as a single initialize does', async () => {
    const init = await post(`${base}/mcp`, JSON.stringify([INITIALIZE]));
    assert.equal(init.status, 200, init.text);
    const sid = init.headers.get('mcp-session-id');
    assert.ok(sid, 'a session id');
    const answer = messagesOf(init.text).find((m) => m.id === 1);
    assert.ok(answer?.result?.serverInfo, `the initialize result: ${init.text}`);
    const session = { 'mcp-session-id': sid!, 'mcp-protocol-version': '2025-06-18' };
    const ready = await fetch(`${base}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: ACCEPT, ...session },
      body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
    });
    assert.equal(ready.status, 202);
    const list = await fetch(`${base}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: ACCEPT, ...session },
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'list_tags', arguments: {} } }),
    });
    assert.equal(list.status, 200);
    const tags = messagesOf(await list.text()).find((m) => m.id === 2);
    assert.deepEqual(JSON.parse(tags?.result?.content?.[0]?.text ?? '{}').tags, ['kettle']);
  });

  it('an initialize batched with other messages is refused: initialize must be sent alone', async () => {
    const batch = [INITIALIZE, { jsonrpc: '2.0', id: 2, method: 'tools/list' }];
    const r = await post(`${base}/mcp`, JSON.stringify(batch));
    assertRpcError(r, 400, -32600, /initialize must be sent alone.*then send the other messages.*mcp-session-id/);
    assert.equal(r.headers.get('mcp-session-id'), null, 'no session opened');
    const later = await post(`${base}/mcp`, JSON.stringify([{ jsonrpc: '2.0', method: 'notifications/initialized' }, INITIALIZE]));
    assertRpcError(later, 400, -32600, /initialize must be sent alone/);
  });
});

describe('MCP over HTTP: messages posted to a legacy SSE session', () => {
  let base = '';
  before(async () => {
    base = await start();
  });

  it('a batch is answered message by message on the stream; null, an empty batch or a malformed message get a JSON-RPC error saying what to send', async () => {
    const res = await fetch(`${base}/sse`, { headers: { accept: 'text/event-stream' } });
    const reader = res.body!.getReader();
    let seen = '';
    /** The stream's `message` events until one answers `id`. */
    const answerTo = async (id: number) => {
      for (;;) {
        const found = messagesOf(seen.split('\n').filter((l) => l.startsWith('data: {')).join('\n')).find((m) => m.id === id);
        if (found) return found;
        const { value, done } = await reader.read();
        assert.ok(!done, `the stream ended before the answer to ${id}: ${seen}`);
        seen += new TextDecoder().decode(value);
      }
    };
    try {
      while (!/sessionId=[\w-]+/.test(seen)) seen += new TextDecoder().decode((await reader.read()).value);
      const url = `${base}${/\/messages\?sessionId=[\w-]+/.exec(seen)![0]}`;
      assert.equal((await post(url, JSON.stringify(INITIALIZE))).status, 202);
      await answerTo(1);
      assert.equal((await post(url, JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }))).status, 202);

      // JSON-RPC batches (which 2024-11-05 clients may send): it answered 400 "Invalid message: [object Object],[object Object]"
      const batch = [
        { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'list_tags', arguments: {} } },
        { jsonrpc: '2.0', id: 3, method: 'ping' },
      ];
      const accepted = await post(url, JSON.stringify(batch));
      assert.equal(accepted.status, 202, accepted.text);
      assert.deepEqual(JSON.parse((await answerTo(2)).result.content[0].text).tags, ['kettle']);
      assert.deepEqual((await answerTo(3)).result, {});
      const eleven = Array.from({ length: 11 }, (_, i) => ({ jsonrpc: '2.0', id: 10 + i, method: 'ping' }));
      assertRpcError(await post(url, JSON.stringify(eleven)), 400, -32600, /batch of 11 messages is over the limit of 10/);
      assertRpcError(await post(url, '[]'), 400, -32600, /empty JSON-RPC batch: send at least one message/);
      // null: a text/plain "InternalServerError: stream is not readable"; a malformed message: "Invalid message: [object Object]"
      for (const body of ['null', '7', '{"jsonrpc": "2.0", "id": {}, "method": "ping"}', '[{"jsonrpc": "2.0", "id": 4, "method": "ping"}, {"id": 5}]']) {
        assertRpcError(await post(url, body), 400, -32700, /Invalid JSON-RPC message: (the body|message 2 of the batch) is not a JSON-RPC 2.0 message; send an object such as/);
      }
      // a tools/call without an arguments object is answered on the stream, as before
      assert.equal((await post(url, JSON.stringify({ jsonrpc: '2.0', id: 6, method: 'tools/call', params: { name: 'list_tags', arguments: [] } }))).status, 202);
      assert.equal((await answerTo(6)).error.code, -32602);
      // nothing of a refused batch ran: the next request is answered in its turn
      assert.equal((await post(url, JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'ping' }))).status, 202);
      await answerTo(7);
      // a Host header that is no host (the session's URL is rebuilt from it for the tools) is no 500
      const odd = await new Promise<number>((resolve, reject) => {
        const r = httpRequest(url, { method: 'POST', headers: { host: 'a b', 'content-type': 'application/json' } }, (res) => {
          res.resume();
          resolve(res.statusCode!);
        });
        r.on('error', reject);
        r.end(JSON.stringify({ jsonrpc: '2.0', id: 8, method: 'ping' }));
      });
      assert.equal(odd, 202);
      await answerTo(8);
      assert.ok(!messagesOf(seen.split('\n').filter((l) => l.startsWith('data: {')).join('\n')).some((m) => m.id === 4), 'a refused batch runs none of its messages');
    } finally {
      await reader.cancel();
    }
  });
});

describe('MCP over HTTP: a session table held by legacy SSE streams', () => {
  let base = '';
  before(async () => {
    base = await start({}, { maxSessions: 2 });
  });

  it('the 503 says the places are held by SSE connections (no request is in flight) and what to do', async () => {
    const streams = await Promise.all([0, 1].map(() => fetch(`${base}/sse`, { headers: { accept: 'text/event-stream' } })));
    const readers = streams.map((s) => s.body!.getReader());
    try {
      for (const r of readers) assert.match(new TextDecoder().decode((await r.read()).value), /sessionId=/);
      const sseRes = await fetch(`${base}/sse`, { headers: { accept: 'text/event-stream' } });
      const sse = { status: sseRes.status, headers: sseRes.headers, text: '', body: {} as RpcError };
      sse.text = await sseRes.text();
      sse.body = JSON.parse(sse.text) as RpcError;
      const init = await post(`${base}/mcp`, JSON.stringify(INITIALIZE));
      for (const r of [sse, init]) {
        assertRpcError(r, 503, -32000, /too many MCP sessions \(2\) are open: 2 legacy SSE connections/);
        assert.match(r.headers.get('retry-after') ?? '', /^[1-9]\d*$/, 'Retry-After in seconds');
        assert.doesNotMatch(r.body.error.message, /in flight/, 'no request is in flight: the SSE streams hold the places');
        assert.match(r.body.error.message, /try again in 10 s/i);
        assert.match(r.body.error.message, /disconnect SSE clients you no longer use/);
      }
    } finally {
      for (const r of readers) await r.cancel();
    }
  });

  it('HEAD of the SSE endpoints answers at once with the stream\'s headers and takes no session place (it answered nothing, holding a place)', async () => {
    const heads = await Promise.all(
      ['/sse', '/mcp', '/sse'].map((path) => fetch(`${base}${path}`, { method: 'HEAD', headers: { accept: 'text/event-stream' }, signal: AbortSignal.timeout(5000) })),
    );
    for (const h of heads) {
      assert.equal(h.status, 200);
      assert.match(h.headers.get('content-type') ?? '', /^text\/event-stream/);
    }
    // both places of this server (maxSessions 2) are free for real clients
    const streams = await Promise.all([0, 1].map(() => fetch(`${base}/sse`, { headers: { accept: 'text/event-stream' } })));
    try {
      for (const s of streams) assert.equal(s.status, 200);
    } finally {
      for (const s of streams) await s.body!.cancel();
    }
  });
});

describe('MCP over HTTP: session limits from the environment (doctor serve)', () => {
  it('DOCTOR_MCP_SESSION_IDLE_MS closes an idle session and DOCTOR_MCP_MAX_SESSIONS caps how many are open; a bad value stops serve, naming the variable', async () => {
    const dir = tempDir();
    const bad = await doctor(dir, ['serve', '--port', '0'], { DOCTOR_MCP_MAX_SESSIONS: '0' });
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /DOCTOR_MCP_MAX_SESSIONS/);

    const server = await new Server(dir, { DOCTOR_MCP_SESSION_IDLE_MS: '1000', DOCTOR_MCP_MAX_SESSIONS: '1' }).ready();
    const first = new Client({ name: 'first', version: '1' });
    const second = new Client({ name: 'second', version: '1' });
    try {
      await first.connect(new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`)) as Transport);
      assert.ok((await first.listTools()).tools.length > 0);
      // one place: a second client takes it, and the first is told its session is gone (404: initialize again)
      await second.connect(new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`)) as Transport);
      assert.ok((await second.listTools()).tools.length > 0);
      await assert.rejects(first.listTools(), /unknown or expired MCP session/);
      await second.close();

      // a session without requests or open streams for a second is closed (the default keeps it 30 minutes)
      const init = await post(`${server.url}/mcp`, JSON.stringify(INITIALIZE));
      assert.equal(init.status, 200, init.text);
      const session = { 'mcp-session-id': init.headers.get('mcp-session-id')!, 'mcp-protocol-version': '2025-06-18' };
      const list = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} });
      assert.equal((await post(`${server.url}/mcp`, list, session)).status, 200);
      await sleep(2500);
      assert.equal((await post(`${server.url}/mcp`, list, session)).status, 404);
    } finally {
      await first.close().catch(() => {});
      await second.close().catch(() => {});
      await server.stop();
    }
  });
});
