/**
 * Remote crawl workers benchmark: a real documentation site (default: Debian's postgresql-doc-15 HTML) served
 * on 127.0.0.1 with every page answered after 100 ms (a slow remote site), crawled by `doctor serve` in this
 * process (a) in-process, (b) with 1, 2 and 4 `doctor worker` processes through a redis-server started here,
 * and (c) with a "replay" worker process that answers every page instantly from results it computed before
 * the run: the rate the single DuckDB writer absorbs (pages/s and chunks/s) when workers are not the limit.
 * Run: `npm run bench:workers [-- --max-pages 400 --runs 2 --worker-concurrency 8 --delay-ms 100]`
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config/config.js';
import { startServer } from '../src/server/serve.js';
import { RedisServer } from '../test/helpers/redis-server.js';
import { machineDescription, median } from './machine.js';

const { values } = parseArgs({
  options: {
    dir: { type: 'string', default: '/usr/share/doc/postgresql-doc-15/html' },
    start: { type: 'string', default: 'index.html' },
    'max-pages': { type: 'string', default: '400' },
    runs: { type: 'string', default: '2' },
    'delay-ms': { type: 'string', default: '100' },
    'worker-concurrency': { type: 'string', default: '8' },
    workers: { type: 'string', default: '1,2,4' },
    dim: { type: 'string', default: '384' },
    /** Only these modes (comma-separated names as in the table, e.g. "replay"), for profiling one. */
    only: { type: 'string' },
    out: { type: 'string', default: 'bench/results/workers.md' },
  },
});
const root = values.dir!;
if (!existsSync(root)) {
  console.error(`${root} not found: install it with \`apt-get install postgresql-doc-15\` or pass --dir <html directory>.`);
  process.exit(1);
}
const delayMs = Number(values['delay-ms']);
const maxPages = Number(values['max-pages']);
const concurrency = Number(values['worker-concurrency']);
const CLI = ['--import', 'tsx', 'src/cli/main.ts'];
const childEnv = {
  ...process.env,
  DOCTOR_LOG_LEVEL: 'warn',
  DOCTOR_RENDER: 'never',
  DOCTOR_EMBEDDING_PROVIDER: 'lexical',
  DOCTOR_EMBEDDING_DIM: values.dim!,
  DOCTOR_ALLOW_HOSTS: '127.0.0.1',
};

// the site: files of `root`, each answered after delayMs
const site = createServer((req, res) => {
  const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
  let file = normalize(join(root, path));
  if (!file.startsWith(root)) return void res.writeHead(403).end();
  if (existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html');
  setTimeout(() => {
    if (!existsSync(file)) return void res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    res.writeHead(200, { 'content-type': extname(file) === '.html' ? 'text/html; charset=utf-8' : 'application/octet-stream' });
    res.end(readFileSync(file));
  }, delayMs);
});
await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
const siteUrl = `http://127.0.0.1:${(site.address() as { port: number }).port}/`;

const redis = await RedisServer.start();

const live = new Set<ChildProcess>();
process.once('exit', () => live.forEach((c) => c.kill('SIGKILL')));
process.once('SIGINT', () => process.exit(130));
process.once('SIGTERM', () => process.exit(143));

function spawnWorker(script: string[], ready: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, script, { env: childEnv, stdio: ['ignore', 'ignore', 'pipe'] });
  live.add(child);
  child.once('exit', () => live.delete(child));
  let stderr = '';
  return new Promise((resolve, reject) => {
    child.stderr!.on('data', (d) => {
      stderr += d;
      if (stderr.includes(ready)) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`worker exited (${code}): ${stderr}`)));
  });
}

interface Run { mode: string; pages: number; chunks: number; seconds: number; serverCpuMsPerPage: number; workerCpuMsPerPage: number }

/** CPU time (user + system) of a process so far, in ms, from /proc (clock ticks of 10 ms). */
function processCpuMs(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return 0;
  }
}

