/**
 * MCP over HTTP on the REST server's Fastify instance:
 * - Streamable HTTP at /mcp (POST/GET/DELETE with `mcp-session-id`), one server + transport per session;
 * - the older SSE transport at the same URL, so existing `{"type": "sse", "url": ".../mcp"}` configs keep
 *   working: a GET /mcp asking for text/event-stream *without* a session id opens an SSE stream whose
 *   `endpoint` event points to POST /messages?sessionId=... (GET /sse is an alias).
 * The bearer-token hook of the REST app applies here too.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { Operations } from '../cli/backend.js';
import { createMcpServer, type McpOptions } from './server.js';

export async function registerMcpRoutes(app: FastifyInstance, ops: Operations, opts: McpOptions = {}): Promise<void> {
  const streamable = new Map<string, StreamableHTTPServerTransport>();
  const sse = new Map<string, SSEServerTransport>();

  const openSse = async (reply: FastifyReply) => {
    reply.hijack();
    const transport = new SSEServerTransport('/messages', reply.raw);
    sse.set(transport.sessionId, transport);
    transport.onclose = () => sse.delete(transport.sessionId);
    reply.raw.on('close', () => sse.delete(transport.sessionId));
    await createMcpServer(ops, opts).connect(transport);
  };

  const handleStreamable = async (req: FastifyRequest, reply: FastifyReply) => {
    const sessionId = req.headers['mcp-session-id'];
    const id = Array.isArray(sessionId) ? sessionId[0] : sessionId;
    let transport = id ? streamable.get(id) : undefined;
    if (!transport) {
      if (id) return reply.code(404).send({ jsonrpc: '2.0', error: { code: -32001, message: 'unknown or expired MCP session: initialize again' }, id: null });
      if (req.method !== 'POST' || !isInitializeRequest(req.body)) {
        return reply.code(400).send({ jsonrpc: '2.0', error: { code: -32000, message: 'no MCP session: send an initialize request first' }, id: null });
      }
      const created = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (sid) => {
          streamable.set(sid, created);
        },
      });
      created.onclose = () => {
        if (created.sessionId) streamable.delete(created.sessionId);
      };
      await createMcpServer(ops, opts).connect(created);
      transport = created;
    }
    reply.hijack();
    await transport.handleRequest(req.raw, reply.raw, req.body);
  };

  app.post('/mcp', { schema: { hide: true } }, handleStreamable);
  app.delete('/mcp', { schema: { hide: true } }, handleStreamable);
  app.get('/mcp', { schema: { hide: true } }, async (req, reply) => {
    const wantsSse = String(req.headers.accept ?? '').includes('text/event-stream');
    if (!req.headers['mcp-session-id'] && wantsSse) return openSse(reply);
    return handleStreamable(req, reply);
  });
  app.get('/sse', { schema: { hide: true } }, async (_req, reply) => openSse(reply));
  app.post('/messages', { schema: { hide: true } }, async (req, reply) => {
    const sessionId = (req.query as { sessionId?: string }).sessionId ?? '';
    const transport = sse.get(sessionId);
    if (!transport) return reply.code(404).send({ detail: 'unknown MCP SSE session: reconnect to GET /mcp' });
    reply.hijack();
    await transport.handlePostMessage(req.raw, reply.raw, req.body);
  });

  app.addHook('onClose', async () => {
    await Promise.allSettled([...streamable.values(), ...sse.values()].map((t) => t.close()));
  });
}
