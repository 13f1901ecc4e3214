/** Running DuckDB appender work with one error path. */

/** Runs the appends, then flushes; on any error closes the appender quietly and rethrows the first error. */
export async function appendAll(appender: { flushSync(): void; closeSync(): void }, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
    appender.flushSync();
  } catch (e) {
    try {
      appender.closeSync();
    } catch {
      /* closing flushes again and fails the same way: the first error is the one to report */
    }
    throw e;
  }
  appender.closeSync();
}
