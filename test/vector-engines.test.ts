import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../src/config/config.js';
import { openStore, type Store } from '../src/store/store.js';
import { ExactEngine } from '../src/vector/exact.js';
import { createVectorEngine } from '../src/vector/select.js';
import { indexPathOf, readSidecar, sidecarPathOf } from '../src/vector/sidecar.js';
import { UsearchEngine, type UsearchStatusExtra } from '../src/vector/usearch.js';
import { VssEngine, loadVss } from '../src/vector/vss.js';
import type { EngineStatus } from '../src/vector/engine.js';
import { bruteForce, clusteredVectors } from './helpers/vectors.js';
import { tempDir } from './helpers/tmp.js';

const DIM = 128;
const identity = { provider: 'test', model: 'test-model', dimension: DIM };
const N = 3000;
const sample = clusteredVectors(N + 40, DIM, 40, 11);
const vectors = sample.slice(0, N);
/** Queries from the same clusters, not stored. */
const queries = sample.slice(N);
const ids = vectors.map((_, i) => `c${i}`);
/** 1% of rows carry 'rare', 20% 'common'; every row 'all'. Tags independent of the vectors. */
const tagsOf = (i: number) => ['all', ...(i % 100 === 7 ? ['rare'] : []), ...(i % 5 === 1 ? ['common'] : [])];
const payloads = vectors.map((_, i) => ({ text: `chunk ${i}`, page_id: `p${i}`, tags: tagsOf(i) }));

// Tests never reach DuckDB's extension server: vss is only LOADed (from DOCTOR_VSS_EXTENSION when set).
const engineConfig = (engine: 'usearch' | 'auto' | 'vss' | 'exact') => ({
  ...loadConfig({ dbPath: ':memory:' }, { DOCTOR_VSS_EXTENSION: process.env.DOCTOR_VSS_EXTENSION }),
  vectorEngine: engine,
  options: { allowVssInstall: false, usearch: { saveDelayMs: 50 } },
});

async function writeAll(store: Store): Promise<void> {
  for (let i = 0; i < N; i += 1000) {
    await store.chunks.indexBatch(vectors.slice(i, i + 1000), payloads.slice(i, i + 1000), ids.slice(i, i + 1000));
  }
}

const usearchOf = (store: Store) => {
  const e = store.chunks.vectorEngine;
  assert.ok(e instanceof UsearchEngine, `expected the usearch engine, got ${e.name}`);
  return e;
};
const statusOf = async (store: Store) => (await usearchOf(store).status()) as EngineStatus & UsearchStatusExtra;

function recallAt10(got: string[][], want: string[][]): number {
  let hit = 0;
  got.forEach((g, i) => (hit += g.filter((id) => want[i]!.includes(id)).length));
  return hit / (want.length * 10);
}

