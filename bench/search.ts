/**
 * Search benchmark on real documentation text (bench/doc-corpus.ts: the chunks of postgresql-doc-15 and
 * sqlite3-doc, replicated and perturbed up to --chunks), with queries of common words:
 * - keyword index: load time on open, memory, rebuild from chunk text (tokenising every chunk);
 * - `searchDocs` latency per mode inside the process (query embedding excluded: queries are embedded
 *   beforehand), several rounds, and the pruning (postings visited / scored vs the postings of the terms);
 * - the same queries over HTTP (GET /search_docs, the lexical embedder embedding each query);
 * - at up to 200k chunks, the previous keyword engine (BM25 in SQL over the v2 posting table) on the same
 *   queries, for a before/after in one run.
 * Run: `npm run bench:search` (100k chunks, 1536-d, writes bench/results/search.md) or
 * `npm run bench:search:1m` (1M chunks, 384-d, bench/results/search-1m.md).
 * Options: --chunks N --dim D --queries N --rounds N --out file --no-http --no-rebuild
 */
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { BIGINT, LIST, listValue } from '../src/db/duckdb.js';
import { loadConfig } from '../src/config/config.js';
import type { Embedder } from '../src/embed/embedder.js';
import { LexicalEmbedder } from '../src/embed/lexical.js';
import { buildHttpApp } from '../src/http/app.js';
import { silentLogger } from '../src/log.js';
import { searchDocs, type SearchMode } from '../src/search/search-docs.js';
import { pruningStats } from '../src/store/bm25-search.js';
import { openStore } from '../src/store/store.js';
import { termHash } from '../src/text/chunk-terms.js';
import { queryTerms } from '../src/text/tokenize.js';
import type { UsearchEngine } from '../src/vector/usearch.js';
import { TAGS, ensureBenchCorpus } from './doc-corpus.js';
import { machineDescription, median, percentile } from './machine.js';
import { withFolds, type EvalQuery } from './eval/metrics.js';

const { values } = parseArgs({
  options: {
    chunks: { type: 'string', default: '100000' },
    dim: { type: 'string', default: '1536' },
    queries: { type: 'string', default: '100' },
    rounds: { type: 'string', default: '5' },
    out: { type: 'string' },
    'no-http': { type: 'boolean', default: false },
    'no-rebuild': { type: 'boolean', default: false },
  },
});
const nChunks = Number(values.chunks);
const dim = Number(values.dim);
const nQueries = Number(values.queries);
const rounds = Number(values.rounds);
const out = values.out ?? (nChunks >= 1_000_000 ? 'bench/results/search-1m.md' : 'bench/results/search.md');
const log = (s: string) => process.stderr.write(s);

const corpus = await ensureBenchCorpus({ chunks: nChunks, dim, log });

// Queries: 2-4 words drawn from the most frequent words of the docs (in 2%-40% of the chunks each), and the
// evaluation set's developer questions.
let seed = 7;
const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
const pool = corpus.common.filter((c) => c.share >= 0.02 && c.share <= 0.4 && c.word.length > 2 && !/^\d+$/.test(c.word));
const common = Array.from({ length: nQueries }, () => {
  const words = new Set<string>();
  while (words.size < 2 + Math.floor(rand() * 3)) words.add(pool[Math.floor(rand() * pool.length)]!.word);
  return [...words].join(' ');
});
const questions = withFolds((JSON.parse(readFileSync('bench/eval/queries.json', 'utf8')) as { queries: EvalQuery[] }).queries).map((q) => q.query);
const shareOf = new Map(corpus.common.map((c) => [c.word, c.share]));
const medianShare = median(common.flatMap((q) => q.split(' ').map((w) => shareOf.get(w) ?? 0)));

// Query vectors made beforehand: "query embedding excluded".
const lexical = new LexicalEmbedder(dim);
const vectors = new Map<string, Float32Array>();
for (const q of [...common, ...questions]) vectors.set(q, lexical.embedOne(q));
const stand: Embedder = { provider: lexical.provider, model: lexical.model, dimension: dim, embed: async (t) => t.map((x) => vectors.get(x) ?? lexical.embedOne(x)) };

