/**
 * Gets a usearch worker really stuck, then checks what a user of the engine sees. usearch 2.25's remove()
 * spins forever once re-added keys have used up its key table's free slots (see REBUILD_SHARE in
 * src/vector/usearch.ts): removing and re-adding 26 keys round after round gets there within a few rounds.
 * The engine itself rebuilds long before that; here the churn goes to its worker directly.
 * Run by test/usearch-stuck.test.ts in a child process: the stuck thread can never end, so this process ends
 * by signal (endPastStuckThreads). Prints one JSON line per step.
 *   argv[2]: a directory for the database file
 */
import { join } from 'node:path';
import { openStore } from '../../src/store/store.js';
import { endPastStuckThreads } from '../../src/stuck-threads.js';
import type { EngineStatus } from '../../src/vector/engine.js';
import type { WorkerIndex } from '../../src/vector/usearch-client.js';
import { UsearchEngine, type UsearchStatusExtra } from '../../src/vector/usearch.js';
import { bruteForce, clusteredVectors } from './vectors.js';

const DIM = 8;
const N = 40;
const say = (step: string, more: Record<string, unknown> = {}) => process.stdout.write(JSON.stringify({ step, ...more }) + '\n');
const path = join(process.argv[2]!, 'stuck.duckdb');
const store = await openStore({ path, embedding: { provider: 'test', model: 'test-model', dimension: DIM } });
const vectors = clusteredVectors(N, DIM, 4, 7);
const ids = vectors.map((_, i) => `c${i}`);
await store.chunks.indexBatch(vectors, ids.map((id) => ({ text: id })), ids);
const engine = new UsearchEngine(store.db, DIM, {
  params: { dimension: DIM, quantization: 'f32', connectivity: 16, expansionAdd: 64, expansionSearch: 64 },
  dbPath: path,
  searchDeadlineMs: 300,
  stuckAfterMs: 3000,
  closeSaveMs: 1000,
});
store.chunks.setEngine(engine);
await engine.start();
await engine.whenReady();
const status = async () => (await engine.status()) as EngineStatus & UsearchStatusExtra;
const query = vectors[3]!;
const expected = bruteForce(vectors, ids, query, 5).map((h) => h.id);
const idsOf = async () => (await store.chunks.search(query, 5)).map((h) => h.id);
say('ready', { byIndex: (await idsOf()).join() === expected.join(), stats: (await status()).stats });

// churn on the engine's worker until a remove does not come back
const worker = (engine as unknown as { live: { index: WorkerIndex } }).live.index;
const answered = (p: Promise<unknown>) => Promise.race([p.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 1000))]);
const ROWS = 26;
let next = 1_000_000;
const fresh = () => BigUint64Array.from({ length: ROWS }, () => BigInt(next++));
let keys = fresh();
await worker.add(keys.slice(), new Float32Array(ROWS * DIM).fill(0.5), 1);
let rounds = 0;
for (; rounds < 5000; rounds++) {
  const removing = worker.remove(keys);
  removing.catch(() => undefined);
  if (!(await answered(removing))) break;
  keys = fresh();
  await worker.add(keys.slice(), new Float32Array(ROWS * DIM).map(() => Math.random()), 1);
}
if (rounds === 5000) {
  say('never-stuck');
  process.exit(0);
}
say('stuck', { rounds });

let t0 = performance.now();
const whileStuck = await idsOf();
say('searched', { ms: performance.now() - t0, same: whileStuck.join() === expected.join(), stats: (await status()).stats });

// the watchdog gives the worker up: the engine says so and keeps answering exactly
t0 = performance.now();
while ((await status()).state !== 'failed' && performance.now() - t0 < 15_000) await new Promise((r) => setTimeout(r, 100));
const failed = await status();
say('given-up', { ms: performance.now() - t0, state: failed.state, detail: failed.detail, same: (await idsOf()).join() === expected.join() });

t0 = performance.now();
await store.close();
say('closed', { ms: performance.now() - t0 });
endPastStuckThreads();
say('still-running');
