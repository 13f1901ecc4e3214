/** The `meta` key/value table: schema version and the embedding identity of the database. */
import type { Database, Tx } from './database.js';

export async function getMeta(db: Database | Tx, key: string): Promise<string | undefined> {
  const rows = await db.all<{ value: string }>('SELECT value FROM meta WHERE key = ?', [key]);
  return rows[0]?.value;
}

export async function getAllMeta(db: Database): Promise<Record<string, string>> {
  const rows = await db.all<{ key: string; value: string }>('SELECT key, value FROM meta ORDER BY key');
  return Object.fromEntries(rows.map((r) => [r.key, r.value]));
}

export async function setMeta(db: Database | Tx, key: string, value: string): Promise<void> {
  await db.run('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)', [key, value]);
}

export async function deleteMeta(db: Database | Tx, key: string): Promise<void> {
  await db.run('DELETE FROM meta WHERE key = ?', [key]);
}
