/**
 * `doctor import`: merges an export (its .tar or its directory) into this database.
 *
 * Before anything is written: the manifest is read and checked (format, schema version, the embedder
 * identity: vectors of another model or dimension are refused with what to do), and every Parquet file
 * is checked against its SHA-256 and size in the manifest.
 *
 * Then, in ONE transaction (a failure anywhere, or a crash, leaves the database as it was):
 * - the files are loaded into temporary tables (with casts: a column of the wrong type, a vector of the
 *   wrong length, missing ids fail here with a message naming the file);
 * - pages are merged by URL: a URL not stored here is added; a URL stored here is replaced only when the
 *   imported crawl is newer (its chunks are replaced too, and the tags of the replaced page are kept, as a
 *   re-crawl keeps them); otherwise the stored page stays. Equal crawl dates keep the stored page, so
 *   importing the same export twice changes nothing;
 * - chunks go in through the store's write API (`VectorIndexer.writeBatch`), the same path a crawl takes,
 *   so the keyword index is written in the same transaction and the vector index takes the rows after the
 *   commit (a large import makes the usearch index catch up from the table, exact search answering meanwhile).
 *   Chunks stored without a page (e.g. migrated from Qdrant) are added when their id is new here and their
 *   page id (if any) is not that of a page stored here (they would join a page they did not come from);
 * - an imported page's root and parent links are kept only to a page on its own domain that is in the export
 *   or stored here; others are dropped before the page is written (./site-links.ts), so an export cannot
 *   graft its pages into the site map of a site stored here.
 * Page and chunk ids are kept, so search results name the same ids as in the exporting database.
 */
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { BIGINT, LIST, bindings, listValue } from '../db/duckdb.js';
import { fileKind } from '../file-kind.js';
import type { Tx } from '../db/database.js';
import { latestSchemaVersion } from '../db/schema.js';
import type { ChunkPayload } from '../store/embeddings.js';
import { mayNeedRepair as pathMayNeedRepair, pageHeadingRepairs, repairedPath } from '../store/heading-paths.js';
import { VARCHAR_LIST, varcharList } from '../store/sql-values.js';
import { EmbeddingMismatchError, type EmbeddingIdentity, type Store } from '../store/store.js';
import { MAX_PAGE_ID_CHARS, ValidationError } from '../store/validation.js';
import { unpackExport } from './archive.js';
import { MANIFEST_NAME, fileDigest, parseManifest, type Manifest } from './manifest.js';
import { throttled, type ProgressFn } from './progress.js';
import { withSamePercentEncoding } from '../text/percent-escapes.js';
import { detachForeignLinks, type DetachedPages } from './site-links.js';

export interface ImportOptions {
  /** Absolute path of an export: its .tar file or its directory. */
  source: string;
  /** Where an archive is unpacked while importing (default: the system's temporary directory). */
  workDir?: string;
  /** Chunks per write batch (default 2,048). */
  batchSize?: number;
  onProgress?: ProgressFn;
  /** Least time between two progress reports of one step (default 250 ms). */
  progressEveryMs?: number;
}

export interface ImportSummary {
  source: string;
  pages: {
    /** URLs not stored here before. */
    added: number;
    /** Stored pages replaced by a newer crawl from the export. */
    replaced: number;
    /** Stored pages kept because they are as new or newer (all of them on a repeated import). */
    kept: number;
    /** Pages not imported, with reasons (see `skipped`). */
    skipped: number;
  };
  chunks: {
    /** Chunks written (of added and replacing pages, and new page-less chunks). */
    added: number;
    /** Stored chunks removed with the pages they belonged to (replaced pages). */
    removed: number;
    /**
     * Chunks not written: their page was kept or skipped, or (page-less) their id is stored already or
     * their page id names a page stored here that the export does not hold.
     */
    unchanged: number;
  };
  /** Up to 20 pages that were not imported, and why. */
  skipped: { url: string; reason: string }[];
  /**
   * Imported pages whose root or parent page id was dropped: it named a page on another domain, or one
   * neither in the export nor stored here (see ./site-links.ts).
   */
  detached: DetachedPages;
  /** Size of the export (the archive, or the directory's files). */
  bytes: number;
  seconds: number;
  manifest: Pick<Manifest, 'doctor_version' | 'created_at' | 'embedding' | 'filters' | 'counts'>;
}

