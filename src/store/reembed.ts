/**
 * Storage of a re-embedding (switching a database to another embedding model):
 *
 * - The new vectors go to a staging table `reembed_vectors(seq, embedding FLOAT[new dim])`, keyed by the
 *   chunk's `seq` (a chunk rewritten since gets a new seq, so its old staged vector is never used), in
 *   committed batches; the target model is recorded in `meta` (`reembed_*`). Searches and crawls keep
 *   using `document_embeddings` meanwhile. A kill at any point leaves the old set active and the staged
 *   batches kept: running again resumes.
 * - The swap is one transaction: check that every chunk has a staged vector, create the new table from the
 *   old one's own DDL (so every column and constraint is kept) with the new vector type, copy every row
 *   with its staged vector, drop the old table, rename, re-create the old table's indexes, record the new
 *   embedding identity, drop the staging table. Either all of it is committed or none of it.
 * - The usearch file beside the database is derived from the table and cannot tell old vectors from new
 *   ones when the seqs and the dimension stay the same, so the swap also sets `meta.vector_index_stale`;
 *   whoever opens the database next (or the process that swapped, right after) removes the index file
 *   before the engine starts, then clears the flag. The index is then rebuilt from the new vectors.
 */
import { rmSync } from 'node:fs';
import { ARRAY, BIGINT, DuckDBDataChunk, FLOAT, LIST, bindings, listValue } from '../db/duckdb.js';
import type { Database, Tx } from '../db/database.js';
import { deleteMeta, getMeta, setMeta } from '../db/meta.js';
import { indexPathOf, sidecarPathOf } from '../vector/sidecar.js';
import { appendAll } from './appender.js';
import { sameEmbedding, type EmbeddingIdentity } from './embedding-identity.js';

export const STAGING_TABLE = 'reembed_vectors';
const TABLE = 'document_embeddings';
const NEXT_TABLE = 'document_embeddings_next';
const STALE_FLAG = 'vector_index_stale';

export interface PendingReembed {
  target: EmbeddingIdentity;
  startedAt: string;
}


/** The re-embedding started and not yet switched, if any. */
export async function pendingReembed(db: Database | Tx): Promise<PendingReembed | undefined> {
  const dimension = await getMeta(db, 'reembed_dimension');
  if (dimension === undefined) return undefined;
  return {
    target: {
      provider: (await getMeta(db, 'reembed_provider')) ?? 'unknown',
      model: (await getMeta(db, 'reembed_model')) ?? 'unknown',
      dimension: Number(dimension),
    },
    startedAt: (await getMeta(db, 'reembed_started_at')) ?? '',
  };
}

/**
 * Starts (or resumes) a re-embedding to `target`. A pending one to another target is discarded (its staged
 * vectors are of no use); it is returned as `discarded`.
 */
export async function beginReembed(db: Database, target: EmbeddingIdentity): Promise<{ resumed: boolean; discarded?: EmbeddingIdentity }> {
  const pending = await pendingReembed(db);
  if (pending && sameEmbedding(pending.target, target) && pending.target.provider === target.provider && (await stagingExists(db))) return { resumed: true };
  await db.transaction(async (tx) => {
    await tx.run(`DROP TABLE IF EXISTS ${STAGING_TABLE}`);
    await tx.run(`CREATE TABLE ${STAGING_TABLE} (seq BIGINT PRIMARY KEY, embedding FLOAT[${checkedDimension(target.dimension)}] NOT NULL)`);
    await setMeta(tx, 'reembed_provider', target.provider);
    await setMeta(tx, 'reembed_model', target.model);
    await setMeta(tx, 'reembed_dimension', String(target.dimension));
    await setMeta(tx, 'reembed_started_at', new Date().toISOString());
  });
  return { resumed: false, discarded: pending?.target };
}

/** Drops a pending re-embedding (its staged vectors and its meta keys); the active vectors are untouched. */
export async function abandonReembed(db: Database): Promise<PendingReembed | undefined> {
  const pending = await pendingReembed(db);
  await db.transaction(async (tx) => {
    await tx.run(`DROP TABLE IF EXISTS ${STAGING_TABLE}`);
    for (const k of ['reembed_provider', 'reembed_model', 'reembed_dimension', 'reembed_started_at']) await deleteMeta(tx, k);
  });
  return pending;
}

