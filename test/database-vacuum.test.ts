/**
 * Checkpoints and row groups: files are opened with 2,048-row row groups; a checkpoint leaves a crawl's
 * small leftover row groups alone (no vacuum: rewriting them cost seconds), but after a DELETE it vacuums,
 * so the deleted rows' space comes back.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DEFAULT_ROW_GROUP_SIZE, Database } from '../src/db/database.js';
import { tempDir } from './helpers/tmp.js';

const rowGroups = async (db: Database) =>
  (await db.all<{ n: number }>("SELECT count(DISTINCT row_group_id)::INTEGER AS n FROM pragma_storage_info('t')"))[0]!.n;

async function fill(db: Database): Promise<void> {
  await db.run('CREATE TABLE t (id INTEGER, v FLOAT[64])');
  // transactions of a row group and a bit: each leaves a small row group behind
  for (let i = 0; i < 6; i++) {
    await db.transaction((tx) =>
      tx.run(`INSERT INTO t SELECT ${i} * 10000 + r, list_transform(range(64), x -> (r + x)::FLOAT)::FLOAT[64] FROM range(2100) t(r)`),
    );
  }
}

describe('checkpoints vacuum only after deletes', () => {
  it('a file opens with 2,048-row row groups; a checkpoint keeps the leftover row groups as they are', async () => {
    const db = await Database.open(join(tempDir(), 'v.duckdb'));
    try {
      assert.equal(db.rowGroupSize, DEFAULT_ROW_GROUP_SIZE);
      await fill(db);
      await db.checkpoint();
      assert.equal(await rowGroups(db), 12, 'six full row groups and six leftovers, none merged');
    } finally {
      await db.close();
    }
  });

  it('after a DELETE the next checkpoint vacuums: the row groups are compacted', async () => {
    const path = join(tempDir(), 'v.duckdb');
    const db = await Database.open(path);
    try {
      await fill(db);
      await db.checkpoint();
      await db.run('DELETE FROM t WHERE id % 10 <> 0');
      await db.checkpoint();
      const after = await rowGroups(db);
      assert.ok(after < 12, `row groups after deleting 90% of the rows: ${after}`);
      assert.equal((await db.all<{ n: number }>('SELECT count(*)::INTEGER AS n FROM t'))[0]!.n, 1260);
    } finally {
      await db.close();
    }
  });
});
