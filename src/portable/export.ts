/**
 * `doctor export`: pages and chunks (with their vectors) as Parquet files written by DuckDB
 * (`COPY ... TO ... (FORMAT parquet, COMPRESSION zstd)`; DuckDB's parquet support is built into the Node
 * bindings, nothing is downloaded), plus a manifest with the embedder identity, counts and SHA-256 of each
 * file. The result is a directory, or one plain .tar of it (the form to hand around).
 *
 * Both files come from one read transaction (a snapshot), so a crawl writing meanwhile can neither leave a
 * chunk without its page nor a page without its chunks. The files are written into a staging directory
 * beside the target and moved into place at the end: an interrupted export leaves no half-written file
 * under the target's name.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import type { DuckDBValue } from '../db/duckdb.js';
import { latestSchemaVersion } from '../db/schema.js';
import type { Store } from '../store/store.js';
import { VARCHAR_LIST, varcharList } from '../store/sql-values.js';
import { ValidationError } from '../store/validation.js';
import { packageVersion } from '../version.js';
import { isExportArchive, packExport } from './archive.js';
import { fileKind } from '../file-kind.js';
import {
  CHUNKS_FILE,
  EXPORT_FILES,
  EXPORT_FORMAT,
  EXPORT_FORMAT_VERSION,
  MANIFEST_NAME,
  PAGES_FILE,
  fileDigest,
  type Manifest,
  type ManifestFile,
} from './manifest.js';
import { throttled, type ProgressFn } from './progress.js';

/** Columns written, in order (import reads them by name). */
export const PAGE_COLUMNS = [
  'id', 'url', 'domain', 'title', 'raw_text', 'crawl_date', 'tags', 'job_id', 'parent_page_id', 'root_page_id', 'depth', 'path', 'content_hash',
] as const;
export const CHUNK_COLUMNS = [
  'id', 'seq', 'embedding', 'text_chunk', 'page_id', 'url', 'domain', 'tags', 'job_id', 'chunk_index', 'title', 'heading_path', 'extra', 'created_at',
] as const;

export interface ExportOptions {
  /** Absolute path: ending in `.tar`, one archive file; otherwise a directory. */
  out: string;
  /** Only pages having any of these tags. */
  tags?: readonly string[];
  /** Only pages of this domain (host name). */
  domain?: string;
  /** Replace an existing target: a .tar file, or a directory holding only an earlier export. */
  force?: boolean;
  /** The database file: never a target, nor a directory holding it. */
  database?: string;
  onProgress?: ProgressFn;
}

export interface ExportSummary {
  path: string;
  format: 'tar' | 'directory';
  pages: number;
  chunks: number;
  /** Size of what was written (the archive, or the directory's files). */
  bytes: number;
  seconds: number;
  manifest: Manifest;
}

/**
 * Where the export goes, checked before any work. `--force` replaces only what an export wrote: a directory
 * holding nothing but an earlier export's files, or an export's .tar file; never any other file, the database,
 * or a directory with anything else in it (`-o . --force` in the database's directory once deleted the database).
 */