async function crawl(mode: string, workers: number, replay: boolean, i: number): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'doctor-workers-bench-'));
  const flush = redis.client();
  await flush.flushall();
  flush.disconnect();
  const remote = workers > 0 || replay;
  const config = loadConfig(
    {
      dataDir: dir,
      port: 0,
      logLevel: 'silent',
      embeddingProvider: 'lexical',
      embeddingDimension: Number(values.dim),
      allowHosts: '127.0.0.1',
      render: 'never',
      // one site: lift politeness so that the crawl, not the per-host limit, is measured
      perHostDelayMs: 0,
      perHostConcurrency: 64,
      crawlConcurrency: concurrency,
      redisUrl: remote ? redis.url : undefined,
      redisPagesInFlight: Math.max(concurrency, (replay ? 16 : workers) * concurrency * 2),
    },
    {},
  );
  const server = await startServer(config);
  const children: ChildProcess[] = [];
  try {
    if (replay) children.push(await spawnWorker(['--import', 'tsx', 'bench/replay-worker.ts', redis.url, root, siteUrl, values.dim!], 'replay worker ready'));
    for (let w = 0; w < workers; w++) {
      children.push(await spawnWorker([...CLI, 'worker', '--redis', redis.url, '--concurrency', String(concurrency)], 'is taking crawl pages'));
    }
    const workerCpu0 = children.reduce((n, c) => n + processCpuMs(c.pid!), 0);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const started = await (
      await fetch(`${server.url}/fetch_url`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ url: siteUrl + values.start, max_pages: maxPages, max_depth: 10 }),
      })
    ).json() as { job_id: string };
    let job: { completed: boolean; status: string; pages_crawled: number };
    for (;;) {
      job = await (await fetch(`${server.url}/job_progress?job_id=${started.job_id}`)).json() as typeof job;
      if (job.completed) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const workerCpu = children.reduce((n, c) => n + processCpuMs(c.pid!), 0) - workerCpu0;
    const health = await (await fetch(`${server.url}/health`)).json() as { chunks: number };
    const run = { mode, pages: job.pages_crawled, chunks: health.chunks, seconds, serverCpuMsPerPage: (cpu.user + cpu.system) / 1000 / Math.max(1, job.pages_crawled), workerCpuMsPerPage: workerCpu / Math.max(1, job.pages_crawled) };
    console.log(`${mode} run ${i + 1}: ${job.status}, ${run.pages} pages, ${run.chunks} chunks in ${seconds.toFixed(1)} s = ${(run.pages / seconds).toFixed(1)} pages/s; server+site CPU ${run.serverCpuMsPerPage.toFixed(1)} ms/page, workers ${run.workerCpuMsPerPage.toFixed(1)} ms/page`);
    return run;
  } finally {
    for (const c of children) c.kill('SIGTERM');
    await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : undefined)));
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const modes: { name: string; workers: number; replay: boolean }[] = [
  { name: 'in-process', workers: 0, replay: false },
  ...values.workers!.split(',').map((n) => ({ name: `${n} worker${n === '1' ? '' : 's'}`, workers: Number(n), replay: false })),
  { name: 'replay (writer ceiling)', workers: 0, replay: true },
];
if (values.only) modes.splice(0, modes.length, ...modes.filter((m) => values.only!.split(',').some((o) => m.name.startsWith(o))));
const results = new Map<string, Run[]>();
// runs interleaved (mode after mode, then again) so that noise from other processes spreads over every mode
for (let i = 0; i < Number(values.runs); i++) {
  for (const m of modes) {
    const r = await crawl(m.name, m.workers, m.replay, i);
    results.set(m.name, [...(results.get(m.name) ?? []), r]);
  }
}
site.close();
await redis.kill();

const base = median((results.get('in-process') ?? [...results.values()][0]!).map((r) => r.pages / r.seconds));
const rows = modes.map((m) => {
  const rs = results.get(m.name)!;
  const rate = median(rs.map((r) => r.pages / r.seconds));
  const chunkRate = median(rs.map((r) => r.chunks / r.seconds));
  return `| ${m.name} | ${rs.map((r) => r.pages).join(', ')} | ${rate.toFixed(1)} | ${chunkRate.toFixed(0)} | ${(rate / base).toFixed(2)}x | ${median(rs.map((r) => r.serverCpuMsPerPage)).toFixed(1)} | ${m.replay ? '(precomputed)' : median(rs.map((r) => r.workerCpuMsPerPage)).toFixed(1)} |`;
});
const md = `# Remote crawl workers benchmark

${machineDescription()}
- Site: \`${root}\` (real documentation pages, 10-100 KB of HTML each) served on 127.0.0.1, **every answer delayed ${delayMs} ms** (a slow remote site); start \`${values.start}\`, up to ${maxPages} pages, max_depth 10.
- Server: \`doctor serve\` in the benchmark process (the site runs there too); embedder lexical ${values.dim}-d on every side; rendering off; per-host politeness lifted (delay 0, 64 at once) since there is one site.
- In-process: DOCTOR_CRAWL_CONCURRENCY=${concurrency}. Workers: \`doctor worker --concurrency ${concurrency}\` processes on this machine; the server keeps up to workers x ${concurrency} x 2 pages in flight.
- Replay: one worker process computed every page's result (Markdown, links, chunks, vectors) before the run and answers each page job at once: what the server (Redis round trip, decoding, the one DuckDB writer's group commits) absorbs when workers are not the limit.
- ${values.runs} runs per mode, interleaved; medians. Worker start-up is not timed (workers wait, ready, before the job starts). CPU: this process (server + site) per page, and the worker processes' (from /proc) per page: on a shared machine CPU per page is steadier than pages/s.

| mode | pages | pages/s | chunks/s | vs in-process | server+site CPU ms/page | workers' CPU ms/page |
|---|---|---|---|---|---|---|
${rows.join('\n')}
`;
writeFileSync(values.out!, md);
console.log(md);
