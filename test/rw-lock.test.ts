import assert from 'node:assert/strict';
import { it } from 'node:test';
import { RwLock } from '../src/store/rw-lock.js';

const tick = () => new Promise((r) => setTimeout(r, 5));

it('RwLock: readers share, a writer waits for them and holds back readers that come after it', async () => {
  const lock = new RwLock();
  const log: string[] = [];
  let releaseReaders!: () => void;
  const gate = new Promise<void>((r) => (releaseReaders = r));
  const reader = (name: string, wait?: Promise<void>) =>
    lock.shared(async () => {
      log.push(`${name} in`);
      await (wait ?? tick());
      log.push(`${name} out`);
    });
  const r1 = reader('r1', gate);
  const r2 = reader('r2', gate);
  await tick();
  const w = lock.exclusive(async () => {
    log.push('w in');
    await tick();
    log.push('w out');
  });
  const r3 = reader('r3');
  await tick();
  assert.deepEqual(log, ['r1 in', 'r2 in'], 'both readers at once; the writer and the later reader wait');
  releaseReaders();
  await Promise.all([r1, r2, w, r3]);
  assert.deepEqual(log.slice(2), ['r1 out', 'r2 out', 'w in', 'w out', 'r3 in', 'r3 out']);
  // lockExclusive: the same, released by hand (twice is harmless).
  const release = await lock.lockExclusive();
  let entered = false;
  const r4 = lock.shared(async () => void (entered = true));
  await tick();
  assert.equal(entered, false);
  release();
  release();
  await r4;
  assert.equal(entered, true);
});