function checkTarget(out: string, force: boolean, database: string | undefined): 'tar' | 'directory' {
  if (!isAbsolute(out)) throw new ValidationError(`the export path must be absolute (got "${out}").`);
  const format = out.toLowerCase().endsWith('.tar') ? 'tar' : 'directory';
  if (database && database !== ':memory:') {
    const db = resolve(database);
    const inside = relative(out, db);
    // the file itself or one of its companions (.wal, .keywords, .usearch...), which never end in .tar
    const isDatabase = out === db || (out.startsWith(`${db}.`) && format === 'directory');
    if (isDatabase || (inside !== '' && !inside.startsWith('..') && !isAbsolute(inside))) {
      throw new ValidationError(`${out} ${isDatabase ? 'is' : 'holds'} the database (${db}): export to a path outside it.`);
    }
  }
  if (existsSync(out)) {
    const st = statSync(out);
    const entries = st.isDirectory() ? readdirSync(out) : [];
    if (!st.isFile() && !st.isDirectory()) {
      throw new ValidationError(`${out} exists and is ${fileKind(st)}: give a new directory path, or a new path ending in .tar for one archive file.`);
    }
    if (format === 'tar' && st.isDirectory()) throw new ValidationError(`${out} is a directory: give a file name ending in .tar, or a directory path without .tar.`);
    if (format === 'directory' && !st.isDirectory()) throw new ValidationError(`${out} exists and is a file: give a new directory path, or a path ending in .tar for one archive file.`);
    if ((!st.isDirectory() || entries.length > 0) && !force) throw new ValidationError(`${out} already exists: choose another path, or pass --force to replace an earlier export there.`);
    if (format === 'tar' && !isExportArchive(out)) {
      throw new ValidationError(`${out} is not an earlier export archive (not a tar file starting with ${MANIFEST_NAME}), so --force does not replace it: give a new file name.`);
    }
    const others = entries.filter((name) => !(EXPORT_FILES as readonly string[]).includes(name));
    if (others.length > 0 || (entries.length > 0 && !entries.includes(MANIFEST_NAME))) {
      const shown = others.slice(0, 3).map((n) => `"${n}"`).join(', ') + (others.length > 3 ? ', ...' : '');
      throw new ValidationError(
        `${out} is not an earlier export (${others.length ? `it holds ${shown}` : `it has no ${MANIFEST_NAME}`}), so --force does not replace it: give a new or empty directory.`,
      );
    }
  }
  return format;
}

/** A new directory beside `out` for the files being written; a place that cannot hold one is the caller's error. */
async function stagingDir(out: string): Promise<string> {
  try {
    mkdirSync(dirname(out), { recursive: true });
    return await mkdtemp(join(dirname(out), `.${basename(out)}.partial-`));
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (!err.code) throw e;
    throw new ValidationError(`cannot write in ${dirname(out)} (${err.message}): choose a directory you can write to.`);
  }
}

/** WHERE conditions for the selection on a table with `tags` and `domain` columns (values bound). */
function selection(opts: ExportOptions, alias: string): { conds: string[]; params: Record<string, DuckDBValue>; types: Record<string, typeof VARCHAR_LIST> } {
  const conds: string[] = [];
  const params: Record<string, DuckDBValue> = {};
  if (opts.tags?.length) {
    conds.push(`list_has_any(${alias}.tags, $tags)`);
    params.tags = varcharList(opts.tags);
  }
  if (opts.domain) {
    conds.push(`${alias}.domain = $domain`);
    params.domain = opts.domain;
  }
  return { conds, params, types: opts.tags?.length ? { tags: VARCHAR_LIST } : {} };
}

