/**
 * Closes usearch indexes while searches and adds are still running in their worker thread, round after
 * round; prints "survived" and exits 0 unless the process is aborted. Run by test/worker-stop.test.ts in a
 * child process (an abort there must fail the test, not end the test runner).
 */
import { WorkerIndex } from '../../src/vector/usearch-client.js';

const rounds = Number(process.argv[2] ?? 10);
const dim = 128;
const random = (n: number) => {
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = Math.random();
  return v;
};
for (let round = 0; round < rounds; round++) {
  const w = await WorkerIndex.create({ dimension: dim, quantization: 'f32', connectivity: 16, expansionAdd: 64, expansionSearch: 64 });
  const n = 3000;
  await w.add(BigUint64Array.from({ length: n }, (_, i) => BigInt(i + 1)), random(n * dim), 1);
  const query = random(dim);
  const searches = Array.from({ length: 300 }, () => w.search(query, 200).catch(() => undefined));
  const adding = w.add(BigUint64Array.from({ length: 500 }, (_, i) => BigInt(n + i + 1)), random(500 * dim), 1).catch(() => undefined);
  await new Promise((r) => setTimeout(r, round % 5));
  await w.terminate();
  await Promise.all([...searches, adding]);
}
console.log('survived');
