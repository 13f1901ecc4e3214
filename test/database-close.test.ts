/** Closing the database while reads and snapshots are under way (a server shutting down mid-request). */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { it } from 'node:test';
import { Database } from '../src/db/database.js';
import { tempDir } from './helpers/tmp.js';

/** `p`, or a failure after `ms` (a close that leaves its callers waiting must fail the test, not hang it). */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

it('close() waits for running and queued reads and snapshots, then refuses new ones with a clear error', async () => {
  const db = await Database.open(join(tempDir(), 'close.duckdb'), { readers: 2 });
  // more reads than read connections: two run, four wait for a connection when close() is called
  const slow = (i: number) => `SELECT count(*)::INTEGER AS n FROM range(${20_000_000 + i}) t(x) WHERE x % 7 = 3`;
  const reads = Array.from({ length: 6 }, (_, i) => db.all<{ n: number }>(slow(i)));
  const snapshot = db.snapshot(async (q) => (await q.all<{ n: number }>(slow(0)))[0]!.n);
  await new Promise((r) => setTimeout(r, 10));
  // two callers closing at once (a signal handler and the normal shutdown) both see it done
  await within(Promise.all([db.close(), db.close()]), 60_000, 'close()');
  const answers = await within(Promise.all(reads), 5_000, 'the reads started before close()');
  // x % 7 = 3 below 20,000,000 + i: 2,857,143, and one more once 20,000,004 is in range
  assert.deepEqual(answers.map((r) => r[0]!.n), [2857143, 2857143, 2857143, 2857143, 2857143, 2857144]);
  assert.equal(await within(snapshot, 5_000, 'the snapshot started before close()'), 2857143);
  await assert.rejects(db.all('SELECT 1'), /The database is closed/);
  await assert.rejects(db.snapshot(async () => 1), /The database is closed/);
  await db.close(); // a second close is harmless
});
