/** Closing a worker-held native index while calls run in it must not abort the process. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { it } from 'node:test';

it('closing a usearch index while searches and adds run in its thread leaves the process alive (8 rounds)', () => {
  // worker.terminate() landing inside a native usearch call aborted the whole process ("terminate called
  // after throwing an instance of 'Napi::Error'"), within the first rounds; the index now stops its thread after
  // the calls it has received.
  const child = spawnSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'helpers', 'usearch-close-storm.ts'), '8'], {
    encoding: 'utf8',
    timeout: 300_000,
  });
  assert.equal(child.signal, null, `the process was killed by ${child.signal}: ${child.stderr.slice(-500)}`);
  assert.equal(child.status, 0, child.stderr.slice(-500));
  assert.match(child.stdout, /survived/);
});