const describe = (e: EmbeddingIdentity) => `${e.provider}/${e.model} (${e.dimension} dimensions)`;

/** Refuses an export this database cannot take: newer schema, or vectors of another embedder. */
export function checkCompatible(store: Store, m: Manifest, source: string): void {
  if (m.schema_version > latestSchemaVersion()) {
    throw new ValidationError(
      `${source} was exported by Doctor ${m.doctor_version} with database schema version ${m.schema_version}; this Doctor knows ` +
        `up to version ${latestSchemaVersion()}. Upgrade Doctor to import it.`,
    );
  }
  const here = store.embedding;
  if (m.embedding.model === here.model && m.embedding.dimension === here.dimension) return;
  const e = m.embedding;
  throw new EmbeddingMismatchError(
    `${source} holds vectors made by ${describe(e)}, but this database (${store.db.path}) holds vectors made by ${describe(here)}. ` +
      'Vectors of different models cannot be compared, so nothing was imported. Import it into a database that uses the same model: ' +
      `DOCTOR_EMBEDDING_PROVIDER=${e.provider === 'lexical' ? 'lexical' : 'openai'} DOCTOR_EMBEDDING_MODEL=${e.model} ` +
      `DOCTOR_EMBEDDING_DIM=${e.dimension} doctor --data-dir <a new directory> import ${source} ` +
      '(searches there embed queries with that model, so it must be reachable), or re-crawl those sites into this database.',
  );
}

/** Loads, checks and merges an export; see the module comment. */
export async function importIndex(store: Store, opts: ImportOptions): Promise<ImportSummary> {
  const t0 = performance.now();
  const source = opts.source;
  if (!isAbsolute(source)) throw new ValidationError(`the import path must be absolute (got "${source}").`);
  if (!existsSync(source)) throw new ValidationError(`${source} does not exist: give the .tar file or the directory that doctor export wrote.`);
  const progress = throttled(opts.onProgress, opts.progressEveryMs);
  const st = statSync(source);
  // A FIFO or a device would block the first read (a FIFO without a writer: for ever).
  if (!st.isFile() && !st.isDirectory()) throw new ValidationError(`${source} is neither a file nor a directory: give the .tar file or the directory that doctor export wrote.`);
  let dir = source;
  let staging: string | undefined;
  try {
    if (!st.isDirectory()) {
      staging = await mkdtemp(join(opts.workDir ?? tmpdir(), 'doctor-import-'));
      let read = 0;
      await unpackExport(source, staging, (n) => progress({ step: 'unpacking the archive', done: (read += n), total: st.size, unit: 'bytes' }));
      dir = staging;
    }
    const manifestPath = join(dir, MANIFEST_NAME);
    if (!existsSync(manifestPath)) {
      throw new ValidationError(`${source} holds no ${MANIFEST_NAME}: it is not a Doctor export (give the .tar file or the directory that doctor export wrote).`);
    }
    regularFile(manifestPath, MANIFEST_NAME, source);
    const manifestBytes = statSync(manifestPath).size;
    if (manifestBytes > MAX_MANIFEST_BYTES) {
      throw new ValidationError(
        `${MANIFEST_NAME} of ${source} is ${manifestBytes} bytes; a Doctor export's manifest is a few kilobytes (at most ${MAX_MANIFEST_BYTES}): it is not a Doctor export, or it was edited.`,
      );
    }
    const manifest = parseManifest(readFileSync(manifestPath, 'utf8'), `${MANIFEST_NAME} of ${source}`);
    checkCompatible(store, manifest, source);

    // Checksums before any write: an edited or damaged file is refused as a whole.
    const files = [manifest.files.pages, manifest.files.chunks];
    const total = files.reduce((s, f) => s + f.bytes, 0);
    let hashed = 0;
    for (const f of files) {
      const path = join(dir, f.name);
      if (!existsSync(path)) throw new ValidationError(`${source} lacks ${f.name}, which its manifest lists: the export is incomplete.`);
      regularFile(path, f.name, source);
      const d = await fileDigest(path, (n) => progress({ step: 'checking checksums', done: (hashed += n), total, unit: 'bytes' }));
      if (d.sha256 !== f.sha256 || d.bytes !== f.bytes) {
        throw new ValidationError(
          `${f.name} in ${source} does not match the SHA-256 checksum in its manifest (${d.bytes} bytes, expected ${f.bytes}): ` +
            'the file was changed or damaged after the export. Nothing was imported; export again, or copy the export again.',
        );
      }
    }
    const bytes = st.isDirectory() ? total + statSync(manifestPath).size : st.size;
    const merged = await store.db.transaction((tx) =>
      merge(tx, store, manifest, { pages: join(dir, manifest.files.pages.name), chunks: join(dir, manifest.files.chunks.name) }, opts.batchSize ?? 2048, progress),
    );
    // A large import leaves a large WAL: write it into the database file now rather than at the next start.
    if (merged.chunks.added + merged.chunks.removed > 10_000) await store.db.checkpoint();
    const { doctor_version, created_at, embedding, filters, counts } = manifest;
    return { source, ...merged, bytes, seconds: (performance.now() - t0) / 1000, manifest: { doctor_version, created_at, embedding, filters, counts } };
  } finally {
    if (staging) rmSync(staging, { recursive: true, force: true });
  }
}