describe('usearch engine (in memory)', () => {
  let store: Store;
  before(async () => {
    store = await openStore({ path: ':memory:', embedding: identity, vector: engineConfig('usearch') });
    await writeAll(store);
    await usearchOf(store).whenReady();
  });
  after(() => store.close());

  it('is ready, holds every row, and agrees with exact search (recall@10 >= 0.95)', async () => {
    const st = await statusOf(store);
    assert.equal(st.ready, true);
    assert.equal(st.rows, N);
    assert.equal(st.indexedRows, N);
    assert.equal(st.expansionSearch, 64, 'auto search expansion at this size');
    const before = st.stats.index;
    const got: string[][] = [];
    const want: string[][] = [];
    for (const q of queries) {
      const hits = await store.chunks.search(q, 10);
      assert.equal(hits.length, 10);
      got.push(hits.map((h) => h.id));
      want.push(bruteForce(vectors, ids, q, 10).map((h) => h.id));
      const exact = bruteForce(vectors, ids, q, 1)[0]!;
      if (hits[0]!.id === exact.id) assert.ok(Math.abs(hits[0]!.score - exact.score) < 5e-3, 'score = 1 - cosine distance');
    }
    const recall = recallAt10(got, want);
    assert.ok(recall >= 0.95, `recall@10 ${recall}`);
    assert.equal((await statusOf(store)).stats.index - before, queries.length, 'answered by the index, not exact search');
  });

  it('reflects inserts and deletes immediately', async () => {
    const fresh = clusteredVectors(1, DIM, 40, 9999)[0]!;
    await store.chunks.indexBatch([fresh], [{ text: 'fresh', tags: ['new'] }], ['fresh-1']);
    const [top] = await store.chunks.search(fresh, 5);
    assert.equal(top!.id, 'fresh-1');
    await store.db.transaction((tx) => store.chunks.deleteByIds(tx, ['fresh-1', 'c10']));
    const after = await store.chunks.search(fresh, 5);
    assert.ok(!after.some((h) => h.id === 'fresh-1'));
    const near10 = await store.chunks.search(vectors[10]!, 5);
    assert.ok(!near10.some((h) => h.id === 'c10'));
    const st = await statusOf(store);
    assert.equal(st.ready, true);
    assert.equal(st.indexedRows, N - 1);
  });

  it('hits carry each chunk\'s page id, as stored (null without a page), so grouping needs no payload read', async () => {
    const fresh = clusteredVectors(1, DIM, 40, 777)[0]!;
    await store.chunks.indexBatch([fresh], [{ text: 'no page' }], ['pageless-1']);
    const hits = await store.chunks.nearest(fresh, 20);
    assert.equal(hits[0]!.id, 'pageless-1');
    assert.equal(hits[0]!.pageId, null);
    for (const h of hits.slice(1)) assert.equal(h.pageId, `p${h.id.slice(1)}`);
    const exact = await new ExactEngine(store.db, DIM).search({ query: fresh, limit: 20 });
    assert.deepEqual(exact.map((h) => h.pageId), exact.map((h) => (h.id === 'pageless-1' ? null : `p${h.id.slice(1)}`)));
    await store.db.transaction((tx) => store.chunks.deleteByIds(tx, ['pageless-1']));
  });

  it('equal scores come in id order, as exact search orders them (not in the graph\'s order, which changes per build)', async () => {
    const twin = clusteredVectors(1, DIM, 40, 4242)[0]!;
    // Inserted one at a time in an order unlike their ids' (the graph answers ties in an order of its own).
    const dupIds = ['dup-d', 'dup-a', 'dup-g', 'dup-b', 'dup-h', 'dup-c', 'dup-f', 'dup-e'];
    for (const id of dupIds) await store.chunks.indexBatch([twin], [{ text: id }], [id]);
    try {
      await usearchOf(store).whenReady();
      const answered = (await statusOf(store)).stats.index;
      const hits = await store.chunks.nearest(twin, dupIds.length);
      assert.equal((await statusOf(store)).stats.index, answered + 1, 'answered by the index');
      assert.equal(new Set(hits.map((h) => h.score)).size, 1, 'one score for identical vectors');
      assert.deepEqual(hits.map((h) => h.id), [...dupIds].sort());
      const exact = await new ExactEngine(store.db, DIM).search({ query: twin, limit: dupIds.length });
      assert.deepEqual(hits.map((h) => h.id), exact.map((h) => h.id));
    } finally {
      await store.db.transaction((tx) => store.chunks.deleteByIds(tx, dupIds));
    }
  });

  for (const [tag, share] of [['rare', '1%'], ['common', '20%']] as const) {
    it(`a ${share} tag filter returns full pages, matching exact search`, async () => {
      const members = vectors.map((_, i) => i).filter((i) => tagsOf(i).includes(tag) && i !== 10);
      for (const limit of [10, 25]) {
        const got: string[][] = [];
        const want: string[][] = [];
        for (const q of queries.slice(0, 10)) {
          const hits = await store.chunks.search(q, limit, { tags: [tag] });
          assert.equal(hits.length, limit, `${tag} limit ${limit}`);
          assert.ok(hits.every((h) => h.payload.tags.includes(tag)));
          got.push(hits.slice(0, 10).map((h) => h.id));
          want.push(bruteForce(members.map((i) => vectors[i]!), members.map((i) => ids[i]!), q, 10).map((h) => h.id));
        }
        const recall = recallAt10(got, want);
        assert.ok(recall >= 0.95, `filtered recall@10 ${recall}`);
      }
    });
  }

  it('a filter matching fewer rows than the limit returns all of them', async () => {
    await store.chunks.indexBatch(vectors.slice(0, 3), [0, 1, 2].map((i) => ({ text: `t${i}`, tags: ['trio'] })), ['t0', 't1', 't2']);
    const hits = await store.chunks.search(queries[0]!, 10, { tags: ['trio', 'nothing'] });
    assert.deepEqual(hits.map((h) => h.id).sort(), ['t0', 't1', 't2']);
    await store.db.transaction((tx) => store.chunks.deleteByIds(tx, ['t0', 't1', 't2']));
  });
});

