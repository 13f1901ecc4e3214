/**
 * A usearch worker stuck inside a native call (a usearch bug: remove() spinning forever) used to hang every
 * vector and hybrid search, and the process could no longer end: worker.terminate() cannot interrupt native
 * code, and Node waits for every worker at exit. Now searches fall back to exact search after a deadline,
 * the engine gives the worker up and says so in its status, closing the store finishes, and the process ends
 * by signal with a message instead of hanging. The helper gets a real usearch worker stuck.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { it } from 'node:test';
import { tempDir } from './helpers/tmp.js';

it('a stuck usearch worker: searches still answer, the engine gives it up, the process still ends', (t) => {
  const child = spawnSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'helpers', 'usearch-stuck.ts'), tempDir()], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  const steps = Object.fromEntries(
    child.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { step: string } & Record<string, any>)
      .map((s) => [s.step, s]),
  );
  if (steps['never-stuck']) return t.skip('this usearch no longer gets stuck under churn');
  assert.ok(steps.ready?.byIndex, `the index answered before: ${child.stdout}${child.stderr.slice(-800)}`);
  assert.ok(steps.stuck, `the worker got stuck: ${child.stdout}${child.stderr.slice(-800)}`);
  // before: this search never came back
  assert.ok(steps.searched, `a search answered while the worker was stuck: ${child.stdout}${child.stderr.slice(-800)}`);
  assert.equal(steps.searched.same, true, 'with the exact answer');
  assert.ok(steps.searched.ms < 5000, `within the deadline (${steps.searched.ms} ms)`);
  assert.equal(steps.searched.stats.slowIndexFallbacks, 1);
  assert.equal(steps['given-up']?.state, 'failed', JSON.stringify(steps['given-up']));
  assert.match(steps['given-up'].detail, /has not answered for \d+ s: stuck inside a usearch call.*exact search answers/);
  assert.equal(steps['given-up'].same, true);
  assert.ok(steps.closed, `closing the store finished: ${child.stderr.slice(-800)}`);
  // before: the process could not end at all (spawnSync's timeout would kill it with SIGTERM)
  assert.equal(child.signal, 'SIGKILL', `ended by SIGKILL after saying why: ${child.signal} ${child.stderr.slice(-800)}`);
  assert.match(child.stderr, /stuck inside a native call and cannot be stopped, so Doctor ends with SIGKILL/);
  assert.equal(steps['still-running'], undefined);
});