async function stagingExists(db: Database | Tx): Promise<boolean> {
  const rows = await db.all<{ n: number }>(
    "SELECT count(*)::INTEGER AS n FROM duckdb_tables() WHERE table_name = ? AND schema_name = 'main'",
    [STAGING_TABLE],
  );
  return (rows[0]?.n ?? 0) > 0;
}

/** Chunks in the database, and how many of them have a staged vector. */
export async function reembedCounts(db: Database): Promise<{ total: number; done: number }> {
  const [t] = await db.all<{ n: number }>(`SELECT count(*)::INTEGER AS n FROM ${TABLE}`);
  if (!(await stagingExists(db))) return { total: t?.n ?? 0, done: 0 };
  const [d] = await db.all<{ n: number }>(`SELECT count(*)::INTEGER AS n FROM ${TABLE} d SEMI JOIN ${STAGING_TABLE} s ON s.seq = d.seq`);
  return { total: t?.n ?? 0, done: d?.n ?? 0 };
}

export interface ChunkToEmbed {
  seq: bigint;
  text: string;
  title: string | null;
  heading_path: string | null;
}

/** Up to `limit` chunks after `afterSeq` (by seq) without a staged vector. */
export async function unstagedChunks(db: Database, afterSeq: bigint, limit: number): Promise<ChunkToEmbed[]> {
  const rows = await db.all<ChunkToEmbed>(
    `SELECT d.seq, coalesce(d.text_chunk, '') AS text, d.title, d.heading_path
     FROM ${TABLE} d ANTI JOIN ${STAGING_TABLE} s ON s.seq = d.seq
     WHERE d.seq > ? ORDER BY d.seq LIMIT ?`,
    [afterSeq, limit],
  );
  return rows.map((r) => ({ ...r, seq: BigInt(r.seq) }));
}

/** Stores new vectors for these seqs in one transaction (replacing any staged before). */
export async function stageVectors(db: Database, dimension: number, rows: readonly { seq: bigint; vector: Float32Array }[]): Promise<void> {
  if (rows.length === 0) return;
  for (const r of rows) {
    if (r.vector.length !== dimension) throw new Error(`a staged vector has ${r.vector.length} dimensions, expected ${dimension}`);
  }
  await db.transaction(async (tx) => {
    await tx.run(`DELETE FROM ${STAGING_TABLE} WHERE seq IN (SELECT unnest($seqs))`, { seqs: listValue(rows.map((r) => r.seq)) }, { seqs: LIST(BIGINT) });
    const appender = await tx.connection.createAppender(STAGING_TABLE);
    const rowBytes = dimension * 4;
    await appendAll(appender, async () => {
      for (let start = 0; start < rows.length; start += 2048) {
        const part = rows.slice(start, start + 2048);
        const chunk = DuckDBDataChunk.create([BIGINT, ARRAY(FLOAT, dimension)], part.length);
        chunk.setColumnValues(0, part.map((r) => r.seq));
        const child = bindings.array_vector_get_child(bindings.data_chunk_get_vector(chunk.chunk, 1));
        part.forEach((r, i) => bindings.copy_data_to_vector(child, i * rowBytes, r.vector.buffer as ArrayBuffer, r.vector.byteOffset, rowBytes));
        appender.appendDataChunk(chunk);
      }
    });
  });
}

export type SwapOutcome = { swapped: true; rows: number } | { swapped: false; missing: number } | { swapped: false; busy: string };

export interface SwapHooks {
  /** Checked first inside the transaction: a reason not to swap now (e.g. crawls running), or undefined. */
  busy?(): string | undefined;
  /**
   * Runs last inside the transaction, before COMMIT, while no other write can happen: switch what this
   * process holds in memory (embedder, vector engine). If the transaction then fails, `rollback` undoes it.
   */
  beforeCommit?(): Promise<void>;
  rollback?(): Promise<void>;
}

/**
 * Makes the staged vectors the active ones, in one transaction (see the file comment). Returns without
 * changing anything when a chunk has no staged vector yet (`missing`: crawls added chunks; stage them and
 * call again) or when `hooks.busy` says so.
 */