/** Largest manifest.json read (a real one is ~1 KB): a huge one is not read into memory. */
const MAX_MANIFEST_BYTES = 1 << 20;

/**
 * Refuses an export file that is not a regular file (or a link to one): reading a directory failed with a
 * bare EISDIR, and a FIFO named pages.parquet blocked the import (and a thread of the server) for ever.
 */
function regularFile(path: string, name: string, source: string): void {
  const st = statSync(path);
  if (st.isFile()) return;
  throw new ValidationError(`${name} in ${source} is ${fileKind(st)}, not a file: it is not a Doctor export, or it was edited. Nothing was imported.`);
}

type Merged = Pick<ImportSummary, 'pages' | 'chunks' | 'skipped' | 'detached'>;

/**
 * The file name as DuckDB's read_parquet reads it literally. read_parquet takes a pattern: `*`, `?` and
 * `[...]` in it are a glob even in a bound parameter, so an export in a directory named "exports*" or
 * "docs [v2]" read other directories' files too (files no checksum was computed for), or none. Each such
 * character goes in a class of its own (`[*]` matches only `*`).
 */
export function literalParquetPath(file: string): string {
  return file.replace(/[*?[]/g, (c) => `[${c}]`);
}

/**
 * Runs a statement reading an export file (`read_parquet($file, ...)`); DuckDB's errors there are the
 * file's fault and say so. Every read_parquet here also passes `hive_partitioning = false`: DuckDB otherwise
 * takes a `key=value` directory in the path for a column, and an export under `/data/url=x/` had every
 * page's URL read as "x".
 */
async function load(tx: Tx, file: string, sql: string): Promise<void> {
  try {
    // The file name is a bound parameter (DuckDB binds it in read_parquet like any value), made literal.
    await tx.run(sql, { file: literalParquetPath(file) });
  } catch (e) {
    const first = (e as Error).message.split('\n')[0]!;
    // A missing column fails the binder, which names it in one of two ways (the second when the SELECT
    // defines a column of that name itself).
    const missing = /Referenced column "([^"]+)" not found|Column "([^"]+)" referenced that exists in the SELECT clause/.exec(first);
    if (missing) {
      throw new ValidationError(`${file} has no column "${missing[1] ?? missing[2]}": it is not a Doctor export file, or it was damaged; export again with \`doctor export\``);
    }
    throw new ValidationError(`${file} could not be loaded as a Doctor export file: ${shortValues(first)}`);
  }
}

/**
 * DuckDB's message with each value it quotes that is over 200 characters cut to 100 (and the whole to 2,000):
 * a conversion error quotes the value it could not convert, and a 3 MB string in an export made a 3 MB error
 * message (printed by the CLI, sent over REST, logged).
 */
function shortValues(message: string): string {
  // Split at quotes rather than match with a regular expression: V8's backtracking overflowed its stack on 6 MB.
  const parts = message.split("'");
  let cut = parts[0]!;
  for (let i = 1; i < parts.length; i += 2) {
    const value = parts[i]!;
    const closed = i + 1 < parts.length;
    cut += value.length > 200 ? `'${value.slice(0, 100)}…' (${value.length} characters)` : `'${value}${closed ? "'" : ''}`;
    if (closed) cut += parts[i + 1]!;
  }
  return cut.length > 2000 ? `${cut.slice(0, 2000)}…` : cut;
}

/** A crawl date no crawl has: not finite, before 1970, or more than a day after now. */
const BAD_DATE = "NOT isfinite(crawl_date) OR crawl_date < TIMESTAMPTZ '1970-01-01 00:00:00+00' OR crawl_date > now() + INTERVAL 1 DAY";

/**
 * Most text an export may unpack to, as a multiple of its Parquet files' size (beyond a floor every export
 * may reach). Text in an export is zstd-compressed about 3-6x, and vectors hardly compress, so a real one
 * stays far below this; a crafted one repeating one string compresses it ~10,000x (a 4 KB pages.parquet
 * held 240 MB of page text, and its import took 1.3 GB of memory), so it is refused before it is loaded.
 * Tags count TAG_BYTES each: a million copies of one tag on each of 6 rows (7 KB of files) took 1.1 GB to
 * import, and the pages' listing answered 12 MB.
 */
const MAX_TEXT_EXPANSION = 50;
const TEXT_EXPANSION_FLOOR = 64 * 2 ** 20;
const TAG_BYTES = 32;

/**
 * Refuses an export whose text columns and tags unpack to far more than its files hold. Text is summed in a
 * streaming read (DuckDB keeps Parquet dictionary pages as dictionary vectors, so this takes no memory);
 * tags are counted from the Parquet metadata (reading a row's list would unpack it).
 */
async function checkExpansion(tx: Tx, m: Manifest, files: { pages: string; chunks: string }): Promise<void> {
  const sum = (cols: string[]) => cols.map((c) => `coalesce(sum(strlen(${c}::VARCHAR)), 0)`).join(' + ');
  const size = async (file: string, cols: string[]) => {
    await load(tx, file, `CREATE OR REPLACE TEMP TABLE imp_size AS SELECT (${sum(cols)})::BIGINT AS n FROM read_parquet($file, hive_partitioning = false)`);
    const text = Number((await one<{ n: bigint }>(tx, 'SELECT n FROM imp_size')).n);
    await load(tx, file, `CREATE OR REPLACE TEMP TABLE imp_size AS SELECT coalesce(sum(num_values), 0)::BIGINT AS n FROM parquet_metadata($file)
      WHERE path_in_schema LIKE 'tags,%'`);
    return text + TAG_BYTES * Number((await one<{ n: bigint }>(tx, 'SELECT n FROM imp_size')).n);
  };
  const text =
    (await size(files.pages, ['url', 'domain', 'title', 'raw_text', 'path'])) +
    (await size(files.chunks, ['text_chunk', 'url', 'domain', 'title', 'heading_path', 'extra']));
  await tx.run('DROP TABLE IF EXISTS temp.imp_size');
  const bytes = m.files.pages.bytes + m.files.chunks.bytes;
  if (text > Math.max(TEXT_EXPANSION_FLOOR, MAX_TEXT_EXPANSION * bytes)) {
    const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
    throw new ValidationError(
      `${files.pages} and ${files.chunks} hold ${mib(text)} of text and tags in ${mib(bytes)} of files, more than ${MAX_TEXT_EXPANSION} times their size: ` +
        'no export of crawled pages compresses that well, and importing it would take that much memory and disk. Nothing was imported. ' +
        'It was not written by doctor export, or it was edited.',
    );
  }
}

async function one<T>(tx: Tx, sql: string): Promise<T> {
  return (await tx.all<T>(sql))[0]!;
}

const REASONS: Record<string, string> = {
  duplicate: 'the export holds this URL more than once; the newest copy was imported',
  id_conflict: 'its page id belongs to a different URL in this database',
  chunk_conflict: 'one of its chunk ids belongs to another page in this database',
};

async function merge(
  tx: Tx,
  store: Store,
  m: Manifest,
  files: { pages: string; chunks: string },
  batchSize: number,
  progress: ProgressFn,
): Promise<Merged> {
  const dim = Number(store.embedding.dimension);
  progress({ step: 'loading the export', done: 0, total: m.counts.chunks, unit: 'chunks' });
  await checkExpansion(tx, m, files);
  // A cast that fails (a vector of another length, a column of the wrong type) fails the load with DuckDB's
  // message, prefixed with the file's name.
  await load(
    tx,
    files.pages,
    `CREATE OR REPLACE TEMP TABLE imp_pages AS SELECT id::VARCHAR AS id, url::VARCHAR AS url, domain::VARCHAR AS domain,
       title::VARCHAR AS title, raw_text::VARCHAR AS raw_text, crawl_date::TIMESTAMPTZ AS crawl_date,
       coalesce(tags::VARCHAR[], []) AS tags, job_id::VARCHAR AS job_id, parent_page_id::VARCHAR AS parent_page_id,
       root_page_id::VARCHAR AS root_page_id, coalesce(depth::INTEGER, 0) AS depth, path::VARCHAR AS path,
       content_hash::VARCHAR AS content_hash
     FROM read_parquet($file, hive_partitioning = false)`,
  );
  // First only the chunks' keys and tags (Parquet reads just these columns): enough to check the file and to plan.
  // rn is the row's position in the file, which export writes in storage order: chunks are written here in
  // that order, with no sort.
  await load(
    tx,
    files.chunks,
    `CREATE OR REPLACE TEMP TABLE imp_keys AS SELECT file_row_number AS rn, id::VARCHAR AS id, page_id::VARCHAR AS page_id,
       coalesce(tags::VARCHAR[], []) AS tags
     FROM read_parquet($file, file_row_number = true, hive_partitioning = false)`,
  );

  const urlForms = await samePercentEncodingOnImport(tx);
  // What the files hold must be what the manifest says, and sane.
  // A crawl date must be one a crawl could have: DuckDB stores 'infinity' and years JavaScript cannot hold,
  // and one such page made every page listing fail ("TIMESTAMPTZ value out of range for JS Date"); a date
  // far in the future would also win every later merge of that URL. A day ahead is allowed for clock skew.
  const pc = await one<{ n: number; no_id: number; no_url: number; no_date: number; dup_ids: number; long_ids: number; bad_dates: number; bad_date: string | null }>(
    tx,
    `SELECT count(*)::INTEGER AS n, count(*) FILTER (id IS NULL OR id = '')::INTEGER AS no_id,
            count(*) FILTER (url IS NULL OR url = '')::INTEGER AS no_url, count(*) FILTER (crawl_date IS NULL)::INTEGER AS no_date,
            (count(id) - count(DISTINCT id))::INTEGER AS dup_ids, count(*) FILTER (length(id) > ${MAX_PAGE_ID_CHARS})::INTEGER AS long_ids,
            count(*) FILTER (${BAD_DATE})::INTEGER AS bad_dates,
            min(crawl_date::VARCHAR || ' (page ' || id || ')') FILTER (${BAD_DATE}) AS bad_date FROM imp_pages`,
  );
  const cc = await one<{ n: number; no_id: number; dup_ids: number }>(
    tx,
    `SELECT count(*)::INTEGER AS n, count(*) FILTER (id IS NULL OR id = '')::INTEGER AS no_id,
            (count(id) - count(DISTINCT id))::INTEGER AS dup_ids FROM imp_keys`,
  );
  const bad = (file: string, what: string) => {
    throw new ValidationError(`${file} ${what}; nothing was imported. It was not written by doctor export, or it was edited.`);
  };
  if (pc.n !== m.counts.pages) bad(files.pages, `holds ${pc.n} pages but the manifest says ${m.counts.pages}`);
  if (cc.n !== m.counts.chunks) bad(files.chunks, `holds ${cc.n} chunks but the manifest says ${m.counts.chunks}`);
  if (pc.no_id || pc.no_url || pc.no_date) bad(files.pages, `has ${pc.no_id} pages without an id, ${pc.no_url} without a URL and ${pc.no_date} without a crawl date`);
  if (pc.dup_ids) bad(files.pages, `has ${pc.dup_ids} repeated page ids`);
  // The API takes page ids of at most MAX_PAGE_ID_CHARS: a longer one was listed but could not be shown,
  // deleted by id or re-crawled.
  if (pc.long_ids) bad(files.pages, `has ${pc.long_ids} pages whose id is longer than ${MAX_PAGE_ID_CHARS} characters (no page could be opened by it)`);
  if (pc.bad_dates) {
    bad(files.pages, `has ${pc.bad_dates} pages whose crawl date is not a real one (before 1970 or later than tomorrow; e.g. ${pc.bad_date?.slice(0, 300)})`);
  }
  if (cc.no_id) bad(files.chunks, `has ${cc.no_id} chunks without an id`);
  if (cc.dup_ids) bad(files.chunks, `has ${cc.dup_ids} repeated chunk ids`);

  // The plan, one row per imported page: new, replace (newer than the stored page of that URL), kept
  // (the stored one is as new or newer), or skipped (duplicate URL in the export, id conflicts).
  await tx.run(`CREATE OR REPLACE TEMP TABLE imp_plan AS
    WITH ranked AS (
      SELECT id, url, crawl_date, row_number() OVER (PARTITION BY url ORDER BY crawl_date DESC, id) AS r FROM imp_pages),
    here AS (
      SELECT url, max(crawl_date) AS crawl_date, list(id ORDER BY id) AS ids, list_distinct(flatten(list(tags))) AS tags
      FROM pages WHERE url IN (SELECT url FROM imp_pages) GROUP BY url)
    SELECT i.id, i.url,
      CASE WHEN i.r > 1 THEN 'duplicate' WHEN h.url IS NULL THEN 'new' WHEN i.crawl_date > h.crawl_date THEN 'replace' ELSE 'kept' END AS action,
      coalesce(h.ids, []::VARCHAR[]) AS local_ids, coalesce(h.tags, []::VARCHAR[]) AS local_tags
    FROM ranked i LEFT JOIN here h USING (url)`);
  await tx.run(`UPDATE imp_plan SET action = 'id_conflict'
    WHERE action IN ('new', 'replace') AND EXISTS (SELECT 1 FROM pages p WHERE p.id = imp_plan.id AND p.url <> imp_plan.url)`);
  await tx.run(`UPDATE imp_plan SET action = 'chunk_conflict'
    WHERE action IN ('new', 'replace') AND id IN (
      SELECT c.page_id FROM imp_keys c JOIN document_embeddings e ON e.id = c.id
      WHERE e.page_id IS NULL OR e.page_id NOT IN (SELECT unnest(local_ids) FROM imp_plan WHERE action = 'replace'))`);

  const actions = new Map(
    (await tx.all<{ action: string; n: number }>('SELECT action, count(*)::INTEGER AS n FROM imp_plan GROUP BY action')).map((r) => [r.action, r.n]),
  );
  const skippedRows = await tx.all<{ url: string; action: string }>(
    "SELECT url, action FROM imp_plan WHERE action NOT IN ('new', 'replace', 'kept') ORDER BY url LIMIT 20",
  );

  // Stored pages that a newer crawl replaces go first, with their chunks (keyword and vector index entries
  // follow through the store's delete path).
  const replacedIds = (await tx.all<{ id: string }>("SELECT DISTINCT unnest(local_ids) AS id FROM imp_plan WHERE action = 'replace'")).map((r) => r.id);
  let removed = 0;
  if (replacedIds.length) {
    removed = await store.chunks.deleteByPageIds(tx, replacedIds);
    await tx.run('DELETE FROM pages WHERE id IN (SELECT unnest($ids))', { ids: varcharList(replacedIds) }, { ids: VARCHAR_LIST });
  }
  // A root or parent link to a page on another domain, or to none, is dropped before the pages are written.
  const detached = await detachForeignLinks(tx);
  // Tags of a replaced page are kept (added after the imported page's own), as a re-crawl keeps them.
  const mergedTags = (own: string) =>
    `CASE WHEN p.action = 'replace' THEN list_concat(${own}, list_filter(p.local_tags, x -> NOT list_contains(${own}, x))) ELSE ${own} END`;
  await tx.run(`INSERT INTO pages (id, url, domain, title, raw_text, crawl_date, tags, job_id, parent_page_id, root_page_id, depth, path, content_hash)
    SELECT i.id, i.url, i.domain, i.title, i.raw_text, i.crawl_date, ${mergedTags('i.tags')}, i.job_id, i.parent_page_id,
      i.root_page_id, i.depth, i.path, i.content_hash
    FROM imp_pages i JOIN imp_plan p USING (id) WHERE p.action IN ('new', 'replace')`);

  // Chunks to write: those of added/replacing pages, and page-less chunks whose id is new here. A chunk whose
  // page is not in the export but is a page stored here is not written: it would join that page (its text
  // shown in that page's search results, under that page's URL) though it came from elsewhere.
  await tx.run(`CREATE OR REPLACE TEMP TABLE imp_accept AS
    SELECT c.rn, ${mergedTags('c.tags')} AS tags
    FROM imp_keys c LEFT JOIN imp_plan p ON p.id = c.page_id
    WHERE p.action IN ('new', 'replace')
       OR (p.id IS NULL AND NOT EXISTS (SELECT 1 FROM document_embeddings e WHERE e.id = c.id)
           AND NOT EXISTS (SELECT 1 FROM pages h WHERE h.id = c.page_id))
    ORDER BY c.rn`);
  const toWrite = (await one<{ n: number }>(tx, 'SELECT count(*)::INTEGER AS n FROM imp_accept')).n;
  if (toWrite > 0) {
    // Now the whole rows, of the chunks to write only (a repeated import reads no vector at all).
    await load(
      tx,
      files.chunks,
      `CREATE OR REPLACE TEMP TABLE imp_chunks AS SELECT file_row_number AS rn, id::VARCHAR AS id,
         embedding::FLOAT[${dim}] AS embedding, coalesce(text_chunk::VARCHAR, '') AS text_chunk, page_id::VARCHAR AS page_id,
         url::VARCHAR AS url, domain::VARCHAR AS domain, job_id::VARCHAR AS job_id, chunk_index::INTEGER AS chunk_index,
         title::VARCHAR AS title, heading_path::VARCHAR AS heading_path, extra::VARCHAR AS extra
       FROM read_parquet($file, file_row_number = true, hive_partitioning = false) WHERE file_row_number IN (SELECT rn FROM imp_accept)`,
    );
    const noVec = (await one<{ n: number }>(tx, 'SELECT count(*)::INTEGER AS n FROM imp_chunks WHERE embedding IS NULL')).n;
    if (noVec) bad(files.chunks, `has ${noVec} chunks without a vector`);
    // A NULL inside a vector: readVectors copies the array data as it is, where a NULL reads as 0.
    const holes = await tx.all<{ id: string }>(`SELECT id FROM imp_chunks WHERE list_count(embedding::FLOAT[]) < ${dim} ORDER BY rn LIMIT 1`);
    if (holes.length) bad(files.chunks, `has chunks whose vector holds a NULL instead of a number (chunk ${holes[0]!.id}, and maybe more)`);
  }

  let written = 0;
  let after = -1n; // rn (file_row_number) starts at 0
  progress({ step: 'writing chunks', done: 0, total: toWrite, unit: 'chunks' });
  for (;;) {
    const batch = await tx.all<{ rn: bigint; tags: string[] }>('SELECT rn, tags FROM imp_accept WHERE rn > ? ORDER BY rn LIMIT ?', [after, batchSize]);
    if (batch.length === 0) break;
    const rns = listValue(batch.map((b) => BigInt(b.rn)));
    const lo = BigInt(batch[0]!.rn);
    const hi = BigInt(batch[batch.length - 1]!.rn);
    // rn BETWEEN lets the scan skip the table's other rows; rn IN picks this batch's rows among them.
    const where = 'rn BETWEEN $lo AND $hi AND rn IN (SELECT unnest($rns))';
    const params = { lo, hi, rns };
    const types = { rns: LIST(BIGINT) };
    const rows = await tx.all<{
      id: string; text_chunk: string; page_id: string | null; url: string | null; domain: string | null; job_id: string | null;
      chunk_index: number | null; title: string | null; heading_path: string | null; extra: string | null;
    }>(`SELECT id, text_chunk, page_id, url, domain, job_id, chunk_index, title, heading_path, extra FROM imp_chunks WHERE ${where} ORDER BY rn`, params, types);
    const vectors = await readVectors(tx, `SELECT embedding FROM imp_chunks WHERE ${where} ORDER BY rn`, params, types, dim);
    // an export written before 2026-12-05 may carry heading paths that an old rule read wrongly (heading-paths.ts)
    const mayNeedRepair = new Set(rows.flatMap((r) => (r.page_id && r.heading_path && pathMayNeedRepair(r.heading_path) ? [r.page_id] : [])));
    const repairs = mayNeedRepair.size ? await pageHeadingRepairs(tx, 'temp.imp_pages', [...mayNeedRepair]) : undefined;
    const payloads: ChunkPayload[] = rows.map((r, i) => ({
      text: r.text_chunk,
      page_id: r.page_id,
      url: r.url === null ? null : (urlForms.get(r.url) ?? r.url),
      domain: r.domain,
      tags: batch[i]!.tags ?? [],
      job_id: r.job_id,
      chunk_index: r.chunk_index,
      title: r.title,
      heading_path: r.heading_path && r.page_id && repairs?.has(r.page_id) ? repairedPath(r.heading_path, repairs.get(r.page_id)!) : r.heading_path,
      extra: parseExtra(r.extra, r.id),
    }));
    await store.chunks.writeBatch(tx, vectors, payloads, rows.map((r) => r.id));
    written += rows.length;
    after = hi;
    progress({ step: 'writing chunks', done: written, total: toWrite, unit: 'chunks' });
  }
  for (const t of ['imp_accept', 'imp_plan', 'imp_chunks', 'imp_keys', 'imp_pages']) await tx.run(`DROP TABLE IF EXISTS temp.${t}`);

  const n = (a: string) => actions.get(a) ?? 0;
  const skipped = n('duplicate') + n('id_conflict') + n('chunk_conflict');
  return {
    pages: { added: n('new'), replaced: n('replace'), kept: n('kept'), skipped },
    chunks: { added: written, removed, unchanged: m.counts.chunks - written },
    skipped: skippedRows.map((r) => ({ url: r.url, reason: REASONS[r.action] ?? r.action })),
    detached,
  };
}

/**
 * The `extra` JSON column back to an object (it was written from one). JSON.parse takes any nesting, but
 * writing it back (JSON.stringify) recurses: 200,000 nested brackets failed the import with a bare
 * "Maximum call stack size exceeded" (500 over REST), so the value is written here once, inside the check.
 */
function parseExtra(text: string | null, id: string): Record<string, unknown> | null {
  if (text === null || text === '') return null;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new ValidationError(`chunk ${id} has an extra field that is not JSON; nothing was imported.`);
  }
  const extra = v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : { value: v };
  try {
    JSON.stringify(extra);
  } catch {
    throw new ValidationError(`chunk ${id} has an extra field nested too deeply to store; nothing was imported.`);
  }
  return extra;
}

