/**
 * Crawl benchmark, end to end, on real documentation sites installed from Debian and served on 127.0.0.1:
 * - postgres: postgresql-doc-15 (`/usr/share/doc/postgresql-doc-15/html`, ~1,100 small pages, ~12 chunks each);
 * - sqlite: sqlite3-doc (`/usr/share/doc/sqlite3`, 766 pages, dozens over 60 KB);
 * - python: python3.11-doc's Sphinx HTML (`/usr/share/doc/python3.11/html`, 530 pages, 238 over 60 KB, ~45
 *   chunks each: the site of issue 11).
 * Each run is its own process (bench/crawl-child.ts: a fresh database file, the lexical embedder) and the site
 * is served by another (bench/static-server-process.ts), so CPU time and peak RSS are the crawl's alone.
 * Reports per site the median of the runs: pages/s, chunks/s, CPU per page (all threads, and the main
 * thread), peak RSS; then one extra run under `--cpu-prof` gives the CPU per page of each stage.
 * `--baseline REV` also measures a git revision of this repository (extracted to a temporary directory,
 * sharing node_modules) in the same session, runs interleaved, for before/after ratios on a noisy machine.
 *
 * Run: `npm run bench:crawl [-- --sites postgres,sqlite,python --runs 3 --max-pages 1000 --baseline REV --extract-workers N]`
 */
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { machineDescription, median } from './machine.js';
import { summariseProfile } from './profile-summary.js';

const SITES: Record<string, { dir: string; start: string; pkg: string }> = {
  postgres: { dir: '/usr/share/doc/postgresql-doc-15/html', start: 'index.html', pkg: 'postgresql-doc-15' },
  sqlite: { dir: '/usr/share/doc/sqlite3', start: 'index.html', pkg: 'sqlite3-doc' },
  python: { dir: '/usr/share/doc/python3.11/html', start: 'index.html', pkg: 'python3.11-doc' },
};

const { values } = parseArgs({
  allowNegative: true, // --no-profile, --no-rebuild
  options: {
    sites: { type: 'string', default: 'postgres,sqlite,python' },
    runs: { type: 'string', default: '3' },
    'max-pages': { type: 'string', default: '1000' },
    concurrency: { type: 'string', default: '8' },
    'extract-workers': { type: 'string' },
    profile: { type: 'boolean', default: true },
    baseline: { type: 'string' },
    out: { type: 'string', default: 'bench/results/crawl.md' },
  },
});

const HERE = resolve(import.meta.dirname);
const ROOT = resolve(HERE, '..');

interface Result {
  status: string;
  error: string | null;
  seconds: number;
  pages: number;
  skipped: number;
  chunks: number;
  cpuUs: number;
  mainCpuUs: number;
  maxRssMb: number;
}

