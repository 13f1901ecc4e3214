/**
 * Bulk writes into document_embeddings through DuckDB's appender with data chunks. Each vector's
 * Float32Array is copied straight into the chunk's ARRAY child vector (one memcpy per row) instead of
 * being converted value by value: ~2-3x faster than `setColumnValues`, and 25x faster than one INSERT
 * per row (see shared/notes/vector-storage-measurements.md).
 */
import { appendInChunks } from './appender.js';
import { timestamptz } from './sql-values.js';
import {
  ARRAY,
  BIGINT,
  FLOAT,
  INTEGER,
  LIST,
  TIMESTAMPTZ,
  VARCHAR,
  bindings,
  listValue,
  type DuckDBConnection,
  type DuckDBType,
} from '../db/duckdb.js';

/** One row of document_embeddings, in column order. */
export interface EmbeddingRow {
  id: string;
  seq: bigint;
  embedding: Float32Array;
  text_chunk: string | null;
  page_id: string | null;
  url: string | null;
  domain: string | null;
  tags: readonly string[];
  job_id: string | null;
  chunk_index: number | null;
  title: string | null;
  heading_path: string | null;
  extra: string | null;
  created_at: Date;
}

function columnTypes(dimension: number): DuckDBType[] {
  return [
    VARCHAR, BIGINT, ARRAY(FLOAT, dimension), VARCHAR, VARCHAR, VARCHAR, VARCHAR,
    LIST(VARCHAR), VARCHAR, INTEGER, VARCHAR, VARCHAR, VARCHAR, TIMESTAMPTZ,
  ];
}

/** Appends rows on `connection` (inside the caller's transaction when one is open). */
export async function appendEmbeddingRows(
  connection: DuckDBConnection,
  dimension: number,
  rows: readonly EmbeddingRow[],
): Promise<void> {
  const rowBytes = dimension * 4;
  await appendInChunks(connection, 'document_embeddings', columnTypes(dimension), rows, (chunk, part, col) => {
    col(0, (r) => r.id);
    col(1, (r) => r.seq);
    col(3, (r) => r.text_chunk);
    col(4, (r) => r.page_id);
    col(5, (r) => r.url);
    col(6, (r) => r.domain);
    col(7, (r) => listValue([...r.tags]));
    col(8, (r) => r.job_id);
    col(9, (r) => r.chunk_index);
    col(10, (r) => r.title);
    col(11, (r) => r.heading_path);
    col(12, (r) => r.extra);
    col(13, (r) => timestamptz(r.created_at));
    const child = bindings.array_vector_get_child(bindings.data_chunk_get_vector(chunk.chunk, 2));
    part.forEach((r, i) => {
      const v = r.embedding;
      bindings.copy_data_to_vector(child, i * rowBytes, v.buffer as ArrayBuffer, v.byteOffset, rowBytes);
    });
  });
}
