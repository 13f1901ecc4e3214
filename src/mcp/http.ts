/**
 * MCP over HTTP on the REST server's Fastify instance:
 * - Streamable HTTP at /mcp (POST/GET/DELETE with `mcp-session-id`), one server + transport per session,
 *   closed on DELETE, on shutdown, or after `sessionIdleMs` without requests or open streams; when
 *   `maxSessions` are open, a new client takes the place of the session unused the longest that has no
 *   request in flight (a program that never closes its clients cannot lock others out), and is refused
 *   with 503 + Retry-After only when none can be closed (legacy SSE streams, requests in flight);
 * - the older SSE transport at the same URL, so existing `{"type": "sse", "url": ".../mcp"}` configs keep
 *   working: a GET /mcp asking for text/event-stream *without* a session id opens an SSE stream whose
 *   `endpoint` event points to POST /messages?sessionId=... (GET /sse is an alias). A Streamable HTTP client
 *   only GETs after initialize, and then always sends its `mcp-session-id`; an SSE client never sends one.
 * Requests from a web page on another origin are refused (DNS rebinding); the REST app's bearer-token hook
 * applies here too. Every refusal on these routes is a JSON-RPC error (as the SDK's transport answers), also those
 * given before the transport sees the request in the REST app's `{detail}` form (body too large, not JSON, wrong
 * Content-Type, missing token...): see asJsonRpcError.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { ErrorCode, JSONRPCMessageSchema, isInitializeRequest, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { connectMcpServer, type McpOptions } from './server.js';
import { batchProblem, invalidParamsAnswer } from './limits.js';
import { within } from '../deadline.js';
import type { McpTarget } from './operations.js';

export interface McpHttpOptions extends McpOptions {
  /** Close a Streamable HTTP session after this long without requests or open streams (ms). Default 30 min. */
  sessionIdleMs?: number;
  /**
   * Most concurrent sessions (Streamable HTTP + SSE). Default 1000. When they are all open, a new session
   * replaces the one unused the longest with no request in flight (see makeRoom); only when there is none
   * (every place held by a legacy SSE stream, a request in flight or a session being initialized) is the new
   * client refused (503 with Retry-After).
   */
  maxSessions?: number;
  /**
   * How long a new session is spared when making room, stream or not (its client is between initialize and
   * opening its notification stream), and how recently a client holding a stream must have made a request to
   * be spared before it (ms). Default 10 s.
   */
  sessionSettleMs?: number;
  /**
   * Browser origins allowed besides loopback ones (http://localhost:*, http://127.0.0.1:*, http://[::1]:*),
   * e.g. "https://my-mcp-ui.example". Requests without an Origin header (MCP clients, curl) are always allowed.
   */
  allowedOrigins?: string[];
}

interface StreamableSession {
  transport: StreamableHTTPServerTransport;
  lastSeen: number;
  /** Requests whose response is still open (the GET notification stream, streamed POST answers). */
  open: number;
  /** Of those, GET notification streams: a client holds one open while connected, busy or not. */
  streams: number;
  /** When its initialize request arrived. */
  created: number;
}

const rpcError = (reply: FastifyReply, status: number, code: number, message: string) =>
  reply.code(status).send({ jsonrpc: '2.0', error: { code, message }, id: null });

/** The SDK transport's code for an unknown session (404). */
const SESSION_NOT_FOUND = -32001;

/**
 * The JSON-RPC code for a refusal with this HTTP status, as the SDK's transport chooses them: a body that is not
 * (acceptable) JSON -32700, an unknown session -32001, a failure of the server -32603, and -32000 (a server-defined
 * error) for the rest: body over the size limit, wrong media type, token, origin, a full session table.
 */
const rpcCodeFor = (status: number) =>
  status === 400 ? ErrorCode.ParseError : status === 404 ? SESSION_NOT_FOUND : status >= 500 && status !== 503 ? ErrorCode.InternalError : -32000;

const isDetail = (payload: unknown): payload is { detail: string } =>
  typeof payload === 'object' && payload !== null && typeof (payload as { detail?: unknown }).detail === 'string';

/**
 * preSerialization hook of the MCP routes: an error answered in the REST app's `{detail}` form before the transport
 * saw the request (by the app's hooks, body parser or error handler) goes out as a JSON-RPC error instead, its status
 * and headers (Retry-After, WWW-Authenticate) unchanged. MCP clients read `error.message`, not `detail`.
 */
