/**
 * Local models that misbehave at run time, with real ONNX models (test/helpers/hostile_model.py) in real
 * `doctor` processes and real embedders: a model that never finishes (ONNX Runtime cannot interrupt it).
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Server, doctor } from './helpers/doctor-process.js';
import { makeHostileModel } from './helpers/tiny-model.js';
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

  it('doctor serve: does not start, says why, and ends', async () => {
    const server = new Server(tempDir(), local(endless, 2000));
    const exit = await within(server.exited, 40_000);
    if (exit === 'still running') await server.stop('SIGKILL');
    assert.notEqual(exit, 'still running', `doctor serve hung at start: ${server.stderr}`);
    assert.ok(exit !== 0, `exit ${exit}`);
    assert.ok(server.stderr.includes(`did not load and embed a first text within 2 s`) && server.stderr.includes(endless), server.stderr);
  });

  it('a running server: a request the model never finishes fails at the deadline, later ones at once, and the server still stops', async () => {
    const model = makeHostileModel(join(root, 'slow-on-long-texts'), 'slow', 20);
    const server = await new Server(tempDir(), local(model, 5000)).ready();
    try {
      assert.equal((await server.api('GET', '/search_docs?query=read+a+file')).status, 200);
      let started = Date.now();
      const slow = await server.api('GET', `/search_docs?query=${encodeURIComponent(LONG)}`);
      // before: no answer at all (api() gives up after 60 s)
      assert.ok(Date.now() - started < 30_000, `took ${Date.now() - started} ms`);
      assert.equal(slow.status, 500);
      assert.match(slow.body.detail, /local embedding model slow-on-long-texts: embedding a batch of 1 text did not finish within 5 s \(DOCTOR_MODEL_TIMEOUT_MS=5000\)/);
      assert.ok(slow.body.detail.includes(`The model in ${model} is too slow`), slow.body.detail);
      // the model's thread is still busy with that text: other requests fail at once instead of queueing behind it
      started = Date.now();
      const next = await server.api('GET', '/search_docs?query=read+a+file');
      assert.ok(Date.now() - started < 3000, `took ${Date.now() - started} ms`);
      assert.equal(next.status, 500);
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
