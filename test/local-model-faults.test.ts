/**
 * Local models that misbehave at run time, with real ONNX models (test/helpers/hostile_model.py) in real
 * `doctor` processes and real embedders: a model that never finishes (ONNX Runtime cannot interrupt it),
 * outputs of the wrong shape, and model files damaged or removed while Doctor runs.
 */
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EmbeddingError } from '../src/embed/embedder.js';
import { openEmbedder, type LocalEmbedder } from '../src/embed/index.js';
import { Server, doctor } from './helpers/doctor-process.js';
import { makeHostileModel, makeTinyModel, type HostileKind } from './helpers/tiny-model.js';
import { tempDir } from './helpers/tmp.js';

const local = (model: string, timeoutMs: number) => ({
  DOCTOR_EMBEDDING_PROVIDER: 'local',
  DOCTOR_EMBEDDING_MODEL: model,
  DOCTOR_MODEL_DOWNLOAD: 'false',
  DOCTOR_EMBEDDING_DIM: '',
  DOCTOR_MODEL_TIMEOUT_MS: String(timeoutMs),
});

/** Waits for `p` at most `ms`; 'still running' after that. */
const within = <T>(p: Promise<T>, ms: number) => Promise.race([p, new Promise<'still running'>((r) => setTimeout(() => r('still running'), ms).unref())]);

/** More than 20 tokens: the `slow` model below never finishes such a text. */
const LONG = 'read write file files line lines open close path directory folder create delete remove list search find query retry backoff error timeout';

