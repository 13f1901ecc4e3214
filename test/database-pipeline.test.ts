/** Database.pipelined: write transactions that overlap (the Qdrant migration's), committed in order. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { it } from 'node:test';
import { Database } from '../src/db/database.js';
import { tempDir } from './helpers/tmp.js';

/** `p`, or a failure after `ms` (transactions that do not overlap would leave the test waiting). */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

function signal(): { promise: Promise<void>; fire: () => void } {
  let fire!: () => void;
  const promise = new Promise<void>((resolve) => (fire = resolve));
  return { promise, fire };
}

async function openWithTable(): Promise<Database> {
  const db = await Database.open(join(tempDir(), 'pipeline.duckdb'));
  await db.run('CREATE TABLE t (k INTEGER PRIMARY KEY, v VARCHAR)');
  return db;
}

const rows = async (db: Database) => (await db.all<{ k: number }>('SELECT k FROM t ORDER BY k')).map((r) => r.k);

it('the next transaction runs its statements before the one before it commits; they commit in the order they were started', async () => {
  const db = await openWithTable();
  try {
    const order: string[] = [];
    const secondWrote = signal();
    let writeDuring: Promise<void> | undefined;
    await db.pipelined(async (pipe) => {
      const first = pipe.transaction(async (tx) => {
        await tx.run('INSERT INTO t VALUES (1, ?)', ['a']);
        tx.onCommit(() => void order.push('first committed'));
        // the second transaction writes while this one is still open
        await within(secondWrote.promise, 10_000, "the second transaction's insert while the first was open");
        order.push('first done');
      });
      const second = pipe.transaction(async (tx) => {
        await tx.run('INSERT INTO t VALUES (2, ?)', ['b']);
        // each transaction sees its own rows only, until the other commits
        assert.deepEqual((await tx.all<{ k: number }>('SELECT k FROM t ORDER BY k')).map((r) => r.k), [2]);
        tx.onCommit(() => void order.push('second committed'));
        order.push('second done');
        secondWrote.fire();
      });
      // a write outside the pipeline waits until the pipeline is over
      writeDuring = db.run('INSERT INTO t VALUES (3, ?)', ['c']).then(() => void order.push('other write'));
      await Promise.all([first, second]);
      assert.deepEqual(await rows(db), [1, 2], 'both committed when their promises resolve');
    });
    await writeDuring;
    assert.deepEqual(order, ['second done', 'first done', 'first committed', 'second committed', 'other write']);
    assert.deepEqual(await rows(db), [1, 2, 3]);
  } finally {
    await db.close();
  }
});

it('a transaction whose predecessor failed rolls back with its error; later pipelines and writes go on', async () => {
  const db = await openWithTable();
  try {
    const secondWrote = signal();
    await db.pipelined(async (pipe) => {
      const first = pipe.transaction(async (tx) => {
        await tx.run('INSERT INTO t VALUES (1, ?)', ['a']);
        await secondWrote.promise;
        throw new Error('the first group failed');
      });
      const second = pipe.transaction(async (tx) => {
        await tx.run('INSERT INTO t VALUES (2, ?)', ['b']);
        secondWrote.fire();
      });
      await Promise.all([
        assert.rejects(first, /the first group failed/),
        assert.rejects(second, /the first group failed/, "the second does not commit past the first's failure"),
      ]);
    });
    assert.deepEqual(await rows(db), [], 'neither committed');
    // a third transaction (on the first one's connection again) and a fourth, after a failure in a new pipeline
    await db.pipelined(async (pipe) => {
      const results = await Promise.all([1, 2, 3, 4].map((k) => pipe.transaction(async (tx) => tx.run('INSERT INTO t VALUES (?, ?)', [k, 'x']))));
      assert.equal(results.length, 4);
    });
    await db.transaction(async (tx) => tx.run('INSERT INTO t VALUES (5, ?)', ['y']));
    assert.deepEqual(await rows(db), [1, 2, 3, 4, 5]);
  } finally {
    await db.close();
  }
});

it('two open transactions that write the same row: the later one fails (the conflict a pipeline must avoid)', async () => {
  const db = await openWithTable();
  try {
    await db.run("INSERT INTO t VALUES (1, 'start')");
    const firstWrote = signal();
    const secondWrote = signal();
    await db.pipelined(async (pipe) => {
      const first = pipe.transaction(async (tx) => {
        await tx.run("UPDATE t SET v = 'first' WHERE k = 1");
        firstWrote.fire();
        await secondWrote.promise;
      });
      const second = pipe.transaction(async (tx) => {
        await firstWrote.promise;
        await tx.run("UPDATE t SET v = 'second' WHERE k = 1").finally(() => secondWrote.fire());
      });
      await Promise.all([first, assert.rejects(second, /conflict/i)]);
    });
    assert.deepEqual(await db.all('SELECT v FROM t'), [{ v: 'first' }]);
  } finally {
    await db.close();
  }
});
