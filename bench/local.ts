/**
 * `doctor add` benchmark: indexing a real documentation tree, re-running it unchanged, re-running it after
 * editing 5% of the files, and the same tree as a .tar.gz.
 *
 * Data: Debian's postgresql-doc-15 HTML (`apt-get install postgresql-doc-15`, 1,100+ real pages), copied to
 * a temporary directory so that files can be edited. Embedder: the lexical one, so that the numbers are
 * Doctor's own work (listing, reading, extraction, chunking, storing, keyword index); with a real model,
 * embedding dominates the first run and is measured by bench:embed. Re-runs embed only changed files.
 *
 * Each run uses a fresh database; times are medians over `--runs`, with CPU time (process.cpuUsage: every
 * thread, DuckDB's included) next to wall time, since the machine may be shared.
 * Run: `npm run bench:local [-- --runs 3 --out bench/results/local.md]`
 */
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as tar from 'tar';
import { LexicalEmbedder } from '../src/embed/lexical.js';
import { indexLocalSource, type LocalIndexSummary } from '../src/ingest/local/index-local.js';
import { silentLogger } from '../src/log.js';
import { DEFAULT_MAX_FILE_BYTES, MAX_ARCHIVE_BYTES, MAX_ARCHIVE_ENTRIES, MAX_LOCAL_FILES, MAX_UNPACKED_BYTES } from '../src/service/local.js';
import { openStore } from '../src/store/store.js';
import { machineDescription, median } from './machine.js';

const { values } = parseArgs({
  options: {
    dir: { type: 'string', default: '/usr/share/doc/postgresql-doc-15/html' },
    runs: { type: 'string', default: '3' },
    out: { type: 'string', default: 'bench/results/local.md' },
  },
});
if (!existsSync(values.dir!)) {
  console.error(`${values.dir} not found: install it with \`apt-get install postgresql-doc-15\` or pass --dir <documentation directory>.`);
  process.exit(1);
}
const runs = Number(values.runs);
const work = mkdtempSync(join(tmpdir(), 'doctor-bench-local-'));
const log = (s: string) => process.stderr.write(s + '\n');
const limits = { maxFileBytes: DEFAULT_MAX_FILE_BYTES, maxFiles: MAX_LOCAL_FILES, maxArchiveBytes: MAX_ARCHIVE_BYTES, maxUnpackedBytes: MAX_UNPACKED_BYTES, maxEntries: MAX_ARCHIVE_ENTRIES };

const tree = join(work, 'html');
cpSync(values.dir!, tree, { recursive: true, dereference: true });
const archive = join(work, 'html.tar.gz');
await tar.c({ cwd: work, file: archive, gzip: true, portable: true }, ['html']);
const htmlFiles = readdirSync(tree).filter((f) => f.endsWith('.html')).sort();

interface Sample {
  wall: number;
  cpu: number;
  summary: LocalIndexSummary;
}

async function measure(fn: () => Promise<LocalIndexSummary>): Promise<Sample> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const summary = await fn();
  const wall = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(cpu0);
  return { wall, cpu: (c.user + c.system) / 1e6, summary };
}

const samples: Record<'first' | 'unchanged' | 'edited' | 'archive', Sample[]> = { first: [], unchanged: [], edited: [], archive: [] };
for (let run = 0; run < runs; run++) {
  const dbPath = join(work, `run${run}.duckdb`);
  const embedder = new LexicalEmbedder();
  const store = await openStore({ path: dbPath, embedding: { provider: embedder.provider, model: embedder.model, dimension: embedder.dimension } });
  const host = { store, embedder, log: silentLogger, chunking: { maxChars: 1000, overlap: 200 } };
  const add = (path: string) => () => indexLocalSource(host, { path, tags: ['pg'], exclude: [], limits });
  samples.first.push(await measure(add(tree)));
  samples.unchanged.push(await measure(add(tree)));
  // 5% of the pages get a new paragraph
  const edited = htmlFiles.filter((_, i) => i % 20 === run % 20);
  for (const f of edited) {
    const p = join(tree, f);
    writeFileSync(p, readFileSync(p, 'utf8').replace('</body>', `<p>Benchmark edit ${run} of ${f}.</p></body>`));
  }
  samples.edited.push(await measure(add(tree)));
  samples.archive.push(await measure(add(archive)));
  await store.close();
  rmSync(dbPath, { force: true });
  rmSync(`${dbPath}.wal`, { force: true });
  const s = samples.first.at(-1)!.summary;
  log(`run ${run + 1}/${runs}: ${s.files} files, first ${samples.first.at(-1)!.wall.toFixed(1)} s, unchanged ${samples.unchanged.at(-1)!.wall.toFixed(1)} s, edited ${samples.edited.at(-1)!.wall.toFixed(1)} s, archive ${samples.archive.at(-1)!.wall.toFixed(1)} s`);
}

const first = samples.first[0]!.summary;
const row = (name: string, xs: Sample[], what: (s: LocalIndexSummary) => string) => {
  const wall = median(xs.map((x) => x.wall));
  const cpu = median(xs.map((x) => x.cpu));
  return `| ${name} | ${what(xs[0]!.summary)} | ${wall.toFixed(2)} | ${cpu.toFixed(2)} | ${(first.files / wall).toFixed(0)} |`;
};
const counts = (s: LocalIndexSummary) => `${s.added} added, ${s.updated} updated, ${s.unchanged} unchanged, ${s.removed} removed`;
const md = `# bench:local — \`doctor add\` of a documentation tree

${machineDescription()}
- Load average at the end: ${loadavg().map((l) => l.toFixed(1)).join(', ')} (shared machine: compare CPU time and ratios)
- Data: Debian postgresql-doc-15 HTML, ${first.files} HTML files (${htmlFiles.length} .html in the directory), copied to a temporary directory; also as one .tar.gz
- Embedder: lexical (Doctor's own work only; real-model embedding time is in bench:embed). Chunks: 1,000 characters, 200 overlap. Vector engine: exact.
- Medians over ${runs} run(s), each in a fresh database.

| run | pages | wall s | CPU s | files/s (wall) |
|---|---|---|---|---|
${row('first add of the tree', samples.first, counts)}
${row('again, nothing changed', samples.unchanged, counts)}
${row('again, 5% of files edited', samples.edited, counts)}
${row('the .tar.gz (same files, other URLs: all new)', samples.archive, counts)}

Unchanged files are read, extracted and hashed again but not written (no embedding, no transaction);
the ratio of the second row to the first is what a re-run saves.

Run: \`npm run bench:local\`.
`;
writeFileSync(values.out!, md);
process.stdout.write(md);
rmSync(work, { recursive: true, force: true });