export async function exportIndex(store: Store, opts: ExportOptions): Promise<ExportSummary> {
  const t0 = performance.now();
  const format = checkTarget(opts.out, !!opts.force, opts.database);
  const progress = throttled(opts.onProgress);
  // Staging beside the target (same file system), so the final step is a rename.
  const staging = await stagingDir(opts.out);
  try {
    const pagesPath = join(staging, PAGES_FILE);
    const chunksPath = join(staging, CHUNKS_FILE);
    const pageSel = selection(opts, 'p');
    const chunkSel = selection(opts, 'e');
    const filtered = pageSel.conds.length > 0;
    const pageWhere = filtered ? `WHERE ${pageSel.conds.join(' AND ')}` : '';
    // With a filter: the chunks of the selected pages, and chunks stored without a page (e.g. migrated from
    // Qdrant) whose own tags/domain match.
    const chunkWhere = filtered
      ? `WHERE e.page_id IN (SELECT p.id FROM pages p ${pageWhere})
           OR ((e.page_id IS NULL OR e.page_id NOT IN (SELECT id FROM pages)) AND ${chunkSel.conds.join(' AND ')})`
      : '';
    const { pages, chunks } = await store.db.snapshot(async (q) => {
      const [count] = await q.all<{ pages: number; chunks: number }>(
        `SELECT (SELECT count(*) FROM pages p ${pageWhere})::INTEGER AS pages,
                (SELECT count(*) FROM document_embeddings e ${chunkWhere})::INTEGER AS chunks`,
        pageSel.params,
        pageSel.types,
      );
      const pages = count?.pages ?? 0;
      const chunks = count?.chunks ?? 0;
      // Each file's step counts its own rows, so the totals shown are the export's page and chunk counts.
      progress({ step: `writing ${PAGES_FILE}`, done: 0, total: pages, unit: 'pages' });
      // The target path is a bound parameter like every other value: DuckDB (1.5) binds COPY's file name
      // (checked with paths holding quotes and spaces in test/portable.test.ts), so no path is spliced into SQL.
      await q.run(
        `COPY (SELECT ${PAGE_COLUMNS.map((c) => `p.${c}`).join(', ')} FROM pages p ${pageWhere} ORDER BY p.url, p.id)
         TO $file (FORMAT parquet, COMPRESSION zstd)`,
        { ...pageSel.params, file: pagesPath },
        pageSel.types,
      );
      progress({ step: `writing ${PAGES_FILE}`, done: pages, total: pages, unit: 'pages' });
      progress({ step: `writing ${CHUNKS_FILE}`, done: 0, total: chunks, unit: 'chunks' });
      // Vectors go out in storage order (seq), so an import inserts them in the same order.
      await q.run(
        `COPY (SELECT ${CHUNK_COLUMNS.map((c) => `e.${c}`).join(', ')} FROM document_embeddings e ${chunkWhere} ORDER BY e.seq)
         TO $file (FORMAT parquet, COMPRESSION zstd)`,
        { ...chunkSel.params, file: chunksPath },
        chunkSel.types,
      );
      progress({ step: `writing ${CHUNKS_FILE}`, done: chunks, total: chunks, unit: 'chunks' });
      return { pages, chunks };
    });

    const sizes = statSync(pagesPath).size + statSync(chunksPath).size;
    let hashed = 0;
    const digest = async (name: string, path: string, rows: number): Promise<ManifestFile> => {
      const d = await fileDigest(path, (n) => progress({ step: 'computing checksums', done: (hashed += n), total: sizes, unit: 'bytes' }));
      return { name: name as ManifestFile['name'], rows, bytes: d.bytes, sha256: d.sha256 };
    };
    const manifest: Manifest = {
      format: EXPORT_FORMAT,
      format_version: EXPORT_FORMAT_VERSION,
      doctor_version: packageVersion(),
      schema_version: latestSchemaVersion(),
      created_at: new Date().toISOString(),
      embedding: { ...store.embedding },
      filters: { tags: opts.tags?.length ? [...opts.tags] : null, domain: opts.domain ?? null },
      counts: { pages, chunks },
      files: { pages: await digest(PAGES_FILE, pagesPath, pages), chunks: await digest(CHUNKS_FILE, chunksPath, chunks) },
    };
    writeFileSync(join(staging, MANIFEST_NAME), JSON.stringify(manifest, null, 2) + '\n');

    let bytes: number;
    if (format === 'tar') {
      const partial = join(staging, 'export.tar');
      let packed = 0;
      // What tar adds: a 512-byte header per file, padding to 512-byte blocks, two closing blocks.
      const tarBytes = [pagesPath, chunksPath, join(staging, MANIFEST_NAME)].reduce((s, p) => s + 512 + Math.ceil(statSync(p).size / 512) * 512, 1024);
      await packExport(staging, partial, (n) =>
        progress({ step: 'writing the archive', done: Math.min((packed += n), tarBytes), total: tarBytes, unit: 'bytes' }),
      );
      if (existsSync(opts.out)) rmSync(opts.out, { force: true });
      renameSync(partial, opts.out);
      bytes = statSync(opts.out).size;
    } else {
      if (existsSync(opts.out)) rmSync(opts.out, { recursive: true, force: true });
      renameSync(staging, opts.out);
      bytes = sizes + statSync(join(opts.out, MANIFEST_NAME)).size;
    }
    return { path: opts.out, format, pages, chunks, bytes, seconds: (performance.now() - t0) / 1000, manifest };
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}
