/** Listening: binds the app, warns when exposed beyond loopback without a token. */
import type { FastifyInstance } from 'fastify';
import type { Logger } from '../log.js';
import { isLoopbackHost } from '../app/server-info.js';

export { isLoopbackHost };

export async function startHttpServer(
  app: FastifyInstance,
  opts: { host: string; port: number; log?: Logger; apiToken?: string },
): Promise<{ url: string; close(): Promise<void> }> {
  if (!isLoopbackHost(opts.host) && !opts.apiToken) {
    opts.log?.warn(
      { host: opts.host },
      `Doctor is listening on ${opts.host} without DOCTOR_API_TOKEN: anyone who can reach this address can crawl and delete. Set DOCTOR_API_TOKEN.`,
    );
  }
  try {
    await app.listen({ host: opts.host, port: opts.port });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'EADDRINUSE') {
      throw new Error(`port ${opts.port} on ${opts.host} is in use: stop the other server or pass --port (DOCTOR_PORT).`);
    }
    throw e;
  }
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port;
  // A wildcard address is not one a client can dial: announce loopback instead.
  const host = opts.host === '0.0.0.0' ? '127.0.0.1' : opts.host === '::' ? '[::1]' : opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  return { url: `http://${host}:${port}`, close: () => app.close() };
}
