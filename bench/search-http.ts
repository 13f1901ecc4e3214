/**
 * search_docs over HTTP at 100k chunks (vector and hybrid mode) with the usearch engine: the latency a
 * REST client sees (request, embedding the query, ANN search, payloads, per-page grouping, JSON).
 * Run: `npm run bench:search-http [-- --rows 100000 --queries 200]`; appends its table to
 * bench/results/vector-engines.md unless --out is given.
 */
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config/config.js';
import { buildHttpApp } from '../src/http/app.js';
import type { Embedder } from '../src/embed/embedder.js';
import { silentLogger } from '../src/log.js';
import { openStore } from '../src/store/store.js';
import type { UsearchEngine } from '../src/vector/usearch.js';
import { clusteredVectors, topicSpace } from '../test/helpers/vectors.js';
import { machineDescription, percentile } from './machine.js';

const { values } = parseArgs({
  options: { rows: { type: 'string', default: '100000' }, queries: { type: 'string', default: '200' }, data: { type: 'string', default: 'topics' }, out: { type: 'string' } },
});
if (values.data !== 'topics' && values.data !== 'isotropic') throw new Error(`--data is topics or isotropic (got ${values.data})`);
const ROWS = Number(values.rows);
const DIM = 1536;
const dir = mkdtempSync(join(tmpdir(), 'doctor-search-http-'));
const dbPath = join(dir, 'bench.duckdb');
const config = loadConfig({ dbPath, vectorEngine: 'usearch', logLevel: 'silent' }, {});
// Chunks and queries come from one synthetic space (see bench/vector-engines.ts for the two datasets); the
// queries are embedded by a stand-in returning vectors from that space (the lexical embedder would make
// every synthetic query alike).
const NQ = Number(values.queries);
const sample = values.data === 'topics' ? topicSpace(DIM).sample(ROWS + NQ) : clusteredVectors(ROWS + NQ, DIM, 50, 7);
const queryVectors = sample.slice(ROWS);
let next = 0;
const embedder: Embedder = { provider: 'bench', model: 'bench', dimension: DIM, embed: async (t) => t.map(() => queryVectors[next++ % queryVectors.length]!) };

let store = await openStore({ path: dbPath, embedding: embedder });
for (let start = 0; start < ROWS; start += 4096) {
  const n = Math.min(4096, ROWS - start);
  const vs = sample.slice(start, start + n);
  await store.chunks.indexBatch(vs, vs.map((_, i) => ({ text: `Chunk ${start + i} about option ${(start + i) % 997}.`, page_id: `page-${(start + i) % 20000}`, url: `https://docs.test/${(start + i) % 20000}`, tags: ['bench'], title: `Page ${(start + i) % 20000}` })));
}
await store.close();
store = await openStore({ path: dbPath, embedding: embedder, vector: { ...config, log: silentLogger, options: { allowVssInstall: false } } });
const t0 = performance.now();
await (store.chunks.vectorEngine as UsearchEngine).whenReady();
const buildS = (performance.now() - t0) / 1000;
const { expansionSearch } = await (store.chunks.vectorEngine as UsearchEngine).status();
const ctx = { config, store, embedder, log: silentLogger };
const app = await buildHttpApp(ctx, {});
await app.listen({ host: '127.0.0.1', port: 0 });
const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
const rows: string[] = [];
for (const mode of ['vector', 'hybrid'] as const) {
  const lat: number[] = [];
  for (let i = 0; i < NQ; i++) {
    const t = performance.now();
    const res = await fetch(`${base}/search_docs?query=option%20${i}&mode=${mode}&max_results=10`);
    await res.json();
    if (i >= 5) lat.push(performance.now() - t); // after a short warm-up
  }
  lat.sort((a, b) => a - b);
  rows.push(`| ${ROWS.toLocaleString('en')} | ${mode} | ${percentile(lat, 50).toFixed(2)} | ${percentile(lat, 95).toFixed(2)} | ${percentile(lat, 99).toFixed(2)} |`);
  console.log(rows.at(-1));
}
await app.close();
await store.close();
rmSync(dir, { recursive: true, force: true });
const md = `
## search_docs over HTTP

${machineDescription()}
- ${ROWS.toLocaleString('en')} chunks (1536-d, ${values.data} dataset) on 20,000 pages, usearch engine (${config.usearchQuantization}, M ${config.usearchConnectivity}, ef_search ${config.usearchExpansionSearch}${config.usearchExpansionSearch === 'auto' ? `: ${expansionSearch}` : ''}), index loaded/built in ${buildS.toFixed(1)} s before measuring; sequential GET /search_docs on 127.0.0.1, max_results 10; \`npm run bench:search-http\`.
- The query embedding is a stand-in returning clustered vectors (no model cost); hybrid adds the BM25 keyword side over the same chunks.

| chunks | mode | p50 ms | p95 ms | p99 ms |
|---|---|---|---|---|
${rows.join('\n')}

Target at 100k: vector mode p50 <= 10 ms.
`;
if (values.out) writeFileSync(values.out, md);
else {
  const path = 'bench/results/vector-engines.md';
  const current = readFileSync(path, 'utf8');
  const marker = '## search_docs over HTTP';
  writeFileSync(path, current.includes(marker) ? current.slice(0, current.indexOf(marker)) + md.trimStart() : current);
  if (!current.includes(marker)) appendFileSync(path, md);
}
console.log(md);
