/**
 * Export and import of the index (src/portable): pages, chunks and vectors as Parquet plus a manifest.
 *
 * Both take a path on the machine of the process that holds the database. The CLI calls them in its own
 * process, or, when `doctor serve` holds the database, on the server; REST accepts them only from a local
 * CLI (see src/http/portable.ts), and MCP does not offer them: a path sent by a remote client or an agent
 * would let it read or write files on the server's machine.
 */
import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { exportIndex as runExport, type ExportSummary } from '../portable/export.js';
import { importIndex as runImport, type ImportSummary } from '../portable/import.js';
import type { ProgressFn } from '../portable/progress.js';
import { EmbeddingMismatchError } from '../store/store.js';
import type { DoctorContext } from './context.js';
import { ConflictError } from './errors.js';
import { boolField, parseInput, tagFilterInput, textField } from './inputs.js';

export type { ExportSummary } from '../portable/export.js';
export type { ImportSummary } from '../portable/import.js';
export type { PortableProgress, ProgressFn } from '../portable/progress.js';

const absolutePath = (what: string) =>
  z
    .string({ error: `${what} is required` })
    .min(1, `${what} is required`)
    .max(4096, `${what} must be at most 4,096 characters`)
    .refine((p) => isAbsolute(p), `${what} must be an absolute path on the machine that holds the database`);

export const exportIndexInput = z.object({
  path: absolutePath('path'),
  tags: tagFilterInput,
  domain: textField('domain', 300).min(1, 'domain must not be empty (leave it out to export every domain)').optional(),
  force: boolField('force').optional(),
});

export const importIndexInput = z.object({
  path: absolutePath('path'),
});

export type ExportIndexInput = z.input<typeof exportIndexInput>;
export type ImportIndexInput = z.input<typeof importIndexInput>;

/** Writes the selected pages, chunks and vectors to `path` (a .tar file, or a directory). */
export async function exportIndex(ctx: DoctorContext, input: ExportIndexInput, onProgress?: ProgressFn): Promise<ExportSummary> {
  const p = parseInput(exportIndexInput, input);
  const summary = await runExport(ctx.store, { out: resolve(p.path), tags: p.tags, domain: p.domain, force: p.force, database: ctx.config.dbPath, onProgress });
  ctx.log.info({ path: summary.path, pages: summary.pages, chunks: summary.chunks, bytes: summary.bytes }, 'exported the index');
  return summary;
}

/** Merges an export into the database (one transaction; see src/portable/import.ts). */
export async function importIndex(ctx: DoctorContext, input: ImportIndexInput, onProgress?: ProgressFn): Promise<ImportSummary> {
  const p = parseInput(importIndexInput, input);
  // An archive is unpacked beside the database (where there is room for it), not in a RAM-backed /tmp.
  const workDir = ctx.config.dbPath === ':memory:' ? undefined : dirname(resolve(ctx.config.dbPath));
  try {
    const summary = await runImport(ctx.store, { source: resolve(p.path), workDir, onProgress });
    ctx.log.info({ source: summary.source, pages: summary.pages, chunks: summary.chunks }, 'imported an export');
    return summary;
  } catch (e) {
    if (e instanceof EmbeddingMismatchError) throw new ConflictError(e.message);
    throw e;
  }
}