const config = loadConfig({ dbPath: corpus.path, vectorEngine: 'usearch', logLevel: 'silent' }, {});
// Keyword index load, both ways: from kw_docs (every row read, postings built) and from the saved file.
rmSync(`${corpus.path}.keywords`, { force: true });
const loads: { how: string; ms: number; cpuMs: number }[] = [];
for (let i = 0; i < 2; i++) {
  const cpu0 = process.cpuUsage();
  const s = await openStore({ path: corpus.path, embedding: lexical });
  const st = await s.keyword.stats();
  const cpu = process.cpuUsage(cpu0);
  loads.push({ how: i === 0 ? 'from kw_docs (no saved file)' : 'from the saved file (<db>.keywords)', ms: st.loadMs, cpuMs: (cpu.user + cpu.system) / 1000 });
  await s.close(); // saves the file
}
global.gc?.();
const rss0 = process.memoryUsage().rss;
const tOpen = performance.now();
const store = await openStore({ path: corpus.path, embedding: lexical, vector: { ...config, log: silentLogger, options: { allowVssInstall: false } } });
const openMs = performance.now() - tOpen;
const kwStats = await store.keyword.stats();
global.gc?.();
const rssOpen = process.memoryUsage().rss;
const tVec = performance.now();
await (store.chunks.vectorEngine as UsearchEngine).whenReady();
const vectorReadyS = (performance.now() - tVec) / 1000;
log(`opened in ${openMs.toFixed(0)} ms (keyword load ${kwStats.loadMs.toFixed(0)} ms), vector index ready after ${vectorReadyS.toFixed(1)} s more\n`);

interface Lat { p50: number; p95: number; rounds: number[] }
async function measure(label: string, queries: string[], run: (q: string) => Promise<unknown>): Promise<[string, Lat]> {
  await run(queries[0]!);
  const p50s: number[] = [];
  const p95s: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const lat: number[] = [];
    for (const q of queries) {
      const t = performance.now();
      await run(q);
      lat.push(performance.now() - t);
    }
    lat.sort((a, b) => a - b);
    p50s.push(percentile(lat, 50));
    p95s.push(percentile(lat, 95));
  }
  const r: Lat = { p50: median(p50s), p95: median(p95s), rounds: p50s };
  log(`${label}: p50 ${r.p50.toFixed(2)} ms, p95 ${r.p95.toFixed(2)} ms\n`);
  return [label, r];
}

const deps = { store, embedder: stand, keyword: store.keyword };
const search = (mode: SearchMode, max = 10, tags?: string[]) => async (q: string) => {
  const { results } = await searchDocs(deps, { query: q, mode, max_results: max, tags });
  if (results.length === 0) throw new Error(`no results for "${q}" (${mode})`);
};
const inProcess: [string, Lat][] = [];
for (const [label, mode, max, tags, qs] of [
  ['keyword, common words', 'keyword', 10, undefined, common],
  ['hybrid, common words', 'hybrid', 10, undefined, common],
  ['vector, common words', 'vector', 10, undefined, common],
  ['keyword, common words, max_results 100', 'keyword', 100, undefined, common],
  ['keyword, common words, tag filter (5% of chunks)', 'keyword', 10, [TAGS[3]!], common],
  ['hybrid, common words, tag filter (5% of chunks)', 'hybrid', 10, [TAGS[3]!], common],
  ['keyword, developer questions (bench/eval)', 'keyword', 10, undefined, questions],
  ['hybrid, developer questions (bench/eval)', 'hybrid', 10, undefined, questions],
] as const) {
  inProcess.push(await measure(label, [...qs], search(mode, max, tags ? [...tags] : undefined)));
}

// Pruning: postings visited and scored by the keyword engine, against all postings of the query terms.
const kw = store.keyword as unknown as { index: { df: Uint32Array; termId(lo: number, hi: number): number } };
let visited = 0;
let scored = 0;
let postings = 0;
for (const q of common) {
  await searchDocs(deps, { query: q, mode: 'keyword', max_results: 10 });
  visited += pruningStats.candidates;
  scored += pruningStats.scored;
  for (const t of queryTerms(q)) {
    const h = BigInt.asUintN(64, termHash(t));
    const id = kw.index.termId(Number(h & 0xffffffffn) | 0, Number(h >> 32n) | 0);
    if (id >= 0) postings += kw.index.df[id]!;
  }
}

