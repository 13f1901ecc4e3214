/**
 * `add_local` / `doctor add`: index a local directory tree, archive or file (src/ingest/local).
 *
 * The path is read by the process that holds the database. Who may name which path:
 * - the CLI in its own process, or the local CLI talking to its own server (it proves itself with the key
 *   from server.json, as for export/import: src/http/portable.ts): any path its user can read;
 * - anyone else over REST, and every MCP client (an agent, a remote user): only paths below the directories
 *   the server was started with (`--allow-local`, DOCTOR_ALLOW_LOCAL), compared after resolving symbolic
 *   links (realpath) on both sides; with none, local paths are refused.
 */
import { constants } from 'node:fs';
import { access, realpath, stat } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import type { LocalIndexSummary, LocalProgress } from '../ingest/local/index-local.js';
import { fileKind } from '../file-kind.js';
import { isInside } from '../ingest/local/inside.js';
import type { DoctorContext } from './context.js';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from './errors.js';
import { addLocalInput, parseInput } from './inputs.js';

export type { LocalIndexSummary, LocalProgress } from '../ingest/local/index-local.js';

const MiB = 2 ** 20;
export const DEFAULT_MAX_FILE_BYTES = 20 * MiB;
/** Documents held in memory from one archive, and what it may unpack to in all (zip / gzip bombs). */
export const MAX_ARCHIVE_BYTES = 1024 * MiB;
export const MAX_UNPACKED_BYTES = 8 * 1024 * MiB;
export const MAX_ARCHIVE_ENTRIES = 500_000;
export const MAX_LOCAL_FILES = 200_000;

export type AddLocalInput = z.input<typeof addLocalInput>;

export interface AddLocalOptions {
  onProgress?: (p: LocalProgress) => void;
  /**
   * The caller is not this machine's own user (REST without the local key, MCP): only paths below
   * `config.allowLocal` are accepted.
   */
  restricted?: boolean;
  signal?: AbortSignal;
}

/**
 * The real absolute path a user's `path` (absolute path or file:// URL) names; errors say what is wrong.
 * With `restrictTo` (a caller that is not this machine's own user: the allowed directories), a path outside
 * them is refused before the file system is asked, so that such a caller cannot tell which files exist
 * (a missing file and one outside both answered 403, not 404 or "permission denied"); the real path, links
 * resolved, must then be inside them too.
 */
export async function resolveLocalPath(raw: string, restrictTo?: readonly string[]): Promise<string> {
  let path = raw;
  if (/^file:/i.test(raw)) {
    try {
      path = fileURLToPath(raw);
    } catch (e) {
      throw new ValidationError(`${raw} is not a local file URL (${(e as Error).message}); give file:///absolute/path or an absolute path`);
    }
  } else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(raw)) {
    throw new ValidationError(`${raw} is not a local path: to index a website, crawl it with fetch_url`);
  }
  if (!isAbsolute(path)) throw new ValidationError(`path must be absolute on the machine that holds the database (got ${raw})`);
  // (a file:// URL's %00 too) the file system refuses such a path with a TypeError, which was a 500
  if (path.includes('\0')) throw new ValidationError(`path ${JSON.stringify(raw.slice(0, 200))} holds a NUL character, which no file name can: give the path without it`);
  if (restrictTo) await checkAllowedLocal(resolve(path), restrictTo);
  let real: string;
  try {
    real = await realpath(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new NotFoundError(`${path} does not exist on the machine that holds the database`);
    if (code === 'EACCES') throw unreadable(path, 'a directory above it');
    throw e;
  }
  if (restrictTo) await checkAllowedLocal(real, restrictTo);
  // A named pipe, socket or device would block the read (a FIFO's open waits for a writer, holding one of
  // the threads every database call needs) or never end (/dev/zero): only files and directories are read.
  const st = await stat(real);
  if (!st.isFile() && !st.isDirectory()) {
    throw new ValidationError(`${path} is ${fileKind(st)}, not a file or directory: give a document file, an archive or a directory of documents`);
  }
  // the named path itself must be readable (a directory also searchable); below it, what cannot be read is skipped
  try {
    await access(real, st.isDirectory() ? constants.R_OK | constants.X_OK : constants.R_OK);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EACCES' || (e as NodeJS.ErrnoException).code === 'EPERM') {
      throw unreadable(path, st.isDirectory() ? 'the directory' : 'the file');
    }
    throw e;
  }
  return real;
}

