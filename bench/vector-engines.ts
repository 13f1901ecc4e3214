/**
 * Vector engines benchmark: exact (DuckDB) vs usearch (vs vss where it loads) at 10k and 100k 1536-d
 * clustered vectors, in one run: build time, p50/p99 search latency, recall@10 against exact, memory (RSS
 * delta), index file size, tag-filtered latency at 1% and 20% selectivity, save and cold-load times, and the
 * event loop's longest stall during a build. Run: `npm run bench:vectors` (writes bench/results/vector-engines.md).
 * Options: --sizes 10000,100000  --queries 200  --exact-queries 50
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { openStore, type Store } from '../src/store/store.js';
import { ExactEngine } from '../src/vector/exact.js';
import { indexPathOf } from '../src/vector/sidecar.js';
import { UsearchEngine, type UsearchStatusExtra } from '../src/vector/usearch.js';
import type { IndexParams } from '../src/vector/usearch-protocol.js';
import { VssEngine, loadVss } from '../src/vector/vss.js';
import type { VectorEngine, VectorSearchRequest } from '../src/vector/engine.js';
import { clusteredVectors } from '../test/helpers/vectors.js';
import { machineDescription, percentile } from './machine.js';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '10000,100000' },
    queries: { type: 'string', default: '200' },
    'exact-queries': { type: 'string', default: '50' },
    out: { type: 'string', default: 'bench/results/vector-engines.md' },
  },
});
const sizes = values.sizes!.split(',').map(Number);
const nQueries = Number(values.queries);
const nExact = Number(values['exact-queries']);
const DIM = 1536;
const K = 10;
const params: IndexParams = { dimension: DIM, quantization: 'f16', connectivity: 16, expansionAdd: 128, expansionSearch: 128 };
const ONE = 'one-percent';
const TWENTY = 'twenty-percent';
const tagsOf = (i: number) => [...(i % 100 === 0 ? [ONE] : []), ...(i % 5 === 1 ? [TWENTY] : []), 'all'];

const log = (msg: string) => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
const mb = (b: number) => b / 2 ** 20;
const rss = () => {
  globalThis.gc?.();
  return process.memoryUsage().rss;
};

async function timed(engine: VectorEngine, reqs: VectorSearchRequest[]): Promise<{ p50: number; p99: number; ids: string[][] }> {
  await engine.search(reqs[0]!); // warm-up
  const lat: number[] = [];
  const ids: string[][] = [];
  for (const r of reqs) {
    const t = performance.now();
    const hits = await engine.search(r);
    lat.push(performance.now() - t);
    ids.push(hits.map((h) => h.id));
  }
  lat.sort((a, b) => a - b);
  return { p50: percentile(lat, 50), p99: percentile(lat, 99), ids };
}

function recall(got: string[][], want: string[][]): number {
  let hit = 0;
  let total = 0;
  got.forEach((g, i) => {
    const w = new Set(want[i]!.slice(0, K));
    total += w.size;
    hit += g.slice(0, K).filter((id) => w.has(id)).length;
  });
  return total ? hit / total : NaN;
}

interface EngineRow {
  n: number;
  engine: string;
  build: string;
  p50: number;
  p99: number;
  recall: number;
  memory: string;
  file: string;
  f1: number;
  f20: number;
  f1Recall: number;
  f20Recall: number;
  notes: string;
}
const rows: EngineRow[] = [];
const extras: string[] = [];
let vssReason = '';

for (const n of sizes) {
  const dir = mkdtempSync(join(tmpdir(), 'doctor-vbench-'));
  const path = join(dir, 'bench.duckdb');
  let store: Store = await openStore({ path, embedding: { provider: 'bench', model: 'bench', dimension: DIM } });
  // One draw for rows and queries: the queries come from the same 50 clusters (and are not stored).
  const sample = clusteredVectors(n + nQueries, DIM, 50, 7);
  const t0 = performance.now();
  for (let written = 0; written < n; ) {
    const count = Math.min(2048, n - written);
    const vs = sample.slice(written, written + count);
    await store.chunks.indexBatch(vs, vs.map((_, i) => ({ text: `chunk ${written + i}`, page_id: `p${written + i}`, tags: tagsOf(written + i) })));
    written += count;
    if (written % 20480 === 0 || written === n) log(`${n}: wrote ${written}`);
  }
  await store.db.checkpoint();
  log(`${n}: loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const db = store.db;
  const qs = sample.slice(n);
  sample.length = 0;
  const req = (q: Float32Array, tags?: string[]): VectorSearchRequest => ({ query: q, limit: K, tags });

  // exact: the ground truth (recall is measured against it), on the first `nExact` queries
  const exact = new ExactEngine(db, DIM);
  const exactPlain = await timed(exact, qs.slice(0, nExact).map((q) => req(q)));
  const exactF1 = await timed(exact, qs.slice(0, nExact).map((q) => req(q, [ONE])));
  const exactF20 = await timed(exact, qs.slice(0, nExact).map((q) => req(q, [TWENTY])));
  rows.push({
    n, engine: 'exact (DuckDB)', build: '-', p50: exactPlain.p50, p99: exactPlain.p99, recall: 1, memory: '-', file: '-',
    f1: exactF1.p50, f20: exactF20.p50, f1Recall: 1, f20Recall: 1, notes: `${nExact} queries`,
  });
  log(`${n}: exact p50 ${exactPlain.p50.toFixed(1)} ms, 1% ${exactF1.p50.toFixed(1)} ms, 20% ${exactF20.p50.toFixed(1)} ms`);

  // usearch: build from DuckDB in a worker while the event loop is watched
  const rss0 = rss();
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const engine = new UsearchEngine(db, DIM, { params, dbPath: path });
  const tb = performance.now();
  await engine.rebuild();
  const buildS = (performance.now() - tb) / 1000;
  loop.disable();
  const rss1 = rss();
  const st1 = (await engine.status()) as Awaited<ReturnType<VectorEngine['status']>> & UsearchStatusExtra;
  const fileBytes = statSync(indexPathOf(path)).size;
  log(`${n}: usearch built in ${buildS.toFixed(1)} s (max event-loop stall ${(loop.max / 1e6).toFixed(0)} ms), save ${st1.lastSaveMs?.toFixed(0)} ms`);
  const all = await timed(engine, qs.map((q) => req(q)));
  const f1 = await timed(engine, qs.slice(0, nExact).map((q) => req(q, [ONE])));
  const f20 = await timed(engine, qs.slice(0, nExact).map((q) => req(q, [TWENTY])));
  const s = engine.stats;
  rows.push({
    n, engine: 'usearch f16 (M 16, ef_add 128, ef_search 128)', build: `${buildS.toFixed(1)} s`, p50: all.p50, p99: all.p99,
    recall: recall(all.ids.slice(0, nExact), exactPlain.ids), memory: `${mb(rss1 - rss0).toFixed(0)} MB`, file: `${mb(fileBytes).toFixed(0)} MB`,
    f1: f1.p50, f20: f20.p50, f1Recall: recall(f1.ids, exactF1.ids), f20Recall: recall(f20.ids, exactF20.ids),
    notes: `filtered: ${s.filteredIndex} over-fetched from the index, ${s.filteredExact} exact (selective), ${s.shortPageFallbacks} short-page fallbacks`,
  });

  // the same through VectorIndexer.search (adds the payload read from DuckDB)
  store.chunks.setEngine(engine);
  const viaStore: number[] = [];
  for (const q of qs.slice(0, 100)) {
    const t = performance.now();
    await store.chunks.search(q, K);
    viaStore.push(performance.now() - t);
  }
  viaStore.sort((a, b) => a - b);

  // searches while the index is being saved (the worker is busy writing the file)
  const [extraV] = clusteredVectors(1, DIM, 50, 31337);
  await store.chunks.indexBatch([extraV!], [{ text: 'extra', tags: ['all'] }]);
  const during: number[] = [];
  const saving = engine.save();
  let saved = false;
  void saving.then(() => (saved = true));
  for (let i = 0; !saved && i < 1000; i++) {
    const t = performance.now();
    await engine.search(req(qs[i % qs.length]!));
    during.push(performance.now() - t);
  }
  await saving;
  const st2 = (await engine.status()) as Awaited<ReturnType<VectorEngine['status']>> & UsearchStatusExtra;
  await engine.close();
  store.chunks.setEngine(exact);

  // cold start: load the saved index (size + SHA-1 check, then load in the worker)
  const tl = performance.now();
  const reopened = new UsearchEngine(db, DIM, { params, dbPath: path });
  await reopened.start();
  await reopened.whenReady();
  const loadMs = performance.now() - tl;
  const origin = ((await reopened.status()) as UsearchStatusExtra).origin;
  await reopened.close();

  // expansion_search sweep on the same file (a search-time setting: no rebuild)
  const sweep: string[] = [];
  for (const ef of [64, 256]) {
    const e = new UsearchEngine(db, DIM, { params: { ...params, expansionSearch: ef }, dbPath: path });
    await e.start();
    await e.whenReady();
    const r = await timed(e, qs.map((q) => req(q)));
    sweep.push(`ef_search ${ef}: p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms, recall@10 ${recall(r.ids.slice(0, nExact), exactPlain.ids).toFixed(3)}`);
    await e.close();
  }
  extras.push(
    `### ${n.toLocaleString('en-US')} rows, usearch details`,
    `- Build: ${buildS.toFixed(1)} s for ${n.toLocaleString('en-US')} rows (read from DuckDB in ${8192}-row batches, added in a worker thread with all cores); longest event-loop stall meanwhile: ${(loop.max / 1e6).toFixed(0)} ms (p99 ${(loop.percentile(99) / 1e6).toFixed(0)} ms).`,
    `- Save (worker writes the file, then SHA-1 streamed on the main thread): ${st1.lastSaveMs?.toFixed(0)} ms after the build, ${st2.lastSaveMs?.toFixed(0)} ms for the incremental save; ${during.length} searches ran during that save, slowest ${during.length ? Math.max(...during).toFixed(0) : '-'} ms (they wait in the worker's queue while it writes).`,
    `- Cold start from the saved file (row map read, size + SHA-1 check, load): ${loadMs.toFixed(0)} ms (${origin}).`,
    `- Search through \`VectorIndexer.search\` (engine + payload read from DuckDB): p50 ${percentile(viaStore, 50).toFixed(2)} ms, p99 ${percentile(viaStore, 99).toFixed(2)} ms.`,
    ...sweep.map((x) => `- ${x}`),
    '',
  );

  // vss (only where the extension loads: never installed from the network here)
  try {
    await loadVss(db, { allowInstall: false, extensionPath: process.env.DOCTOR_VSS_EXTENSION });
    const tv = performance.now();
    const vss = await VssEngine.open(db, DIM, { allowInstall: false, extensionPath: process.env.DOCTOR_VSS_EXTENSION });
    const vb = (performance.now() - tv) / 1000;
    const va = await timed(vss, qs.map((q) => req(q)));
    const v1 = await timed(vss, qs.slice(0, nExact).map((q) => req(q, [ONE])));
    const v20 = await timed(vss, qs.slice(0, nExact).map((q) => req(q, [TWENTY])));
    rows.push({
      n, engine: 'vss (HNSW in DuckDB)', build: `${vb.toFixed(1)} s`, p50: va.p50, p99: va.p99, recall: recall(va.ids.slice(0, nExact), exactPlain.ids),
      memory: '-', file: '(in the database)', f1: v1.p50, f20: v20.p50, f1Recall: recall(v1.ids, exactF1.ids), f20Recall: recall(v20.ids, exactF20.ids), notes: '',
    });
  } catch (e) {
    vssReason = (e as Error).message;
  }

  await store.close();
  rmSync(dir, { recursive: true, force: true });
  log(`${n}: done`);
}

const f = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : '-');
const table = [
  '| rows | engine | build | p50 ms | p99 ms | recall@10 | memory (RSS delta) | index file | 1% filter p50 ms | 20% filter p50 ms | filtered recall@10 (1% / 20%) | notes |',
  '|---|---|---|---|---|---|---|---|---|---|---|---|',
  ...rows.map((r) =>
    `| ${r.n.toLocaleString('en-US')} | ${r.engine} | ${r.build} | ${f(r.p50)} | ${f(r.p99)} | ${f(r.recall, 3)} | ${r.memory} | ${r.file} | ${f(r.f1)} | ${f(r.f20)} | ${f(r.f1Recall, 3)} / ${f(r.f20Recall, 3)} | ${r.notes} |`,
  ),
].join('\n');

const md = `# Vector engines benchmark

${machineDescription()}
- usearch ${JSON.parse((await import('node:fs')).readFileSync(new URL('../node_modules/usearch/package.json', import.meta.url), 'utf8')).version}
- Vectors: ${DIM}-d, clustered (50 clusters), L2-normalised, in a database file; tags independent of the vectors: 1% of rows carry \`${ONE}\`, 20% \`${TWENTY}\`.
- Queries: ${nQueries} from the same clusters (not stored), top ${K}; latencies are the engine's \`search\` (the
  usearch engine answers from its worker thread, so each includes a message round trip). Recall@10 is measured
  against exact search in DuckDB on the first ${nExact} queries; exact latencies over those ${nExact}.
- Memory: the process's RSS after the build minus before (index in the worker thread + the row map).
- Command: \`npm run bench:vectors -- --sizes ${sizes.join(',')}\`

${table}

Targets at 100k: engine p50 <= 1 ms with recall@10 >= 0.99; filtered p50 <= 20 ms at 1% and 20% selectivity.

${extras.join('\n')}
### vss
${vssReason ? `Not measured: ${vssReason}` : 'Measured above.'}

### 1M rows
Not measured: loading 1M 1536-d rows into DuckDB (~6 GB) and building the usearch index (~15-20 min on
2 cores, from the 100k build time) does not fit this run's time budget on this machine.

## search_docs over HTTP (vector mode)

TO BE MEASURED once the HTTP server's search path uses the configured engine: target p50 <= 10 ms at 100k.
`;
writeFileSync(values.out!, md);
log(`wrote ${values.out}`);
