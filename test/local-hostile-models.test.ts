/**
 * Hostile and broken local-model files: `doctor` started with them must end promptly with one clear line
 * (no hang, no stack trace) and leave the database alone. Real files, real child processes.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { downloadModel } from '../src/embed/local.js';
import { EmbeddingError } from '../src/embed/embedder.js';
import { doctor } from './helpers/doctor-process.js';
import { startModelHub } from './helpers/model-hub.js';
import { makeTinyModel } from './helpers/tiny-model.js';
import { tempDir } from './helpers/tmp.js';

const local = (model: string) => ({ DOCTOR_EMBEDDING_PROVIDER: 'local', DOCTOR_EMBEDDING_MODEL: model, DOCTOR_MODEL_DOWNLOAD: 'false', DOCTOR_EMBEDDING_DIM: '' });

/** One line on stderr starting with "doctor:", no stack trace. */
function oneLine(stderr: string): string {
  const lines = stderr.trim().split('\n');
  assert.equal(lines.length, 1, `expected one line, got:\n${stderr}`);
  assert.match(lines[0]!, /^doctor: /);
  assert.doesNotMatch(stderr, /\n\s+at /);
  return lines[0]!;
}

describe('local model files that are damaged', () => {
  it('truncated or random weights, a tokenizer that is not JSON: one line saying which directory and what to do; the database untouched', async () => {
    const root = tempDir();
    const damage: Record<string, (dir: string) => void> = {
      truncated: (dir) => writeFileSync(join(dir, 'onnx', 'model_quantized.onnx'), readFileSync(join(dir, 'onnx', 'model_quantized.onnx')).subarray(0, 5000)),
      random: (dir) => writeFileSync(join(dir, 'onnx', 'model_quantized.onnx'), randomBytes(20_000)),
      tokenizer: (dir) => writeFileSync(join(dir, 'tokenizer.json'), '{not json'),
    };
    const dataDir = tempDir();
    for (const [name, spoil] of Object.entries(damage)) {
      const dir = makeTinyModel(join(root, name));
      spoil(dir);
      const r = await doctor(dataDir, ['search', 'read a file'], local(dir), 60_000);
      assert.equal(r.code, 1, `${name}: ${r.stderr}`);
      const line = oneLine(r.stderr);
      assert.ok(line.includes(`The files in ${dir} are damaged`) && line.includes('DOCTOR_EMBEDDING_MODEL'), line);
      assert.doesNotMatch(line, /\.\./);
      assert.deepEqual(readdirSync(dataDir), [], 'no database created');
    }
  });
});

describe('local model files that are not regular files', () => {
  it('a named pipe as config.json, tokenizer_config.json or a sentence-transformers file: no hang, a clear error or no effect', async () => {
    const root = tempDir();
    for (const file of ['config.json', 'tokenizer_config.json', '1_Pooling/config.json', 'config_sentence_transformers.json']) {
      const dir = makeTinyModel(join(root, file.replace(/\W/g, '_')));
      rmSync(join(dir, file), { force: true });
      execFileSync('mkfifo', [join(dir, file)]);
      const started = Date.now();
      const r = await doctor(tempDir(), ['search', 'read a file'], local(dir), 60_000);
      assert.notEqual(r.code, -1, `${file}: doctor search hung (killed after 60 s)`);
      assert.ok(Date.now() - started < 30_000, `${file}: took ${Date.now() - started} ms`);
      if (file === 'config.json' || file === 'tokenizer_config.json') {
        assert.equal(r.code, 1, `${file}: ${r.stderr}`);
        assert.ok(oneLine(r.stderr).includes(file), r.stderr);
      } else {
        // optional files: a pipe there is ignored like a missing file
        assert.equal(r.code, 0, `${file}: ${r.stderr}`);
      }
    }
  });
});

