/**
 * `doctor migrate qdrant --grpc-url`: the same guarantees as over REST (validation, --on-error, --resume,
 * idempotence, the verification report), against a gRPC server written in the test with connect-node and
 * the service definitions @qdrant/js-client-grpc ships (test/helpers/qdrant-grpc-server.ts).
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import { Code } from '@connectrpc/connect';
import { migrateQdrant, MigrationError, resumeState, type QdrantMigrationOptions } from '../src/migrate/qdrant.js';
import { openStore, type Store } from '../src/store/store.js';
import { DIM, points, uuid } from './helpers/qdrant-fixtures.js';
import { startFakeQdrantGrpc } from './helpers/qdrant-grpc-server.js';
import type { QPoint } from './helpers/qdrant-server.js';
import { tempDir } from './helpers/tmp.js';

// `url` (REST) points nowhere: every call must go over gRPC.
const base = (grpcUrl: string, over: Partial<QdrantMigrationOptions> = {}): QdrantMigrationOptions => ({
  url: 'http://127.0.0.1:9',
  grpcUrl,
  collection: 'doctor_chunks',
  batchSize: 256,
  writeGroupRows: 256,
  onError: 'stop',
  maxRetries: 3,
  ...over,
});
const model = { provider: 'openai', model: 'text-embedding-ada-002', dimension: DIM };
const newStore = () => openStore({ path: join(tempDir(), 'g.duckdb'), embedding: model });
const CLI = ['--import', 'tsx', 'src/cli/main.ts'];
const env = { ...process.env, DOCTOR_LOG_LEVEL: 'warn' };

describe('doctor migrate qdrant --grpc-url', () => {
  it('copies every point: integer and UUID ids, payload fields, missing and extra fields, unicode; bit-identical vectors', async () => {
    const pts = points(1500);
    const q = await startFakeQdrantGrpc({ doctor_chunks: { vectors: { size: DIM, distance: 'Cosine' }, points: pts } });
    const store = await newStore();
    try {
      const progress: number[] = [];
      const r = await migrateQdrant(store, base(q.url), { onProgress: (p) => progress.push(p.read) });
      assert.deepEqual([r.read, r.written, r.skipped, r.total], [1500, 1500, 0, 1500]);
      assert.deepEqual(r.verification && { ...r.verification, sampleMismatches: r.verification.sampleMismatches.length }, { qdrantCount: 1500, rows: 1500, countsMatch: true, sampled: 20, sampleMismatches: 0 });
      assert.equal(progress.at(-1), 1500);
      const payloads = await store.chunks.payloads([uuid(7), '14', '10']);
      assert.equal(payloads.get(uuid(7))!.text, 'chunk 7 — ünïcödé 文档 🚀');
      assert.deepEqual(payloads.get('14')!.tags, ['py', 't2']);
      assert.equal(payloads.get('10')!.domain, null, 'a missing field stays empty');
      const [extra] = await store.db.all<{ extra: string }>("SELECT extra FROM document_embeddings WHERE id = '14'");
      assert.equal(JSON.parse(extra!.extra).source_lang, 'en', 'an unknown field is kept');
      const [row] = await store.db.all<{ e: number[] }>('SELECT embedding AS e FROM document_embeddings WHERE id = ?', [uuid(11)]);
      assert.deepEqual(row!.e, pts[11]!.vector, 'bit-identical float32 values');
      assert.ok(q.requests.every((x) => ['Collections/Get', 'Points/Count', 'Points/Scroll', 'Points/Get'].includes(x)), 'only reads');
      assert.equal(q.requests.filter((x) => x === 'Points/Scroll').length, Math.ceil(1500 / 256));
      // a second run leaves one row per point
      const again = await migrateQdrant(store, base(q.url));
      assert.equal(again.read, 1500);
      assert.equal(await store.chunks.count(), 1500);
      assert.equal(again.verification!.countsMatch, true);
    } finally {
      await store.close();
      await q.close();
    }
  });

  it('named vectors: --vector-name picks one, missing or wrong names list the choices; the deprecated `data` field is read too', async () => {
    const q = await startFakeQdrantGrpc({ doctor_chunks: { vectors: { text: { size: DIM, distance: 'Cosine' }, image: { size: 8, distance: 'Cosine' } }, points: points(300, { named: true }) } });
    q.legacyVectors = true;
    const store = await newStore();
    try {
      await assert.rejects(migrateQdrant(store, base(q.url)), /named vectors \(text, image\).*--vector-name/);
      await assert.rejects(migrateQdrant(store, base(q.url, { vectorName: 'nope' })), /no vector named "nope".*text, image/);
      const r = await migrateQdrant(store, base(q.url, { vectorName: 'text' }));
      assert.deepEqual([r.written, r.verification!.countsMatch, r.verification!.sampleMismatches], [300, true, []]);
    } finally {
      await store.close();
      await q.close();
    }
  });

  it('validation: dimension, distance (Dot accepted with a note, Euclid only with --force), unknown collection, foreign ids', async () => {
    const q = await startFakeQdrantGrpc({
      // its points have the database's dimension, so the page reader (started before the check) reads them well
      big: { vectors: { size: 128, distance: 'Cosine' }, points: points(10) },
      euclid: { vectors: { size: DIM, distance: 'Euclid' }, points: points(10) },
      dot: { vectors: { size: DIM, distance: 'Dot' }, points: points(10) },
    });
    const store = await newStore();
    try {
      await assert.rejects(migrateQdrant(store, base(q.url, { collection: 'big' })), /128-dimensional vectors but this database stores 64/);
      await assert.rejects(migrateQdrant(store, base(q.url, { collection: 'euclid' })), /Euclid distance.*--force/);
      assert.equal(await store.chunks.count(), 0, 'a refused collection writes nothing');
      assert.equal((await migrateQdrant(store, base(q.url, { collection: 'euclid', force: true }))).written, 10);
      await assert.rejects(migrateQdrant(store, base(q.url, { collection: 'dot' })), /point 0: this id already belongs to a chunk from qdrant:euclid/);
      const clash = await migrateQdrant(store, base(q.url, { collection: 'dot', onError: 'skip' }));
      assert.deepEqual([clash.written, clash.skipped, clash.notes.some((n) => /Dot distance: accepted/.test(n))], [0, 10, true]);
      await assert.rejects(migrateQdrant(store, base(q.url, { collection: 'missing' })), (e: Error) => e instanceof MigrationError && /not found at .*Check --collection/.test(e.message));
    } finally {
      await store.close();
      await q.close();
    }
  });

  it('bad points stop the run (nothing of that batch written) or are skipped with --on-error skip and --resume', async () => {
    const pts = points(500);
    (pts[301]!.vector as number[])[5] = Number.NaN; // packed floats carry NaN as it is
    (pts[401]!.vector as number[]).pop();
    const q = await startFakeQdrantGrpc({ doctor_chunks: { vectors: { size: DIM, distance: 'Cosine' }, points: pts } });
    const store = await newStore();
    try {
      await assert.rejects(migrateQdrant(store, base(q.url)), new RegExp(`point ${uuid(301)}: non-finite value \\(NaN\\) at position 5`));
      assert.equal(await store.chunks.count(), 256, 'the first batch committed, the bad one not at all');
      const r = await migrateQdrant(store, base(q.url, { onError: 'skip', resume: true }));
      assert.deepEqual(r.skippedPoints.map((s) => s.id), [uuid(301), uuid(401)]);
      assert.match(r.skippedPoints[1]!.reason, /63 dimensions, expected 64/);
      assert.deepEqual([r.skipped, await store.chunks.count(), r.verification!.countsMatch], [2, 498, true]);
    } finally {
      await store.close();
      await q.close();
    }
  });

  it("a skipped point leaves every other vector of its page exact (read straight into the page's array, or copied when one has another length)", async () => {
    const spoilers: [string, (v: number[]) => void][] = [
      ['a non-finite value', (v) => (v[9] = Number.NaN)],
      ['a missing component', (v) => v.pop()],
    ];
    for (const [what, spoil] of spoilers) {
      const pts = points(300);
      spoil(pts[40]!.vector as number[]); // id 40: the 21st point of the first page
      spoil(pts[3]!.vector as number[]);
      const q = await startFakeQdrantGrpc({ doctor_chunks: { vectors: { size: DIM, distance: 'Cosine' }, points: pts } });
      const store = await newStore();
      try {
        const r = await migrateQdrant(store, base(q.url, { onError: 'skip' }));
        assert.deepEqual(r.skippedPoints.map((s) => s.id).sort(), ['40', uuid(3)].sort(), what);
        const rows = await store.db.all<{ id: string; e: number[] }>('SELECT id, embedding AS e FROM document_embeddings');
        assert.equal(rows.length, 298, what);
        const sent = new Map(pts.map((p) => [String(p.id), p.vector]));
        for (const row of rows) assert.deepEqual(row.e, sent.get(row.id), `${what}: the vector of ${row.id}`);
      } finally {
        await store.close();
        await q.close();
      }
    }
  });

  it('integer ids above 2^53 arrive exactly (uint64), page offsets included', async () => {
    const pts: QPoint[] = points(20).filter((p) => typeof p.id === 'number');
    pts[3]!.id = 2 ** 60; // sorts last: it is also the offset of the second page
    const q = await startFakeQdrantGrpc({ doctor_chunks: { vectors: { size: DIM, distance: 'Cosine' }, points: pts } });
    const store = await newStore();
    try {
      const r = await migrateQdrant(store, base(q.url, { batchSize: 9, writeGroupRows: 9 }));
      assert.deepEqual([r.written, r.skipped, r.verification!.sampleMismatches], [10, 0, []]);
      assert.equal((await store.chunks.payloads(['1152921504606846976'])).size, 1, 'stored under the exact uint64 (2^60)');
    } finally {
      await store.close();
      await q.close();
    }
  });

  it('retries UNAVAILABLE; a server that dies mid-run stops it cleanly and --resume finishes the job', async () => {
    const q = await startFakeQdrantGrpc({ doctor_chunks: { vectors: { size: DIM, distance: 'Cosine' }, points: points(2000) } });
    q.failScroll.push(Code.Unavailable, Code.Unavailable);
    q.dieAfterScrolls = 3;
    const store = await newStore();
    try {
      await assert.rejects(migrateQdrant(store, base(q.url, { maxRetries: 2 })), /Qdrant.*after 3 attempts.*--resume/);
      assert.equal(q.requests.filter((x) => x === 'Points/Scroll').length, 2 + 3 + 1, 'two injected failures retried, three pages, then the call during which it died');
      assert.equal(await store.chunks.count(), 3 * 256, 'exactly the committed batches');
      const q2 = await startFakeQdrantGrpc({ doctor_chunks: { vectors: { size: DIM, distance: 'Cosine' }, points: points(2000) } });
      try {
        const r = await migrateQdrant(store, base(q2.url, { resume: true }));
        assert.equal(r.resumedFrom, 1536, 'the id of the first point not yet committed');
        assert.deepEqual([r.read, await store.chunks.count(), r.verification!.countsMatch], [2000, 2000, true]);
        assert.equal(q2.requests.filter((x) => x === 'Points/Scroll').length, Math.ceil((2000 - 768) / 256), 'only the remaining pages were read');
      } finally {
        await q2.close();
      }
    } finally {
      await store.close();
    }
  });

  it('the CLI: --grpc-url end to end; killed (SIGKILL) halfway, then --resume completes it', async () => {
    // 5,000 points: a transaction of 2,100 (whole pages of 100), then the last one with the 2,900 left
    const q = await startFakeQdrantGrpc({ doctor_chunks: { vectors: { size: DIM, distance: 'Cosine' }, points: points(5000) } });
    q.scrollDelayMs = 60;
    const dir = tempDir();
    const args = ['--data-dir', dir, 'migrate', 'qdrant', '--grpc-url', q.url, '--batch-size', '100'];
    try {
      await assert.rejects(promisify(execFile)(process.execPath, [...CLI, ...args.slice(0, 5), 'localhost:6334'], { env }), /--grpc-url must start with http:\/\/ or https:\/\//);
      const child = spawn(process.execPath, [...CLI, ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      // the progress line comes after a committed group
      let stderr = '';
      child.stderr!.on('data', (d) => (stderr += d));
      for (let i = 0; i < 2400 && !/migrated \d+\/5000/.test(stderr); i++) await new Promise((r) => setTimeout(r, 50));
      assert.match(stderr, /migrated \d+\/5000/, 'the migration was under way');
      child.kill('SIGKILL');
      await exited;
      const store: Store = await openStore({ path: join(dir, 'doctor.duckdb'), embedding: model });
      try {
        const rows = await store.chunks.count();
        const state = (await resumeState(store, 'doctor_chunks'))!;
        assert.ok(rows > 0 && rows < 5000, 'killed halfway, with whole batches committed');
        assert.equal(rows, state.written, 'rows and the saved resume point agree');
      } finally {
        await store.close();
      }
      q.scrollDelayMs = 0;
      const out = await promisify(execFile)(process.execPath, [...CLI, ...args, '--resume', '--json'], { env });
      const report = JSON.parse(out.stdout);
      assert.deepEqual([report.read, report.written, report.verification.countsMatch, report.verification.sampleMismatches], [5000, 5000, true, []]);
      const again = await openStore({ path: join(dir, 'doctor.duckdb'), embedding: model });
      assert.equal(await again.chunks.count(), 5000);
      await again.close();
    } finally {
      await q.close();
    }
  });
});
