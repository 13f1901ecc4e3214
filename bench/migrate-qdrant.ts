/**
 * Migration benchmark: a Qdrant-compatible server on 127.0.0.1 (test/helpers/qdrant-server.ts) holding
 * N x 1536-d points; measures points/s of `migrateQdrant` into a fresh database file, and peak RSS.
 * Run: `npm run bench:migrate [-- --points 50000 --runs 3 --batch 256]`
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createQdrantClient, migrateQdrant } from '../src/migrate/qdrant.js';
import { openStore } from '../src/store/store.js';
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { machineDescription, median } from './machine.js';

const { values } = parseArgs({ options: { points: { type: 'string', default: '50000' }, runs: { type: 'string', default: '3' }, batch: { type: 'string', default: '256' }, out: { type: 'string', default: 'bench/results/migrate-qdrant.md' } } });
const N = Number(values.points);
const DIM = 1536;
// the server runs in its own process, as Qdrant would
const serverProcess = spawn(process.execPath, ['--import', 'tsx', 'bench/qdrant-server-process.ts', String(N), String(DIM)], { stdio: ['ignore', 'pipe', 'inherit'] });
const url = await new Promise<string>((resolve, reject) => {
  serverProcess.stdout!.once('data', (d) => resolve(String(d).trim()));
  serverProcess.once('exit', (code) => reject(new Error(`server exited ${code}`)));
});
const q = { url };
const results: { seconds: number; rate: number; rssMb: number; ok: boolean; cpuUsPerPoint: number; load: number }[] = [];
for (let r = 0; r < Number(values.runs); r++) {
  const dir = mkdtempSync(join(tmpdir(), 'doctor-migrate-bench-'));
  const store = await openStore({ path: join(dir, 'm.duckdb'), embedding: { provider: 'openai', model: 'text-embedding-ada-002', dimension: DIM } });
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 100);
  const load = loadavg()[0]!;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const report = await migrateQdrant(store, createQdrantClient(q), { url: q.url, collection: 'doctor_chunks', batchSize: Number(values.batch), onError: 'stop' });
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0);
  clearInterval(timer);
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  results.push({ seconds, rate: N / seconds, rssMb: peak / 2 ** 20, cpuUsPerPoint: (cpu.user + cpu.system) / N, load, ok: !!report.verification?.countsMatch && report.verification.sampleMismatches.length === 0 });
  console.log(results.at(-1));
}
serverProcess.kill('SIGTERM');
const md = `# Qdrant migration benchmark

${machineDescription()}
- ${N.toLocaleString('en')} points x ${DIM}-d (clustered, normalised; payloads like Doctor's) served by a Qdrant-compatible server on 127.0.0.1 in its own Node process (bench/qdrant-server-process.ts).
- \`migrateQdrant\` with batches of ${values.batch}, into a fresh database file, including the final checkpoint and the verification (count + 20 vectors compared element by element).

| run | time | points/s | CPU of the migrating process per point | peak RSS of the migrating process | load average at start | verified |
|---|---|---|---|---|---|---|
${results.map((r, i) => `| ${i + 1} | ${r.seconds.toFixed(1)} s | ${Math.round(r.rate).toLocaleString('en')} | ${Math.round(r.cpuUsPerPoint)} µs | ${Math.round(r.rssMb)} MB | ${r.load.toFixed(1)} | ${r.ok ? 'yes' : 'NO'} |`).join('\n')}

**Median: ${Math.round(median(results.map((r) => r.rate))).toLocaleString('en')} points/s** (target >= 3,000).
`;
writeFileSync(values.out!, md);
console.log(md);