async function asJsonRpcError(req: FastifyRequest, reply: FastifyReply, payload: unknown) {
  if (reply.statusCode < 400 || !isDetail(payload)) return payload;
  const message =
    reply.statusCode === 413
      ? `request body larger than ${req.routeOptions.bodyLimit} bytes, this server's limit: send less per request (fewer messages in a batch, or shorter tool arguments)`
      : payload.detail;
  return { jsonrpc: '2.0', error: { code: rpcCodeFor(reply.statusCode), message }, id: null };
}

/**
 * Whether a request asks for a new session: an initialize request sent alone, or as the only message of a JSON-RPC
 * batch (the SDK's transport takes both; it refuses an initialize batched with other messages, see initializeProblem).
 */
const opensSession = (body: unknown) => isInitializeRequest(body) || (Array.isArray(body) && body.length === 1 && isInitializeRequest(body[0]));

/** Why a batch holding an initialize with other messages is refused (the MCP lifecycle: initialize comes first, alone). */
const initializeProblem = (body: unknown) =>
  Array.isArray(body) && body.length > 1 && body.some((m) => isInitializeRequest(m))
    ? `initialize must be sent alone, not in a JSON-RPC batch with ${body.length - 1} other message(s): send it by itself, ` +
      'then send the other messages with the mcp-session-id header of its answer'
    : undefined;

/**
 * Why the messages of a request are not JSON-RPC 2.0 messages (the first that is not), or undefined. The
 * legacy SSE route's own check; the Streamable HTTP transport makes the same one.
 */
function invalidMessageProblem(messages: readonly unknown[]): string | undefined {
  // (a tools/call whose params are not an object is answered with -32602 instead, as on /mcp: see invalidParamsAnswer)
  const at = messages.findIndex((m) => !JSONRPCMessageSchema.safeParse(m).success && !invalidParamsAnswer(m));
  if (at < 0) return undefined;
  const which = messages.length > 1 ? `message ${at + 1} of the batch` : 'the body';
  return (
    `Parse error: Invalid JSON-RPC message: ${which} is not a JSON-RPC 2.0 message; send an object such as ` +
    '{"jsonrpc": "2.0", "id": 1, "method": "tools/list"} (id a string or number; a notification has no id)'
  );
}

/** Seconds a client refused for a full session table is told to wait (Retry-After). */
const FULL_RETRY_AFTER_S = 10;

const isLoopbackHost = (hostname: string) =>
  hostname === 'localhost' || hostname.endsWith('.localhost') || hostname === '[::1]' || /^127(\.\d{1,3}){3}$/.test(hostname);

