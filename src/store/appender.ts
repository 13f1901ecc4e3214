/** Running DuckDB appender work with one error path. */
import { DuckDBDataChunk, type DuckDBConnection, type DuckDBType, type DuckDBValue } from '../db/duckdb.js';

/**
 * Runs the appends, then flushes; on any error discards what the appender still buffers, closes it and
 * rethrows the first error. Without the discard, closing flushes again, fails the same way and leaves the
 * appender open: its finalizer then flushes those rows into whatever transaction the connection runs when
 * it is garbage-collected, aborting an unrelated write ("Current transaction is aborted").
 */
export async function appendAll(appender: { flushSync(): void; clear(): void; closeSync(): void }, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
    appender.flushSync();
  } catch (e) {
    try {
      appender.clear();
      appender.closeSync();
    } catch {
      /* the first error is the one to report */
    }
    throw e;
  }
  appender.closeSync();
}

/** DuckDB's vector size: one data chunk holds at most this many rows. */
export const CHUNK_ROWS = 2048;

/** Sets column `index` of the data chunk being filled from each row of its part. */
export type ColumnSetter<R> = (index: number, value: (row: R) => DuckDBValue) => void;

/**
 * Appends `rows` to `table` on `connection` (inside the caller's transaction when one is open) through one
 * appender, in data chunks of at most CHUNK_ROWS rows of `types`; `fill` fills each chunk from its part of the
 * rows (`col` for plain columns, the chunk itself for raw memory copies). Errors leave nothing buffered (appendAll).
 *
 * Each data chunk is flushed on its own, and other work of this thread runs between two: the appender's flush
 * blocks the thread, ~35 ms per 2,048 rows of 1536-d vectors, and one flush of a 20 MB document's 30,000
 * chunks kept a server from answering for over a second.
 */
export async function appendInChunks<R>(
  connection: DuckDBConnection,
  table: string,
  types: DuckDBType[],
  rows: readonly R[],
  fill: (chunk: DuckDBDataChunk, part: readonly R[], col: ColumnSetter<R>) => void,
): Promise<void> {
  if (rows.length === 0) return;
  const appender = await connection.createAppender(table);
  await appendAll(appender, async () => {
    for (let start = 0; start < rows.length; start += CHUNK_ROWS) {
      if (start > 0) {
        appender.flushSync();
        await new Promise((resolve) => setImmediate(resolve));
      }
      const part = rows.slice(start, start + CHUNK_ROWS);
      const chunk = DuckDBDataChunk.create(types, part.length);
      fill(chunk, part, (i, f) => chunk.setColumnValues(i, part.map(f)));
      appender.appendDataChunk(chunk);
    }
  });
}