/**
 * Reads a FLOAT[dim] column into Float32Arrays by copying each data chunk's array data out whole: reading
 * it value by value (getRowObjectsJS) was ~10x slower. NULL vectors were refused earlier.
 */
async function readVectors(tx: Tx, sql: string, params: Record<string, unknown>, types: Record<string, unknown>, dim: number): Promise<Float32Array[]> {
  const result = await tx.connection.stream(sql, params as never, types as never);
  const out: Float32Array[] = [];
  for (;;) {
    const chunk = await result.fetchChunk();
    if (!chunk || chunk.rowCount === 0) break;
    const child = bindings.array_vector_get_child(bindings.data_chunk_get_vector(chunk.chunk, 0));
    const bytes = bindings.vector_get_data(child, chunk.rowCount * dim * 4).slice(); // a copy we own, 4-byte aligned
    const all = new Float32Array(bytes.buffer, bytes.byteOffset, chunk.rowCount * dim);
    for (let i = 0; i < chunk.rowCount; i++) out.push(all.subarray(i * dim, (i + 1) * dim));
  }
  return out;
}

/**
 * The imported pages' URLs with percent-escapes written as crawls write them (an export of an earlier Doctor
 * may hold `%7e` for `~`, or `%2f`), before the plan merges pages by URL: otherwise a later crawl of the site
 * stores such pages again beside the imported ones. Returns the rewritten URLs (old -> new) for the chunks.
 */
async function samePercentEncodingOnImport(tx: Tx): Promise<Map<string, string>> {
  const forms = new Map<string, string>();
  for (const { url } of await tx.all<{ url: string }>("SELECT DISTINCT url FROM imp_pages WHERE contains(url, '%')")) {
    const to = withSamePercentEncoding(url);
    if (to !== null && to !== url) forms.set(url, to);
  }
  if (forms.size) {
    await tx.run(
      'UPDATE imp_pages SET url = f.new_url FROM (SELECT unnest($froms) AS old_url, unnest($tos) AS new_url) f WHERE imp_pages.url = f.old_url',
      { froms: varcharList([...forms.keys()]), tos: varcharList([...forms.values()]) },
      { froms: VARCHAR_LIST, tos: VARCHAR_LIST },
    );
  }
  return forms;
}