describe('a local model that never finishes', () => {
  const root = tempDir();
  const endless = makeHostileModel(join(root, 'endless'), 'slow');

  it('doctor search: stops at the deadline saying which model and what to do, and the process ends', async () => {
    const dataDir = tempDir();
    const started = Date.now();
    const r = await doctor(dataDir, ['search', 'read a file'], local(endless, 2000), 60_000);
    // before: no word, no end (killed here after 60 s)
    assert.notEqual(r.code, -1, `doctor search hung: ${r.stderr}`);
    assert.ok(Date.now() - started < 40_000, `took ${Date.now() - started} ms`);
    assert.ok(r.code !== 0, `exit ${r.code} ${r.signal}`);
    assert.match(r.stderr, /^doctor: local embedding model endless did not load and embed a first text within 2 s \(DOCTOR_MODEL_TIMEOUT_MS/);
    assert.ok(r.stderr.includes(`the model in ${endless} is too slow for this machine or never finishes`), r.stderr);
    assert.match(r.stderr, /DOCTOR_EMBEDDING_MODEL.*DOCTOR_EMBEDDING_PROVIDER.*raise DOCTOR_MODEL_TIMEOUT_MS/);
    assert.deepEqual(readdirSync(dataDir), [], 'no database created');
  });

  it('DOCTOR_EMBEDDING_PROVIDER=auto: the same stop, not a fallback to the lexical embedder that ends killed after its work', async () => {
    const r = await doctor(tempDir(), ['search', 'read a file'], { ...local(endless, 2000), DOCTOR_EMBEDDING_PROVIDER: 'auto', OPENAI_API_KEY: '' }, 60_000);
    // before: the search ran with the lexical embedder ("No results..."), then the stuck thread got the process killed
    assert.equal(r.stdout, '');
    assert.ok(r.code !== 0, `exit ${r.code} ${r.signal}`);
    assert.match(r.stderr, /^doctor: local embedding model endless did not load and embed a first text within 2 s \(DOCTOR_MODEL_TIMEOUT_MS/);
  });

  it('doctor serve: does not start, says why, and ends', async () => {
    const server = new Server(tempDir(), local(endless, 2000));
    const exit = await within(server.exited, 40_000);
    if (exit === 'still running') await server.stop('SIGKILL');
    assert.notEqual(exit, 'still running', `doctor serve hung at start: ${server.stderr}`);
    assert.ok(exit !== 0, `exit ${exit}`);
    assert.ok(server.stderr.includes(`did not load and embed a first text within 2 s`) && server.stderr.includes(endless), server.stderr);
  });

  it('a running server: a request the model never finishes fails at the deadline, later ones at once, and the server still stops', async () => {
    const model = makeHostileModel(join(root, 'slow-on-long-texts'), 'slow', { tokens: 20 });
    const server = await new Server(tempDir(), local(model, 5000)).ready();
    try {
      assert.equal((await server.api('GET', '/search_docs?query=read+a+file')).status, 200);
      let started = Date.now();
      const slow = await server.api('GET', `/search_docs?query=${encodeURIComponent(LONG)}`);
      // before: no answer at all (api() gives up after 60 s)
      assert.ok(Date.now() - started < 30_000, `took ${Date.now() - started} ms`);
      assert.equal(slow.status, 502); // the embedder failed (src/http/errors.ts)
      assert.match(slow.body.detail, /local embedding model slow-on-long-texts: embedding a batch of 1 text did not finish within 5 s \(DOCTOR_MODEL_TIMEOUT_MS=5000\)/);
      assert.ok(slow.body.detail.includes(`The model in ${model} is too slow`), slow.body.detail);
      // the model's thread is still busy with that text: other requests fail at once instead of queueing behind it
      started = Date.now();
      const next = await server.api('GET', '/search_docs?query=read+a+file');
      assert.ok(Date.now() - started < 3000, `took ${Date.now() - started} ms`);
      assert.equal(next.status, 502);
      assert.match(next.body.detail, /an earlier request \(embedding a batch of 1 text\) is still running \d+(\.\d)? s after it started, past its deadline/);
      assert.ok(server.alive);
    } finally {
      server.child.kill('SIGTERM');
      const exit = await within(server.exited, 90_000);
      if (exit === 'still running') await server.stop('SIGKILL');
      assert.notEqual(exit, 'still running', `doctor serve did not stop: ${server.stderr}`);
    }
    assert.match(server.stderr, /the local embedding model's thread .*stuck inside a native call and cannot be stopped, so Doctor ends with SIGKILL/);
  });
});

/** What opening `dir` and embedding three texts with it does: the error's message, or 'worked'. */
async function tryModel(dir: string, dimension?: number): Promise<string> {
  try {
    const e = await openEmbedder({ provider: 'local', model: dir, dimension });
    try {
      await e.embed(['read a file', 'retry the request', 'x']);
    } finally {
      await e.close?.();
    }
    return 'worked';
  } catch (err) {
    assert.ok(err instanceof EmbeddingError && err.code === 'model', String(err));
    return err.message;
  }
}

describe('a local model whose output has the wrong shape', () => {
  const root = tempDir();

  it('wrong rank, fewer or more rows than texts: refused, saying what came back, what was expected and what to do', async () => {
    // (before: rank 4 and more rows with CLS pooling were taken without a word, the others failed with
    // "dims[1] must be an integer", "vectors of 0 dimensions" or "a non-finite value")
    const cases: [HostileKind, 'mean' | 'cls', RegExp][] = [
      ['rank2', 'mean', /output last_hidden_state has shape \[1, 32\] for 1 text of (\d+) tokens, expected \[1, \1, hidden size\]: 2 dimensions, where token embeddings have 3/],
      ['rank4', 'mean', /output last_hidden_state has shape \[1, (\d+), 32, 1\] for 1 text of \1 tokens, expected \[1, \1, hidden size\]: 4 dimensions/],
      ['more', 'cls', /output last_hidden_state has shape \[2, (\d+), 32\] for 1 text of \1 tokens, expected \[1, \1, hidden size\]: 2 rows for 1 text \(more than the texts\)/],
      ['more', 'mean', /2 rows for 1 text \(more than the texts\)/],
      // right for one text (the check at start), wrong for a batch
      ['fewer', 'mean', /output last_hidden_state has shape \[1, (\d+), 32\] for 3 texts of \1 tokens, expected \[3, \1, hidden size\]: 1 row for 3 texts \(fewer than the texts\)/],
    ];
    for (const [kind, pooling, expected] of cases) {
      const dir = makeHostileModel(join(root, `${kind}-${pooling}`), kind, { pooling });
      const said = await tryModel(dir);
      assert.match(said, expected, `${kind}, ${pooling} pooling`);
      assert.ok(said.startsWith(`local embedding model ${kind}-${pooling}: `), said);
      assert.ok(said.includes(`The files in ${dir} are damaged or not a model Doctor can use: replace them, point DOCTOR_EMBEDDING_MODEL at another model`), said);
    }
  });

  it('a hidden size other than config.json or DOCTOR_EMBEDDING_DIM says: refused, naming both sizes and what to do', async () => {
    const wide = makeHostileModel(join(root, 'wide'), 'wide');
    assert.equal(
      await tryModel(wide),
      `local embedding model wide: the model in ${wide} makes 64-dimensional vectors, but its config.json says 32 (hidden_size): the weights are not the model ` +
        `config.json describes. Put the model's own onnx/model_quantized.onnx (or onnx/model.onnx) beside its config.json in ${wide}, or point DOCTOR_EMBEDDING_MODEL at another model.`,
    );
    // no hidden_size in config.json: DOCTOR_EMBEDDING_DIM is the size expected (before: silently ignored)
    const config = JSON.parse(readFileSync(join(wide, 'config.json'), 'utf8')) as Record<string, unknown>;
    delete config.hidden_size;
    writeFileSync(join(wide, 'config.json'), JSON.stringify(config));
    assert.equal(
      await tryModel(wide, 32),
      `local embedding model wide: the model in ${wide} makes 64-dimensional vectors, but DOCTOR_EMBEDDING_DIM is 32. Set DOCTOR_EMBEDDING_DIM=64 (or unset it) ` +
        'to use this model, or point DOCTOR_EMBEDDING_MODEL at a model that makes 32-dimensional vectors.',
    );
    assert.equal(await tryModel(wide), 'worked', 'without DOCTOR_EMBEDDING_DIM the model is taken as it is');
  });

  it('weights replaced by another size of model while Doctor runs: the next load says what happened and what to do', async () => {
    const dir = makeTinyModel(join(root, 'replaced'));
    const e = (await openEmbedder({ provider: 'local', model: dir })) as LocalEmbedder;
    try {
      assert.equal((await e.embed(['read a file']))[0]!.length, 32);
      copyFileSync(join(makeHostileModel(join(root, 'wider'), 'wide'), 'onnx', 'model_quantized.onnx'), join(dir, 'onnx', 'model_quantized.onnx'));
      // the model's thread ends (as after a crash): the next request loads the files again
      await (e as unknown as { worker: { terminate(): Promise<void> } }).worker.terminate();
      await assert.rejects(e.embed(['read a file']), (err: Error) => {
        assert.ok(err instanceof EmbeddingError && err.code === 'model', String(err));
        assert.equal(
          err.message,
          `local embedding model replaced: the model in ${dir} makes 64-dimensional vectors now, but made 32-dimensional ones when Doctor loaded it: ` +
            `its files were replaced while Doctor ran (they are read again when the model's thread restarts). Put the model Doctor started with back in ${dir}, ` +
            'or restart Doctor with the new model (a database made with the old one then needs `doctor reembed`).',
        );
        return true;
      });
    } finally {
      await e.close();
    }
  });
});

describe('local model files removed while Doctor runs', () => {
  const root = tempDir();
  const MISSING = 'missing: config.json, tokenizer.json, tokenizer_config.json, onnx/model_quantized.onnx';

  it('doctor serve goes on searching with the model it loaded; the next start says which files are missing', async () => {
    const dir = makeTinyModel(join(root, 'served'));
    const dataDir = tempDir();
    const server = await new Server(dataDir, local(dir, 60_000)).ready();
    let stopped: number | null | 'still running';
    try {
      const before = await server.api('GET', '/search_docs?query=read+a+file');
      assert.equal(before.status, 200);
      rmSync(dir, { recursive: true });
      const after = await server.api('GET', '/search_docs?query=read+a+file');
      assert.equal(after.status, 200, JSON.stringify(after.body));
      assert.ok(server.alive);
    } finally {
      server.child.kill('SIGTERM');
      stopped = await within(server.exited, 60_000);
      if (stopped === 'still running') await server.stop('SIGKILL');
    }
    assert.equal(stopped, 0, server.stderr);
    const again = new Server(dataDir, local(dir, 60_000));
    const exit = await within(again.exited, 60_000);
    if (exit === 'still running') await again.stop('SIGKILL');
    assert.equal(exit, 1, again.stderr);
    assert.ok(again.stderr.includes(`the local embedding model served is not complete in ${dir} (${MISSING})`), again.stderr);
  });

  it("the model's thread restarted after its files were removed: says which files are missing, and works again once they are back", async () => {
    const dir = makeTinyModel(join(root, 'restarted'));
    const e = (await openEmbedder({ provider: 'local', model: dir })) as LocalEmbedder;
    try {
      const [before] = await e.embed(['read a file']);
      rmSync(dir, { recursive: true });
      // the model's thread ends (as after a crash): the next request loads the files again
      await (e as unknown as { worker: { terminate(): Promise<void> } }).worker.terminate();
      // before: "cannot load the model in ...: Cannot read properties of undefined (reading 'tokenizer_class')"
      await assert.rejects(e.embed(['read a file']), (err: Error) => {
        assert.ok(err instanceof EmbeddingError && err.code === 'model', String(err));
        assert.ok(err.message.startsWith(`the local embedding model restarted is not complete in ${dir} (${MISSING}) and its files were removed while Doctor ran`), err.message);
        assert.match(err.message, /Put config\.json, tokenizer\.json, tokenizer_config\.json, onnx\/model_quantized\.onnx into .*or point DOCTOR_EMBEDDING_MODEL at a directory that holds them\.$/);
        return true;
      });
      makeTinyModel(dir);
      const [after] = await e.embed(['read a file']);
      assert.deepEqual(after, before);
    } finally {
      await e.close();
    }
  });
});
