/**
 * Export/import benchmark: `doctor export` to one .tar and `doctor import` of it into a fresh database,
 * then the same import again (idempotent: every page kept), at a realistic size.
 *
 * Data: Debian's postgresql-doc-15 HTML (`apt-get install postgresql-doc-15`), real documentation pages,
 * turned into Markdown and chunked by Doctor's own extractor and chunker (1,000 characters, 200 overlap),
 * `--copies` times under different URL prefixes to reach tens of thousands of chunks. Vectors: dense
 * 1536-d embedding-like vectors (a topic mixture, as in bench:vectors); real embeddings compress as
 * little as these, while the lexical embedder's sparse vectors would make the files look far smaller.
 * The stores use the exact vector engine: with usearch the index then catches up in the background, a
 * cost measured by bench:vectors.
 *
 * Times are medians over `--runs`, with CPU time (process.cpuUsage: every thread, DuckDB's included) and
 * a baseline measured in the same run: DuckDB alone loading the same Parquet file into a table.
 * Run: `npm run bench:portable [-- --copies 2 --runs 3 --dim 1536 --out bench/results/portable.md]`
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '../src/db/duckdb.js';
import { chunkMarkdown } from '../src/ingest/extract/chunker.js';
import { extractPage } from '../src/ingest/extract/extract.js';
import { exportIndex } from '../src/portable/export.js';
import { importIndex } from '../src/portable/import.js';
import type { PortableProgress } from '../src/portable/progress.js';
import { openStore, type Store } from '../src/store/store.js';
import { topicSpace } from '../test/helpers/vectors.js';
import { machineDescription, median } from './machine.js';

const { values } = parseArgs({
  options: {
    dir: { type: 'string', default: '/usr/share/doc/postgresql-doc-15/html' },
    copies: { type: 'string', default: '2' },
    runs: { type: 'string', default: '3' },
    dim: { type: 'string', default: '1536' },
    out: { type: 'string', default: 'bench/results/portable.md' },
  },
});
if (!existsSync(values.dir!)) {
  console.error(`${values.dir} not found: install it with \`apt-get install postgresql-doc-15\` or pass --dir <html directory>.`);
  process.exit(1);
}
const dim = Number(values.dim);
const copies = Number(values.copies);
const runs = Number(values.runs);
const identity = { provider: 'bench', model: 'bench-embedding', dimension: dim };
const work = mkdtempSync(join(tmpdir(), 'doctor-bench-portable-'));
const log = (s: string) => process.stderr.write(s + '\n');

// ---- the source database ------------------------------------------------------------------------------
const files = readdirSync(values.dir!).filter((f) => f.endsWith('.html')).sort();
const docs = files.map((f) => {
  const url = `https://www.postgresql.org/docs/15/${f}`;
  const page = extractPage({ body: readFileSync(join(values.dir!, f), 'utf8'), contentType: 'text/html', url });
  const chunks = chunkMarkdown(page.markdown, { maxChars: 1000, overlap: 200, title: page.title });
  return { f, page, chunks };
}).filter((d) => d.chunks.length > 0);
const sourcePath = join(work, 'source.duckdb');
const source = await openStore({ path: sourcePath, embedding: identity });
const vectors = topicSpace(dim);
let t = performance.now();
const crawlDate = new Date('2026-01-01T00:00:00Z');
for (let copy = 0; copy < copies; copy++) {
  for (let start = 0; start < docs.length; start += 100) {
    const part = docs.slice(start, start + 100);
    const vecs = vectors.sample(part.reduce((s, d) => s + d.chunks.length, 0));
    let v = 0;
    await source.db.transaction(async (tx) => {
      for (const { f, page, chunks } of part) {
        const url = `https://docs-${copy}.example.org/docs/15/${f}`;
        const id = `c${copy}-${f}`;
        const tags = ['postgresql', `copy-${copy}`];
        await source.pages.upsert(tx, {
          id, url, domain: new URL(url).hostname, title: page.title, raw_text: page.markdown, crawl_date: crawlDate, tags, job_id: 'bench',
          parent_page_id: null, root_page_id: `c${copy}-index.html`, depth: 1, path: new URL(url).pathname, content_hash: null,
        });
        await source.chunks.writeBatch(
          tx,
          vecs.slice(v, (v += chunks.length)),
          chunks.map((c) => ({
            text: c.text, page_id: id, url, domain: new URL(url).hostname, tags, job_id: 'bench', chunk_index: c.index, title: page.title,
            heading_path: c.headingPath.join(' > ') || null,
          })),
        );
      }
    });
  }
}
await source.db.checkpoint();
const nPages = await source.pages.count();
const nChunks = await source.chunks.count();
const textBytes = Number((await source.db.all<{ n: number }>('SELECT sum(strlen(text_chunk))::BIGINT AS n FROM document_embeddings'))[0]!.n);
log(`source: ${nPages} pages, ${nChunks} chunks (${(performance.now() - t) / 1000} s to build)`);
const dbBytes = statSync(sourcePath).size;

// ---- measuring ---------------------------------------------------------------------------------------
interface Measured { wall: number; cpu: number; steps: Record<string, number> }

async function measure(fn: (onProgress: (p: PortableProgress) => void) => Promise<unknown>): Promise<Measured> {
  const steps: Record<string, number> = {};
  let step = '';
  let stepStart = 0;
  const onProgress = (p: PortableProgress) => {
    if (p.step === step) return;
    const now = performance.now();
    if (step) steps[step] = (steps[step] ?? 0) + (now - stepStart) / 1000;
    step = p.step;
    stepStart = now;
  };
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await fn(onProgress);
  const end = performance.now();
  if (step) steps[step] = (steps[step] ?? 0) + (end - stepStart) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { wall: (end - t0) / 1000, cpu: (cpu.user + cpu.system) / 1e6, steps };
}

const exports: Measured[] = [];
const imports: Measured[] = [];
const reimports: Measured[] = [];
const baselines: Measured[] = [];
let tarBytes = 0;
let parquet = { pages: 0, chunks: 0 };
for (let r = 0; r < runs; r++) {
  const tarPath = join(work, `export-${r}.tar`);
  exports.push(await measure((onProgress) => exportIndex(source, { out: tarPath, onProgress }).then((s) => {
    tarBytes = s.bytes;
    parquet = { pages: s.manifest.files.pages.bytes, chunks: s.manifest.files.chunks.bytes };
  })));
  log(`export ${r + 1}: ${exports[r]!.wall.toFixed(1)} s`);

  const targetPath = join(work, `target-${r}.duckdb`);
  const target: Store = await openStore({ path: targetPath, embedding: identity });
  imports.push(await measure((onProgress) => importIndex(target, { source: tarPath, workDir: work, onProgress }).then((s) => {
    if (s.chunks.added !== nChunks) throw new Error(`imported ${s.chunks.added} chunks, expected ${nChunks}`);
  })));
  log(`import ${r + 1}: ${imports[r]!.wall.toFixed(1)} s`);
  reimports.push(await measure((onProgress) => importIndex(target, { source: tarPath, workDir: work, onProgress }).then((s) => {
    if (s.pages.kept !== nPages || s.chunks.added !== 0) throw new Error('the second import changed something');
  })));
  log(`re-import ${r + 1}: ${reimports[r]!.wall.toFixed(1)} s`);
  await target.close();

  // Baseline: DuckDB alone reading the chunks file into a table (no checks, no keyword index).
  const unpacked = join(work, `unpacked-${r}`);
  await exportIndex(source, { out: unpacked });
  const inst = await DuckDBInstance.create(join(work, `baseline-${r}.duckdb`));
  const conn = await inst.connect();
  baselines.push(await measure(async () => {
    await conn.run('CREATE TABLE c AS SELECT * FROM read_parquet($f)', { f: join(unpacked, 'chunks.parquet') });
    await conn.run('CHECKPOINT');
  }));
  conn.closeSync();
  inst.closeSync();
  for (const p of [tarPath, targetPath, `${targetPath}.wal`, unpacked, join(work, `baseline-${r}.duckdb`)]) rmSync(p, { recursive: true, force: true });
}
await source.close();
rmSync(work, { recursive: true, force: true });

// ---- report ------------------------------------------------------------------------------------------
const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
const med = (xs: Measured[], f: (m: Measured) => number) => median(xs.map(f));
const row = (name: string, xs: Measured[]) =>
  `| ${name} | ${med(xs, (m) => m.wall).toFixed(1)} s | ${med(xs, (m) => m.cpu).toFixed(1)} s | ${Math.round(nChunks / med(xs, (m) => m.wall)).toLocaleString('en-US')} |`;
const stepRows = (xs: Measured[]) => {
  const names = [...new Set(xs.flatMap((m) => Object.keys(m.steps)))];
  return names.map((n) => `| ${n} | ${median(xs.map((m) => m.steps[n] ?? 0)).toFixed(1)} s |`).join('\n');
};
const md = `# Export and import

${machineDescription()}
- Data: ${nPages.toLocaleString('en-US')} pages, ${nChunks.toLocaleString('en-US')} chunks (${mib(textBytes)} of chunk text): Debian's postgresql-doc-15 HTML
  (${docs.length} pages with text) x ${copies} copies under different URLs, extracted and chunked by Doctor (1,000 characters, 200 overlap);
  dense ${dim}-d embedding-like vectors (topic mixture, as in bench:vectors). Exact vector engine.
- ${runs} runs, medians. CPU = user + system time of the whole process (DuckDB's threads included).
- Load average when the run ended: ${loadavg().map((x) => x.toFixed(1)).join(', ')} (on a busy machine compare CPU times, not wall times).
- Command: \`npm run bench:portable${copies !== 2 || runs !== 3 || dim !== 1536 ? ` -- --copies ${copies} --runs ${runs} --dim ${dim}` : ''}\`

## Sizes

| what | size |
|---|---|
| source database file (after CHECKPOINT) | ${mib(dbBytes)} |
| export archive (.tar) | ${mib(tarBytes)} (${(tarBytes / dbBytes).toFixed(2)} x the database) |
| pages.parquet (zstd) | ${mib(parquet.pages)} |
| chunks.parquet (zstd, vectors included) | ${mib(parquet.chunks)}; raw vectors alone are ${mib(nChunks * dim * 4)} |

## Times

| operation | wall | CPU | chunks/s (wall) |
|---|---|---|---|
${row('export to .tar', exports)}
${row('import into a fresh database', imports)}
${row('import again (all pages kept, nothing written)', reimports)}
${row('baseline: DuckDB loading chunks.parquet into a table', baselines)}

Import / baseline: ${(med(imports, (m) => m.wall) / med(baselines, (m) => m.wall)).toFixed(1)} x wall, ${(med(imports, (m) => m.cpu) / med(baselines, (m) => m.cpu)).toFixed(1)} x CPU (the import also checks
checksums, merges by URL, validates every vector and builds the keyword index in the same transaction).

### Export, by step (median)

| step | time |
|---|---|
${stepRows(exports)}

### Import, by step (median)

| step | time |
|---|---|
${stepRows(imports)}
`;
writeFileSync(values.out!, md);
log(`wrote ${values.out}`);