export async function registerMcpRoutes(app: FastifyInstance, target: McpTarget, opts: McpHttpOptions = {}): Promise<void> {
  const idleMs = opts.sessionIdleMs ?? 30 * 60_000;
  const maxSessions = opts.maxSessions ?? 1000;
  const settleMs = opts.sessionSettleMs ?? 10_000;
  const allowedOrigins = new Set((opts.allowedOrigins ?? []).map((o) => o.replace(/\/+$/, '').toLowerCase()));
  // fetch_url calls waiting for their crawl answer when the server stops, before their streams close (preClose)
  const stopping = new AbortController();
  const waiting = new Set<Promise<unknown>>();
  opts = {
    ...opts,
    stopping: stopping.signal,
    onWait: (answered) => {
      waiting.add(answered);
      void answered.finally(() => waiting.delete(answered));
    },
  };
  const streamable = new Map<string, StreamableSession>();
  const sse = new Map<string, SSEServerTransport>();
  /** Streamable HTTP sessions being created: not in `streamable` until their initialize request is handled. */
  let initializing = 0;
  const sessionCount = () => streamable.size + sse.size + initializing;

  /**
   * Makes room for one more session if the table is full, by closing the Streamable HTTP session unused the
   * longest among those with no request in flight: one with nothing open first, else one that only holds its
   * GET notification stream (the SDK's client opens one on connect, so a program that leaks connected clients
   * holds one per session), then a session initialized in the last settleMs (its client opens its stream next:
   * clients arriving together must take the places of leaked ones, not each other's), and last a client holding
   * its stream that made a request in the last settleMs. Its client's next request gets the 404 that tells it to
   * initialize again. False when none can be closed: each Streamable HTTP session has a request in flight, and the
   * other places are held by legacy SSE sessions (they are their stream: never closed here) or sessions being
   * initialized.
   */
  const makeRoom = (): boolean => {
    const now = Date.now();
    const rank = (x: StreamableSession) =>
      x.streams > 0 ? (now - x.lastSeen < settleMs ? 3 : 1) : now - x.created < settleMs ? 2 : 0;
    while (sessionCount() >= maxSessions) {
      let oldest: [string, StreamableSession] | undefined;
      for (const entry of streamable) {
        const x = entry[1];
        if (x.open - x.streams > 0) continue; // a request in flight
        if (!oldest || rank(x) < rank(oldest[1]) || (rank(x) === rank(oldest[1]) && x.lastSeen < oldest[1].lastSeen)) oldest = entry;
      }
      if (!oldest) return false;
      streamable.delete(oldest[0]);
      void oldest[1].transport.close().catch(() => {});
    }
    return true;
  };
  /**
   * Why a new client is refused when makeRoom could close no session: what holds the places (legacy SSE streams,
   * never closed to make room; Streamable HTTP sessions with a request in flight; sessions being initialized).
   */
  const fullMessage = () => {
    let busy = 0;
    for (const s of streamable.values()) if (s.open - s.streams > 0) busy++;
    const count = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;
    const holders = [
      sse.size && `${count(sse.size, 'legacy SSE connection', 'legacy SSE connections')} (each kept until its client disconnects)`,
      busy && `${count(busy, 'Streamable HTTP session', 'Streamable HTTP sessions')} with a request in flight`,
      initializing && `${count(initializing, 'session', 'sessions')} being initialized`,
    ].filter(Boolean);
    return (
      `too many MCP sessions (${maxSessions}) are open: ${holders.join(', ')}; none of them can be closed to make room. ` +
      `Try again in ${FULL_RETRY_AFTER_S} s, and end the sessions you no longer use: disconnect SSE clients you no longer use, ` +
      'and end Streamable HTTP sessions with DELETE /mcp and their mcp-session-id (or close the client)'
    );
  };

  const checkOrigin = async (req: FastifyRequest, reply: FastifyReply) => {
    const origin = req.headers.origin;
    if (origin === undefined) return;
    let allowed = false;
    try {
      const u = new URL(origin);
      allowed = isLoopbackHost(u.hostname) || allowedOrigins.has(u.origin.toLowerCase());
    } catch {
      allowed = false;
    }
    if (!allowed) {
      return rpcError(reply, 403, -32000, `MCP requests from the web origin ${origin} are refused (only local pages may call this server)`);
    }
  };

  const openSse = async (req: FastifyRequest, reply: FastifyReply) => {
    // HEAD: the stream's headers, and no session. Node sends the headers of an answer to HEAD only when it ends, so
    // a stream opened for one answered nothing at all, and held a session's place until the client gave up.
    if (req.method === 'HEAD') return reply.code(200).header('content-type', 'text/event-stream').header('cache-control', 'no-cache').send();
    if (!makeRoom()) {
      reply.header('retry-after', String(FULL_RETRY_AFTER_S));
      return rpcError(reply, 503, -32000, fullMessage());
    }
    reply.hijack();
    const transport = new SSEServerTransport('/messages', reply.raw);
    sse.set(transport.sessionId, transport);
    transport.onclose = () => sse.delete(transport.sessionId);
    await connectMcpServer(target, transport, opts);
  };

  const handleStreamable = async (req: FastifyRequest, reply: FastifyReply) => {
    const tooBig = batchProblem(req.body);
    if (tooBig) return rpcError(reply, 400, ErrorCode.InvalidRequest, tooBig);
    const notAlone = initializeProblem(req.body);
    if (notAlone) return rpcError(reply, 400, ErrorCode.InvalidRequest, notAlone);
    const header = req.headers['mcp-session-id'];
    const id = Array.isArray(header) ? header[0] : header;
    let session = id ? streamable.get(id) : undefined;
    /** For a session being created: stops counting it as initializing (once it is in the table, or failed). */
    let initialized: (() => void) | undefined;
    if (!session) {
      if (id) {
        return rpcError(reply, 404, SESSION_NOT_FOUND, 'unknown or expired MCP session (closed when idle too long, or to make room for new clients): initialize a new session');
      }
      if (req.method !== 'POST' || !opensSession(req.body)) {
        return rpcError(reply, 400, -32000, 'no MCP session: send an initialize request (POST) first, or GET with Accept: text/event-stream for the SSE transport');
      }
      if (!makeRoom()) {
        reply.header('retry-after', String(FULL_RETRY_AFTER_S));
        return rpcError(reply, 503, -32000, fullMessage());
      }
      const created: StreamableSession = {
        transport: new StreamableHTTPServerTransport({
          sessionIdGenerator: () => randomUUID(),
          onsessioninitialized: (sid) => {
            streamable.set(sid, created);
            initialized?.();
          },
        }),
        lastSeen: Date.now(),
        open: 0,
        streams: 0,
        created: Date.now(),
      };
      created.transport.onclose = () => {
        if (created.transport.sessionId) streamable.delete(created.transport.sessionId);
      };
      // counted from here, so that concurrent initialize requests cannot overfill the table
      initializing++;
      let counted = true;
      initialized = () => {
        if (counted) initializing--;
        counted = false;
      };
      try {
        await connectMcpServer(target, created.transport, opts);
      } catch (e) {
        initialized();
        throw e;
      }
      session = created;
    } else {
      // A tools/call whose params are not an object never reaches the SDK's handlers (its transport answers
      // "Parse error" without the request id): answer it here, as invalid params.
      const invalid = invalidParamsAnswer(req.body);
      if (invalid) return reply.code(200).send(invalid);
    }
    const s = session;
    s.lastSeen = Date.now();
    const stream = req.method === 'GET' ? 1 : 0;
    s.open++;
    s.streams += stream;
    reply.raw.once('close', () => {
      s.open--;
      s.streams -= stream;
      s.lastSeen = Date.now();
    });
    reply.hijack();
    try {
      await s.transport.handleRequest(req.raw, reply.raw, req.body);
    } finally {
      if (initialized) {
        initialized();
        // an initialize request the transport refused leaves no session: free its server
        if (!s.transport.sessionId) void s.transport.close().catch(() => {});
      }
    }
  };

  const route = { schema: { hide: true }, onRequest: checkOrigin, preSerialization: asJsonRpcError };
  app.post('/mcp', route, handleStreamable);
  app.delete('/mcp', route, handleStreamable);
  app.get('/mcp', route, async (req, reply) => {
    const wantsSse = String(req.headers.accept ?? '').includes('text/event-stream');
    if (!req.headers['mcp-session-id'] && wantsSse) return openSse(req, reply);
    return handleStreamable(req, reply);
  });
  // Other methods (OPTIONS too): 405 naming the ones served, as the SDK's transport answers them (the REST app's 405 knows GET and POST only).
  app.route({
    ...route,
    method: ['PUT', 'PATCH', 'OPTIONS'],
    url: '/mcp',
    handler: async (req, reply) => {
      reply.header('allow', 'GET, POST, DELETE');
      return rpcError(reply, 405, -32000, `${req.method} is not allowed on /mcp: POST sends messages, GET opens a stream, DELETE ends a session`);
    },
  });
  app.get('/sse', route, openSse);
  app.post('/messages', route, async (req, reply) => {
    const sessionId = (req.query as { sessionId?: string }).sessionId ?? '';
    const transport = sse.get(sessionId);
    if (!transport) return rpcError(reply, 404, SESSION_NOT_FOUND, 'unknown or closed MCP SSE session: reconnect to GET /mcp (or /sse)');
    // Checked here rather than by the SDK's handlePostMessage, which answers a batch (which 2024-11-05 clients, the
    // ones on this transport, may send), a body of null or a malformed message with a text/plain "Invalid message:
    // [object Object]" or "stream is not readable".
    const body: unknown = req.body;
    const messages = Array.isArray(body) ? body : [body];
    const refused = batchProblem(body) ?? (messages.length ? undefined : 'an empty JSON-RPC batch: send at least one message');
    if (refused) return rpcError(reply, 400, ErrorCode.InvalidRequest, refused);
    const malformed = invalidMessageProblem(messages);
    if (malformed) return rpcError(reply, 400, ErrorCode.ParseError, malformed);
    const extra = { requestInfo: { headers: req.headers, url: req.headers.host && URL.canParse(req.url, `http://${req.headers.host}`) ? new URL(req.url, `http://${req.headers.host}`) : undefined } };
    for (const message of messages) {
      const invalid = invalidParamsAnswer(message);
      if (invalid) await transport.send(invalid);
      else await transport.handleMessage(message as JSONRPCMessage, extra);
    }
    return reply.code(202).send('Accepted');
  });

  const sweep = setInterval(() => {
    const now = Date.now();
    for (const s of streamable.values()) {
      if (s.open <= 0 && now - s.lastSeen > idleMs) void s.transport.close();
    }
  }, Math.max(50, Math.min(idleMs / 2, 60_000)));
  sweep.unref();

  // preClose: before the server waits for connections to end, so open SSE streams do not hold up shutdown.
  app.addHook('preClose', async () => {
    clearInterval(sweep);
    stopping.abort();
    // their answers (a job read each) are sent before the streams close; not longer than a few seconds
    await within(Promise.allSettled([...waiting]), 5000);
    await new Promise((r) => setImmediate(r));
    await Promise.allSettled([...[...streamable.values()].map((s) => s.transport.close()), ...[...sse.values()].map((t) => t.close())]);
  });
}
