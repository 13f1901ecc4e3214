/**
 * Crawl benchmark: crawls a real documentation site served on 127.0.0.1 (default: Debian's
 * postgresql-doc-15 HTML, `apt-get install postgresql-doc-15`) with the lexical embedder into a fresh
 * database file, and reports pages/s end to end and the share of time per stage.
 * Run: `npm run bench:crawl [-- --dir /usr/share/doc/postgresql-doc-15/html --max-pages 1000 --runs 3]`
 */
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config/config.js';
import { LexicalEmbedder } from '../src/embed/lexical.js';
import { JobRunner } from '../src/ingest/job-runner.js';
import { silentLogger } from '../src/log.js';
import type { DoctorContext } from '../src/service/context.js';
import { openStore } from '../src/store/store.js';
import { serveDirectory } from '../src/cli/static-site.js';
import { machineDescription, median } from './machine.js';

const { values } = parseArgs({
  options: {
    dir: { type: 'string', default: '/usr/share/doc/postgresql-doc-15/html' },
    start: { type: 'string', default: 'index.html' },
    'max-pages': { type: 'string', default: '1000' },
    runs: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '4' },
    out: { type: 'string', default: 'bench/results/crawl.md' },
  },
});
if (!existsSync(values.dir!)) {
  console.error(`${values.dir} not found: install it with \`apt-get install postgresql-doc-15\` or pass --dir <html directory>.`);
  process.exit(1);
}

interface Run { pages: number; seconds: number; stages: Record<string, number>; chunks: number; bytes: number }
const runs: Run[] = [];
const { url, server } = await serveDirectory(values.dir!);
for (let i = 0; i < Number(values.runs); i++) {
  const dir = mkdtempSync(join(tmpdir(), 'doctor-crawl-bench-'));
  const dbPath = join(dir, 'bench.duckdb');
  const config = loadConfig({ dbPath, allowHosts: '127.0.0.1', perHostDelayMs: 0, perHostConcurrency: 8, crawlConcurrency: Number(values.concurrency), render: 'never', logLevel: 'silent' }, {});
  const embedder = new LexicalEmbedder();
  const store = await openStore({ path: dbPath, embedding: embedder });
  const ctx: DoctorContext = { config, store, embedder, log: silentLogger };
  const runner = new JobRunner(ctx);
  ctx.jobs = runner;
  await runner.start();
  const t0 = performance.now();
  await runner.submit({ job_id: `bench-${i}`, start_url: url + values.start!, max_pages: Number(values['max-pages']), max_depth: 10, tags: ['postgres'], options: { scope: 'prefix' } });
  const job = await runner.waitFor(`bench-${i}`);
  const seconds = (performance.now() - t0) / 1000;
  const stages = { ...(runner.stageTimes.get(`bench-${i}`) ?? {}) } as Record<string, number>;
  const chunks = await store.chunks.count();
  console.log(`run ${i + 1}: ${job.status}, ${job.pages_crawled} pages in ${seconds.toFixed(1)} s = ${(job.pages_crawled / seconds).toFixed(1)} pages/s`, stages);
  await runner.stop();
  await store.close(); // checkpoints: the file then holds everything
  runs.push({ pages: job.pages_crawled, seconds, stages, chunks, bytes: statSync(dbPath).size });
  rmSync(dir, { recursive: true, force: true });
}
server.close();

const rates = runs.map((r) => r.pages / r.seconds);
const stageNames = ['fetch', 'extract', 'chunk', 'embed', 'store', 'render'];
const totals = Object.fromEntries(stageNames.map((s) => [s, runs.reduce((n, r) => n + (r.stages[s] ?? 0), 0)]));
const sum = Object.values(totals).reduce((a, b) => a + b, 0) || 1;
const md = `# Crawl benchmark (end to end)

${machineDescription()}
- Site: \`${values.dir}\` served on 127.0.0.1 by a Node static server; start \`${values.start}\`, scope prefix, max_depth 10, up to ${values['max-pages']} pages.
- Embedder: lexical (1536-d, offline); crawl concurrency ${values.concurrency}; rendering off; a fresh database file per run.

| run | pages stored | chunks | time | pages/s | database file |
|---|---|---|---|---|---|
${runs.map((r, i) => `| ${i + 1} | ${r.pages} | ${r.chunks} | ${r.seconds.toFixed(1)} s | ${(r.pages / r.seconds).toFixed(1)} | ${(r.bytes / 2 ** 20).toFixed(1)} MB |`).join('\n')}

**Median: ${median(rates).toFixed(1)} pages/s** (target >= 30 pages/s).

Share of time per stage (summed over pages and runs; stages of different pages overlap in time, so these are shares of work, not of wall time):

| stage | share |
|---|---|
${stageNames.filter((s) => totals[s]! > 0).map((s) => `| ${s} | ${((totals[s]! / sum) * 100).toFixed(0)}% |`).join('\n')}
`;
writeFileSync(values.out!, md);
console.log(md);
