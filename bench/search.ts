/**
 * Search benchmark: searchDocs latency (p50/p95) in hybrid, keyword and vector modes over a synthetic
 * documentation corpus (~100k chunks, lexical embedder, exact vector engine), and the keyword index build
 * rate (chunks/s, rebuilt from stored chunks). Run: `npm run bench:search` (writes bench/results/search.md).
 * Options: --chunks 100000  --per-page 10  --queries 50  --dim 1536  --out bench/results/search.md  --keep (keep the database)
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { LexicalEmbedder } from '../src/embed/lexical.js';
import { searchDocs, type SearchMode } from '../src/search/search-docs.js';
import { openStore } from '../src/store/store.js';
import { machineDescription, percentile } from './machine.js';

const { values } = parseArgs({
  options: {
    chunks: { type: 'string', default: '100000' },
    'per-page': { type: 'string', default: '10' },
    queries: { type: 'string', default: '50' },
    dim: { type: 'string', default: '1536' },
    out: { type: 'string', default: 'bench/results/search.md' },
    keep: { type: 'boolean', default: false },
  },
});
const nChunks = Number(values.chunks);
const perPage = Number(values['per-page']);
const nQueries = Number(values.queries);
const dim = Number(values.dim);

// Deterministic pseudo-random numbers (mulberry32).
let seed = 12345;
const rand = () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const SYL = ['ka', 'lo', 'mi', 'ne', 'ru', 'sa', 'ti', 'vo', 'de', 'fi', 'gu', 'ha', 'jo', 'pe', 'zu', 'bra', 'cle', 'dri', 'sto', 'tra'];
const word = () => Array.from({ length: 2 + Math.floor(rand() * 3) }, () => SYL[Math.floor(rand() * SYL.length)]).join('');
const vocab = [...new Set(Array.from({ length: 30000 }, word))];
const cap = (w: string) => w[0]!.toUpperCase() + w.slice(1);
const idents = Array.from({ length: 3000 }, () => {
  const parts = [vocab[Math.floor(rand() * 2000)]!, vocab[Math.floor(rand() * 5000)]!, vocab[Math.floor(rand() * 8000)]!];
  const style = Math.floor(rand() * 3);
  return style === 0 ? parts[0] + parts.slice(1).map(cap).join('') : style === 1 ? parts.join('_') : parts.join('.');
});
// Zipf-like: word rank r drawn with probability ~ 1/r.
const zipf = (n: number) => Math.min(n - 1, Math.floor(Math.exp(rand() * Math.log(n + 1))) - 1);
const sentence = (len: number) =>
  Array.from({ length: len }, () => (rand() < 0.04 ? '`' + idents[zipf(idents.length)] + '`' : vocab[zipf(vocab.length)])).join(' ') + '.';
const TAGS = Array.from({ length: 20 }, (_, i) => `site-${i}`);

const dir = mkdtempSync(join(tmpdir(), 'doctor-bench-search-'));
const path = join(dir, 'bench.duckdb');
const embedder = new LexicalEmbedder(dim);
const store = await openStore({ path, embedding: { provider: embedder.provider, model: embedder.model, dimension: dim } });
const deps = { store, embedder, keyword: store.keyword };

// 1. Corpus: pages of `perPage` chunks (~1,000 characters each), written through indexBatch (keyword hook included).
const nPages = Math.ceil(nChunks / perPage);
let written = 0;
let writeMs = 0;
let embedMs = 0;
const BATCH = 2000;
let pending: { text: string; page: number; i: number; title: string; heading: string }[] = [];
const flush = async () => {
  if (pending.length === 0) return;
  const te = performance.now();
  const vectors = await embedder.embed(pending.map((c) => `${c.title}\n${c.heading}\n${c.text}`));
  embedMs += performance.now() - te;
  const t0 = performance.now();
  await store.chunks.indexBatch(
    vectors,
    pending.map((c) => ({
      text: c.text, page_id: `p${c.page}`, url: `https://bench.test/p${c.page}`, domain: 'bench.test', tags: [TAGS[c.page % TAGS.length]!],
      job_id: 'bench', chunk_index: c.i, title: c.title, heading_path: c.heading,
    })),
  );
  writeMs += performance.now() - t0;
  written += pending.length;
  pending = [];
  process.stderr.write(`\rwrote ${written}/${nChunks} chunks`);
};
for (let p = 0; p < nPages && written + pending.length < nChunks; p++) {
  const title = `${cap(vocab[zipf(4000)]!)} ${vocab[zipf(vocab.length)]}`;
  for (let i = 0; i < perPage && written + pending.length < nChunks; i++) {
    const heading = `${title} > ${cap(vocab[zipf(vocab.length)]!)}`;
    const text = Array.from({ length: 12 }, () => sentence(8 + Math.floor(rand() * 10))).join(' ');
    pending.push({ text, page: p, i, title, heading });
    if (pending.length >= BATCH) await flush();
  }
}
await flush();
process.stderr.write('\n');
await store.db.checkpoint();
const [stats] = await store.db.all<{ postings: number; docs: number }>(
  'SELECT (SELECT count(*) FROM kw_postings)::INTEGER AS postings, (SELECT count(*) FROM kw_docs)::INTEGER AS docs',
);

// 2. Keyword index build rate: drop the index, rebuild it from the stored chunks.
await store.db.transaction(async (tx) => {
  await tx.run('DELETE FROM kw_postings');
  await tx.run('DELETE FROM kw_docs');
});
const tb = performance.now();
const rebuilt = await store.keyword.indexMissing();
const buildS = (performance.now() - tb) / 1000;
await store.db.checkpoint();

// 3. Query latency.
const queries = Array.from({ length: nQueries + 1 }, (_, i) => {
  const words = Array.from({ length: 2 + (i % 3) }, () => vocab[50 + zipf(vocab.length - 50)]!);
  if (i % 4 === 0) words.push(idents[zipf(idents.length)]!);
  return words.join(' ');
});
interface Lat { p50: number; p95: number; mean: number }
async function measure(mode: SearchMode, tags?: string[], maxResults = 10): Promise<Lat> {
  await searchDocs(deps, { query: queries[0]!, mode, tags, max_results: maxResults });
  const lat: number[] = [];
  for (const q of queries.slice(1)) {
    const t = performance.now();
    const { results } = await searchDocs(deps, { query: q, mode, tags, max_results: maxResults });
    lat.push(performance.now() - t);
    if (results.length === 0) throw new Error(`no results for "${q}" (${mode})`);
  }
  lat.sort((a, b) => a - b);
  return { p50: percentile(lat, 50), p95: percentile(lat, 95), mean: lat.reduce((a, b) => a + b, 0) / lat.length };
}
const runs: [string, Lat][] = [];
for (const [label, mode, tags, k] of [
  ['hybrid, max_results 10', 'hybrid', undefined, 10],
  ['hybrid, max_results 100', 'hybrid', undefined, 100],
  ['hybrid, tag filter (5% of chunks)', 'hybrid', ['site-3'], 10],
  ['keyword, max_results 10', 'keyword', undefined, 10],
  ['vector, max_results 10', 'vector', undefined, 10],
] as const) {
  const r = await measure(mode, tags ? [...tags] : undefined, k);
  runs.push([label, r]);
  console.log(label, r);
}
await store.close();
const fileMb = statSync(path).size / 2 ** 20;
if (values.keep) console.log(`database kept: ${path}`);
else rmSync(dir, { recursive: true, force: true });

const f = (ms: number) => `${ms.toFixed(1)} ms`;
const md = `# Search benchmark

${machineDescription()}
- Corpus: ${written.toLocaleString('en')} synthetic documentation chunks (~1,000 characters, Zipf-distributed words, 4% code identifiers),
  ${perPage} chunks per page, 20 tags; lexical embedder (${dim}-d), exact vector engine; database file on local disk (${fileMb.toFixed(0)} MB).
- Keyword index: ${stats!.docs.toLocaleString('en')} chunks, ${stats!.postings.toLocaleString('en')} postings.
- Queries: ${nQueries} queries of 2-4 words (a quarter with an identifier), after one warm-up query, one at a time.
- Load average when the queries ended (other work on the machine inflates p95): ${loadavg().map((x) => x.toFixed(1)).join(' / ')}.

## Keyword index build

| what | chunks | time | chunks/s |
|---|---|---|---|
| rebuild from stored chunks (\`indexMissing\`: read, tokenise, append) | ${rebuilt.toLocaleString('en')} | ${buildS.toFixed(1)} s | ${Math.round(rebuilt / buildS).toLocaleString('en')} |

While crawling, the index is written by the chunk hook inside each \`indexBatch\`: the whole write path
(vectors + payloads + keyword index) ran at ${Math.round((written / writeMs) * 1000).toLocaleString('en')} chunks/s
(embedding with the lexical embedder, not included: ${Math.round((written / embedMs) * 1000).toLocaleString('en')} chunks/s).

## searchDocs latency

| query | p50 | p95 | mean |
|---|---|---|---|
${runs.map(([label, r]) => `| ${label} | ${f(r.p50)} | ${f(r.p95)} | ${f(r.mean)} |`).join('\n')}

Hybrid = query embedding + exact vector search + BM25 in SQL + fusion + payloads. The vector side is the
exact engine (a full scan of ${written.toLocaleString('en')} ${dim}-d vectors); the ANN engines make it cheaper.
`;
writeFileSync(values.out!, md);
console.log(md);
