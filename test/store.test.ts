import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openStore, EmbeddingMismatchError } from '../src/store/store.js';
import type { PageRecord } from '../src/store/pages.js';
import { randomVectors } from './helpers/vectors.js';
import { tempDir } from './helpers/tmp.js';
import { getAllMeta } from '../src/db/meta.js';
import { latestSchemaVersion } from '../src/db/schema.js';

const identity = { provider: 'lexical', model: 'lexical-hash-v1', dimension: 64 };

function page(id: string, over: Partial<PageRecord> = {}): PageRecord {
  return {
    id, url: `https://docs.test/${id}`, domain: 'docs.test', title: `Title ${id}`, raw_text: `# ${id}\n\nbody`,
    crawl_date: new Date('2026-01-02T03:04:05Z'), tags: ['docs'], job_id: 'job-1', parent_page_id: null,
    root_page_id: id, depth: 0, path: '/', content_hash: 'h', ...over,
  };
}

describe('database file and embedding identity', () => {
  it('records the embedding identity in meta and refuses another dimension or model on reopen', async () => {
    const path = join(tempDir(), 'd.duckdb');
    const store = await openStore({ path, embedding: identity });
    const meta = await getAllMeta(store.db);
    assert.equal(meta.embedding_dimension, '64');
    assert.equal(meta.embedding_model, 'lexical-hash-v1');
    assert.equal(meta.schema_version, String(latestSchemaVersion()));
    await store.db.transaction((tx) => store.pages.upsert(tx, page('p1')));
    await store.close();

    await assert.rejects(openStore({ path, embedding: { ...identity, dimension: 1536 } }), (e: Error) =>
      e instanceof EmbeddingMismatchError && /64 dimensions/.test(e.message) && /DOCTOR_EMBEDDING_DIM=64/.test(e.message));
    await assert.rejects(openStore({ path, embedding: { provider: 'openai', model: 'text-embedding-3-small', dimension: 64 } }), (e: Error) =>
      e instanceof EmbeddingMismatchError && /lexical-hash-v1/.test(e.message) && /new database/.test(e.message));

    const again = await openStore({ path, embedding: identity });
    assert.equal((await again.pages.get('p1'))!.title, 'Title p1', 'refused opens lose nothing');
    await again.close();
  });
});

