/**
 * Getting a local model: downloads from a model hub on 127.0.0.1 (laid out like huggingface.co), the
 * offline error, `auto`, `doctor models pull/list`, and a machine where onnxruntime-node cannot load.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { EmbeddingError } from '../src/embed/embedder.js';
import { openEmbedder, resolveLocalModel } from '../src/embed/index.js';
import { startModelHub, type ModelHub } from './helpers/model-hub.js';
import { TINY_HIDDEN, makeTinyModel } from './helpers/tiny-model.js';
import { tempDir } from './helpers/tmp.js';

const run = promisify(execFile);

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('local embedder: getting the model', () => {
  const root = tempDir();
  const repo = makeTinyModel(join(root, 'repo'));
  let hub: ModelHub;
  before(async () => {
    hub = await startModelHub({ 'doctor-tests/tiny-bert': repo });
  });
  after(() => hub.close());

  it('downloads a missing hub model into <model dir>/<id> with progress, then loads it with no network', async () => {
    const modelDir = join(root, 'models-a');
    const progress: { file: string; loaded: number; total: number }[] = [];
    const e = await openEmbedder({ provider: 'local', model: 'doctor-tests/tiny-bert', modelDir, modelHost: hub.url, onDownloadProgress: (p) => progress.push(p) });
    try {
      assert.equal(e.model, 'doctor-tests/tiny-bert');
      assert.equal(e.dimension, TINY_HIDDEN);
      for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model_quantized.onnx']) {
        assert.ok(existsSync(join(modelDir, 'doctor-tests', 'tiny-bert', f)), f);
      }
      const weights = progress.filter((p) => p.file === 'onnx/model_quantized.onnx');
      assert.ok(weights.length > 0 && weights.at(-1)!.loaded === weights.at(-1)!.total && weights.at(-1)!.total > 0, JSON.stringify(progress));
      assert.ok(hub.requests.some((r) => r.includes('/doctor-tests/tiny-bert/resolve/main/onnx/model_quantized.onnx')));
    } finally {
      await e.close?.();
    }
    // Files present: no request at all, even with the hub configured and downloads allowed.
    const seen = hub.requests.length;
    const again = await openEmbedder({ provider: 'local', model: 'doctor-tests/tiny-bert', modelDir, modelHost: hub.url });
    try {
      assert.equal((await again.embed(['offline']))[0]!.length, TINY_HIDDEN);
      assert.equal(hub.requests.length, seen, `requests after the download: ${hub.requests.slice(seen).join(', ')}`);
    } finally {
      await again.close?.();
    }
  });

  it('a missing model on an offline machine: a clear error naming the files and where they go', async () => {
    const modelDir = join(root, 'models-offline');
    const port = await closedPort();
    const err = await openEmbedder({ provider: 'local', model: 'doctor-tests/tiny-bert', modelDir, modelHost: `http://127.0.0.1:${port}` }).then(
      () => assert.fail('should fail'),
      (e: Error) => e,
    );
    assert.ok(err instanceof EmbeddingError, String(err));
    const where = join(modelDir, 'doctor-tests', 'tiny-bert');
    for (const needle of ['cannot be reached', 'config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model_quantized.onnx', where, 'doctor models pull doctor-tests/tiny-bert', 'DOCTOR_EMBEDDING_MODEL']) {
      assert.ok(err.message.includes(needle), `message lacks ${needle}: ${err.message}`);
    }
    // Downloads switched off: the same advice, and no request.
    const seen = hub.requests.length;
    await assert.rejects(
      openEmbedder({ provider: 'local', model: 'doctor-tests/tiny-bert', modelDir, modelHost: hub.url, modelDownload: false }),
      (e: Error) => /DOCTOR_MODEL_DOWNLOAD=false/.test(e.message) && e.message.includes(where),
    );
    assert.equal(hub.requests.length, seen);
    // A directory with a file missing names exactly that file.
    const partial = makeTinyModel(join(root, 'partial'), { omit: ['tokenizer.json'] });
    await assert.rejects(openEmbedder({ provider: 'local', model: partial }), (e: Error) => /missing: tokenizer\.json\)/.test(e.message) && e.message.includes(partial));
    // A model the hub does not have.
    await assert.rejects(
      openEmbedder({ provider: 'local', model: 'doctor-tests/nothing-here', modelDir, modelHost: hub.url }),
      (e: Error) => /could not be downloaded/.test(e.message) && /nothing-here/.test(e.message),
    );
  });

  it('doctor models pull fetches a model ahead of time with progress; doctor models list shows what is there', async () => {
    const dataDir = tempDir();
    const env = { ...process.env, DOCTOR_LOG_LEVEL: 'warn', DOCTOR_MODEL_HOST: hub.url, DOCTOR_MODEL_DIR: join(dataDir, 'm') };
    const doctor = (...args: string[]) => run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', '--data-dir', dataDir, ...args], { env, timeout: 120_000 });
    const pull = await doctor('models', 'pull', 'doctor-tests/tiny-bert');
    assert.match(pull.stdout, /^downloaded the local model doctor-tests\/tiny-bert \(32 dimensions, mean pooling/);
    assert.match(pull.stderr, /downloading doctor-tests\/tiny-bert: onnx\/model_quantized\.onnx/);
    const list = JSON.parse((await doctor('models', 'list', '--json')).stdout) as { model_dir: string; models: { model: string; status: string; dimension: number | null; missing: string[] }[] };
    assert.equal(list.model_dir, join(dataDir, 'm'));
    const tiny = list.models.find((m) => m.model === 'doctor-tests/tiny-bert');
    assert.equal(tiny?.status, 'downloaded');
    assert.equal(tiny?.dimension, 32);
    const bge = list.models.find((m) => m.model === 'Xenova/bge-small-en-v1.5');
    assert.equal(bge?.status, 'missing');
    assert.deepEqual(bge?.missing, ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model_quantized.onnx']);
    // The star marks the model Doctor embeds with, which depends on the provider, not only on the model's name.
    const listWith = (extra: Record<string, string>, ...args: string[]) =>
      run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', '--data-dir', dataDir, 'models', 'list', ...args], {
        env: { ...env, OPENAI_API_KEY: '', DOCTOR_EMBEDDING_MODEL: 'doctor-tests/tiny-bert', ...extra },
        timeout: 120_000,
      });
    const auto = await listWith({ DOCTOR_EMBEDDING_PROVIDER: 'auto' });
    assert.match(auto.stdout, /^\* doctor-tests\/tiny-bert /m);
    assert.match(auto.stdout, /\* = in use \(DOCTOR_EMBEDDING_PROVIDER=auto/);
    assert.equal((JSON.parse((await listWith({ DOCTOR_EMBEDDING_PROVIDER: 'auto' }, '--json')).stdout) as { in_use: string | null }).in_use, 'doctor-tests/tiny-bert');
    const lexical = await listWith({ DOCTOR_EMBEDDING_PROVIDER: 'lexical' });
    assert.doesNotMatch(lexical.stdout, /^\*/m);
    assert.match(lexical.stdout, /No local model is in use: DOCTOR_EMBEDDING_PROVIDER=lexical embeds with the offline lexical embedder/);
    const keyed = await listWith({ DOCTOR_EMBEDDING_PROVIDER: 'auto', OPENAI_API_KEY: 'sk-test-key-123' }, '--json');
    assert.equal((JSON.parse(keyed.stdout) as { in_use: string | null }).in_use, null);
    const seen = hub.requests.length;
    assert.match((await doctor('models', 'pull', 'doctor-tests/tiny-bert')).stdout, /^already here: the local model doctor-tests\/tiny-bert/);
    assert.equal(hub.requests.length, seen);
    // A hub that cannot be reached: the error names the files still missing and the other ways to get them.
    const closed = { ...env, DOCTOR_MODEL_HOST: `http://127.0.0.1:${await closedPort()}` };
    const offline = await run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', '--data-dir', dataDir, 'models', 'pull', 'Xenova/bge-small-en-v1.5'], { env: closed, timeout: 120_000 }).then(
      () => assert.fail('should fail'),
      (e: { code: number; stderr: string }) => e,
    );
    assert.equal(offline.code, 1);
    assert.match(offline.stderr, /cannot be reached/);
    for (const needle of ['missing: config.json, tokenizer.json, tokenizer_config.json, onnx/model_quantized.onnx', join(dataDir, 'm', 'Xenova', 'bge-small-en-v1.5'), 'DOCTOR_MODEL_HOST']) {
      assert.ok(offline.stderr.includes(needle), `message lacks ${needle}: ${offline.stderr}`);
    }
  });

  it('auto: OpenAI with a key, else local when its files are present, else lexical; says which once', async () => {
    const modelDir = join(root, 'models-auto');
    const said: string[] = [];
    const lexical = await openEmbedder({ provider: 'auto', model: 'doctor-tests/tiny-bert', modelDir, modelHost: hub.url }, (m) => said.push(m));
    assert.equal(lexical.provider, 'lexical');
    assert.equal(said.length, 1);
    assert.match(said[0]!, /lexical.*doctor models pull/);
    assert.equal(existsSync(join(modelDir, 'doctor-tests')), false, 'auto never downloads');

    makeTinyModel(join(modelDir, 'doctor-tests', 'tiny-bert'));
    said.length = 0;
    const local = await openEmbedder({ provider: 'auto', model: 'doctor-tests/tiny-bert', modelDir }, (m) => said.push(m));
    try {
      assert.equal(local.provider, 'local');
      assert.equal(said.length, 1);
      assert.match(said[0]!, /local model doctor-tests\/tiny-bert \(32 dimensions, mean pooling/);
    } finally {
      await local.close?.();
    }
    said.length = 0;
    const openai = await openEmbedder({ provider: 'auto', apiKey: 'k', modelDir }, (m) => said.push(m));
    assert.equal(openai.provider, 'openai');
    assert.equal(said.length, 1);
    // The default model name resolves under the model dir; an OpenAI model name is not a local model.
    assert.equal(resolveLocalModel(undefined, modelDir).dir, join(modelDir, 'Xenova', 'bge-small-en-v1.5'));
    assert.equal(resolveLocalModel('bge-small-en-v1.5', modelDir).queryPrefix, 'Represent this sentence for searching relevant passages: ');
    assert.throws(() => resolveLocalModel('text-embedding-3-small', modelDir), /not a model the local provider knows/);
  });
});

