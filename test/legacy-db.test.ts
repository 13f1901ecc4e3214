import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DuckDBInstance } from '../src/db/duckdb.js';
import { openStore, EmbeddingMismatchError } from '../src/store/store.js';
import { getAllMeta } from '../src/db/meta.js';
import { searchDocs } from '../src/service/search.js';
import { LexicalEmbedder } from '../src/embed/lexical.js';
import { silentLogger } from '../src/log.js';
import { loadConfig } from '../src/config/config.js';
import { tempDir } from './helpers/tmp.js';

/** Builds a file the way the Python Doctor did: its schema, in SQL. */
async function pythonDoctorFile(path: string, opts: { embeddings?: number } = {}) {
  const inst = await DuckDBInstance.create(path);
  const c = await inst.connect();
  await c.run(`CREATE TABLE pages (id VARCHAR PRIMARY KEY, url VARCHAR, domain VARCHAR, raw_text VARCHAR, crawl_date TIMESTAMP, tags VARCHAR, job_id VARCHAR)`);
  await c.run(`CREATE TABLE jobs (job_id VARCHAR PRIMARY KEY, start_url VARCHAR, status VARCHAR, pages_discovered INTEGER, pages_crawled INTEGER,
    max_pages INTEGER, tags VARCHAR, created_at TIMESTAMP, updated_at TIMESTAMP, error_message VARCHAR)`);
  await c.run(`INSERT INTO pages VALUES
    ('p1', 'https://docs.py.test/lib/os.html', 'docs.py.test', '# os\\n\\nos.path.join joins paths.', '2025-03-01 10:00:00', '["python", "stdlib"]', 'j1'),
    ('p2', 'https://docs.py.test/lib/json.html', 'docs.py.test', '# json\\n\\njson.loads parses JSON.', '2025-03-02 11:30:00', '[]', 'j1'),
    ('p3', 'https://other.test/x', 'other.test', 'it''s "quoted" %_', '2025-03-03 12:00:00', NULL, 'j2')`);
  await c.run(`INSERT INTO jobs VALUES
    ('j1', 'https://docs.py.test/lib/', 'completed', 2, 2, 100, '["python"]', '2025-03-01 09:59:00', '2025-03-01 10:05:00', NULL),
    ('j2', 'https://other.test/', 'failed', 1, 1, 10, '[]', '2025-03-03 11:00:00', '2025-03-03 12:01:00', 'boom'),
    ('j3', 'https://third.test/', 'running', 5, 2, 10, '[]', '2025-03-04 11:00:00', '2025-03-04 11:01:00', NULL)`);
  if (opts.embeddings) {
    const d = opts.embeddings;
    await c.run(`CREATE TABLE document_embeddings (id VARCHAR PRIMARY KEY, embedding FLOAT[${d}], text_chunk VARCHAR, page_id VARCHAR, url VARCHAR, domain VARCHAR, tags VARCHAR[], job_id VARCHAR)`);
    await c.run(`INSERT INTO document_embeddings SELECT 'c' || i, list_transform(range(${d}), x -> ((x + i) % 7 + 1)::FLOAT)::FLOAT[${d}],
      'chunk ' || i, 'p1', 'https://docs.py.test/lib/os.html', 'docs.py.test', ['python'], 'j1' FROM range(5) t(i)`);
  }
  c.closeSync();
  inst.closeSync();
}

