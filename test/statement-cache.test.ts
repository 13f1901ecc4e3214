/**
 * Prepared statements reused per connection (src/db/statement-cache.ts), through the Database API every store
 * uses: answers are those of a statement prepared afresh, whatever ran before on the connection.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Database } from '../src/db/database.js';
import { LIST, VARCHAR, listValue } from '../src/db/duckdb.js';
import { buildHttpApp } from '../src/http/app.js';
import { makeContext } from './helpers/context.js';
import { addPages } from './helpers/pages.js';
import { tempDir } from './helpers/tmp.js';

describe('prepared statements reused per connection', () => {
  let db: Database;
  before(async () => {
    db = await Database.open(join(tempDir(), 'cache.duckdb'), { readers: 1 });
    await db.run('CREATE TABLE t (k INTEGER, v VARCHAR)');
    await db.transaction(async (tx) => {
      for (let k = 0; k < 5; k++) await tx.run('INSERT INTO t VALUES (?, ?)', [k, `v${k}`]);
    });
  });
  after(() => db.close());

  it('one statement per SQL text, each run with its own values (positional and named)', async () => {
    for (let k = 0; k < 5; k++) {
      assert.deepEqual(await db.all('SELECT v FROM t WHERE k = ?', [k]), [{ v: `v${k}` }]);
      assert.deepEqual(await db.all('SELECT k FROM t WHERE v = $v', { v: `v${k}` }), [{ k }]);
      assert.deepEqual(
        await db.all('SELECT count(*)::INTEGER AS n FROM t WHERE v IN (SELECT unnest($vs))', { vs: listValue(['v0', `v${k}`]) }, { vs: LIST(VARCHAR) }),
        [{ n: k === 0 ? 1 : 2 }],
      );
    }
    const kept = db.cachedStatements().readers[0]!;
    assert.ok(kept.includes('SELECT v FROM t WHERE k = ?') && kept.includes('SELECT k FROM t WHERE v = $v'), kept.join('\n'));
    assert.equal(kept.filter((s) => s === 'SELECT v FROM t WHERE k = ?').length, 1);
  });

  it('a value left out is an error, not the value of the previous run', async () => {
    assert.deepEqual(await db.all('SELECT $a::INTEGER + $b::INTEGER AS s', { a: 1, b: 2 }), [{ s: 3 }]);
    await assert.rejects(db.all('SELECT $a::INTEGER + $b::INTEGER AS s', { a: 5 }), /not provided.*\bb\b/);
    assert.deepEqual(await db.all('SELECT $a::INTEGER + $b::INTEGER AS s', { a: 5, b: 1 }), [{ s: 6 }]);
  });

  it('values of another type than the first run bound', async () => {
    assert.deepEqual(await db.all('SELECT ? AS x', [1]), [{ x: 1 }]);
    assert.deepEqual(await db.all('SELECT ? AS x', ['one']), [{ x: 'one' }]);
    assert.deepEqual(await db.all('SELECT ? AS x', [null]), [{ x: null }]);
  });

  it('a table dropped and made again with other columns: the statement follows the new table', async () => {
    await db.run('CREATE TABLE s (k INTEGER)');
    await db.run('INSERT INTO s VALUES (?)', [7]);
    assert.deepEqual(await db.all('SELECT * FROM s WHERE k = ?', [7]), [{ k: 7 }]);
    await db.run('DROP TABLE s');
    await assert.rejects(db.all('SELECT * FROM s WHERE k = ?', [7]), /s does not exist/);
    await db.run('CREATE TABLE s (k INTEGER, label VARCHAR)');
    await db.run('INSERT INTO s VALUES (?, ?)', [7, 'seven']);
    assert.deepEqual(await db.all('SELECT * FROM s WHERE k = ?', [7]), [{ k: 7, label: 'seven' }]);
  });

  it('statements in flight at once on one connection each get their own values', async () => {
    const sql = 'SELECT v FROM t WHERE k + 0 = ?';
    const answers = await db.transaction(async (tx) => {
      await tx.all(sql, [0]); // prepared and kept before the concurrent runs
      return Promise.all([0, 1, 2, 3, 4, 0, 3].map((k) => tx.all<{ v: string }>(sql, [k])));
    });
    assert.deepEqual(answers.map((rows) => rows[0]!.v), ['v0', 'v1', 'v2', 'v3', 'v4', 'v0', 'v3']);
  });

  it('a failed run leaves nothing stale: the same SQL works with good values', async () => {
    await db.run('CREATE TABLE u (k INTEGER PRIMARY KEY)');
    await db.run('INSERT INTO u VALUES (?)', [1]);
    await assert.rejects(db.run('INSERT INTO u VALUES (?)', [1]), /Duplicate key|PRIMARY KEY|constraint/i);
    await db.run('INSERT INTO u VALUES (?)', [2]);
    assert.deepEqual(await db.all('SELECT k FROM u ORDER BY k'), [{ k: 1 }, { k: 2 }]);
  });

  it('SQL holding several statements still runs them all', async () => {
    await db.run('CREATE TABLE m (k INTEGER); INSERT INTO m VALUES (?)', [42]);
    assert.deepEqual(await db.all('SELECT k FROM m'), [{ k: 42 }]);
    for (const k of [43, 44]) await db.run('INSERT INTO m VALUES (100); INSERT INTO m VALUES (?)', [k]);
    assert.deepEqual(await db.all('SELECT k FROM m ORDER BY k'), [{ k: 42 }, { k: 43 }, { k: 44 }, { k: 100 }, { k: 100 }]);
  });

  it('the cache of a connection stays bounded', async () => {
    for (let i = 0; i < 260; i++) assert.deepEqual(await db.all(`SELECT ? + ${i} AS x`, [1]), [{ x: 1 + i }]);
    const kept = db.cachedStatements().readers[0]!;
    assert.ok(kept.length <= 200, `${kept.length} statements kept`);
    assert.ok(kept.includes('SELECT ? + 259 AS x'), 'the most recent ones are kept');
    assert.ok(!kept.includes('SELECT ? + 0 AS x'), 'the least recently used went first');
  });
});

// DuckDB 1.5 plans a statement prepared without parameters with the table statistics of that moment, and a
// reused plan keeps them: over a file just opened (its row groups stored, none deleted), `count(*)` became
// a constant, and a join or filter was cut to the rows then stored. Such statements run afresh each time.
describe('statements without parameters, over a database opened again', () => {
  it('counts, maxima and joins follow rows written after their first run (with {} or [] as values too)', async () => {
    const path = join(tempDir(), 'stats.duckdb');
    let db = await Database.open(path, { readers: 1 });
    await db.run('CREATE TABLE a (k BIGINT, x INTEGER)');
    await db.run('CREATE TABLE b (k BIGINT)');
    await db.run('INSERT INTO a SELECT i, 1 FROM range(1000) r(i)');
    await db.run('INSERT INTO b SELECT i FROM range(10) r(i)');
    await db.close();
    db = await Database.open(path, { readers: 1 });
    try {
      const ask = async () => [
        await db.all('SELECT count(*)::INTEGER AS n FROM b', {}),
        await db.all('SELECT max(k)::INTEGER AS m FROM b', []),
        await db.all('SELECT count(*)::INTEGER AS n FROM a JOIN b ON a.k = b.k', {}),
        await db.all('SELECT count(*)::INTEGER AS n FROM b WHERE k >= 500'),
      ];
      for (let i = 0; i < 2; i++) assert.deepEqual(await ask(), [[{ n: 10 }], [{ m: 9 }], [{ n: 10 }], [{ n: 0 }]]);
      await db.run('INSERT INTO b SELECT i FROM range(500, 600) r(i)');
      assert.deepEqual(await ask(), [[{ n: 110 }], [{ m: 599 }], [{ n: 110 }], [{ n: 100 }]]);
      assert.deepEqual(db.cachedStatements().readers[0], [], 'none of them is kept prepared');
    } finally {
      await db.close();
    }
  });

  it('GET /list_doc_pages counts the pages stored since the server started', async () => {
    const dbPath = join(tempDir(), 'doctor.duckdb');
    const page = (id: string) => ({ id, title: id, markdown: `# ${id}\n\nText of ${id}.` });
    let ctx = await makeContext({ dbPath });
    await addPages(ctx, Array.from({ length: 8 }, (_, i) => page(`first-${i}`)));
    await ctx.close();
    ctx = await makeContext({ dbPath }); // as `doctor serve` opens the database a crawl wrote
    const app = await buildHttpApp(ctx, {});
    try {
      const total = async () => (await app.inject({ url: '/list_doc_pages' })).json().total_docs as number;
      for (let i = 0; i < 3; i++) assert.equal(await total(), 8);
      await addPages(ctx, Array.from({ length: 120 }, (_, i) => page(`later-${i}`)));
      for (let i = 0; i < 3; i++) assert.equal(await total(), 128);
      const last = (await app.inject({ url: '/list_doc_pages?page=2' })).json();
      assert.equal(last.listing_pages, 2);
      assert.equal(last.doc_pages.length, 28);
    } finally {
      await app.close();
      await ctx.close();
    }
  });
});
