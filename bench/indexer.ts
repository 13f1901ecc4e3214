/**
 * VectorIndexer benchmark: indexBatch throughput (vectors/s) and exact-search latency (p50/p95) at 10k and
 * 100k 1536-d vectors in a database file. Run: `npm run bench:indexer` (writes bench/results/indexer.md).
 * Options: --sizes 10000,100000  --queries 30  --batch 2048
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openStore } from '../src/store/store.js';
import { clusteredVectors } from '../test/helpers/vectors.js';
import { machineDescription, percentile } from './machine.js';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '10000,100000' },
    queries: { type: 'string', default: '30' },
    batch: { type: 'string', default: '2048' },
    out: { type: 'string', default: 'bench/results/indexer.md' },
  },
});
const sizes = values.sizes!.split(',').map(Number);
const nQueries = Number(values.queries);
const batch = Number(values.batch);
const DIM = 1536;

interface Row { n: number; writeRate: number; writeSeconds: number; checkpointS: number; firstQueryMs: number; p50: number; p95: number; filteredP50: number; fileMb: number }
const rows: Row[] = [];

for (const n of sizes) {
  const dir = mkdtempSync(join(tmpdir(), 'doctor-bench-'));
  const path = join(dir, 'bench.duckdb');
  const store = await openStore({ path, embedding: { provider: 'bench', model: 'bench', dimension: DIM } });
  let written = 0;
  let writeMs = 0;
  while (written < n) {
    const count = Math.min(batch, n - written);
    const vs = clusteredVectors(count, DIM, 50, 1000 + written);
    const payloads = vs.map((_, i) => ({ text: `chunk ${written + i}`, page_id: `p${(written + i) % 5000}`, url: `https://b.test/${written + i}`, domain: 'b.test', tags: [(written + i) % 100 === 0 ? 'one-percent' : 'common'], job_id: 'bench' }));
    const t0 = performance.now();
    await store.chunks.indexBatch(vs, payloads);
    writeMs += performance.now() - t0;
    written += count;
    process.stderr.write(`\r${n}: wrote ${written}`);
  }
  const tc = performance.now();
  await store.db.checkpoint();
  const checkpointS = (performance.now() - tc) / 1000;
  process.stderr.write('\n');
  const queries = clusteredVectors(nQueries + 1, DIM, 50, 77);
  const t1 = performance.now();
  await store.chunks.search(queries[0]!, 10);
  const firstQueryMs = performance.now() - t1;
  const lat: number[] = [];
  for (const q of queries.slice(1)) {
    const t = performance.now();
    await store.chunks.search(q, 10);
    lat.push(performance.now() - t);
  }
  lat.sort((a, b) => a - b);
  const flat: number[] = [];
  for (const q of queries.slice(1, 11)) {
    const t = performance.now();
    await store.chunks.search(q, 10, { tags: ['one-percent'] });
    flat.push(performance.now() - t);
  }
  flat.sort((a, b) => a - b);
  await store.close();
  const fileMb = statSync(path).size / 2 ** 20;
  rows.push({ n, writeRate: (n / writeMs) * 1000, writeSeconds: writeMs / 1000, checkpointS, firstQueryMs, p50: percentile(lat, 50), p95: percentile(lat, 95), filteredP50: percentile(flat, 50), fileMb });
  rmSync(dir, { recursive: true, force: true });
  console.log(rows[rows.length - 1]);
}

const md = `# VectorIndexer benchmark (exact engine)

${machineDescription()}
- Vectors: ${DIM}-d, clustered, L2-normalised; batches of ${batch} through \`indexBatch\` (appender + data chunks, one transaction per batch); database file on local disk.
- Search: \`search(q, 10)\` with the exact engine (\`array_cosine_distance\` in DuckDB), ${nQueries} queries after one warm-up; filtered = tag matching 1% of rows.

| rows | indexBatch vectors/s | write time | checkpoint | first search (cold) | search p50 | search p95 | filtered 1% p50 | file size |
|---|---|---|---|---|---|---|---|---|
${rows.map((r) => `| ${r.n.toLocaleString('en')} | ${Math.round(r.writeRate).toLocaleString('en')} | ${r.writeSeconds.toFixed(1)} s | ${r.checkpointS.toFixed(1)} s | ${r.firstQueryMs.toFixed(0)} ms | ${r.p50.toFixed(1)} ms | ${r.p95.toFixed(1)} ms | ${r.filteredP50.toFixed(1)} ms | ${r.fileMb.toFixed(0)} MB |`).join('\n')}

Target for writes: >= 5,000 vectors/s. Exact search is the always-correct fallback; fast search at 100k+ rows comes from the ANN engines (see vector-engines.md).
`;
writeFileSync(values.out!, md);
console.log(md);
