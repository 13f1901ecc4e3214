/**
 * `doctor reembed` killed with SIGKILL (the real CLI in a child process): at every moment the database
 * holds one complete set of vectors (checked row by row against both models), and running again finishes.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LocalEmbedder, openEmbedder } from '../src/embed/index.js';
import { activeSet, lexicalDb } from './helpers/reembed-db.js';
import { makeTinyModel } from './helpers/tiny-model.js';
import { tempDir } from './helpers/tmp.js';

describe('reembed killed with SIGKILL', () => {
  const modelDir = makeTinyModel(join(tempDir(), 'tiny'));
  let tiny: LocalEmbedder;
  before(async () => {
    tiny = (await openEmbedder({ provider: 'local', model: modelDir })) as LocalEmbedder;
  });
  after(async () => {
    await tiny?.close();
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

    // 2. Killed 300 ms into a resumed run (staging, the switch, or after it, depending on the machine's
    // speed): still one complete set.
    const second = await new Promise<{ signal: string | null }>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', '--db-path', config.dbPath, 'reembed', '--batch-size', '4'], { env });
      child.stderr.once('data', () => setTimeout(() => child.kill('SIGKILL'), 300));
      child.on('exit', (_c, signal) => resolve({ signal }));
    });
    const state = await activeSet(config.dbPath, { old: lexical, next: tiny });
    if (second.signal !== 'SIGKILL') assert.equal(state, 'new');

    // 3. Running again finishes from what was staged.
    const last = await cli();
    assert.equal(last.code, 0, last.stderr);
    assert.match(last.stdout, state === 'new' ? /already holds tiny vectors/ : /switched \d+ chunks to local\/tiny \(32-d\)/);
    if (state === 'old') assert.match(last.stdout, /were embedded by an earlier run/);
    assert.equal(await activeSet(config.dbPath, { old: lexical, next: tiny }), 'new');
  });
});