/** A model hub on 127.0.0.1 that serves the JSON files of a tiny model and answers the weights as `weights` says. */
async function hostileHub(repo: string, weights: (res: ServerResponse) => void): Promise<{ url: string; close(): void }> {
  const server: Server = createServer((req, res) => {
    const m = /\/resolve\/[^/]+\/(.+)$/.exec(req.url ?? '');
    if (m?.[1]?.endsWith('.onnx')) return weights(res);
    try {
      const body = readFileSync(join(repo, m?.[1] ?? 'none'));
      res.writeHead(200, { 'content-length': body.length });
      res.end(body);
    } catch {
      res.writeHead(404).end('Entry not found');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const close = () => {
    server.close();
    server.closeAllConnections();
  };
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, close };
}

const endless = (res: ServerResponse, headers: Record<string, string> = {}) => {
  res.writeHead(200, headers);
  const chunk = Buffer.alloc(64 * 1024, 120);
  const write = () => {
    while (!res.destroyed && res.write(chunk));
    if (!res.destroyed) res.once('drain', write);
  };
  write();
};

function leftovers(dir: string): string[] {
  try {
    return readdirSync(dir, { recursive: true }).map(String).filter((f) => /\.tmp\./.test(f));
  } catch {
    return [];
  }
}

describe('doctor models pull from a hostile model hub', () => {
  const repo = makeTinyModel(join(tempDir(), 'repo'));

  it('a content-length of 1 TB is refused at once, naming the file and the limit; nothing is written', async () => {
    const hub = await hostileHub(repo, (res) => endless(res, { 'content-length': String(1024 ** 4) }));
    try {
      const dataDir = tempDir();
      const started = Date.now();
      const r = await doctor(dataDir, ['models', 'pull', 'doctor-tests/tiny-bert'], { DOCTOR_MODEL_HOST: hub.url }, 120_000);
      assert.equal(r.code, 1, r.stderr);
      assert.ok(Date.now() - started < 60_000);
      assert.match(r.stderr, /onnx\/model_quantized\.onnx is 1024\.0 GiB \(its content-length\), more than the 4\.0 GiB a model file may be/);
      assert.match(r.stderr, /missing: onnx\/model_quantized\.onnx/);
      assert.deepEqual(leftovers(dataDir), []);
    } finally {
      hub.close();
    }
  });

  it('an endless body, a server that never answers and a trickle: each stopped with its reason, no partial file kept', async () => {
    const cases: [string, (res: ServerResponse) => void, RegExp][] = [
      ['endless', (res) => endless(res), /sent more than the 1\.0 MiB a model file may be/],
      ['silent', () => undefined, /did not answer within 1 s/],
      ['stalled', (res) => { res.writeHead(200, { 'content-length': '1000' }); res.write('x'); }, /sent nothing for 1 s/],
      [
        'trickle',
        (res) => {
          res.writeHead(200);
          const t = setInterval(() => res.write('x'), 100);
          res.on('close', () => clearInterval(t));
        },
        /arrives too slowly/,
      ],
    ];
    for (const [name, weights, reason] of cases) {
      const hub = await hostileHub(repo, weights);
      const modelDir = tempDir();
      try {
        const started = Date.now();
        const err = await downloadModel({ hubId: 'doctor-tests/tiny-bert', modelDir, host: hub.url, maxFileBytes: 2 ** 20, idleTimeoutMs: 1000 }).then(
          () => assert.fail(`${name}: should fail`),
          (e: Error) => e,
        );
        assert.ok(err instanceof EmbeddingError, `${name}: ${err}`);
        assert.match(err.message, reason, name);
        assert.ok(Date.now() - started < 30_000, `${name}: took ${Date.now() - started} ms`);
        assert.deepEqual(leftovers(modelDir), [], name);
      } finally {
        hub.close();
      }
    }
  });

  it('an HTML page answered with status 200 for the weights: nothing kept, so pulling again from a good host works', async () => {
    const hub = await hostileHub(repo, (res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>Please log in</body></html>'));
    const good = await startModelHub({ 'doctor-tests/tiny-bert': repo });
    try {
      const dataDir = tempDir();
      const r = await doctor(dataDir, ['models', 'pull', 'doctor-tests/tiny-bert'], { DOCTOR_MODEL_HOST: hub.url }, 120_000);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /were not kept/);
      assert.deepEqual(readdirSync(dataDir, { recursive: true }).map(String).filter((f) => /\.(json|onnx)$/.test(f)), []);
      const again = await doctor(dataDir, ['models', 'pull', 'doctor-tests/tiny-bert'], { DOCTOR_MODEL_HOST: good.url }, 120_000);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, /^downloaded the local model doctor-tests\/tiny-bert/);
    } finally {
      hub.close();
      await good.close();
    }
  });
});