function unreadable(path: string, what: string): ForbiddenError {
  return new ForbiddenError(
    `${path} cannot be read by the Doctor process (permission denied on ${what}): give its user read access (chmod / chown), or index it as a user who can read it`,
  );
}

/** Throws unless `path` is below one of the allowed directories (as given, or resolved with realpath). */
async function checkAllowedLocal(path: string, allowed: readonly string[]): Promise<void> {
  if (allowed.length === 0) {
    throw new ForbiddenError(
      'this Doctor process does not index local paths for REST or MCP callers: start it with --allow-local <dir> (or DOCTOR_ALLOW_LOCAL) ' +
        'to allow the directories below which they may (`doctor serve --allow-local <dir>`, or, when no server runs, `doctor mcp --allow-local <dir>` ' +
        "in the agent's MCP configuration), or run `doctor add` on the machine that holds the database.",
    );
  }
  for (const dir of allowed) {
    const root = await realpath(dir).catch(() => undefined);
    if ((root && isInside(root, path)) || isInside(resolve(dir), path)) return;
  }
  throw new ForbiddenError(`${path} is not below a directory this server allows (--allow-local / DOCTOR_ALLOW_LOCAL)`);
}

/** Indexes (or re-indexes) a local source; see src/ingest/local/index-local.ts. */
export async function addLocal(ctx: DoctorContext, input: AddLocalInput, opts: AddLocalOptions = {}): Promise<LocalIndexSummary> {
  const p = parseInput(addLocalInput, input);
  if (ctx.config.readOnly) throw new ConflictError('this Doctor process is read-only (DOCTOR_READ_ONLY / --read-only): it does not index files');
  const path = await resolveLocalPath(p.path, opts.restricted ? ctx.config.allowLocal : undefined);
  if (running.has(path)) throw new ConflictError(`${path} is being indexed already; wait for that run to finish`);
  const stop = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, stop.signal]) : stop.signal;
  const done = indexSource(ctx, path, p, { ...opts, signal });
  running.set(path, { store: ctx.store, stop, done });
  try {
    return await done;
  } finally {
    running.delete(path);
  }
}

/**
 * Sources being indexed in this process, by real path (two runs over one source would race over its pages),
 * with what stops each run and its end.
 */
const running = new Map<string, { store: object; stop: AbortController; done: Promise<unknown> }>();

/**
 * Stops the runs indexing these sites (root page ids) into this store and waits for them to end: a delete of
 * a source's pages while it is indexed (delete_docs by tags, domain or site), which it would store again.
 */
export async function stopLocalRuns(ctx: DoctorContext, rootIds: readonly string[]): Promise<void> {
  const mine = [...running].filter(([, r]) => r.store === ctx.store);
  if (mine.length === 0 || rootIds.length === 0) return;
  const { sourceRootId } = await import('../ingest/local/index-local.js');
  const roots = new Set(rootIds);
  const stopped = mine.filter(([path]) => roots.has(sourceRootId(path)));
  for (const [path, r] of stopped) {
    r.stop.abort(new ConflictError(`the pages of ${path} were deleted (delete_docs) while it was being indexed, so indexing stopped: run add_local on it again to index it`));
  }
  await Promise.allSettled(stopped.map(([, r]) => r.done));
}

async function indexSource(ctx: DoctorContext, path: string, p: z.output<typeof addLocalInput>, opts: AddLocalOptions): Promise<LocalIndexSummary> {
  // Loaded when used: its readers (yaml, yauzl, pdf.js) are not needed by every CLI command.
  const { indexLocalSource } = await import('../ingest/local/index-local.js');
  return indexLocalSource(
    { store: ctx.store, embedder: ctx.embedder, log: ctx.log, chunking: { maxChars: ctx.config.chunkSize, overlap: ctx.config.chunkOverlap } },
    {
      path,
      tags: p.tags ?? [],
      baseUrl: p.base_url,
      exclude: p.exclude,
      limits: {
        maxFileBytes: p.max_file_bytes ?? DEFAULT_MAX_FILE_BYTES,
        maxFiles: MAX_LOCAL_FILES,
        maxArchiveBytes: MAX_ARCHIVE_BYTES,
        maxUnpackedBytes: MAX_UNPACKED_BYTES,
        maxEntries: MAX_ARCHIVE_ENTRIES,
      },
      onProgress: opts.onProgress,
      signal: opts.signal,
    },
  );
}
