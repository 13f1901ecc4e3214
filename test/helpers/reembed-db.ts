/** Databases for the re-embedding tests: pages stored with the lexical embedder, and checks of the active set. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { openApp } from '../../src/app/open.js';
import { loadConfig } from '../../src/config/config.js';
import { Database } from '../../src/db/database.js';
import { getAllMeta } from '../../src/db/meta.js';
import { LexicalEmbedder } from '../../src/embed/lexical.js';
import type { LocalEmbedder } from '../../src/embed/index.js';
import { chunkSearchText } from '../../src/ingest/extract/chunker.js';
import { silentLogger } from '../../src/log.js';
import { addPages, type TestPage } from './pages.js';
import { tempDir } from './tmp.js';

const TOPICS = ['files', 'requests', 'database', 'cache', 'workers', 'tokens', 'logs', 'streams'];
export function pages(n: number, prefix = 'p'): TestPage[] {
  return Array.from({ length: n }, (_, i) => {
    const t = TOPICS[i % TOPICS.length]!;
    return {
      id: `${prefix}${i}`,
      title: `${prefix === 'p' ? '' : `${prefix} `}${t} guide ${i}`,
      tags: [i % 2 ? 'odd' : 'even'],
      markdown: `# ${t} guide ${i}\n\nHow to open and read ${t} with the api. Retry the request after a timeout error.\n\n## Configure ${t}\n\nSet the option in the config file, then restart the server. The cache keeps values in memory.\n\n## Errors\n\nA ${t} error returns status code ${400 + i} with a json body; check the log for details.`,
    };
  });
}

export const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

export interface Row {
  id: string;
  seq: bigint;
  embedding: number[];
  text: string;
  title: string | null;
  heading_path: string | null;
}

export async function rows(db: Database): Promise<Row[]> {
  return db.all<Row>('SELECT id, seq, embedding, coalesce(text_chunk, \'\') AS text, title, heading_path FROM document_embeddings ORDER BY seq');
}

export const searchText = (r: Row) => chunkSearchText({ text: r.text, headingPath: r.heading_path ? r.heading_path.split(' > ') : [], index: 0 }, r.title);

/**
 * The active set is complete and of one model: meta names the model, the column has its dimension, and
 * every row's vector is that model's vector of the row's text. Returns which model is active.
 */
export async function activeSet(dbPath: string, models: { old: LexicalEmbedder; next: LocalEmbedder }): Promise<'old' | 'new'> {
  const db = await Database.open(dbPath);
  try {
    const meta = await getAllMeta(db);
    const which = meta.embedding_model === models.old.model ? 'old' : meta.embedding_model === models.next.model ? 'new' : undefined;
    assert.ok(which, `unexpected model in meta: ${meta.embedding_model}`);
    const emb = which === 'old' ? models.old : models.next;
    assert.equal(Number(meta.embedding_dimension), emb.dimension);
    const all = await rows(db);
    assert.ok(all.length > 0);
    const expected = await emb.embed(all.map(searchText));
    all.forEach((r, i) => {
      assert.equal(r.embedding.length, emb.dimension);
      assert.ok(maxDiff(r.embedding, expected[i]!) < 1e-4, `row ${r.id} does not hold the ${which} model's vector`);
    });
    return which;
  } finally {
    await db.close();
  }
}

/** A database file whose `n` pages were embedded by the lexical embedder of `dimension`. */
export async function lexicalDb(n: number, dimension: number, vectorEngine: 'exact' | 'usearch' = 'exact') {
  const dbPath = join(tempDir(), 'doctor.duckdb');
  const config = loadConfig({ dbPath, logLevel: 'silent', vectorEngine }, {});
  const lexical = new LexicalEmbedder(dimension);
  const ctx = await openApp(config, { embedder: lexical, log: silentLogger });
  await addPages(ctx, pages(n));
  return { dbPath, config, lexical, ctx };
}