export async function swapInStaged(db: Database, hooks: SwapHooks = {}): Promise<SwapOutcome> {
  let switched = false;
  try {
    return await db.transaction(async (tx): Promise<SwapOutcome> => {
      const busy = hooks.busy?.();
      if (busy) return { swapped: false, busy };
      const pending = await pendingReembed(tx);
      if (!pending || !(await stagingExists(tx))) throw new Error('no re-embedding is pending: nothing to switch to.');
      const [m] = await tx.all<{ n: number }>(`SELECT count(*)::INTEGER AS n FROM ${TABLE} d ANTI JOIN ${STAGING_TABLE} s ON s.seq = d.seq`);
      if ((m?.n ?? 0) > 0) return { swapped: false, missing: m!.n };

      const [t] = await tx.all<{ sql: string }>("SELECT sql FROM duckdb_tables() WHERE table_name = ? AND schema_name = 'main'", [TABLE]);
      const indexes = await tx.all<{ index_name: string; sql: string | null }>(
        "SELECT index_name, sql FROM duckdb_indexes() WHERE table_name = ? AND schema_name = 'main'",
        [TABLE],
      );
      await tx.run(`DROP TABLE IF EXISTS ${NEXT_TABLE}`);
      await tx.run(nextTableDdl(t!.sql, pending.target.dimension));
      await tx.run(`INSERT INTO ${NEXT_TABLE} SELECT d.* REPLACE (s.embedding AS embedding) FROM ${TABLE} d JOIN ${STAGING_TABLE} s ON s.seq = d.seq`);
      const [c] = await tx.all<{ n: number }>(`SELECT count(*)::INTEGER AS n FROM ${NEXT_TABLE}`);
      for (const ix of indexes) await tx.run(`DROP INDEX IF EXISTS ${quoteIdent(ix.index_name)}`);
      await tx.run(`DROP TABLE ${TABLE}`);
      await tx.run(`ALTER TABLE ${NEXT_TABLE} RENAME TO ${TABLE}`);
      // Indexes of the old table (none by default; a vss HNSW index is re-created by its engine instead).
      for (const ix of indexes) {
        if (ix.sql && !/USING\s+HNSW/i.test(ix.sql)) await tx.run(ix.sql);
      }
      await tx.run(`DROP TABLE ${STAGING_TABLE}`);
      await setMeta(tx, 'embedding_provider', pending.target.provider);
      await setMeta(tx, 'embedding_model', pending.target.model);
      await setMeta(tx, 'embedding_dimension', String(pending.target.dimension));
      await setMeta(tx, 'embedding_switched_at', new Date().toISOString());
      for (const k of ['reembed_provider', 'reembed_model', 'reembed_dimension', 'reembed_started_at']) await deleteMeta(tx, k);
      await setMeta(tx, STALE_FLAG, new Date().toISOString());
      switched = true;
      await hooks.beforeCommit?.();
      return { swapped: true, rows: c?.n ?? 0 };
    });
  } catch (e) {
    if (switched) await hooks.rollback?.();
    throw e;
  }
}

/** The CREATE TABLE of the new table: the old table's own statement, renamed, with the new vector type. */
function nextTableDdl(sql: string, dimension: number): string {
  const head = new RegExp(`^CREATE TABLE ${TABLE}\\s*\\(`);
  const column = /\bembedding FLOAT\[\d+\]/g;
  const found = sql.match(column)?.length ?? 0;
  if (!head.test(sql) || found !== 1) {
    throw new Error(`cannot derive the new table from the definition of ${TABLE} (${sql.slice(0, 120)}...): nothing was changed.`);
  }
  return sql.replace(head, `CREATE TABLE ${NEXT_TABLE}(`).replace(column, `embedding FLOAT[${checkedDimension(dimension)}]`);
}

function checkedDimension(d: number): number {
  if (!Number.isInteger(d) || d < 1 || d > 65536) throw new Error(`invalid embedding dimension ${d}`);
  return d;
}

const quoteIdent = (s: string) => `"${s.replace(/"/g, '""')}"`;

/**
 * After a swap (in this process, or one that was killed before it could), the usearch index file still
 * holds the old vectors: removes it, then clears the flag. Runs before the vector engine starts.
 */
export async function dropStaleVectorIndex(db: Database): Promise<boolean> {
  if ((await getMeta(db, STALE_FLAG)) === undefined) return false;
  if (!db.isMemory) {
    for (const p of [indexPathOf(db.path), sidecarPathOf(db.path)]) rmSync(p, { force: true });
  }
  await deleteMeta(db, STALE_FLAG);
  return true;
}
