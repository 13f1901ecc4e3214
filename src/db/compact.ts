/**
 * Compacting the database file: a copy of everything it holds into a fresh file, which then replaces it.
 *
 * DuckDB reuses the space of deleted rows only when a whole row group goes, or when a checkpoint's vacuum
 * merges row groups to save one. A re-crawl of pages that change every time (a build date in each footer)
 * deletes their rows and appends new ones into row groups that keep live rows, so the file grows with every
 * crawl (a 60-page site: 10 -> 59 MB over 8 re-crawls). A fresh copy holds only live rows.
 *
 * `COPY FROM DATABASE` copies the schema (tables, indexes, sequences with their current values) and the rows
 * as they are, so every id and seq stays: the files derived from the database (the usearch index, the keyword
 * snapshot) still match it. The copy goes to `<db>.compacting`; the original is replaced only once the copy
 * is complete, checked table by table and on disk (renamed over it, atomically). Until then nothing in the
 * original changes, and a copy left by an interrupted run is removed by the next one.
 */
import { chmodSync, chownSync, closeSync, existsSync, fsyncSync, openSync, realpathSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { DATABASE_CATALOG, Database, DiskFullError, type OpenOptions } from './database.js';

export interface CompactResult {
  path: string;
  bytesBefore: number;
  bytesAfter: number;
  /** Tables copied, and their rows in all. */
  tables: number;
  rows: number;
  seconds: number;
}

const COPY_CATALOG = 'doctor_compacted';

export const compactingPathOf = (dbPath: string): string => `${dbPath}.compacting`;

const quoteLiteral = (s: string) => `'${s.replaceAll("'", "''")}'`;
const quoteIdent = (s: string) => `"${s.replaceAll('"', '""')}"`;

function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Removes the copy and the files DuckDB keeps beside it. */
function removeCopy(copy: string): void {
  for (const p of [copy, `${copy}.wal`, `${copy}.tmp`]) rmSync(p, { force: true, recursive: true });
}

interface CatalogFacts {
  tables: { schema: string; name: string }[];
  sequences: Map<string, bigint | null>;
  indexes: number;
}

async function catalogFacts(db: Database, catalog: string): Promise<CatalogFacts> {
  const tables = await db.all<{ schema: string; name: string }>(
    'SELECT schema_name AS schema, table_name AS name FROM duckdb_tables() WHERE database_name = ? ORDER BY schema_name, table_name',
    [catalog],
  );
  const seqs = await db.all<{ name: string; last: bigint | null }>(
    "SELECT schema_name || '.' || sequence_name AS name, last_value AS last FROM duckdb_sequences() WHERE database_name = ?",
    [catalog],
  );
  const idx = await db.all<{ n: number }>('SELECT count(*)::INTEGER AS n FROM duckdb_indexes() WHERE database_name = ?', [catalog]);
  return { tables, sequences: new Map(seqs.map((s) => [s.name, s.last])), indexes: idx[0]?.n ?? 0 };
}

async function rowCount(db: Database, catalog: string, t: { schema: string; name: string }): Promise<number> {
  const rows = await db.all<{ n: bigint }>(`SELECT count(*) AS n FROM ${quoteIdent(catalog)}.${quoteIdent(t.schema)}.${quoteIdent(t.name)}`);
  return Number(rows[0]!.n);
}

/**
 * The copy holds what the original holds: the same tables with as many rows each, the same sequences at
 * the same values, as many indexes.
 * @throws Error naming the first difference
 */
async function checkCopy(db: Database): Promise<{ tables: number; rows: number }> {
  const [from, to] = [await catalogFacts(db, DATABASE_CATALOG), await catalogFacts(db, COPY_CATALOG)];
  const names = (f: CatalogFacts) => f.tables.map((t) => `${t.schema}.${t.name}`).join(', ');
  if (names(from) !== names(to)) throw new Error(`the copy holds the tables ${names(to)}, the database ${names(from)}`);
  let rows = 0;
  for (const t of from.tables) {
    const [a, b] = [await rowCount(db, DATABASE_CATALOG, t), await rowCount(db, COPY_CATALOG, t)];
    if (a !== b) throw new Error(`the copy of table ${t.name} holds ${b} rows, the database ${a}`);
    rows += a;
  }
  for (const [name, last] of from.sequences) {
    if (to.sequences.get(name) !== last) throw new Error(`the copy's sequence ${name} stands at ${to.sequences.get(name)}, the database's at ${last}`);
  }
  if (from.indexes !== to.indexes) throw new Error(`the copy holds ${to.indexes} indexes, the database ${from.indexes}`);
  return { tables: from.tables.length, rows };
}

/**
 * Compacts the database file at `path` (nothing else may have it open: DuckDB's lock refuses it otherwise).
 * `onOpened` runs once the file is open (locked by this process). `signal` stops the copy (the database is left
 * as it was, the partial copy removed).
 * @throws DiskFullError when the copy does not fit (the database is left as it was), or the open's errors
 */
export async function compactDatabase(
  path: string,
  opts: Pick<OpenOptions, 'threads'> & { onOpened?: () => void; signal?: AbortSignal } = {},
): Promise<CompactResult> {
  const t0 = performance.now();
  // A database reached through a symlink (kept on another disk) is replaced where it lives: the link stays.
  const real = existsSync(path) ? realpathSync(path) : path;
  const copy = compactingPathOf(real);
  const db = await Database.open(real, { threads: opts.threads, readers: 1 });
  let replaced = false;
  try {
    opts.onOpened?.();
    const meta = await db.all<{ n: number }>(
      "SELECT count(*)::INTEGER AS n FROM duckdb_tables() WHERE database_name = ? AND schema_name = 'main' AND table_name = 'meta'",
      [DATABASE_CATALOG],
    );
    if (!meta[0]?.n) throw new Error(`${path} is not a Doctor database (it has no meta table): Doctor left it as it is.`);
    // The WAL into the file first: the copy reads the file's state, and nothing is left to replay into it later.
    await db.run('CHECKPOINT');
    const original = statSync(real);
    const bytesBefore = original.size;
    removeCopy(copy); // an interrupted earlier run's
    const interrupt = () => db.interruptWrite();
    opts.signal?.addEventListener('abort', interrupt);
    try {
      opts.signal?.throwIfAborted();
      await db.run(`ATTACH ${quoteLiteral(copy)} AS ${COPY_CATALOG} (ROW_GROUP_SIZE ${db.rowGroupSize ?? 2048})`);
      await db.run(`COPY FROM DATABASE ${DATABASE_CATALOG} TO ${COPY_CATALOG}`);
      await db.run(`CHECKPOINT ${COPY_CATALOG}`);
      const counted = await checkCopy(db);
      await db.run(`DETACH ${COPY_CATALOG}`);
      if (existsSync(`${copy}.wal`)) throw new Error(`DuckDB left a write-ahead log beside the copy (${copy}.wal)`);
      opts.signal?.throwIfAborted();
      // the copy gets the original's permissions (and owner, where this process may set it)
      chmodSync(copy, original.mode & 0o7777);
      try {
        chownSync(copy, original.uid, original.gid);
      } catch {
        /* not permitted: the copy belongs to the user running the command */
      }
      fsyncPath(copy);
      // Renamed while the original is still open (and locked): no other process can have opened and written it
      // between the check and the rename.
      renameSync(copy, real);
      replaced = true;
      fsyncPath(dirname(real));
      return { path, bytesBefore, bytesAfter: statSync(real).size, ...counted, seconds: (performance.now() - t0) / 1000 };
    } catch (e) {
      if (replaced) throw e;
      await db.run(`DETACH DATABASE IF EXISTS ${COPY_CATALOG}`).catch(() => undefined);
      removeCopy(copy);
      if (opts.signal?.aborted) throw new Error(`Interrupted: ${path} is unchanged (the partial copy was removed).`);
      const msg = (e as Error).message ?? String(e);
      if (/No space left on device|ENOSPC|Disk quota exceeded|EDQUOT/i.test(msg)) {
        throw new DiskFullError(
          `The disk holding ${dirname(real)} is full: compacting writes a copy of the live data beside the database ` +
            `(up to its ${(bytesBefore / 2 ** 20).toFixed(0)} MiB) before replacing it. Free space there and run doctor compact again. ` +
            'The database is unchanged.',
        );
      }
      throw new Error(`Compacting ${path} failed (${msg.split('\n')[0]}). The database is unchanged.`, { cause: e });
    } finally {
      opts.signal?.removeEventListener('abort', interrupt);
    }
  } finally {
    await db.close();
  }
}
