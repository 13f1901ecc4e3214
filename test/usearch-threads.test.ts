/**
 * usearch reserves one context per thread only when an add grows the index, for that add's thread count. An
 * add that grew the index with one thread (rows committed while a build is running) left the build's adds
 * on every core without a context for the second thread: "Reserve capacity ahead of insertions!", the
 * build failed and search fell back to exact (seen as a flaky reembed test under load).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpus } from 'node:os';
import { WorkerIndex } from '../src/vector/usearch-client.js';

const DIM = 32;

function batch(from: number, n: number): { keys: BigUint64Array; vectors: Float32Array } {
  const keys = new BigUint64Array(n);
  const vectors = new Float32Array(n * DIM);
  for (let i = 0; i < n; i++) {
    keys[i] = BigInt(from + i);
    for (let d = 0; d < DIM; d++) vectors[i * DIM + d] = Math.sin((from + i) * 7.1 + d * 1.3);
  }
  return { keys, vectors };
}

test('adds on every core after an add that grew the index with one thread succeed', { skip: cpus().length < 2 ? 'needs 2 cores' : false }, async () => {
  const index = await WorkerIndex.create({ dimension: DIM, quantization: 'f32', connectivity: 16, expansionAdd: 64, expansionSearch: 64 });
  try {
    // one thread, growing the index to 1,024 slots (an incremental add)
    const first = batch(0, 600);
    await index.add(first.keys, first.vectors, 1);
    // then, without growing it, several batches on every core (a build): each needs a context per thread
    for (let b = 0; b < 4; b++) {
      const next = batch(600 + b * 100, 100);
      const reply = await index.add(next.keys, next.vectors, 0);
      assert.equal(reply.added, 100);
    }
    assert.equal(await index.size(), 1000);
  } finally {
    await index.terminate();
  }
});
