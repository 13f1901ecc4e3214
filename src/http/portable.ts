/**
 * POST /export_index and /import_index: how `doctor export` / `doctor import` run on a server that holds
 * the database (the CLI cannot open the file then).
 *
 * Both name a path on the server's machine, so they are for the local CLI only: a request must carry the
 * key that `doctor serve` writes into `<data dir>/server.json` (a file only its user can read), in the
 * `X-Doctor-Local-Key` header. Whoever can read that file can read and write the database itself, so the
 * key grants nothing new; a remote client, a web page or an MCP agent (MCP does not offer these at all)
 * gets 403. The bearer token (DOCTOR_API_TOKEN) and read-only mode apply as to every route.
 *
 * The answer streams newline-delimited JSON: `{"progress": {...}}` lines while the work goes on (at least
 * every 5 s), then one `{"result": {...}}` or `{"error": {"status", "detail"}}` line.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { PassThrough } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { LOCAL_KEY_HEADER } from '../app/server-info.js';
import * as service from '../service/index.js';
import { parseInput, type DoctorContext } from '../service/index.js';
import { errorStatus } from './errors.js';

const HEARTBEAT_MS = 5000;

export interface PortableRoutesOptions {
  /** The key of this server run (server.json); undefined: the routes refuse every request. */
  localKey?: string;
  readOnly?: boolean;
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Whether the request carries this server run's local key (it comes from the doctor CLI on this machine). */
export function fromLocalCli(req: FastifyRequest, localKey: string | undefined): boolean {
  const given = req.headers[LOCAL_KEY_HEADER];
  return !!localKey && typeof given === 'string' && timingSafeEqual(digest(given), digest(localKey));
}


export function registerPortableRoutes(app: FastifyInstance, ctx: DoctorContext, opts: PortableRoutesOptions): void {
  const localOnly = async (req: FastifyRequest, reply: FastifyReply) => {
    if (!fromLocalCli(req, opts.localKey)) {
      return reply.code(403).send({
        detail:
          `${req.url.split('?')[0]} reads or writes files on the server's machine, so only the doctor CLI on that machine may call it ` +
          '(it sends the key from <data dir>/server.json). Run `doctor export` / `doctor import` there.',
      });
    }
  };
  const writeGuard = async (_req: FastifyRequest, reply: FastifyReply) => {
    if (opts.readOnly) return reply.code(403).send({ detail: 'this Doctor server is read-only (DOCTOR_READ_ONLY / --read-only): imports are refused' });
  };
  const doc = (summary: string, description: string) => ({
    tags: ['manage'],
    summary,
    description: `${description} For the local doctor CLI only: needs the ${LOCAL_KEY_HEADER} header from server.json. Answers with newline-delimited JSON progress, then the result.`,
  });

  app.post('/export_index', { preHandler: localOnly, schema: doc('Export the index (local CLI only)', 'Writes pages, chunks and vectors as Parquet with a manifest to a path on the server.') }, async (req, reply) => {
    const input = parseInput(service.exportIndexInput, req.body ?? {});
    return streamOperation(ctx, reply, 'export', (onProgress) => service.exportIndex(ctx, input, onProgress));
  });
  app.post(
    '/import_index',
    { preHandler: [localOnly, writeGuard], schema: doc('Import an export (local CLI only)', 'Merges an export (a .tar or directory on the server) into the database, in one transaction.') },
    async (req, reply) => {
      const input = parseInput(service.importIndexInput, req.body ?? {});
      return streamOperation(ctx, reply, 'import', (onProgress) => service.importIndex(ctx, input, onProgress));
    },
  );
}

/**
 * Streams an operation's progress and then its result or error as NDJSON (see above); shared by add_local.
 * `what` names the operation in the log line of an unexpected error.
 */
export function streamOperation<P>(ctx: DoctorContext, reply: FastifyReply, what: string, run: (onProgress: (p: P) => void) => Promise<unknown>) {
  const out = new PassThrough();
  const line = (v: unknown) => out.write(JSON.stringify(v) + '\n');
  let last: P | null = null;
  // A step can be long and silent (a COPY of every chunk); the heartbeat keeps the client's idle timer happy.
  const heartbeat = setInterval(() => line({ progress: last }), HEARTBEAT_MS);
  run((p) => {
    last = p;
    line({ progress: p });
  })
    .then(
      (result) => line({ result }),
      (e: unknown) => {
        const status = errorStatus(e);
        if (status === 500) ctx.log.error({ err: (e as Error).message, stack: (e as Error).stack }, `${what} failed`);
        line({ error: { status, detail: status === 500 ? `internal error: ${(e as Error).message}` : (e as Error).message } });
      },
    )
    .finally(() => {
      clearInterval(heartbeat);
      out.end();
    });
  return reply.header('content-type', 'application/x-ndjson; charset=utf-8').header('cache-control', 'no-store').send(out);
}
