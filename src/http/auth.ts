/** Optional bearer token for every route (REST and MCP alike), compared in constant time. */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';

const digest = (s: string) => createHash('sha256').update(s).digest();

/** A path that needs no token, or a test of the request (the web interface's pages, which carry no data). */
export type Exemption = string | ((req: FastifyRequest, path: string) => boolean);

export function requireToken(app: FastifyInstance, token: string, exempt: readonly Exemption[] = []): void {
  const expected = digest(token);
  app.addHook('onRequest', async (req, reply) => {
    const path = req.url.split('?')[0]!;
    if (exempt.some((e) => (typeof e === 'string' ? e === path : e(req, path)))) return;
    const header = req.headers.authorization ?? '';
    const m = /^Bearer\s+(.+)$/i.exec(header);
    if (!m || !timingSafeEqual(digest(m[1]!.trim()), expected)) {
      return reply
        .code(401)
        .header('www-authenticate', 'Bearer')
        .send({ detail: 'missing or wrong bearer token: send Authorization: Bearer <DOCTOR_API_TOKEN>' });
    }
  });
}
