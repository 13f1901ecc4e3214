/**
 * Hostile and broken local-model files: `doctor` started with them must end promptly with one clear line
 * (no hang, no stack trace) and leave the database alone. Real files, real child processes.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { doctor } from './helpers/doctor-process.js';
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
