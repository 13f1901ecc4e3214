/** The REST app with the MCP routes on it, as `doctor serve` builds them, listening on a free loopback port. */
import type { FastifyInstance } from 'fastify';
import { buildHttpApp, type HttpAppOptions } from '../../src/http/app.js';
import { registerMcpRoutes, type McpHttpOptions } from '../../src/mcp/http.js';
import type { DoctorContext } from '../../src/service/context.js';

export async function listenWithMcp(
  ctx: DoctorContext,
  httpOpts: HttpAppOptions = {},
  mcpOpts: McpHttpOptions = {},
): Promise<{ app: FastifyInstance; base: string }> {
  const app = await buildHttpApp(ctx, httpOpts);
  await registerMcpRoutes(app, ctx, mcpOpts);
  await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, base: `http://127.0.0.1:${(app.server.address() as { port: number }).port}` };
}