// Before: the previous engine (BM25 in SQL over kw_postings(term, doc, tf), grouped per page), same queries.
let before: [string, Lat] | undefined;
if (nChunks <= 200_000) {
  await store.db.run('CREATE OR REPLACE TABLE kw_postings_v2 AS SELECT unnest(terms) AS term, doc, unnest(tfs)::INTEGER AS tf FROM kw_docs');
  await store.db.run('CREATE OR REPLACE TABLE kw_docs_v2 AS SELECT k.doc, e.id AS chunk_id, e.page_id, k.len, e.tags FROM kw_docs k JOIN document_embeddings e ON e.seq = k.doc');
  const sql = `WITH stats AS (SELECT count(*)::DOUBLE AS n, coalesce(avg(len), 1)::DOUBLE AS avgdl FROM kw_docs_v2),
       hits AS (SELECT term, doc, tf FROM kw_postings_v2 WHERE term IN (SELECT unnest($terms))),
       df AS (SELECT term, ln(1 + (s.n - count(*) + 0.5) / (count(*) + 0.5)) AS idf FROM hits, stats s GROUP BY term, s.n),
       scored AS (
         SELECT h.doc, sum(df.idf * (h.tf * 2.2) / (h.tf + 1.2 * (1 - 0.75 + 0.75 * d.len / s.avgdl))) AS score
         FROM hits h JOIN df USING (term) JOIN kw_docs_v2 d ON d.doc = h.doc CROSS JOIN stats s GROUP BY h.doc),
       pages AS (SELECT coalesce(d.page_id, 'chunk:' || d.chunk_id) AS page_key, arg_max(d.chunk_id, s.score) AS id, max(s.score) AS score
         FROM scored s JOIN kw_docs_v2 d ON d.doc = s.doc GROUP BY page_key)
     SELECT id, score FROM pages ORDER BY score DESC, id LIMIT 10`;
  const old = async (q: string) => {
    await store.db.all(sql, { terms: listValue(queryTerms(q).map(termHash)) }, { terms: LIST(BIGINT) });
  };
  before = await measure('before: keyword BM25 in SQL (v2 tables), common words', common.slice(0, 30), old);
  await store.db.run('DROP TABLE kw_postings_v2');
  await store.db.run('DROP TABLE kw_docs_v2');
}

// Over HTTP, with the lexical embedder embedding each query.
const overHttp: [string, Lat][] = [];
if (!values['no-http']) {
  const app = await buildHttpApp({ config, store, embedder: lexical, log: silentLogger }, {});
  await app.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  for (const mode of ['keyword', 'hybrid', 'vector'] as const) {
    overHttp.push(
      await measure(`HTTP ${mode}, common words`, common, async (q) => {
        const res = await fetch(`${base}/search_docs?query=${encodeURIComponent(q)}&mode=${mode}&max_results=10`);
        const body = (await res.json()) as { results: unknown[] };
        if (!res.ok || body.results.length === 0) throw new Error(`HTTP ${res.status} for "${q}"`);
      }),
    );
  }
  await app.close();
}

// Compaction: rewriting every posting list into a fresh base (runs after commits once the tail or the
// deleted chunks grow large; it blocks the event loop meanwhile).
const tCompact = performance.now();
await store.keyword.compact();
const compactMs = performance.now() - tCompact;

// Rebuild from chunk text (what an upgraded database or a tokeniser change costs on open).
let rebuild: { chunks: number; seconds: number } | undefined;
if (!values['no-rebuild'] && nChunks <= 200_000) {
  const t = performance.now();
  const n = await store.keyword.rebuild();
  rebuild = { chunks: n, seconds: (performance.now() - t) / 1000 };
  log(`rebuilt ${n} chunks in ${rebuild.seconds.toFixed(1)} s\n`);
}
await store.close();

