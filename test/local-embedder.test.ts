/**
 * The local embedding provider with a real ONNX model (a tiny BERT made by test/helpers/tiny_bert.py with
 * Debian's python3-onnx) and real transformers.js + onnxruntime-node in a worker thread, loaded from a
 * directory (getting models: local-models.test.ts).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EmbeddingError } from '../src/embed/embedder.js';
import { LocalEmbedder, openEmbedder } from '../src/embed/index.js';
import { TINY_HIDDEN, makeTinyModel } from './helpers/tiny-model.js';
import { tempDir } from './helpers/tmp.js';

const norm = (v: Float32Array) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!)), 0);

const TEXTS = [
  'read a file line by line',
  'retry the request with backoff after a timeout error',
  'x',
  '',
  'how do I configure the database connection pool and the cache for many users in production',
];

describe('local embedder: a model directory', () => {
  const root = tempDir();
  const dir = makeTinyModel(join(root, 'tiny-mean'), { prompts: { query: 'query: ' } });
  const clsDir = makeTinyModel(join(root, 'tiny-cls'), { pooling: 'cls' });
  let emb: LocalEmbedder;

  before(async () => {
    emb = (await openEmbedder({ provider: 'local', model: dir })) as LocalEmbedder;
  });
  after(async () => {
    await emb?.close();
  });

  it('loads from the directory: provider local, the directory name as model, the model output size', () => {
    assert.equal(emb.provider, 'local');
    assert.equal(emb.model, 'tiny-mean');
    assert.equal(emb.dimension, TINY_HIDDEN);
    assert.equal(emb.settings.pooling, 'mean');
    assert.equal(emb.settings.recipeFrom, 'sentence-transformers files');
  });

  it('gives deterministic, unit-length vectors of the right dimension, in input order', async () => {
    const a = await emb.embed(TEXTS);
    const b = await emb.embed([...TEXTS].reverse());
    assert.equal(a.length, TEXTS.length);
    for (const v of a) {
      assert.equal(v.length, TINY_HIDDEN);
      assert.ok(Math.abs(norm(v) - 1) < 1e-5, `norm ${norm(v)}`);
      assert.ok(v.every(Number.isFinite));
    }
    a.forEach((v, i) => assert.ok(maxDiff(v, b[TEXTS.length - 1 - i]!) < 1e-5, `text #${i} changed with the order`));
    // Different texts, different vectors.
    assert.ok(maxDiff(a[0]!, a[1]!) > 0.05);
    // A second embedder (another worker, another session) gives the same vectors.
    const other = (await openEmbedder({ provider: 'local', model: dir })) as LocalEmbedder;
    try {
      const c = await other.embed(TEXTS);
      a.forEach((v, i) => assert.ok(maxDiff(v, c[i]!) < 1e-5));
    } finally {
      await other.close();
    }
  });

  it('pools over real tokens only: a padded batch of different lengths equals one text at a time', async () => {
    const batch = await emb.embed(TEXTS);
    for (let i = 0; i < TEXTS.length; i++) {
      const [alone] = await emb.embed([TEXTS[i]!]);
      assert.ok(maxDiff(batch[i]!, alone!) < 1e-5, `text #${i}: batch and alone differ by ${maxDiff(batch[i]!, alone!)}`);
    }
  });

  it('with dynamic int8 quantisation (as the hub files): batch and one by one agree to about 1e-3', async () => {
    // Activations get one quantisation scale per batch, so a text's vector moves a little with its batch
    // mates; the padding mask must still keep padded positions out (ignoring it moves vectors by ~0.4).
    const dyn = (await openEmbedder({ provider: 'local', model: makeTinyModel(join(root, 'tiny-dynamic'), { quantisation: 'dynamic' }) })) as LocalEmbedder;
    try {
      const batch = await dyn.embed(TEXTS);
      for (let i = 0; i < TEXTS.length; i++) {
        const [alone] = await dyn.embed([TEXTS[i]!]);
        const cos = batch[i]!.reduce((s, x, j) => s + x * alone![j]!, 0);
        assert.ok(maxDiff(batch[i]!, alone!) < 0.02 && cos > 0.999, `text #${i}: differ by ${maxDiff(batch[i]!, alone!)}, cosine ${cos}`);
      }
    } finally {
      await dyn.close();
    }
  });

  it('CLS pooling (from 1_Pooling/config.json) differs from mean pooling and is padding-independent too', async () => {
    const cls = (await openEmbedder({ provider: 'local', model: clsDir })) as LocalEmbedder;
    try {
      assert.equal(cls.settings.pooling, 'cls');
      const [c] = await cls.embed([TEXTS[1]!]);
      const [m] = await emb.embed([TEXTS[1]!]);
      assert.ok(maxDiff(c!, m!) > 0.05);
      const batch = await cls.embed(TEXTS);
      assert.ok(maxDiff(batch[1]!, c!) < 1e-5);
    } finally {
      await cls.close();
    }
  });

  it('queries get the query prefix of the model (config_sentence_transformers.json prompts)', async () => {
    const [doc] = await emb.embed(['retry with backoff']);
    const [query] = await emb.embed(['retry with backoff'], { input: 'query' });
    const [prefixed] = await emb.embed(['query: retry with backoff']);
    assert.ok(maxDiff(doc!, query!) > 0.01, 'query and document embeddings should differ');
    assert.ok(maxDiff(query!, prefixed!) < 1e-5, 'a query is the document embedding of the prefixed text');
  });

  it('cuts long texts at the model limit (64 tokens here) instead of failing', async () => {
    const long = Array.from({ length: 400 }, (_, i) => ['database', 'index', 'vector', 'search'][i % 4]).join(' ');
    const [a, b] = await emb.embed([long, long + ' retry timeout error']);
    assert.ok(maxDiff(a!, b!) < 1e-5, 'text beyond the limit must not change the vector');
    const [huge] = await emb.embed(['word '.repeat(200_000)]);
    assert.equal(huge!.length, TINY_HIDDEN);
  });

  it('the worker survives bad input, odd text and a crash', async () => {
    const [before] = await emb.embed(['stream buffer socket']);
    await assert.rejects(emb.embed([null as unknown as string, 'ok']), (e: Error) => e instanceof EmbeddingError && e.code === 'invalid_input' && /text #0 is null/.test(e.message));
    await assert.rejects(emb.embed([{ not: 'text' } as unknown as string]), (e: Error) => e instanceof EmbeddingError && e.code === 'invalid_input');
    await assert.rejects(emb.embed([(() => 'x') as unknown as string]), (e: Error) => e instanceof EmbeddingError && e.code === 'invalid_input');
    const odd = await emb.embed(['\uD800 lone surrogate', '\u0000\u0001 control', '日本語のテキスト', '🙂🙂🙂', ' \n\t ']);
    for (const v of odd) assert.ok(Math.abs(norm(v) - 1) < 1e-5);
    const starts = emb.workerStarts;
    const [again] = await emb.embed(['stream buffer socket']);
    assert.ok(maxDiff(before!, again!) < 1e-6);
    assert.equal(emb.workerStarts, starts, 'bad input must not cost a worker restart');
    // Kill the worker thread (as a native crash would): the next request starts a new one.
    await (emb as unknown as { worker: { terminate(): Promise<void> } }).worker.terminate();
    const [afterCrash] = await emb.embed(['stream buffer socket']);
    assert.ok(maxDiff(before!, afterCrash!) < 1e-5);
    assert.equal(emb.workerStarts, starts + 1);
    // Killed while a batch is in it: the batch is embedded again on a fresh thread.
    const inFlight = emb.embed(Array.from({ length: 64 }, (_, i) => `request ${i} with a retry`));
    setImmediate(() => void (emb as unknown as { worker: { terminate(): Promise<void> } }).worker?.terminate());
    const vs = await inFlight;
    assert.equal(vs.length, 64);
    assert.equal(emb.workerStarts, starts + 2);
  });

  it('a query waits for at most the document batch in flight, not for the whole queue', async () => {
    const docs = Array.from({ length: 240 }, (_, i) => `document number ${i} about files, requests, retries and the database index`);
    let docsDone = false;
    const bulk = emb.embed(docs).then(() => (docsDone = true));
    await new Promise((r) => setTimeout(r, 20));
    const [q] = await emb.embed(['read a file'], { input: 'query' });
    assert.equal(q!.length, TINY_HIDDEN);
    assert.equal(docsDone, false, 'the query should be answered before 15 queued document batches');
    await bulk;
  });

  it('an abort stops queued batches', async () => {
    const ac = new AbortController();
    const p = emb.embed(Array.from({ length: 200 }, (_, i) => `text ${i}`), { signal: ac.signal });
    ac.abort(new Error('stop'));
    await assert.rejects(p, /stop/);
    assert.equal((await emb.embed(['still works']))[0]!.length, TINY_HIDDEN);
  });
});
