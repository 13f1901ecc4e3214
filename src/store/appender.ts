/** Running DuckDB appender work with one error path. */

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