const f = (ms: number) => `${ms.toFixed(2)} ms`;
const mb = (b: number) => `${(b / 2 ** 20).toFixed(0)} MB`;
const row = ([label, r]: [string, Lat]) => `| ${label} | ${f(r.p50)} | ${f(r.p95)} | ${r.rounds.map((x) => x.toFixed(2)).join(', ')} |`;
const md = `# Search benchmark (${nChunks.toLocaleString('en')} chunks)

${machineDescription()}
- Command: \`npm run bench:search${nChunks >= 1_000_000 ? ':1m' : ''}\` (\`--chunks ${nChunks} --dim ${dim}\`).
- Corpus: ${corpus.chunks.toLocaleString('en')} chunks of real documentation text on ${corpus.pages.toLocaleString('en')} pages: the chunks Doctor made
  of Debian's postgresql-doc-15 and sqlite3-doc, replicated with perturbation (words outside the 2,000 most frequent
  respelled per replica, a few sentences dropped or repeated; bench/doc-corpus.ts); 20 tags (5% of the chunks each);
  lexical embedder (${dim}-d) vectors, usearch engine (bf16, ready ${vectorReadyS.toFixed(1)} s after open${vectorReadyS > 5 ? ': built now' : ': loaded'}).
- Queries: ${common.length} of 2-4 common words (median share of chunks holding a query word: ${(medianShare * 100).toFixed(0)}%;
  e.g. "${common[0]}", "${common[1]}", "${common[2]}"), and the ${questions.length} developer questions of bench/eval;
  one at a time, ${rounds} rounds after a warm-up query: p50 and p95 are the medians over the rounds (each round's
  p50 listed). The machine is shared: load average at the end ${loadavg().map((x) => x.toFixed(1)).join(' / ')}.

## Keyword index

| what | value |
|---|---|
| chunks in the index | ${kwStats.docs.toLocaleString('en')} (${kwStats.pages.toLocaleString('en')} pages, ${kwStats.terms.toLocaleString('en')} distinct terms) |
| postings in memory | ${(kwStats.basePostings + kwStats.tailPostings).toLocaleString('en')} |
${loads.map((l) => `| keyword index load ${l.how} | ${l.ms.toFixed(0)} ms wall, ${l.cpuMs.toFixed(0)} ms CPU (whole \`openStore\`) |`).join('\n')}
| saved file size | ${mb(statSync(`${corpus.path}.keywords`).size)} |
| open for the measurements (\`openStore\` with usearch; keyword index ${kwStats.loadedFrom.replace(/ from .*keywords/, ' from the saved file')}) | ${openMs.toFixed(0)} ms, of which keyword index ${kwStats.loadMs.toFixed(0)} ms |
| keyword index memory (typed arrays + chunk ids, estimated) | ${mb(kwStats.bytes)} |
| compaction (all postings rewritten; blocks the event loop) | ${compactMs.toFixed(0)} ms |
| process RSS growth on open (keyword index + DuckDB caches + usearch row map) | ${mb(rssOpen - rss0)} |
${rebuild ? `| rebuild from chunk text (read, tokenise, write \`kw_docs\`, load) | ${rebuild.chunks.toLocaleString('en')} chunks in ${rebuild.seconds.toFixed(1)} s = ${Math.round(rebuild.chunks / rebuild.seconds).toLocaleString('en')} chunks/s |\n` : ''}${corpus.writeRate ? `| whole write path while building this corpus (vectors + payloads + keyword rows; embedding excluded) | ${Math.round(corpus.writeRate).toLocaleString('en')} chunks/s |\n` : ''}
Pruning (keyword mode, common-word queries, top 10 pages): the engine visited ${visited.toLocaleString('en')} postings
and fully scored ${scored.toLocaleString('en')} documents, of ${postings.toLocaleString('en')} postings of the query terms
(${((visited / Math.max(1, postings)) * 100).toFixed(1)}% visited, ${((scored / Math.max(1, postings)) * 100).toFixed(1)}% scored).

## searchDocs latency in the process (query embedding excluded)

| query | p50 | p95 | p50 of each round |
|---|---|---|---|
${inProcess.map(row).join('\n')}
${before ? `${row(before)}\n\nThe last row is the previous keyword engine (BM25 in SQL over the v2 posting table, built for this run from the same\nrows), on the first 30 common-word queries: the before/after of the keyword side in one run.` : ''}

${overHttp.length ? `## search_docs over HTTP (lexical embedder embedding each query)

| query | p50 | p95 | p50 of each round |
|---|---|---|---|
${overHttp.map(row).join('\n')}
` : ''}
Targets at 100k chunks, common-word queries: keyword p50 <= 10 ms and hybrid p50 <= 15 ms inside searchDocs; over
HTTP with the lexical embedder <= 20 ms.
`;
writeFileSync(out, md);
console.log(md);
