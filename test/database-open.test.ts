/**
 * Opening files that are not a healthy Doctor database (issue 20): a SQLite file, a truncated copy. Doctor
 * says what is wrong and what to do, changes nothing, never asks DuckDB to download an extension, and the
 * healthy database still opens afterwards.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openApp } from '../src/app/open.js';
import { loadConfig } from '../src/config/config.js';
import { Database, DatabaseOpenError } from '../src/db/database.js';
import { silentLogger } from '../src/log.js';
import { makeContext } from './helpers/context.js';
import { addPages } from './helpers/pages.js';
import { tempDir } from './helpers/tmp.js';

const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

/** A SQLite database file, written by python3's sqlite3 module (or by hand: the 100-byte header and one page). */
function sqliteFile(path: string): void {
  try {
    execFileSync('python3', ['-c', 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute("create table t(x)"); c.commit()', path]);
  } catch {
    const page = Buffer.alloc(4096);
    page.write('SQLite format 3\0', 0, 'latin1');
    page.writeUInt16BE(4096, 16);
    writeFileSync(path, page);
  }
}

const open = (dbPath: string, env: Record<string, string> = {}) =>
  openApp(loadConfig({ dbPath, logLevel: 'silent', embeddingProvider: 'lexical', embeddingDimension: 256 }, env), { log: silentLogger });

describe('opening a file that is not a healthy Doctor database', () => {
  it('DuckDB never installs or loads extensions on its own, unless DOCTOR_VSS_INSTALL asks for it', async () => {
    const setting = async (db: Database) =>
      (await db.all<{ i: boolean; l: boolean }>("SELECT current_setting('autoinstall_known_extensions') AS i, current_setting('autoload_known_extensions') AS l"))[0];
    const plain = await Database.open(':memory:');
    assert.deepEqual(await setting(plain), { i: false, l: false });
    await plain.close();
    const dir = tempDir();
    const app = await open(join(dir, 'a.duckdb'));
    assert.deepEqual(await setting(app.store.db), { i: false, l: false });
    await app.close();
    const opted = await open(join(dir, 'a.duckdb'), { DOCTOR_VSS_INSTALL: 'true' });
    assert.deepEqual(await setting(opted.store.db), { i: true, l: true });
    await opted.close();
  });

  it('a SQLite file: says so, tries no download, leaves the file as it was', async () => {
    const dir = tempDir();
    const path = join(dir, 'doctor.duckdb');
    sqliteFile(path);
    const before = sha(path);
    await assert.rejects(open(path), (e: Error) => {
      assert.ok(e instanceof DatabaseOpenError, e.message);
      assert.match(e.message, /is a SQLite database, not a DuckDB one/);
      assert.match(e.message, /point DOCTOR_DB_PATH \(--db-path\) or DATA_DIR \(--data-dir\) at another file/);
      assert.ok(!/download|extensions\.duckdb\.org|sqlite_scanner|INSTALL/i.test(e.message), e.message);
      return true;
    });
    assert.equal(sha(path), before, 'the file is unchanged');
    // The same refusal for a database file in any other place (DOCTOR_DB_PATH).
    await assert.rejects(Database.open(path), /SQLite database/);
  });

  it('a truncated copy: says the file is damaged and what to do; the original still opens (restart clean)', async () => {
    const dir = tempDir();
    const original = join(dir, 'doctor.duckdb');
    const seed = await makeContext({ dbPath: original, runner: false });
    await addPages(seed, Array.from({ length: 40 }, (_, i) => ({ id: `p${i}`, title: `Page ${i}`, markdown: `# Page ${i}\n\n${'Some words about page contents. '.repeat(80)}` })));
    await seed.store.db.checkpoint();
    await seed.close();
    const size = statSync(original).size;
    for (const fraction of [0.5, 0.1]) {
      const copy = join(dir, `copy-${fraction}.duckdb`);
      copyFileSync(original, copy);
      truncateSync(copy, Math.floor(size * fraction));
      const before = sha(copy);
      await assert.rejects(open(copy), (e: Error) => {
        assert.ok(e instanceof DatabaseOpenError, `${fraction}: ${e.message}`);
        assert.match(e.message, /is damaged or is not a DuckDB database/);
        assert.match(e.message, /Restore it from a backup/);
        assert.match(e.message, /DOCTOR_DB_PATH/);
        return true;
      });
      assert.equal(sha(copy), before, 'the damaged copy is left as it was');
    }
    const garbage = join(dir, 'garbage.duckdb');
    writeFileSync(garbage, 'not a database at all\n'.repeat(500));
    await assert.rejects(open(garbage), /is damaged or is not a DuckDB database/);

    const again = await open(original);
    assert.equal(await again.store.pages.count(), 40, 'the healthy database opens with every page');
    await again.close();
  });
});