describe('pages and jobs', () => {
  it('upserts, gets, lists by tags, and survives odd characters as plain values', async () => {
    const store = await openStore({ path: ':memory:', embedding: identity });
    await store.db.transaction(async (tx) => {
      await store.pages.upsert(tx, page('a', { tags: ['py', "it's"] }));
      await store.pages.upsert(tx, page('b', { tags: ['js'], crawl_date: new Date('2026-02-01T00:00:00Z') }));
      await store.pages.upsert(tx, page('c', { tags: ['%_'], domain: 'other.test' }));
    });
    await store.db.transaction((tx) => store.pages.upsert(tx, page('a', { title: 'Updated', tags: ['py', "it's"] })));
    assert.equal(await store.pages.count(), 3);
    const a = await store.pages.get('a');
    assert.equal(a!.title, 'Updated');
    assert.ok(a!.crawl_date instanceof Date);
    assert.equal(a!.crawl_date.toISOString(), '2026-01-02T03:04:05.000Z');
    assert.deepEqual((await store.pages.list({ tags: ["it's"] })).pages.map((p) => p.id), ['a']);
    assert.deepEqual((await store.pages.list({ tags: ['%'] })).pages, []);
    assert.equal((await store.pages.list({ tags: ['%_'] })).total, 1);
    const all = await store.pages.list();
    assert.equal(all.total, 3);
    assert.equal(all.pages[0]!.id, 'b', 'newest first');
    assert.deepEqual(await store.pages.tags(), ['%_', 'it\'s', 'js', 'py']);
    assert.deepEqual(await store.pages.tags('P'), ['py']);
    assert.equal((await store.pages.getByUrl('https://docs.test/b'))!.id, 'b');
    // Stored pages with one URL (a legacy database can hold such pairs; Doctor writes one page per URL): the
    // newest is the one a crawl updates, and writing it replaces the others.
    for (const [id, date] of [['old', '2025-05-01T00:00:00Z'], ['new', '2026-05-01T00:00:00Z'], ['mid', '2025-12-01T00:00:00Z']]) {
      await store.db.run("INSERT INTO pages (id, url, crawl_date) VALUES (?, 'https://docs.test/dup', ?::TIMESTAMPTZ)", [id!, date!]);
    }
    assert.equal((await store.pages.getByUrl('https://docs.test/dup'))!.id, 'new');
    await store.db.transaction((tx) => store.pages.upsert(tx, page('new', { url: 'https://docs.test/dup', title: 'Recrawled' })));
    assert.deepEqual((await store.pages.list()).pages.filter((p) => p.url === 'https://docs.test/dup').map((p) => [p.id, p.title]), [['new', 'Recrawled']]);
    assert.equal(await store.pages.getByUrl('https://docs.test/none'), undefined);
    assert.equal(await store.pages.get("' OR 1=1 --"), undefined);
    await store.close();
  });

  it('deleting pages deletes their embeddings in the same transaction', async () => {
    const store = await openStore({ path: ':memory:', embedding: identity });
    const vs = randomVectors(30, 64, 4);
    await store.db.transaction(async (tx) => {
      for (const id of ['a', 'b', 'c']) await store.pages.upsert(tx, page(id, { tags: [id === 'c' ? 'keep' : 'drop'], domain: id === 'b' ? 'b.test' : 'docs.test' }));
      await store.chunks.writeBatch(tx, vs, vs.map((_, i) => ({ text: `t${i}`, page_id: ['a', 'b', 'c'][i % 3]! })));
    });
    assert.equal(await store.chunks.count(), 30);
    const byIds = await store.pages.delete({ ids: ['a'] });
    assert.deepEqual(byIds, { pages: 1, chunks: 10, page_ids: ['a'] });
    const byDomain = await store.pages.delete({ domain: 'b.test' });
    assert.deepEqual(byDomain, { pages: 1, chunks: 10, page_ids: ['b'] });
    assert.equal(await store.chunks.count(), 10);
    const hits = await store.chunks.search(vs[0]!, 30);
    assert.ok(hits.every((h) => h.payload.page_id === 'c'));
    assert.deepEqual(await store.pages.delete({ tags: ['nothing'] }), { pages: 0, chunks: 0, page_ids: [] });
    assert.deepEqual(await store.pages.delete({}), { pages: 0, chunks: 0, page_ids: [] }, 'an empty selector deletes nothing');
    assert.deepEqual((await store.pages.delete({ tags: ['keep'] })).chunks, 10);
    assert.equal(await store.chunks.count(), 0);
    await store.close();
  });

  it('creates, updates, finds jobs by prefix and lists unfinished ones', async () => {
    const store = await openStore({ path: ':memory:', embedding: identity });
    const job = await store.jobs.create({ job_id: '12345678-aaaa-bbbb-cccc-000000000001', start_url: 'https://x.test/', max_pages: 10, max_depth: 3, tags: ['x'], options: { scope: 'prefix' } });
    assert.equal(job.status, 'pending');
    assert.deepEqual(job.options, { scope: 'prefix' });
    await store.jobs.create({ job_id: '12345678-aaaa-bbbb-cccc-000000000002', start_url: 'https://y.test/', max_pages: 5, max_depth: null, tags: [], options: {} });
    await store.jobs.update(job.job_id, { status: 'running', pages_crawled: 4, skipped: [{ url: 'https://x.test/a.pdf', reason: 'not text' }] });
    const got = await store.jobs.find('12345678-aaaa-bbbb-cccc-000000000001');
    assert.equal(got!.status, 'running');
    assert.equal(got!.pages_crawled, 4);
    assert.deepEqual(got!.skipped, [{ url: 'https://x.test/a.pdf', reason: 'not text' }]);
    assert.ok(got!.updated_at.getTime() >= got!.created_at.getTime());
    await assert.rejects(store.jobs.find('12345678'), /several jobs/);
    await store.jobs.create({ job_id: 'abcdef01-0000-0000-0000-000000000003', start_url: 'https://z.test/', max_pages: 1, max_depth: 1, tags: [], options: {} });
    assert.equal((await store.jobs.find('abcdef01'))?.job_id, 'abcdef01-0000-0000-0000-000000000003');
    assert.equal(await store.jobs.find('1234'), undefined, 'short prefixes are not matched');
    assert.equal(await store.jobs.find('nope-nope-nope'), undefined);
    assert.deepEqual((await store.jobs.unfinished()).map((j) => j.status).sort(), ['pending', 'pending', 'running']);
    await store.close();
  });
});

describe('appender error path', () => {
  it('a rejected append leaves no rows buffered, so they cannot be replayed into a later transaction', async () => {
    const { DuckDBInstance } = await import('../src/db/duckdb.js');
    const { appendAll } = await import('../src/store/appender.js');
    const instance = await DuckDBInstance.create(':memory:');
    const conn = await instance.connect();
    try {
      await conn.run('CREATE TABLE t (id VARCHAR PRIMARY KEY)');
      await conn.run("INSERT INTO t VALUES ('a')");
      const appender = await conn.createAppender('t');
      await assert.rejects(
        appendAll(appender, async () => {
          appender.appendVarchar('b');
          appender.endRow();
          appender.appendVarchar('a');
          appender.endRow();
        }),
        /Duplicate key/,
      );
      // What a garbage-collected appender would do: flush whatever it still holds.
      assert.doesNotThrow(() => appender.flushSync());
      const reader = await conn.runAndReadAll('SELECT count(*)::INTEGER AS n FROM t');
      assert.equal(reader.getRowObjectsJS()[0]!.n, 1, 'nothing of the rejected batch was written');
    } finally {
      conn.closeSync();
      instance.closeSync();
    }
  });
});
