/**
 * Switching a database to another embedding model (`doctor reembed`, src/service/reembed.ts) in process:
 * real DuckDB files, the real local embedder (tiny ONNX BERT). reembed-crash.test.ts kills the CLI.
 */
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openApp } from '../src/app/open.js';
import { Database } from '../src/db/database.js';
import { getAllMeta } from '../src/db/meta.js';
import { LocalEmbedder, openEmbedder } from '../src/embed/index.js';
import { chunkSearchText } from '../src/ingest/extract/chunker.js';
import { silentLogger } from '../src/log.js';
import { searchDocs } from '../src/service/index.js';
import { reembed, type ReembedProgress } from '../src/service/reembed.js';
import { beginReembed, stageVectors, swapInStaged, unstagedChunks } from '../src/store/reembed.js';
import { EmbeddingMismatchError } from '../src/store/store.js';
import type { UsearchEngine } from '../src/vector/usearch.js';
import { addPages } from './helpers/pages.js';
import { activeSet, lexicalDb, maxDiff, pages, rows, searchText } from './helpers/reembed-db.js';
import { makeTinyModel } from './helpers/tiny-model.js';
import { tempDir } from './helpers/tmp.js';

describe('reembed', () => {
  const root = tempDir();
  const modelDir = makeTinyModel(join(root, 'tiny'));
  let tiny: LocalEmbedder;
  before(async () => {
    tiny = (await openEmbedder({ provider: 'local', model: modelDir })) as LocalEmbedder;
  });
  after(async () => {
    await tiny?.close();
  });

  it('re-embeds every chunk from its text, keeps ids and seqs, and switches searches in one step while they run', async () => {
    const { config, lexical, ctx } = await lexicalDb(30, 64);
    const before = await rows(ctx.store.db);
    await ctx.close();
    const app = await openApp(config, { embedder: tiny, log: silentLogger, keepRecordedEmbedding: true });
    try {
      // The app opened with the recorded model; searches go on with it during the re-embedding.
      assert.equal(app.store.embedding.model, lexical.model);
      app.embedder = lexical;
      let stop = false;
      let searches = 0;
      const failures: string[] = [];
      const searching = (async () => {
        while (!stop) {
          try {
            const r = await searchDocs(app, { query: 'retry after a timeout error', mode: 'vector', max_results: 5 });
            assert.ok(r.results.length > 0);
            searches++;
          } catch (e) {
            failures.push((e as Error).message);
          }
          await new Promise((r) => setImmediate(r));
        }
      })();
      const progress: ReembedProgress[] = [];
      let added = false;
      const result = await reembed(app, {
        target: tiny,
        batchSize: 16,
        onProgress: (p) => {
          progress.push(p);
          if (!added) {
            added = true; // a crawl stores a page while the re-embedding runs
            void addPages(app, pages(1, 'late'));
          }
        },
      });
      stop = true;
      await searching;
      assert.deepEqual(failures, []);
      assert.ok(searches > 0);
      assert.equal(result.status, 'switched');
      assert.equal(result.to.model, 'tiny');
      assert.equal(app.embedder, tiny);
      assert.equal(app.store.embedding.dimension, 32);
      assert.equal(progress.at(-1)!.phase, 'switched');
      const after = await rows(app.store.db);
      assert.equal(result.chunks, after.length);
      assert.ok(after.length > before.length, 'the page stored during the re-embedding is there');
      // Same chunks (ids and seqs), new vectors.
      const bySeq = new Map(after.map((r) => [r.seq, r]));
      for (const b of before) assert.equal(bySeq.get(b.seq)?.id, b.id);
      const expected = await tiny.embed(after.map(searchText));
      after.forEach((r, i) => assert.ok(maxDiff(r.embedding, expected[i]!) < 1e-4, r.id));
      const meta = await getAllMeta(app.store.db);
      assert.equal(meta.embedding_provider, 'local');
      assert.equal(meta.embedding_model, 'tiny');
      assert.equal(meta.embedding_dimension, '32');
      assert.equal(meta.reembed_model, undefined);
      assert.equal((await app.store.db.all<{ n: number }>("SELECT count(*)::INTEGER AS n FROM duckdb_tables() WHERE table_name = 'reembed_vectors'"))[0]!.n, 0);
      // Searches now embed with the new model; keyword search is untouched.
      const v = await searchDocs(app, { query: 'late database guide', mode: 'vector', max_results: 3 });
      assert.equal(v.results.length, 3);
      const k = await searchDocs(app, { query: 'late', mode: 'keyword', max_results: 3 });
      assert.ok(k.results.some((r) => r.page_id === 'late0'));
    } finally {
      await app.close();
    }
    // The database now refuses the old model, with the way back.
    await assert.rejects(openApp(config, { embedder: lexical, log: silentLogger }), (e: Error) => e instanceof EmbeddingMismatchError && /doctor reembed/.test(e.message));
    const reopened = await openApp(config, { embedder: tiny, log: silentLogger });
    await reopened.close();
  });

  it('names a re-embedding in progress when the new model is configured before it finished', async () => {
    const { config, ctx } = await lexicalDb(4, 64);
    await beginReembed(ctx.store.db, { provider: 'local', model: 'tiny', dimension: 32 });
    const some = await unstagedChunks(ctx.store.db, 0n, 3);
    await stageVectors(ctx.store.db, 32, some.map((r, i) => ({ seq: r.seq, vector: new Float32Array(32).fill(i + 1) })));
    await ctx.close();
    await assert.rejects(openApp(config, { embedder: tiny, log: silentLogger }), /re-embedding to local\/tiny \(32 dimensions\) is in progress \(3 of \d+ chunks\): run `doctor reembed` to finish it/);
  });

  it('waits while crawls run in this process, then switches', async () => {
    const { ctx } = await lexicalDb(6, 64);
    let running = 1;
    ctx.jobs = { submit: async () => {}, cancel: async () => false, activeJobs: () => running };
    const phases: string[] = [];
    try {
      const r = await reembed(ctx, {
        target: tiny,
        retryMs: 50,
        onProgress: (p) => {
          phases.push(p.phase === 'waiting' ? `waiting: ${p.detail}` : p.phase);
          if (p.phase === 'waiting' && phases.filter((x) => x.startsWith('waiting')).length === 3) running = 0; // the crawl ends
        },
      });
      assert.equal(r.status, 'switched');
      assert.ok(phases.some((p) => /waiting: waiting for 1 running crawl job to finish/.test(p)), phases.join(', '));
      assert.equal(phases.at(-1), 'switched');
      assert.equal(ctx.store.embedding.model, 'tiny');
    } finally {
      await ctx.close();
    }
  });

  it('same dimension, usearch engine: the old index file is never served for the new vectors, even after a crash at the switch', async () => {
    const { config, lexical, ctx } = await lexicalDb(24, 32, 'usearch');
    const oldEngine = ctx.store.chunks.vectorEngine as UsearchEngine;
    await oldEngine.whenReady();
    const before = await oldEngine.status(); // said when the index is not saved below (failed once in CI under load)
    await ctx.close(); // saves the index of the old vectors
    const indexFile = `${config.dbPath}.usearch`;
    assert.ok(existsSync(indexFile), `no index file after close; the engine said before: ${JSON.stringify(before)}`);
    const oldIndexMtime = statSync(indexFile).mtimeMs;

    // Stage and swap, then stop as a kill -9 right after COMMIT would: the index file is still the old one.
    const db = await Database.open(config.dbPath);
    await beginReembed(db, { provider: tiny.provider, model: tiny.model, dimension: tiny.dimension });
    const todo = await unstagedChunks(db, 0n, 1000);
    const vecs = await tiny.embed(todo.map((r) => chunkSearchText({ text: r.text, headingPath: r.heading_path ? r.heading_path.split(' > ') : [], index: 0 }, r.title)));
    await stageVectors(db, 32, todo.map((r, i) => ({ seq: r.seq, vector: vecs[i]! })));
    assert.equal((await swapInStaged(db)).swapped, true);
    await db.close();
    assert.equal(statSync(indexFile).mtimeMs, oldIndexMtime);

    const app = await openApp(config, { embedder: tiny, log: silentLogger });
    try {
      const engine = app.store.chunks.vectorEngine as UsearchEngine;
      await engine.whenReady();
      const st = (await engine.status()) as { origin?: string; ready: boolean };
      assert.equal(st.ready, true);
      assert.equal(st.origin, 'built', 'the index must be rebuilt from the new vectors, not loaded');
      assert.equal((await getAllMeta(app.store.db)).vector_index_stale, undefined);
      for (const q of ['read files', 'database cache', 'retry timeout']) {
        const [v] = await tiny.embed([q], { input: 'query' });
        const viaIndex = (await app.store.chunks.nearest(v!, 5)).map((h) => h.id);
        const exact = (await app.store.chunks.search(v!, 5)).map((h) => h.id);
        assert.deepEqual(viaIndex, exact);
      }
    } finally {
      await app.close();
    }
    assert.equal(await activeSet(config.dbPath, { old: lexical, next: tiny }), 'new');
  });
});