describe('usearch whenReady right after a commit', () => {
  it('waits until the rows just committed are in the index (status counts them, searches find them)', async () => {
    const store = await openStore({ path: ':memory:', embedding: identity, vector: engineConfig('usearch') });
    try {
      await usearchOf(store).whenReady();
      // Each commit hands its rows to the index thread and returns; whenReady must wait for them.
      for (let i = 0; i < 600; i += 200) {
        await store.chunks.indexBatch(vectors.slice(i, i + 200), payloads.slice(i, i + 200), ids.slice(i, i + 200));
        await usearchOf(store).whenReady();
        const st = await statusOf(store);
        assert.equal(st.indexedRows, i + 200, `after committing ${i + 200} rows the index holds ${st.indexedRows}`);
        assert.equal(st.ready, true);
      }
      const before = (await statusOf(store)).stats.index;
      const [top] = await store.chunks.search(vectors[599]!, 1);
      assert.equal(top!.id, 'c599');
      assert.equal((await statusOf(store)).stats.index - before, 1, 'answered by the index');
    } finally {
      await store.close();
    }
  });
});

describe('usearch whenReady while inserts are diverted to a catch-up', () => {
  it('starts the catch-up instead of leaving searches on exact until inserts pause', async () => {
    const store = await openStore({ path: ':memory:', embedding: identity });
    // A backlog of 1 row: every commit outruns the index and is read back from DuckDB later (a bulk load).
    const engine = new UsearchEngine(store.db, DIM, {
      params: { dimension: DIM, quantization: 'f16', connectivity: 16, expansionAdd: 128, expansionSearch: 128 },
      maxBacklogRows: 1,
    });
    store.chunks.setEngine(engine);
    try {
      await engine.start();
      await engine.whenReady();
      await store.chunks.indexBatch(vectors.slice(0, 200), payloads.slice(0, 200), ids.slice(0, 200));
      assert.equal(engine.isReady, false, 'the commit went to the catch-up');
      await engine.whenReady();
      assert.equal(engine.isReady, true);
      const st = await statusOf(store);
      assert.equal(st.indexedRows, 200);
      const before = st.stats.index;
      const [top] = await store.chunks.search(vectors[199]!, 1);
      assert.equal(top!.id, 'c199');
      assert.equal((await statusOf(store)).stats.index - before, 1, 'answered by the index');
    } finally {
      await store.close();
    }
  });
});

