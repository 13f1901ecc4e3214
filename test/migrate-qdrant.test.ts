import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import { setMeta } from '../src/db/meta.js';
import { migrateQdrant, migrationRowGroupSize, MigrationError, resumeState, WRITE_GROUP_ROWS, type QdrantMigrationOptions, type ResumeState } from '../src/migrate/qdrant.js';
import { openStore, EmbeddingMismatchError, type Store } from '../src/store/store.js';
import { startFakeQdrant, type QPoint } from './helpers/qdrant-server.js';
import { clusteredVectors } from './helpers/vectors.js';
import { tempDir } from './helpers/tmp.js';

import { DIM, points, uuid } from './helpers/qdrant-fixtures.js';

const base = (url: string, over: Partial<QdrantMigrationOptions> = {}): QdrantMigrationOptions => ({ url, collection: 'doctor_chunks', batchSize: 256, writeGroupRows: 256, onError: 'stop', maxRetries: 3, ...over });
const model = { provider: 'openai', model: 'text-embedding-ada-002', dimension: DIM };
const newStore = () => openStore({ path: join(tempDir(), 'm.duckdb'), embedding: model });
const count = async (s: Store) => s.chunks.count();
const pick = (st: ResumeState | undefined) => st && { written: st.written, next_offset: st.next_offset, done: st.done };