describe('opening a Python Doctor database', () => {
  it('upgrades pages and jobs in place, keeping every row with converted tags and timestamps', async () => {
    const path = join(tempDir(), 'doctor.duckdb');
    await pythonDoctorFile(path);
    const lexical = new LexicalEmbedder();
    const store = await openStore({ path, embedding: lexical });
    try {
      assert.equal(await store.pages.count(), 3);
      const p1 = (await store.pages.get('p1'))!;
      assert.deepEqual(p1.tags, ['python', 'stdlib']);
      assert.equal(p1.crawl_date.toISOString(), '2025-03-01T10:00:00.000Z');
      assert.equal(p1.root_page_id, 'p1');
      assert.equal(p1.depth, 0);
      assert.equal(p1.path, '/lib/os.html');
      assert.equal((await store.pages.get('p3'))!.raw_text, `it's "quoted" %_`);
      assert.deepEqual((await store.pages.get('p3'))!.tags, []);
      const j2 = (await store.jobs.get('j2'))!;
      assert.equal(j2.status, 'failed');
      assert.equal(j2.error_message, 'boom');
      assert.equal(j2.created_at.toISOString(), '2025-03-03T11:00:00.000Z');
      assert.deepEqual((await store.jobs.get('j1'))!.tags, ['python']);
      const j3 = (await store.jobs.get('j3'))!;
      assert.equal(j3.status, 'failed', 'a job the Python service left running is not resumed blindly');
      assert.match(j3.error_message!, /interrupted before the upgrade.*start the crawl again/);
      assert.deepEqual(await store.jobs.unfinished(), []);
      const meta = await getAllMeta(store.db);
      assert.equal(meta.upgraded_from, 'python-doctor');
      assert.equal(meta.embedding_model, 'lexical-hash-v1', 'no legacy embeddings: the current embedder is recorded');
      const tables = await store.db.all<{ n: number }>("SELECT count(*)::INTEGER AS n FROM duckdb_tables() WHERE table_name LIKE 'legacy_%'");
      assert.equal(tables[0]!.n, 0);
    } finally {
      await store.close();
    }
    const again = await openStore({ path, embedding: new LexicalEmbedder() });
    assert.equal(await again.pages.count(), 3, 'opening again changes nothing');
    await again.close();
  });

  it('keeps legacy embeddings, records the Python service model, and refuses another model', async () => {
    const path = join(tempDir(), 'doctor.duckdb');
    await pythonDoctorFile(path, { embeddings: 16 });
    await assert.rejects(openStore({ path, embedding: new LexicalEmbedder(16) }), (e: Error) => e instanceof EmbeddingMismatchError && /text-embedding-ada-002/.test(e.message));
    const store = await openStore({ path, embedding: { provider: 'openai', model: 'text-embedding-ada-002', dimension: 16 } });
    try {
      assert.equal(await store.chunks.count(), 5);
      assert.equal(await store.pages.count(), 3, 'the refused open lost nothing');
      const hits = await store.chunks.search(Array.from({ length: 16 }, (_, x) => (x % 7) + 1), 1);
      assert.equal(hits[0]!.id, 'c0');
      const embedder = { provider: 'openai', model: 'text-embedding-ada-002', dimension: 16, embed: async (t: string[]) => t.map(() => Float32Array.from({ length: 16 }, (_, x) => (x % 7) + 1)) };
      const ctx = { config: loadConfig({ dbPath: path }, {}), store, embedder, log: silentLogger };
      const res = await searchDocs(ctx, { query: 'chunk', max_results: 3 });
      assert.equal(res.results[0]!.page_id, 'p1', 'migrated chunks are searchable (vector and keyword)');
    } finally {
      await store.close();
    }
  });
  it('copies FLOAT[] list embeddings with their length as the dimension, past secondary indexes and odd tag texts', async () => {
    const path = join(tempDir(), 'doctor.duckdb');
    await pythonDoctorFile(path);
    const inst = await DuckDBInstance.create(path);
    const c = await inst.connect();
    await c.run('CREATE INDEX pages_url ON pages(url)'); // an index blocks ALTER TABLE ... RENAME unless dropped first
    await c.run(`INSERT INTO pages VALUES ('p4', NULL, NULL, 'no url', NULL, '"solo"', NULL), ('p5', 'https://x.test/', 'x.test', '', '2025-01-01 00:00:00', 'a, b,,c', NULL)`);
    await c.run('CREATE TABLE document_embeddings (id VARCHAR PRIMARY KEY, embedding FLOAT[], text_chunk VARCHAR, page_id VARCHAR, url VARCHAR, domain VARCHAR, tags VARCHAR, job_id VARCHAR)');
    await c.run(`INSERT INTO document_embeddings SELECT 'c' || i, list_transform(range(8), x -> (x * i + 1)::FLOAT), 'chunk ' || i, 'p1', NULL, NULL, '["python"]', 'j1' FROM range(4) t(i)`);
    c.closeSync();
    inst.closeSync();
    const store = await openStore({ path, embedding: { provider: 'openai', model: 'text-embedding-ada-002', dimension: 8 } });
    try {
      assert.equal(await store.pages.count(), 5, 'every page kept, even one without url or date');
      assert.deepEqual((await store.pages.get('p4'))!.tags, ['solo']);
      assert.deepEqual((await store.pages.get('p5'))!.tags, ['a', 'b', 'c']);
      assert.equal(await store.chunks.count(), 4);
      assert.deepEqual((await store.chunks.payloads(['c2'])).get('c2')!.tags, ['python']);
      const [row] = await store.db.all<{ e: number[] }>("SELECT embedding AS e FROM document_embeddings WHERE id = 'c3'");
      assert.deepEqual(row!.e, [1, 4, 7, 10, 13, 16, 19, 22]);
      assert.equal((await getAllMeta(store.db)).embedding_dimension, '8');
    } finally {
      await store.close();
    }
  });

  it('refuses embeddings of different lengths with the ids, and changes nothing', async () => {
    const path = join(tempDir(), 'doctor.duckdb');
    await pythonDoctorFile(path);
    const inst = await DuckDBInstance.create(path);
    const c = await inst.connect();
    await c.run('CREATE TABLE document_embeddings (id VARCHAR PRIMARY KEY, embedding FLOAT[], text_chunk VARCHAR)');
    await c.run(`INSERT INTO document_embeddings VALUES ('ok1', [1,2,3], 'a'), ('ok2', [1,2,4], 'b'), ('short', [1,2], 'c')`);
    c.closeSync();
    inst.closeSync();
    await assert.rejects(openStore({ path, embedding: { provider: 'openai', model: 'text-embedding-ada-002', dimension: 3 } }), /different lengths: 2 of length 3, 1 of length 2 \(e\.g\. ids short\)/);
    const check = await DuckDBInstance.create(path);
    const cc = await check.connect();
    const tables = (await cc.runAndReadAll("SELECT table_name FROM duckdb_tables() ORDER BY 1")).getRowObjectsJS().map((r) => r.table_name);
    assert.deepEqual(tables, ['document_embeddings', 'jobs', 'pages'], 'still the Python file, untouched');
    cc.closeSync();
    check.closeSync();
  });
});
