/**
 * One measured crawl for bench/crawl.ts, in its own process so that its CPU time (every thread: main,
 * extraction workers, DuckDB) and its peak RSS are the crawl's alone.
 *   --root DIR  the Doctor checkout whose sources run (another checkout measures an earlier version)
 *   --url URL --db FILE --max-pages N --concurrency N --tag T
 * Prints one JSON line: seconds, pages, skipped, chunks, CPU (process, main thread), peak RSS, and the
 * crawl's own per-stage figures when the checkout reports them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    root: { type: 'string' },
    url: { type: 'string' },
    db: { type: 'string' },
    'max-pages': { type: 'string', default: '1000' },
    concurrency: { type: 'string', default: '4' },
    'extract-workers': { type: 'string' },
    tag: { type: 'string', default: 'bench' },
  },
});
const root = values.root ?? process.cwd();
// the sources, through tsx (a dist/ folder may be stale)
const load = (p: string) => import(pathToFileURL(join(root, p)).href);

/** CPU time of the calling thread in ns (Linux: /proc/thread-self/schedstat), or NaN elsewhere. */
function threadCpuNs(): number {
  try {
    return Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]);
  } catch {
    return NaN;
  }
}

/** CPU seconds of every thread of this process, summed by thread name (/proc/self/task; Linux only). */
function threadCpuByName(): Record<string, number> {
  const out: Record<string, number> = {};
  try {
    const tick = 100; // USER_HZ
    for (const t of readdirSync('/proc/self/task')) {
      try {
        const stat = readFileSync(`/proc/self/task/${t}/stat`, 'utf8');
        const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')).replace(/[0-9]+$/, '').trim() || 'thread';
        // Node names no thread but libuv's pool and V8's helpers: the busy ones by thread id
        const name = comm === 'node' ? `node:${t}` : comm;
        out[name] = (out[name] ?? 0) + (Number(rest[11]) + Number(rest[12])) / tick;
      } catch {
        // the thread ended meanwhile
      }
    }
  } catch {
    // not Linux
  }
  return out;
}

const { loadConfig } = await load('src/config/config.ts');
const { LexicalEmbedder } = await load('src/embed/lexical.ts');
const { JobRunner } = await load('src/ingest/job-runner.ts');
const { openStore } = await load('src/store/store.ts');
const { silentLogger } = await load('src/log.ts');

const config = loadConfig(
  { dbPath: values.db!, allowHosts: '127.0.0.1', perHostDelayMs: 0, perHostConcurrency: 8, crawlConcurrency: Number(values.concurrency), render: 'never', logLevel: 'silent', extractWorkers: values['extract-workers'] },
  {},
);
const embedder = new LexicalEmbedder();
const store = await openStore({ path: values.db!, embedding: embedder, threads: config.duckdbThreads });
const ctx: Record<string, unknown> = { config, store, embedder, log: silentLogger };
const runner = new JobRunner(ctx);
ctx.jobs = runner;
await runner.start();

let peakSampledRss = 0;
const sampler = setInterval(() => (peakSampledRss = Math.max(peakSampledRss, process.memoryUsage.rss())), 200);
const c0 = process.cpuUsage();
const m0 = threadCpuNs();
const t0 = performance.now();
await runner.submit({ job_id: 'bench', start_url: values.url!, max_pages: Number(values['max-pages']), max_depth: 10, tags: [values.tag!], options: { scope: 'prefix' } });
const job = await runner.waitFor('bench');
const seconds = (performance.now() - t0) / 1000;
const mainNs = threadCpuNs() - m0;
const cpu = process.cpuUsage(c0);
clearInterval(sampler);
const threads = threadCpuByName();
const stages = runner.stageTimes.get('bench') ?? {};
const pipeline = (runner as { pipelineStats?: () => unknown }).pipelineStats?.() ?? null;
await runner.stop();
const chunks = await store.chunks.count();
await store.close();
console.log(
  JSON.stringify({
    status: job.status,
    error: job.error_message,
    seconds,
    pages: job.pages_crawled,
    skipped: job.pages_skipped ?? 0,
    chunks,
    cpuUs: cpu.user + cpu.system,
    mainCpuUs: mainNs / 1000,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    sampledRssMb: peakSampledRss / 2 ** 20,
    stages,
    threads,
    pipeline,
  }),
);
process.exit(0);