describe('doctor migrate qdrant', () => {
  it('copies every point: integer and UUID ids, payload fields, missing and extra fields, unicode; Qdrant only read', async () => {
    const pts = points(3000);
    const q = await startFakeQdrant({ doctor_chunks: { vectors: { size: DIM, distance: 'Cosine' }, points: pts } });
    const store = await newStore();
    try {
      const progress: number[] = [];
      const report = await migrateQdrant(store, base(q.url), { onProgress: (p) => progress.push(p.read) });
      assert.equal(report.read, 3000);
      assert.equal(report.written, 3000);
      assert.equal(report.skipped, 0);
      assert.equal(await count(store), 3000);
      assert.deepEqual(report.verification && { ...report.verification, sampleMismatches: report.verification.sampleMismatches.length }, { qdrantCount: 3000, rows: 3000, countsMatch: true, sampled: 20, sampleMismatches: 0 });
      assert.ok(progress.length >= 12 && progress.at(-1) === 3000);
      const ids = [uuid(7), '14', '10'];
      const payloads = await store.chunks.payloads(ids);
      assert.equal(payloads.get(uuid(7))!.text, 'chunk 7 — ünïcödé 文档 🚀');
      assert.deepEqual(payloads.get('14')!.tags, ['py', 't2']);
      assert.equal(payloads.get('10')!.domain, null);
      const [extra] = await store.db.all<{ extra: string }>("SELECT extra FROM document_embeddings WHERE id = '14'");
      assert.equal(JSON.parse(extra!.extra).source_lang, 'en');
      const [hit] = await store.chunks.search(Float32Array.from(pts[11]!.vector as number[]), 1);
      assert.equal(hit!.id, uuid(11));
      assert.ok(Math.abs(hit!.score - 1) < 1e-5);
      assert.ok(q.requests.every((r) => r.method === 'GET' || /\/points(\/scroll|\/count)?$/.test(r.path)), 'only reads');
      // the keyword index covers migrated chunks too
      const kw = await store.keyword.search('chunk 7', 5);
      assert.ok(kw.length > 0);
    } finally {
      await store.close();
      await q.close();
    }
  });

  it('a 1536-d collection (as the Python Doctor wrote it) keeps every float32 exactly', async () => {
    const D = 1536;
    const vs = clusteredVectors(300, D, 10, 11);
    const pts: QPoint[] = vs.map((v, i) => ({ id: uuid(i), vector: Array.from(v), payload: { text: `chunk ${i}`, page_id: `p${i % 30}`, url: `https://docs.test/${i % 30}`, domain: 'docs.test', tags: ['py'], job_id: 'j' } }));
    const q = await startFakeQdrant({ doctor_chunks: { vectors: { size: D, distance: 'Cosine' }, points: pts } });
    const store = await openStore({ path: join(tempDir(), 'big.duckdb'), embedding: { provider: 'openai', model: 'text-embedding-ada-002', dimension: D } });
    try {
      const r = await migrateQdrant(store, base(q.url, { batchSize: 128 }));
      assert.equal(r.written, 300);
      assert.equal(r.dimension, D);
      assert.deepEqual([r.verification!.countsMatch, r.verification!.sampled, r.verification!.sampleMismatches], [true, 20, []]);
      const [row] = await store.db.all<{ e: number[] }>('SELECT embedding AS e FROM document_embeddings WHERE id = ?', [uuid(123)]);
      assert.deepEqual(row!.e, Array.from(vs[123]!), 'bit-identical float32 values');
      const [hit] = await store.chunks.search(vs[42]!, 1);
      assert.equal(hit!.id, uuid(42));
    } finally {
      await store.close();
      await q.close();
    }
  });

  it('a second run writes nothing new (one row per point)', async () => {
    const q = await startFakeQdrant({ doctor_chunks: { vectors: { size: DIM, distance: 'Cosine' }, points: points(600) } });
    const store = await newStore();
    try {
      await migrateQdrant(store, base(q.url));
      const again = await migrateQdrant(store, base(q.url));
      assert.equal(again.read, 600);
      assert.equal(await count(store), 600);
      assert.equal(again.verification!.countsMatch, true);
    } finally {
      await store.close();
      await q.close();
    }
  });

  it('named vectors: --vector-name picks one; missing or wrong names list the choices', async () => {
    const q = await startFakeQdrant({ doctor_chunks: { vectors: { text: { size: DIM, distance: 'Cosine' }, image: { size: 8, distance: 'Cosine' } }, points: points(300, { named: true }) } });
    const store = await newStore();
    try {
      await assert.rejects(migrateQdrant(store, base(q.url)), /named vectors \(text, image\).*--vector-name/);
      await assert.rejects(migrateQdrant(store, base(q.url, { vectorName: 'nope' })), /no vector named "nope".*text, image/);
      const r = await migrateQdrant(store, base(q.url, { vectorName: 'text' }));
      assert.equal(r.written, 300);
      assert.equal(r.verification!.sampleMismatches.length, 0);
    } finally {
      await store.close();
      await q.close();
    }
  });

  it('refuses a dimension mismatch, and a non-cosine distance unless forced; Dot is accepted with a note', async () => {
    const q = await startFakeQdrant({
      // its points have the database's dimension, so the page reader (started before the check) reads them well
      big: { vectors: { size: 128, distance: 'Cosine' }, points: points(10) },
      euclid: { vectors: { size: DIM, distance: 'Euclid' }, points: points(10) },
      dot: { vectors: { size: DIM, distance: 'Dot' }, points: points(10) },
    });
    const store = await newStore();
    try {
      await assert.rejects(migrateQdrant(store, base(q.url, { collection: 'big' })), /128-dimensional vectors but this database stores 64/);
      await assert.rejects(migrateQdrant(store, base(q.url, { collection: 'euclid' })), /Euclid distance.*--force/);
      assert.equal(await count(store), 0, 'a refused collection writes nothing');
      assert.equal((await migrateQdrant(store, base(q.url, { collection: 'euclid', force: true }))).written, 10);
      // 'dot' reuses the ids of 'euclid': its points must not overwrite the chunks migrated from there
      await assert.rejects(migrateQdrant(store, base(q.url, { collection: 'dot' })), /point 0: this id already belongs to a chunk from qdrant:euclid \(10 such point\(s\).*own database/);
      const clash = await migrateQdrant(store, base(q.url, { collection: 'dot', onError: 'skip' }));
      assert.deepEqual([clash.written, clash.skipped, clash.skippedPoints[0]!.reason], [0, 10, 'id already used by a chunk from qdrant:euclid']);
      assert.equal(await count(store), 10);
      const [src] = await store.db.all<{ n: number }>("SELECT count(*)::INTEGER AS n FROM document_embeddings WHERE json_extract_string(extra, '$._source') = 'qdrant:euclid'");
      assert.equal(src!.n, 10, 'the euclid chunks are intact');
      const own = await newStore();
      try {
        const dot = await migrateQdrant(own, base(q.url, { collection: 'dot' }));
        assert.match(dot.notes.join(' '), /Dot distance: accepted/);
        assert.equal(dot.written, 10);
      } finally {
        await own.close();
      }
      await assert.rejects(migrateQdrant(store, base(q.url, { collection: 'missing' })), /not found/);
    } finally {
      await store.close();
      await q.close();
    }
    const other = await openStore({ path: join(tempDir(), 'o.duckdb'), embedding: { provider: 'lexical', model: 'lexical-hash-v1', dimension: DIM } });
    await other.close();
    await assert.rejects(openStore({ path: other.db.path, embedding: model }), EmbeddingMismatchError);
  });

  it('bad points stop the run by default (nothing of the batch written) or are skipped and reported', async () => {
    const pts = points(500);
    // Qdrant orders integer ids before UUIDs: both bad points are UUIDs in the second batch
    (pts[301]!.vector as number[])[5] = Number.NaN; // JSON turns NaN into null
    (pts[401]!.vector as number[]).pop();
    const q = await startFakeQdrant({ doctor_chunks: { vectors: { size: DIM, distance: 'Cosine' }, points: pts } });
    const store = await newStore();
    try {
      await assert.rejects(migrateQdrant(store, base(q.url)), (e: Error) => e instanceof MigrationError && new RegExp(`point ${uuid(301)}: non-finite value \\(null\\) at position 5`).test(e.message));
      assert.equal(await count(store), 256, 'the first batch committed, the bad one not at all');
      const r = await migrateQdrant(store, base(q.url, { onError: 'skip', resume: true }));
      assert.equal(r.skipped, 2);
      assert.deepEqual(r.skippedPoints.map((s) => s.id), [uuid(301), uuid(401)]);
      assert.match(r.skippedPoints[1]!.reason, /63 dimensions, expected 64/);
      assert.equal(await count(store), 498);
      assert.equal(r.verification!.countsMatch, true);
    } finally {
      await store.close();
      await q.close();
    }
  });

  it('a run that stops inside its first transaction (appended as its pages arrive, TAKE_ROWS at a time) leaves none of it, and --resume reads it again', async () => {
    const pts = points(4000);
    // integer ids come first in Qdrant's order: id 2400 is the 1,201st point, in the fifth page of the first
    // group, after the transaction has appended the first four (1,024 rows)
    (pts[2400]!.vector as number[])[7] = Number.NaN;
    const opts = (url: string, over: Partial<QdrantMigrationOptions> = {}) => base(url, { writeGroupRows: 4096, ...over });
    const q = await startFakeQdrant({ doctor_chunks: { vectors: { size: DIM, distance: 'Cosine' }, points: pts } });
    const store = await newStore();
    try {
      await assert.rejects(migrateQdrant(store, opts(q.url)), /point 2400: non-finite value/);
      assert.equal(await count(store), 0, 'the four pages before the bad one are rolled back with their transaction');
      q.dieAfterScrolls = q.requests.filter((x) => x.path.endsWith('/scroll')).length + 6;
      await assert.rejects(migrateQdrant(store, opts(q.url, { onError: 'skip', maxRetries: 1 })), /--resume/);
      assert.equal(await count(store), 0, 'a server that dies within the first group: nothing of it committed');
      const q2 = await startFakeQdrant({ doctor_chunks: { vectors: { size: DIM, distance: 'Cosine' }, points: pts } });
      try {
        const r = await migrateQdrant(store, opts(q2.url, { onError: 'skip', resume: true }));
        assert.equal(r.resumedFrom, undefined, 'nothing to resume from');
        assert.equal(r.read, 4000);
        assert.deepEqual(r.skippedPoints.map((s) => s.id), ['2400']);
        assert.equal(await count(store), 3999);
        assert.equal(r.verification!.countsMatch, true);
      } finally {
        await q2.close();
      }
    } finally {
      await store.close();
      await q.close();
    }
  });

  it('ids that are neither unsigned integers nor UUIDs are skipped with the reason, or stop the run', async () => {
    const pts = points(20);
    pts[2]!.id = -7;
    pts[4]!.id = 2.5;
    pts[6]!.id = 'x'.repeat(200);
    (pts[8] as { id: unknown }).id = { uuid: 'not how Qdrant writes ids' };
    const q = await startFakeQdrant({ doctor_chunks: { vectors: { size: DIM, distance: 'Cosine' }, points: pts } });
    const store = await newStore();
    try {
      await assert.rejects(migrateQdrant(store, base(q.url)), (e: Error) => e instanceof MigrationError && /neither an unsigned integer nor a UUID.*--on-error skip/.test(e.message));
      assert.equal(await count(store), 0);
      const r = await migrateQdrant(store, base(q.url, { onError: 'skip' }));
      assert.deepEqual(r.skippedPoints.map((s) => s.reason).sort(), [
        'id "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…" is neither an unsigned integer nor a UUID',
        'id -7 is neither an unsigned integer nor a UUID',
        'id 2.5 is neither an unsigned integer nor a UUID',
        'id {"uuid":"not how Qdrant writes ids"} is neither an unsigned integer nor a UUID',
      ]);
      assert.equal(r.written, 16);
      assert.equal(await count(store), 16);
      assert.equal(r.verification!.countsMatch, true);
    } finally {
      await store.close();
      await q.close();
    }
  });

  it('integer ids above 2^53 are read exactly (as the server wrote them), page offsets included', async () => {
    const pts = points(20).filter((p) => typeof p.id === 'number');
    pts[3]!.id = 2 ** 60; // sorts last: it is also the offset of the second page
    const q = await startFakeQdrant({ doctor_chunks: { vectors: { size: DIM, distance: 'Cosine' }, points: pts } });
    const store = await newStore();
    try {
      const r = await migrateQdrant(store, base(q.url, { batchSize: 9, writeGroupRows: 9 }));
      assert.deepEqual([r.written, r.skipped, r.verification!.sampleMismatches], [10, 0, []]);
      assert.equal((await store.chunks.payloads(['1152921504606847000'])).size, 1, 'the id exactly as the server wrote it');
      assert.ok(q.requests.filter((x) => x.path.endsWith('/scroll')).length === 2);
    } finally {
      await store.close();
      await q.close();
    }
  });

  it('retries 503s; a server that dies mid-run stops it cleanly and --resume finishes the job', async () => {
    const q = await startFakeQdrant({ doctor_chunks: { vectors: { size: DIM, distance: 'Cosine' }, points: points(2000) } });
    q.failScroll.push(503, 503);
    q.dieAfterScrolls = 3;
    const store = await newStore();
    try {
      await assert.rejects(migrateQdrant(store, base(q.url, { maxRetries: 2 })), /cannot reach Qdrant.*--resume/);
      const afterCrash = await count(store);
      assert.equal(afterCrash, 3 * 256, 'exactly the committed batches');
      const q2 = await startFakeQdrant({ doctor_chunks: { vectors: { size: DIM, distance: 'Cosine' }, points: points(2000) } });
      try {
        const r = await migrateQdrant(store, base(q2.url, { resume: true }));
        assert.equal(r.resumedFrom, 1536, 'the id of the first point not yet committed (ids sort 0, 2, 4, ...)');
        assert.equal(r.read, 2000, 'cumulative over both runs');
        assert.equal(await count(store), 2000);
        assert.equal(r.verification!.countsMatch, true);
        const scrolls = q2.requests.filter((x) => x.path.endsWith('/scroll')).length;
        assert.equal(scrolls, Math.ceil((2000 - 768) / 256), 'only the remaining pages were read');
      } finally {
        await q2.close();
      }
    } finally {
      await store.close();
    }
  });

  it('the resume point is read back whichever of its two keys the last transaction wrote, and an earlier version\'s is resumed from', async () => {
    const collection = () => ({ doctor_chunks: { vectors: { size: DIM, distance: 'Cosine' as const }, points: points(2000) } });
    const store = await newStore();
    const servers: Awaited<ReturnType<typeof startFakeQdrant>>[] = [];
    const server = async (dieAfter?: number) => {
      const q = await startFakeQdrant(collection());
      q.dieAfterScrolls = dieAfter;
      servers.push(q);
      return q.url;
    };
    try {
      // one transaction per page of 256: 2 committed, then 3 more (the last one written to the other key)
      await assert.rejects(migrateQdrant(store, base(await server(2), { maxRetries: 0 })), /--resume/);
      assert.equal(await count(store), 512);
      assert.deepEqual(pick(await resumeState(store, 'doctor_chunks')), { written: 512, next_offset: 1024, done: false });
      await assert.rejects(migrateQdrant(store, base(await server(3), { resume: true, maxRetries: 0 })), /--resume/);
      assert.equal(await count(store), 1280);
      // the 1,000 even integer ids come first, then the UUIDs of the odd ones: the 1,281st point is uuid(561)
      assert.deepEqual(pick(await resumeState(store, 'doctor_chunks')), { written: 1280, next_offset: uuid(561), done: false });
      const r = await migrateQdrant(store, base(await server(), { resume: true }));
      assert.equal(r.resumedFrom, uuid(561));
      assert.equal(await count(store), 2000);
      assert.equal(r.verification!.countsMatch, true);
      assert.deepEqual(pick(await resumeState(store, 'doctor_chunks')), { written: 2000, next_offset: null, done: true });
    } finally {
      await store.close();
    }
    // a resume point as versions before this one saved it: one key, no serial
    const legacy = await newStore();
    try {
      await setMeta(legacy.db, 'migration:qdrant:doctor_chunks', JSON.stringify({ next_offset: 1536, read: 768, written: 768, skipped: 0, done: false }));
      const r = await migrateQdrant(legacy, base(await server(), { resume: true }));
      assert.equal(r.resumedFrom, 1536);
      assert.equal(r.read, 2000, 'cumulative over both runs');
      assert.equal(await count(legacy), 2000 - 768, 'only the points after the saved offset were read');
      assert.deepEqual(pick(await resumeState(legacy, 'doctor_chunks')), { written: 2000, next_offset: null, done: true });
    } finally {
      await legacy.close();
      for (const q of servers) await q.close();
    }
  });

  it("as the CLI writes (2,048-point transactions into 2,048-row groups): whole groups skip the WAL, the rest joins the last one, a kill-free stop resumes, a plain open reads every point", async () => {
    const D = 256;
    const vs = clusteredVectors(5000, D, 10, 3);
    const pts: QPoint[] = vs.map((v, i) => ({ id: i % 2 ? uuid(i) : i, vector: Array.from(v), payload: { text: `chunk ${i} ünïcödé`, page_id: `p${i % 50}`, tags: ['py'] } }));
    const collection = { doctor_chunks: { vectors: { size: D, distance: 'Cosine' }, points: pts } };
    assert.equal(migrationRowGroupSize(256), WRITE_GROUP_ROWS);
    assert.equal(migrationRowGroupSize(1000), undefined, 'pages that do not tile a row group keep the default');
    const path = join(tempDir("doctor-it's-"), 'bulk.duckdb'); // a quote in the path: ATTACH takes it as a literal
    const embedding = { provider: 'openai', model: 'text-embedding-ada-002', dimension: D };
    const opts = (url: string, over: Partial<QdrantMigrationOptions> = {}): QdrantMigrationOptions => ({ url, collection: 'doctor_chunks', batchSize: 256, onError: 'stop', maxRetries: 1, ...over });
    const q = await startFakeQdrant(collection);
    q.dieAfterScrolls = 10; // after the first group of 8 pages, within the second
    let store = await openStore({ path, embedding, rowGroupSize: migrationRowGroupSize(256) });
    try {
      await assert.rejects(migrateQdrant(store, opts(q.url)), /--resume/);
      assert.equal(await count(store), WRITE_GROUP_ROWS, 'the one committed group');
      // 2,048 vectors of 1 KB went straight into the file: the WAL holds little more than the resume point
      const wal = existsSync(`${path}.wal`) ? statSync(`${path}.wal`).size : 0;
      assert.ok(wal < 512 * 1024, `WAL ${wal} bytes`);
      const q2 = await startFakeQdrant(collection);
      try {
        // the 2,952 points left are one transaction (not 2,048 then 904 through the WAL): when it commits,
        // before the final checkpoint, the WAL is still small
        const walAtLastCommit: number[] = [];
        const r = await migrateQdrant(store, opts(q2.url, { resume: true }), {
          onProgress: (p) => walAtLastCommit.push(p.read === 5000 && existsSync(`${path}.wal`) ? statSync(`${path}.wal`).size : -1),
        });
        assert.equal(walAtLastCommit.length, 1, 'one transaction');
        assert.ok(walAtLastCommit[0]! < 512 * 1024, `WAL ${walAtLastCommit[0]} bytes`);
        assert.equal(r.read, 5000);
        assert.equal(r.verification!.countsMatch, true);
        assert.equal(r.verification!.sampleMismatches.length, 0);
      } finally {
        await q2.close();
      }
    } finally {
      await store.close();
      await q.close();
    }
    store = await openStore({ path, embedding });
    try {
      assert.equal(await count(store), 5000);
      const [hit] = await store.chunks.search(vs[4321]!, 1);
      assert.equal(hit!.id, uuid(4321));
      assert.equal((await store.chunks.payloads([uuid(4321)])).get(uuid(4321))!.text, 'chunk 4321 ünïcödé');
      assert.ok((await store.keyword.search('chunk 4321', 3)).length > 0);
    } finally {
      await store.close();
    }
  });

  it('collection info, count and the verification sample are retried like pages (the reader thread asks them), and named when they fail for good', async () => {
    const q = await startFakeQdrant({ doctor_chunks: { vectors: { size: DIM, distance: 'Cosine' }, points: points(300) } });
    const store = await newStore();
    try {
      const other = () => q.requests.filter((r) => !r.path.endsWith('/scroll')).length;
      // each of the three requests may take all three failures: maxRetries is 3
      q.failOther.push(503, 503, 503);
      const r = await migrateQdrant(store, base(q.url));
      assert.deepEqual([r.written, r.total, r.verification!.countsMatch, r.verification!.sampled, r.verification!.sampleMismatches], [300, 300, true, 20, []]);
      assert.equal(other(), 3 + 3, 'info, count and the sample, plus the three failed attempts');
      q.failOther.push(503);
      const before = other();
      await assert.rejects(migrateQdrant(store, base(q.url, { maxRetries: 0, resume: true })), /^MigrationError: (reading collection "doctor_chunks"|counting points): Qdrant answered 503 .*after 1 attempts/);
      assert.equal(other() - before, 2, 'info and count were asked once each');
      assert.equal(await count(store), 300, 'what was migrated is intact');
    } finally {
      await store.close();
      await q.close();
    }
  });

  it('malformed Qdrant answers are retried, then reported', async () => {
    const q = await startFakeQdrant({ doctor_chunks: { vectors: { size: DIM, distance: 'Cosine' }, points: points(50) } });
    q.malformedScroll = true;
    const store = await newStore();
    try {
      const r = await migrateQdrant(store, base(q.url));
      assert.equal(r.written, 50);
    } finally {
      await store.close();
      await q.close();
    }
  });

  it('a server that pages in a circle (an offset comes back) stops the run with a clear error, keeping what was committed', async () => {
    const q = await startFakeQdrant({ doctor_chunks: { vectors: { size: DIM, distance: 'Cosine' }, points: points(2000) } });
    q.ignoreOffset = true;
    const store = await newStore();
    try {
      await assert.rejects(migrateQdrant(store, base(q.url)), (e: Error) => {
        assert.ok(e instanceof MigrationError, e.message);
        assert.match(e.message, /returned the page offset \d+ a second time \(after 256 points of this run\).*never end.*--resume/);
        return true;
      });
      assert.equal(await count(store), 256, 'the first page, committed before the circle showed');
      assert.equal(q.requests.filter((x) => x.path.endsWith('/scroll')).length, 2, 'no scroll after the repeated offset');
    } finally {
      await store.close();
      await q.close();
    }
  });

  it('the CLI command runs end to end with a report, and --dry-run writes nothing', async () => {
    const q = await startFakeQdrant({ doctor_chunks: { vectors: { size: DIM, distance: 'Cosine' }, points: points(400) } });
    const dir = tempDir();
    const run = promisify(execFile);
    try {
      const dry = await run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', '--data-dir', dir, 'migrate', 'qdrant', '--url', q.url, '--dry-run'], { env: { ...process.env, DOCTOR_LOG_LEVEL: 'warn' } });
      assert.match(dry.stdout, /Dry run of collection "doctor_chunks".*points read 400, written 400/s);
      const out = await run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', '--data-dir', dir, 'migrate', 'qdrant', '--url', q.url, '--batch-size', '100', '--json'], { env: { ...process.env, DOCTOR_LOG_LEVEL: 'warn' } });
      const report = JSON.parse(out.stdout);
      assert.equal(report.written, 400);
      assert.equal(report.verification.countsMatch, true);
      const store = await openStore({ path: join(dir, 'doctor.duckdb'), embedding: model });
      assert.equal(await store.chunks.count(), 400);
      await store.close();
    } finally {
      await q.close();
    }
  });
});
