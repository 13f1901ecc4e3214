/**
 * POST /add_local: index a directory, archive or file on the server's machine (service/local.ts).
 *
 * The doctor CLI on this machine (it sends the key from server.json, as for export/import) may name any
 * path its user could read anyway. Any other caller may name only paths below the server's --allow-local
 * directories (DOCTOR_ALLOW_LOCAL); without those, 403. The answer streams newline-delimited JSON progress
 * lines, then the summary (see http/portable.ts); a refused path or bad input is answered at once with its
 * status, before the stream starts.
 */
import type { FastifyInstance } from 'fastify';
import { LOCAL_KEY_HEADER } from '../app/server-info.js';
import * as service from '../service/index.js';
import { parseInput, type DoctorContext, type LocalProgress } from '../service/index.js';
import { fromLocalCli, streamOperation } from './portable.js';

export function registerLocalRoutes(app: FastifyInstance, ctx: DoctorContext, opts: { localKey?: string; readOnly?: boolean }): void {
  app.post(
    '/add_local',
    {
      schema: {
        tags: ['manage'],
        summary: 'Index a local directory, archive or file',
        description:
          'Indexes Markdown/MDX, HTML, reStructuredText, AsciiDoc, text and PDF files from a directory, a .zip/.tar/.tar.gz archive or one file on the server ' +
          '(body: path, tags, base_url, exclude, max_file_bytes). Running it again updates changed files and removes the pages of deleted ones. ' +
          `Paths must be below a directory the server was started with (--allow-local / DOCTOR_ALLOW_LOCAL), unless the request comes from the doctor CLI on the server machine (${LOCAL_KEY_HEADER}). ` +
          'Answers with newline-delimited JSON progress, then the result.',
      },
    },
    async (req, reply) => {
      if (opts.readOnly) return reply.code(403).send({ detail: 'this Doctor server is read-only (DOCTOR_READ_ONLY / --read-only): indexing is refused' });
      const input = parseInput(service.addLocalInput, req.body ?? {});
      const restricted = !fromLocalCli(req, opts.localKey);
      // Refused paths are answered with their status before the stream starts.
      await service.resolveLocalPath(input.path, restricted ? ctx.config.allowLocal : undefined);
      const body = (req.body ?? {}) as service.AddLocalInput;
      return streamOperation<LocalProgress>(ctx, reply, 'add_local', (onProgress) => service.addLocal(ctx, body, { onProgress, restricted }));
    },
  );
}