describe('usearch after one large commit', () => {
  const params = { dimension: DIM, quantization: 'f16', connectivity: 16, expansionAdd: 128, expansionSearch: 128 } as const;
  const many = clusteredVectors(5000, DIM, 40, 23);
  const manyPayloads = many.map((_, i) => ({ text: `big ${i}` }));
  const manyIds = many.map((_, i) => `big${i}`);

  it('sends its rows over several turns of the event loop (other requests are answered between them); exact search answers until the last is sent, then the index', async () => {
    const store = await openStore({ path: ':memory:', embedding: identity });
    const engine = new UsearchEngine(store.db, DIM, { params });
    store.chunks.setEngine(engine);
    // what a status request sees at every turn of the event loop while the commit is sent
    const seen = new Set<string>();
    let watching = true;
    const watch = () => {
      if (!watching) return;
      void engine.status().then((st) => st.detail && seen.add(st.detail));
      setImmediate(watch);
    };
    try {
      await engine.start();
      await engine.whenReady();
      await store.chunks.indexBatch(vectors.slice(0, 10), payloads.slice(0, 10), ids.slice(0, 10));
      assert.equal(engine.isReady, true, 'a small commit goes to the index at once');
      watch();
      await store.chunks.indexBatch(many, manyPayloads, manyIds);
      const [meanwhile] = await store.chunks.search(many[4999]!, 1);
      assert.equal(meanwhile!.id, 'big4999', 'the rows just committed are found at once');
      await engine.whenReady();
      watching = false;
      const sending = [...seen].map((d) => /^sending (\d+) committed rows/.exec(d)?.[1]).filter((n) => n !== undefined).map(Number);
      assert.ok(sending.length >= 2, `the rows went over several turns, seen: ${[...seen].join(' | ')}`);
      assert.ok(Math.max(...sending) < 5000, 'the first turn sent some rows at once');
      const st = await statusOf(store);
      assert.equal(st.indexedRows, 5010);
      assert.equal(st.stats.notReady > 0, true, 'exact search answered while rows were still being sent');
      const before = st.stats.index;
      const [top] = await store.chunks.search(many[4321]!, 1);
      assert.equal(top!.id, 'big4321');
      assert.equal((await statusOf(store)).stats.index - before, 1, 'answered by the index');
    } finally {
      watching = false;
      await store.close();
    }
  });

  it('rows deleted before their turn came never reach the index; closing right after the commit saves every row', async () => {
    const dir = tempDir();
    const path = join(dir, 'doctor.duckdb');
    const open = () => openStore({ path, embedding: identity, vector: { ...engineConfig('usearch'), options: { allowVssInstall: false, usearch: { saveDelayMs: 60_000 } } } });
    let store = await open();
    try {
      await writeAll(store);
      await usearchOf(store).whenReady();
      // One transaction stores the rows and deletes three of them: the deletes reach the engine right after the
      // inserts, while most rows wait for their turn (one row in the first turn, two waiting).
      await store.db.transaction(async (tx) => {
        await store.chunks.writeBatch(tx, many, manyPayloads, manyIds);
        await store.chunks.deleteByIds(tx, ['big10', 'big2500', 'big4999']);
      });
      await usearchOf(store).whenReady();
      const st = await statusOf(store);
      assert.equal(st.rows, N + 4997);
      assert.equal(st.indexedRows, N + 4997, 'the index holds exactly the stored rows');
      const before = st.stats.index;
      for (const gone of [10, 2500, 4999]) {
        const hits = await store.chunks.search(many[gone]!, 5);
        assert.ok(!hits.some((h) => h.id === `big${gone}`), `big${gone} was deleted`);
      }
      assert.equal((await statusOf(store)).stats.index - before, 3, 'answered by the index');
      // a second large commit, and the server stops at once: the rows still waiting go in the saved file
      await store.chunks.indexBatch(many.slice(0, 3000), manyPayloads.slice(0, 3000), manyIds.map((id) => `again-${id}`).slice(0, 3000));
      await store.close();
      assert.equal(readSidecar(sidecarPathOf(path))!.rows, N + 7997, 'the saved index holds every row');
      store = await open();
      await usearchOf(store).whenReady();
      const again = await statusOf(store);
      assert.equal(again.origin, 'loaded');
      assert.equal(again.indexedRows, N + 7997);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('usearch filtered search when the tag lies far from the query', () => {
  it('falls back to exact search instead of returning a short page', async () => {
    const store = await openStore({ path: ':memory:', embedding: identity });
    // Tag 'far' on the 40 rows nearest to one point; queries come from elsewhere.
    const anchor = vectors[0]!;
    const far = new Set(bruteForce(vectors, ids, anchor, 40).map((h) => h.id));
    await store.chunks.indexBatch(vectors, vectors.map((_, i) => ({ text: `x${i}`, tags: far.has(ids[i]!) ? ['far'] : ['near'] })), ids);
    // No over-fetch margin and no exact shortcut: the index path is taken and comes back short.
    const engine = new UsearchEngine(store.db, DIM, {
      params: { dimension: DIM, quantization: 'f16', connectivity: 16, expansionAdd: 128, expansionSearch: 128 },
      filter: { overfetch: 1, maxK: 1_000_000, minSelectivity: 0 },
    });
    store.chunks.setEngine(engine);
    await engine.start();
    await engine.whenReady();
    const q = bruteForce(vectors, ids, anchor, N).at(-1)!; // the row farthest from the anchor
    const qv = vectors[ids.indexOf(q.id)]!;
    const hits = await store.chunks.search(qv, 20, { tags: ['far'] });
    assert.equal(hits.length, 20);
    assert.ok(hits.every((h) => far.has(h.id)));
    assert.ok(engine.stats.shortPageFallbacks > 0, 'the short page was detected');
    await store.close();
  });
});

describe('usearch index file after a mass delete by a process that stops at once (doctor delete without a server)', () => {
  it('is not saved holding more than a quarter removed (usearch aborted the next start loading it, every start); the next start rebuilds', async () => {
    const dir = tempDir();
    const path = join(dir, 'doctor.duckdb');
    const open = () => openStore({ path, embedding: identity, vector: engineConfig('usearch') });
    let store = await open();
    try {
      await writeAll(store);
      await usearchOf(store).whenReady();
      await store.close();
      store = await open();
      await usearchOf(store).whenReady();
      // 60% of the rows in one delete, then the process stops: the rebuild it starts is abandoned
      await store.db.transaction((tx) => store.chunks.deleteByIds(tx, ids.slice(0, 1800)));
      await store.close();
      const sc = readSidecar(sidecarPathOf(path))!;
      assert.ok(sc.removed <= 0.25 * sc.rows, `the saved file holds ${sc.removed} removed entries for ${sc.rows} rows`);
      // before: the process aborted here (free(): corrupted unsorted chunks), at every start
      store = await open();
      await usearchOf(store).whenReady();
      const st = await statusOf(store);
      assert.equal(st.origin, 'built');
      assert.equal(st.indexedRows, N - 1800);
      const before = st.stats.index;
      assert.equal((await store.chunks.search(vectors[2500]!, 1))[0]!.id, 'c2500');
      assert.equal((await statusOf(store)).stats.index - before, 1, 'answered by the index');
      await store.close();
      // a sidecar of the first format (no count of removed entries, so possibly such a file): rebuilt, not loaded
      writeFileSync(sidecarPathOf(path), JSON.stringify({ ...readSidecar(sidecarPathOf(path))!, format: 1, removed: undefined }));
      store = await open();
      await usearchOf(store).whenReady();
      const again = await statusOf(store);
      assert.equal(again.origin, 'built');
      assert.match(String(again.detail), /current/);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** Rows left after the deletes of the index-file tests: N + 50 added, 2 deleted, then 1,099 more. */
const LEFT_AFTER_DELETES = N + 48 - 1099;

describe('usearch index file beside the database', () => {
  const dir = tempDir();
  const path = join(dir, 'doctor.duckdb');
  const open = () => openStore({ path, embedding: identity, vector: engineConfig('usearch') });

  it('is built, saved with a watermark, and loaded (not rebuilt) on the next open', async () => {
    let store = await open();
    await writeAll(store);
    await usearchOf(store).whenReady();
    await store.close();
    assert.ok(existsSync(indexPathOf(path)));
    const sc = readSidecar(sidecarPathOf(path))!;
    assert.equal(sc.rows, N);
    assert.equal(sc.bytes, statSync(indexPathOf(path)).size);
    store = await open();
    await usearchOf(store).whenReady();
    const st = await statusOf(store);
    assert.equal(st.origin, 'loaded');
    assert.equal(st.indexedRows, N);
    const [top] = await store.chunks.search(vectors[42]!, 1);
    assert.equal(top!.id, 'c42');
    const [hit] = await store.chunks.nearest(vectors[42]!, 1);
    assert.equal(hit!.pageId, 'p42', 'page ids are read back with the rows on open');
    await store.close();
  });

  it('rows added or deleted while the index was not running are caught up on open; mass deletes trigger a rebuild', async () => {
    // Written with the exact engine: the index file does not see these changes.
    let store = await openStore({ path, embedding: identity });
    const extra = clusteredVectors(50, DIM, 40, 4242);
    await store.chunks.indexBatch(extra, extra.map((_, i) => ({ text: `e${i}` })), extra.map((_, i) => `e${i}`));
    await store.close();
    store = await open();
    await usearchOf(store).whenReady();
    let st = await statusOf(store);
    assert.equal(st.origin, 'loaded');
    assert.equal(st.indexedRows, N + 50);
    assert.equal((await store.chunks.search(extra[7]!, 1))[0]!.id, 'e7');
    await store.close();

    store = await openStore({ path, embedding: identity });
    await store.db.transaction((tx) => store.chunks.deleteByIds(tx, ['e7', 'c42']));
    await store.close();
    store = await open();
    await usearchOf(store).whenReady();
    st = await statusOf(store);
    assert.equal(st.origin, 'loaded', 'a few deletes are removed from the loaded index, not rebuilt');
    assert.equal(st.indexedRows, N + 48);
    assert.notEqual((await store.chunks.search(vectors[42]!, 1))[0]!.id, 'c42');
    assert.notEqual((await store.chunks.search(extra[7]!, 1))[0]!.id, 'e7');
    await store.close();
    assert.equal(readSidecar(sidecarPathOf(path))!.rows, N + 48, 'saved without the deleted rows');

    // Over a quarter of the rows deleted: the index would be mostly tombstones, so it is rebuilt.
    const gone = ids.slice(0, 1100).filter((id) => id !== 'c42');
    assert.equal(N + 48 - gone.length, LEFT_AFTER_DELETES);
    store = await openStore({ path, embedding: identity });
    await store.db.transaction((tx) => store.chunks.deleteByIds(tx, gone));
    await store.close();
    store = await open();
    await usearchOf(store).whenReady();
    st = await statusOf(store);
    assert.equal(st.origin, 'built', 'rebuilt after mass deletes');
    assert.equal(st.indexedRows, N + 48 - gone.length);
    assert.ok(!(await store.chunks.search(vectors[5]!, 5)).some((h) => h.id === 'c5'));
    await store.close();
  });

  for (const [damage, spoil] of [
    ['deleted', () => rmSync(indexPathOf(path))],
    ['truncated', () => truncateSync(indexPathOf(path), Math.floor(statSync(indexPathOf(path)).size / 2))],
    ['corrupted (same size)', () => {
      const b = readFileSync(indexPathOf(path));
      for (let i = 200; i < b.length; i += 97) b[i] = b[i]! ^ 0xff;
      writeFileSync(indexPathOf(path), b);
    }],
    ['without sidecar', () => rmSync(sidecarPathOf(path))],
  ] as const) {
    it(`a ${damage} index file is rebuilt while exact search answers`, async () => {
      spoil();
      const store = await open();
      const engine = usearchOf(store);
      const early = await engine.status();
      const q = vectors[99]!;
      const hits = await store.chunks.search(q, 10);
      assert.deepEqual(
        hits.map((h) => h.id),
        (await new ExactEngine(store.db, DIM).search({ query: q, limit: 10 })).map((h) => h.id),
      );
      await engine.whenReady();
      const st = await statusOf(store);
      assert.equal(st.ready, true);
      assert.equal(st.origin, 'built');
      assert.equal(st.indexedRows, LEFT_AFTER_DELETES);
      assert.equal(early.ready, false, 'not ready right after open');
      assert.ok(st.stats.notReady >= 1, 'the early search was answered exactly');
      await store.close();
      assert.equal(readSidecar(sidecarPathOf(path))!.rows, LEFT_AFTER_DELETES);
    });
  }
});

describe('usearch automatic saves', () => {
  it('follow changes, but take at most a set share of the time (large indexes save rarely); close always saves', async () => {
    const path = join(tempDir(), 'saves.duckdb');
    // A duty of 0.01%: a save taking S ms holds the next automatic one for 10,000 x S ms.
    const cfg = engineConfig('usearch');
    const vector = { ...cfg, options: { ...cfg.options, usearch: { saveDelayMs: 50, saveDuty: 1e-4 } } };
    const store = await openStore({ path, embedding: identity, vector });
    const engine = usearchOf(store);
    const savedRows = () => readSidecar(sidecarPathOf(path))?.rows;
    await store.chunks.indexBatch(vectors.slice(0, 1000), payloads.slice(0, 1000), ids.slice(0, 1000));
    await engine.whenReady();
    for (let i = 0; i < 400 && savedRows() !== 1000; i++) await new Promise((r) => setTimeout(r, 25));
    assert.equal(savedRows(), 1000, 'the first change is saved a debounce delay later');
    assert.ok((await statusOf(store)).lastSaveMs! > 0);
    await store.chunks.indexBatch(vectors.slice(1000, 1010), payloads.slice(1000, 1010), ids.slice(1000, 1010));
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(savedRows(), 1000, 'the next automatic save is held back');
    assert.match((await statusOf(store)).detail ?? '', /changes not yet saved/);
    await store.close();
    assert.equal(savedRows(), 1010, 'close saves');
  });
});

describe('engine selection', () => {
  it('exact and usearch are chosen by name; auto falls back to usearch when vss cannot load', async () => {
    const store = await openStore({ path: ':memory:', embedding: identity });
    const cfg = engineConfig('exact');
    assert.equal((await createVectorEngine(store.db, DIM, cfg)).name, 'exact');
    const u = await createVectorEngine(store.db, DIM, { ...cfg, vectorEngine: 'usearch' });
    assert.equal(u.name, 'usearch');
    await u.close?.();
    let vssLoads = true;
    try {
      await loadVss(store.db, { allowInstall: false, extensionPath: process.env.DOCTOR_VSS_EXTENSION });
    } catch {
      vssLoads = false;
    }
    const auto = await createVectorEngine(store.db, DIM, { ...cfg, vectorEngine: 'auto' }, undefined, { allowVssInstall: false });
    assert.equal(auto.name, vssLoads ? 'vss' : 'usearch');
    await auto.close?.();
    await store.close();
  });

  it('vss, asked for by name, fails with the reason and what to do when it cannot load', async (t) => {
    const store = await openStore({ path: ':memory:', embedding: identity });
    try {
      await loadVss(store.db, { allowInstall: false, extensionPath: process.env.DOCTOR_VSS_EXTENSION });
      t.skip('vss loads here: nothing to refuse');
      return;
    } catch {
      /* expected on machines without the extension */
    }
    await assert.rejects(
      createVectorEngine(store.db, DIM, engineConfig('vss'), undefined, { allowVssInstall: false }),
      (e: Error) => /vss extension cannot be loaded/.test(e.message) && /DOCTOR_VSS_EXTENSION/.test(e.message),
    );
    await store.close();
  });
});

describe('vss engine', () => {
  let store: Store | undefined;
  let why = '';
  before(async () => {
    const s = await openStore({ path: join(tempDir(), 'vss.duckdb'), embedding: identity });
    try {
      await loadVss(s.db, { allowInstall: false, extensionPath: process.env.DOCTOR_VSS_EXTENSION });
      store = s;
    } catch (e) {
      why = (e as Error).message;
      await s.close();
    }
  });
  after(() => store?.close());

  it('searches through HNSW_INDEX_SCAN with recall@10 >= 0.95 and full filtered pages', async (t) => {
    if (!store) {
      t.skip(`vss cannot load on this machine (set DOCTOR_VSS_EXTENSION to a vss.duckdb_extension to run this test): ${why}`);
      return;
    }
    await writeAll(store);
    const engine = await VssEngine.open(store.db, DIM, { allowInstall: false, extensionPath: process.env.DOCTOR_VSS_EXTENSION });
    store.chunks.setEngine(engine);
    assert.match(await engine.explain(10), /HNSW_INDEX_SCAN/);
    const got: string[][] = [];
    const want: string[][] = [];
    for (const q of queries) {
      got.push((await store.chunks.search(q, 10)).map((h) => h.id));
      want.push(bruteForce(vectors, ids, q, 10).map((h) => h.id));
    }
    assert.ok(recallAt10(got, want) >= 0.95);
    for (const tag of ['rare', 'common']) {
      const hits = await store.chunks.search(queries[0]!, 25, { tags: [tag] });
      assert.equal(hits.length, 25);
      assert.ok(hits.every((h) => h.payload.tags.includes(tag)));
    }
  });
});

describe('doctor index status / rebuild', () => {
  async function run(args: string[]): Promise<string> {
    const { Command } = await import('commander');
    const { addGlobalOptions } = await import('../src/cli/global.js');
    const { registerIndex } = await import('../src/cli/index-cmd.js');
    const program = addGlobalOptions(new Command('doctor')).exitOverride();
    registerIndex(program);
    let out = '';
    const write = process.stdout.write.bind(process.stdout);
    const stderr = process.stderr.write.bind(process.stderr);
    process.stdout.write = ((chunk: string | Uint8Array) => ((out += String(chunk)), true)) as typeof process.stdout.write;
    process.stderr.write = (() => true) as typeof process.stderr.write;
    try {
      await program.parseAsync(['node', 'doctor', ...args]);
    } finally {
      process.stdout.write = write;
      process.stderr.write = stderr;
    }
    return out;
  }

  it('rebuilds the index file and reports rows, indexed rows, size and freshness', async () => {
    const path = join(tempDir(), 'cli.duckdb');
    const store = await openStore({ path, embedding: identity });
    await store.chunks.indexBatch(vectors.slice(0, 500), payloads.slice(0, 500), ids.slice(0, 500));
    await store.close();
    const env = process.env.DOCTOR_VECTOR_ENGINE;
    process.env.DOCTOR_VECTOR_ENGINE = 'usearch';
    try {
      const rebuilt = await run(['index', 'rebuild', '--db-path', path]);
      assert.match(rebuilt, /rebuilt 500 rows in [\d.]+ s: .*cli\.duckdb\.usearch/);
      assert.equal(readSidecar(sidecarPathOf(path))!.rows, 500);
      type Status = EngineStatus & { freshness: string };
      const status = JSON.parse(await run(['index', 'status', '--json', '--db-path', path])) as Status;
      assert.equal(status.engine, 'usearch');
      assert.equal(status.rows, 500);
      assert.equal(status.indexedRows, 500);
      assert.equal(status.freshness, 'current');
      assert.ok(status.indexBytes! > 0);
      const text = await run(['index', 'status', '--db-path', path]);
      assert.match(text, /indexed rows: +500/);
      assert.match(text, /freshness: +current/);
      assert.match(text, /settings: +bf16, connectivity 32, expansion add 128, search auto \(64 at this size\)/);
      // Rows deleted without the index: status says they are removed on the next start (rebuild works too).
      const s2 = await openStore({ path, embedding: identity });
      await s2.db.transaction((tx) => s2.chunks.deleteByIds(tx, ['c1', 'c2']));
      await s2.close();
      const behind = JSON.parse(await run(['index', 'status', '--json', '--db-path', path])) as Status;
      assert.equal(behind.freshness, 'behind');
      assert.match(behind.detail!, /2 rows deleted since it was saved \(removed on the next start\)/);
      assert.equal(behind.rows, 498);
      assert.match(await run(['index', 'rebuild', '--db-path', path]), /rebuilt 498 rows/);
      assert.equal((JSON.parse(await run(['index', 'status', '--json', '--db-path', path])) as Status).freshness, 'current');
      // Other build parameters configured: status names what changed; the next open rebuilds.
      process.env.DOCTOR_USEARCH_QUANTIZATION = 'f16';
      const other = JSON.parse(await run(['index', 'status', '--json', '--db-path', path])) as Status;
      assert.equal(other.freshness, 'other-parameters');
      assert.match(other.detail!, /quantization bf16, now f16/);
      await assert.rejects(run(['index', 'status', '--db-path', join(tempDir(), 'none.duckdb')]), /No Doctor database at/);
    } finally {
      if (env === undefined) delete process.env.DOCTOR_VECTOR_ENGINE;
      else process.env.DOCTOR_VECTOR_ENGINE = env;
      delete process.env.DOCTOR_USEARCH_QUANTIZATION;
    }
  });
});