function runNode(args: string[], cwd = ROOT): Promise<string> {
  return new Promise((res, rej) => {
    const p = spawn(process.execPath, args, { cwd, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.on('error', rej);
    p.on('exit', (code) => (code === 0 ? res(out) : rej(new Error(`${args.join(' ')} exited with ${code}`))));
  });
}

async function startServer(dir: string): Promise<{ url: string; stop: () => void }> {
  const p = spawn(process.execPath, ['--import', 'tsx', join(HERE, 'static-server-process.ts'), dir], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((res, rej) => {
    let buf = '';
    p.stdout.on('data', (d) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl >= 0) res((JSON.parse(buf.slice(0, nl)) as { url: string }).url);
    });
    p.on('exit', (code) => rej(new Error(`static server exited (${code})`)));
  });
  return { url, stop: () => p.kill('SIGTERM') };
}

async function crawlOnce(root: string, url: string, profileDir?: string): Promise<Result> {
  const dir = mkdtempSync(join(tmpdir(), 'doctor-crawl-bench-'));
  try {
    const prof = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
    const out = await runNode([
      ...prof, '--import', 'tsx', join(HERE, 'crawl-child.ts'),
      '--root', root, '--url', url, '--db', join(dir, 'bench.duckdb'),
      '--max-pages', values['max-pages']!, '--concurrency', values.concurrency!,
      ...(values['extract-workers'] ? ['--extract-workers', values['extract-workers']] : []),
    ]);
    const r = JSON.parse(out.trim().split('\n').at(-1)!) as Result;
    if (r.status !== 'completed') throw new Error(`crawl ${r.status}: ${r.error}`);
    return r;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The code of `rev` in a temporary directory sharing this checkout's node_modules. */
function checkout(rev: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'doctor-baseline-'));
  execFileSync('sh', ['-c', `git archive ${JSON.stringify(rev)} | tar -x -C ${JSON.stringify(dir)}`], { cwd: ROOT });
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

const perPage = (us: number, pages: number) => us / 1000 / Math.max(1, pages);
const fmt = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '-');

interface Variant { name: string; root: string }
const variants: Variant[] = [{ name: 'this version', root: ROOT }];
if (values.baseline) variants.push({ name: `baseline ${values.baseline}`, root: checkout(values.baseline) });

const sections: string[] = [];
const summary: string[] = [];
for (const key of values.sites!.split(',')) {
  const site = SITES[key];
  if (!site) throw new Error(`unknown site ${key} (known: ${Object.keys(SITES).join(', ')})`);
  if (!existsSync(site.dir)) {
    sections.push(`## ${key}\n\nSkipped: \`${site.dir}\` is missing (\`apt-get install ${site.pkg}\`).\n`);
    continue;
  }
  const server = await startServer(site.dir);
  const url = server.url + site.start;
  const results = new Map<string, Result[]>(variants.map((v) => [v.name, []]));
  for (let i = 0; i < Number(values.runs); i++) {
    for (const v of variants) {
      const r = await crawlOnce(v.root, url);
      results.get(v.name)!.push(r);
      console.log(`${key} ${v.name} run ${i + 1}: ${r.pages} pages, ${r.chunks} chunks in ${r.seconds.toFixed(1)} s = ${(r.pages / r.seconds).toFixed(1)} pages/s; CPU ${fmt(perPage(r.cpuUs, r.pages))} ms/page; peak RSS ${r.maxRssMb.toFixed(0)} MB`);
    }
  }
  let stagesMd = '';
  if (values.profile) {
    const profDir = mkdtempSync(join(tmpdir(), 'doctor-crawl-prof-'));
    const r = await crawlOnce(ROOT, url, profDir);
    const stages: Record<string, number> = {};
    let sampled = 0;
    for (const f of readdirSync(profDir)) {
      const s = summariseProfile(JSON.parse(readFileSync(join(profDir, f), 'utf8')), 0);
      for (const [k, ms] of Object.entries(s.stages)) {
        if (k === 'idle') continue;
        stages[k] = (stages[k] ?? 0) + ms;
        sampled += ms;
      }
    }
    rmSync(profDir, { recursive: true, force: true });
    const cpuMs = r.cpuUs / 1000;
    stagesMd =
      `CPU by stage (one extra run under \`--cpu-prof\`, every JS thread, ${r.pages} pages). The profiler samples a running thread by the clock, so on a busy machine the sampled time exceeds the CPU time; the shares hold. ` +
      `Process CPU in that run: ${fmt(perPage(r.cpuUs, r.pages))} ms/page; JS samples: ${fmt(sampled / Math.max(1, r.pages))} ms/page` +
      `${sampled < cpuMs ? ` (the rest, ${fmt((cpuMs - sampled) / Math.max(1, r.pages))} ms/page, is DuckDB's and other native threads)` : ''}.\n\n` +
      '| stage | share of JS samples | sampled ms/page |\n|---|---|---|\n' +
      Object.entries(stages)
        .sort((a, b) => b[1] - a[1])
        .map(([k, ms]) => `| ${k} | ${fmt((ms / Math.max(1, sampled)) * 100, 0)}% | ${fmt(ms / Math.max(1, r.pages))} |`)
        .join('\n') +
      '\n';
  }
  server.stop();
  const table = (name: string, rs: Result[]) =>
    rs.map((r, i) => `| ${name} | ${i + 1} | ${r.pages} | ${r.chunks} | ${r.seconds.toFixed(1)} s | ${fmt(r.pages / r.seconds)} | ${fmt(r.chunks / r.seconds, 0)} | ${fmt(perPage(r.cpuUs, r.pages))} | ${fmt(perPage(r.mainCpuUs, r.pages))} | ${r.maxRssMb.toFixed(0)} MB |`).join('\n');
  sections.push(
    `## ${key}: \`${site.dir}\` (${site.pkg})\n\n` +
      '| code | run | pages | chunks | time | pages/s | chunks/s | CPU ms/page (all threads) | main thread CPU ms/page | peak RSS |\n|---|---|---|---|---|---|---|---|---|---|\n' +
      variants.map((v) => table(v.name, results.get(v.name)!)).join('\n') +
      '\n\n' +
      stagesMd,
  );
  for (const v of variants) {
    const rs = results.get(v.name)!;
    summary.push(
      `| ${key} | ${v.name} | ${fmt(median(rs.map((r) => r.chunks / r.pages)))} | **${fmt(median(rs.map((r) => r.pages / r.seconds)))}** | **${fmt(median(rs.map((r) => r.chunks / r.seconds)), 0)}** | ${fmt(median(rs.map((r) => perPage(r.cpuUs, r.pages))))} | ${fmt(median(rs.map((r) => perPage(r.mainCpuUs, r.pages))))} | ${Math.max(...rs.map((r) => r.maxRssMb)).toFixed(0)} MB |`,
    );
  }
}
for (const v of variants) if (v.root !== ROOT) rmSync(v.root, { recursive: true, force: true });

const md = `# Crawl benchmark (end to end, real sites)

${machineDescription()}
- Sites: Debian's HTML documentation packages served on 127.0.0.1 by a Node static server in its own process; start \`index.html\`, scope prefix, max_depth 10, up to ${values['max-pages']} pages.
- Each run: its own process, a fresh database file, the lexical embedder (1536-d, offline), the exact vector engine, crawl concurrency ${values.concurrency}, per-host concurrency 8, no per-host delay, rendering off, extraction pool of ${values['extract-workers'] ?? "each version's default size (from 95a914e on: cores - 1, and 2 on 2 cores; before: cores - 1)"}${values['extract-workers'] ? ' workers' : ''}.
- ${values.runs} runs per site${values.baseline ? `, interleaved with the baseline revision \`${values.baseline}\` (same machine, same session)` : ''}; medians below. CPU is process CPU time (every thread) per stored page; peak RSS is the process's maximum resident set.
- Targets (issue 11, this 2-core machine): >= 30 pages/s and >= 1,500 chunks/s on a site of ~50 chunks per page; >= 60 pages/s on postgresql-doc-15; peak RSS < 1 GB for 1,000 pages.

| site | code | chunks/page | pages/s | chunks/s | CPU ms/page | main thread CPU ms/page | peak RSS (max of runs) |
|---|---|---|---|---|---|---|---|
${summary.join('\n')}

${sections.join('\n')}`;
mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
writeFileSync(resolve(ROOT, values.out!), md);
console.log(md);
