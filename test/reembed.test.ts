/**
 * Switching a database to another embedding model (`doctor reembed`, src/service/reembed.ts): real DuckDB
 * files, the real local embedder (tiny ONNX BERT), the real CLI killed with SIGKILL.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openApp } from '../src/app/open.js';
import { loadConfig } from '../src/config/config.js';
import { Database } from '../src/db/database.js';
import { getAllMeta } from '../src/db/meta.js';
import { LexicalEmbedder } from '../src/embed/lexical.js';
import { LocalEmbedder, openEmbedder } from '../src/embed/index.js';
import { chunkSearchText } from '../src/ingest/extract/chunker.js';
import { silentLogger } from '../src/log.js';
import { searchDocs } from '../src/service/index.js';
import { reembed, type ReembedProgress } from '../src/service/reembed.js';
import { beginReembed, stageVectors, swapInStaged, unstagedChunks } from '../src/store/reembed.js';
import { EmbeddingMismatchError } from '../src/store/store.js';
import type { UsearchEngine } from '../src/vector/usearch.js';
import { addPages, type TestPage } from './helpers/pages.js';
import { makeTinyModel } from './helpers/tiny-model.js';
import { tempDir } from './helpers/tmp.js';

const TOPICS = ['files', 'requests', 'database', 'cache', 'workers', 'tokens', 'logs', 'streams'];
function pages(n: number, prefix = 'p'): TestPage[] {
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

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

interface Row {
  id: string;
  seq: bigint;
  embedding: number[];
  text: string;
  title: string | null;
  heading_path: string | null;
}

async function rows(db: Database): Promise<Row[]> {
  return db.all<Row>('SELECT id, seq, embedding, coalesce(text_chunk, \'\') AS text, title, heading_path FROM document_embeddings ORDER BY seq');
}

const searchText = (r: Row) => chunkSearchText({ text: r.text, headingPath: r.heading_path ? r.heading_path.split(' > ') : [], index: 0 }, r.title);

/**
 * The active set is complete and of one model: meta names the model, the column has its dimension, and
 * every row's vector is that model's vector of the row's text. Returns which model is active.
 */
async function activeSet(dbPath: string, models: { old: LexicalEmbedder; next: LocalEmbedder }): Promise<'old' | 'new'> {
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

  async function lexicalDb(n: number, dimension: number, vectorEngine: 'exact' | 'usearch' = 'exact') {
    const dbPath = join(tempDir(), 'doctor.duckdb');
    const config = loadConfig({ dbPath, logLevel: 'silent', vectorEngine }, {});
    const lexical = new LexicalEmbedder(dimension);
    const ctx = await openApp(config, { embedder: lexical, log: silentLogger });
    await addPages(ctx, pages(n));
    return { dbPath, config, lexical, ctx };
  }

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
    setTimeout(() => (running = 0), 1200);
    const phases: string[] = [];
    try {
      const r = await reembed(ctx, { target: tiny, retryMs: 200, onProgress: (p) => phases.push(p.phase === 'waiting' ? `waiting: ${p.detail}` : p.phase) });
      assert.equal(r.status, 'switched');
      assert.ok(phases.some((p) => /waiting: waiting for 1 running crawl job to finish/.test(p)), phases.join(', '));
      assert.equal(ctx.store.embedding.model, 'tiny');
    } finally {
      await ctx.close();
    }
  });

  it('same dimension, usearch engine: the old index file is never served for the new vectors, even after a crash at the switch', async () => {
    const { config, lexical, ctx } = await lexicalDb(24, 32, 'usearch');
    await (ctx.store.chunks.vectorEngine as UsearchEngine).whenReady();
    await ctx.close(); // saves the index of the old vectors
    const indexFile = `${config.dbPath}.usearch`;
    assert.ok(existsSync(indexFile));
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

  it('kill -9 at any moment leaves the old or the new complete set; running again finishes', async () => {
    const { config, lexical, ctx } = await lexicalDb(40, 64);
    await ctx.close();
    const env = { ...process.env, DOCTOR_LOG_LEVEL: 'warn', DOCTOR_EMBEDDING_PROVIDER: 'local', DOCTOR_EMBEDDING_MODEL: modelDir };
    const cli = (killWhen?: (line: string) => boolean) =>
      new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string; killedAt?: string }>((resolve) => {
        const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', '--db-path', config.dbPath, 'reembed', '--batch-size', '4'], { env });
        let stdout = '';
        let stderr = '';
        let killedAt: string | undefined;
        child.stdout.on('data', (d) => (stdout += d));
        child.stderr.on('data', (d) => {
          stderr += d;
          for (const line of String(d).split('\n')) {
            if (!killedAt && line && killWhen?.(line)) {
              killedAt = line;
              child.kill('SIGKILL');
            }
          }
        });
        child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr, killedAt }));
      });

    // 1. Killed halfway through staging: the old set stays active.
    const first = await cli((line) => /re-embedding: \d+\/\d+ chunks \((40|50|60)%\)/.test(line));
    assert.equal(first.signal, 'SIGKILL', first.stderr);
    assert.equal(await activeSet(config.dbPath, { old: lexical, next: tiny }), 'old');

    // 2. Killed at random moments of later runs (staging, the switch, or after it): always one complete set.
    let state: 'old' | 'new' = 'old';
    for (const wait of [50, 400]) {
      const r = await new Promise<{ signal: string | null }>((resolve) => {
        const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', '--db-path', config.dbPath, 'reembed', '--batch-size', '4'], { env });
        child.stderr.once('data', () => setTimeout(() => child.kill('SIGKILL'), wait));
        child.on('exit', (_c, signal) => resolve({ signal }));
      });
      state = await activeSet(config.dbPath, { old: lexical, next: tiny });
      if (r.signal !== 'SIGKILL') assert.equal(state, 'new');
    }

    // 3. Running again finishes from what was staged.
    const last = await cli();
    assert.equal(last.code, 0, last.stderr);
    assert.match(last.stdout, state === 'new' ? /already holds tiny vectors/ : /switched \d+ chunks to local\/tiny \(32-d\)/);
    if (state === 'old') assert.match(last.stdout, /were embedded by an earlier run/);
    assert.equal(await activeSet(config.dbPath, { old: lexical, next: tiny }), 'new');
  });
});
