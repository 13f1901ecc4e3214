/**
 * Reading `document_embeddings` for index builds, fast: vectors are copied straight out of DuckDB's result
 * chunks into Float32Arrays (one memcpy per chunk) instead of being converted value by value, which costs
 * about 0.5 ms per 1536-d row (a 100k build would spend ~50 s in conversion alone).
 *
 * The reads run on the write connection (the only one whose raw result chunks are reachable), each in a
 * short transaction: a consistent snapshot, and writers wait for a few tens of milliseconds at most.
 */
import { bindings } from '../db/duckdb.js';
import { BIGINT, type DuckDBDataChunk, type DuckDBListValue } from '../db/duckdb.js';
import type { Database } from '../db/database.js';

/** Rows per vector batch: ~50 MB of 1536-d float32, a few seconds of usearch adds on two cores. */
export const BATCH_ROWS = 8192;

/** Calls `onRow` for every stored row (seq, id, tags, page id) from one snapshot; returns the row count. */
export async function readRowInfo(
  db: Database,
  onRow: (seq: number, id: string, tags: readonly string[], pageId: string | null) => void,
): Promise<number> {
  return db.transaction(async (tx) => {
    const result = await tx.connection.stream('SELECT seq, id, tags, page_id FROM document_embeddings');
    let n = 0;
    for (;;) {
      const chunk = await result.fetchChunk();
      if (!chunk || chunk.rowCount === 0) break;
      const seqs = chunk.getColumnVector(0).toArray() as bigint[];
      const ids = chunk.getColumnVector(1).toArray() as string[];
      const tags = chunk.getColumnVector(2).toArray() as (DuckDBListValue | null)[];
      const pages = chunk.getColumnVector(3).toArray() as (string | null)[];
      for (let i = 0; i < chunk.rowCount; i++) {
        onRow(Number(seqs[i]), ids[i]!, (tags[i]?.items ?? []) as string[], pages[i] ?? null);
      }
      n += chunk.rowCount;
    }
    return n;
  });
}

export interface VectorBatch {
  keys: BigUint64Array;
  /** Row-major, keys.length x dimension. */
  vectors: Float32Array;
}

/**
 * Rows with lo < seq <= hi (seq is zone-mapped, so a range reads only the row groups holding it). `expectedRows`
 * (the rows the caller knows of in that range) sizes the arrays up front, so that each result chunk is copied
 * into place as it arrives: assembling a whole batch (~50 MB) after the read held the event loop for ~0.4 s.
 */
export async function readVectorBatch(db: Database, dimension: number, lo: number, hi: number, expectedRows = 0): Promise<VectorBatch> {
  let keys = new BigUint64Array(expectedRows);
  let vectors = new Float32Array(expectedRows * dimension);
  let at = 0;
  await db.transaction(async (tx) => {
    const result = await tx.connection.stream(
      'SELECT seq, embedding FROM document_embeddings WHERE seq > $lo AND seq <= $hi',
      { lo: BigInt(lo), hi: BigInt(hi) },
      { lo: BIGINT, hi: BIGINT },
    );
    for (;;) {
      const chunk: DuckDBDataChunk | null = await result.fetchChunk();
      if (!chunk || chunk.rowCount === 0) break;
      const n = chunk.rowCount;
      if (at + n > keys.length) {
        // more rows than expected: grow (by half at least)
        const rows = Math.max(at + n, Math.ceil(keys.length * 1.5));
        const k = new BigUint64Array(rows);
        k.set(keys.subarray(0, at));
        const v = new Float32Array(rows * dimension);
        v.set(vectors.subarray(0, at * dimension));
        keys = k;
        vectors = v;
      }
      // Column 0 is BIGINT (8 bytes a row), column 1 FLOAT[dimension] whose child holds n*dimension floats;
      // vector_get_data returns a copy of the chunk's memory, put in place here.
      new Uint8Array(keys.buffer).set(bindings.vector_get_data(bindings.data_chunk_get_vector(chunk.chunk, 0), n * 8), at * 8);
      const child = bindings.array_vector_get_child(bindings.data_chunk_get_vector(chunk.chunk, 1));
      new Uint8Array(vectors.buffer).set(bindings.vector_get_data(child, n * dimension * 4), at * dimension * 4);
      at += n;
    }
  });
  return at === keys.length ? { keys, vectors } : { keys: keys.slice(0, at), vectors: vectors.slice(0, at * dimension) };
}