describe('local embedder where ONNX Runtime cannot load', () => {
  it('local says why; auto falls back to lexical and the rest works', async () => {
    const root = tempDir();
    const dir = makeTinyModel(join(root, 'tiny'));
    // Makes require('onnxruntime-node') fail as a missing native library would (in the worker too).
    const breaker = join(root, 'break-ort.cjs');
    writeFileSync(
      breaker,
      `const M = require('node:module'); const load = M._load;
       M._load = function (r, ...a) { if (r === 'onnxruntime-node') throw new Error('libonnxruntime.so.1: cannot open shared object file'); return load.call(this, r, ...a); };`,
    );
    const script = join(root, 'probe.mts');
    writeFileSync(
      script,
      `import { openEmbedder } from ${JSON.stringify(new URL('../src/embed/index.ts', import.meta.url).pathname)};
       const out: Record<string, unknown> = {};
       try { await openEmbedder({ provider: 'local', model: ${JSON.stringify(dir)} }); out.local = 'loaded'; } catch (e) { out.local = (e as Error).message; }
       const said: string[] = [];
       const auto = await openEmbedder({ provider: 'auto', model: ${JSON.stringify(dir)} }, (m) => said.push(m));
       out.auto = auto.provider; out.said = said; out.vector = (await auto.embed(['still searchable']))[0]!.length;
       console.log(JSON.stringify(out));`,
    );
    const { stdout } = await run(process.execPath, ['--require', breaker, '--import', 'tsx', script], { timeout: 120_000 });
    const out = JSON.parse(stdout) as { local: string; auto: string; said: string[]; vector: number };
    assert.match(out.local, /cannot run here: .*onnxruntime-node cannot be loaded.*libonnxruntime\.so\.1.*DOCTOR_EMBEDDING_PROVIDER=openai or lexical/);
    assert.equal(out.auto, 'lexical');
    assert.match(out.said[0]!, /lexical embedder.*local model cannot be used.*libonnxruntime/);
    assert.equal(out.vector, 1536);
  });
});
