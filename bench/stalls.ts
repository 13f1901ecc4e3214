/**
 * Does the server keep answering while it handles one very large document? A real `doctor serve` (the
 * compiled CLI in dist/, lexical 1536-d embeddings) indexes one ~20 MB Markdown file through POST /add_local
 * and then shows it in the web interface with a search term marked (GET /ui/page/{id}?q=...). Meanwhile this
 * process asks GET /health every 20 ms and records how long each answer took: the longest is how long the
 * server's event loop was held (every other client waits as long).
 *
 * Data: the reStructuredText sources of Debian's python3.11-doc (`apt-get install python3.11-doc`), every file
 * under a `## <path>` heading, repeated until the file reaches --mb MB: real documentation text with code, tables
 * and common words, in one file. Each run uses a fresh data directory and server; medians over --runs.
 * `--baseline DIR` also runs an earlier checkout (built: its dist/), interleaved with this one.
 * Run: `npm run bench:stalls [-- --runs 3 --mb 20 --out bench/results/stalls.md --baseline DIR --profile DIR]`
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { machineDescription, median, percentile } from './machine.js';

const { values } = parseArgs({
  options: {
    dir: { type: 'string', default: '/usr/share/doc/python3.11/html/_sources' },
    mb: { type: 'string', default: '20' },
    runs: { type: 'string', default: '3' },
    term: { type: 'string', default: 'function' },
    out: { type: 'string', default: 'bench/results/stalls.md' },
    // V8 CPU profiles of the server's threads (node --cpu-prof) into this directory
    profile: { type: 'string' },
    baseline: { type: 'string' },
    // what to ask every 20 ms (/health counts pages and chunks in DuckDB; a static asset measures the event loop alone)
    probe: { type: 'string', default: '/health' },
  },
});
if (!existsSync(values.dir!)) {
  console.error(`${values.dir} not found: install it with \`apt-get install python3.11-doc\` or pass --dir <directory of text files>.`);
  process.exit(1);
}
const variants = [...(values.baseline ? [{ name: 'before', root: resolve(values.baseline) }] : []), { name: values.baseline ? 'after' : 'this code', root: process.cwd() }];
for (const v of variants) {
  if (!existsSync(join(v.root, 'dist/cli/main.js'))) {
    console.error(`${join(v.root, 'dist/cli/main.js')} not found: build it first (npx tsc -p tsconfig.build.json).`);
    process.exit(1);
  }
}
const log = (s: string) => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${s}\n`);
const work = mkdtempSync(join(tmpdir(), 'doctor-bench-stalls-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));

function listFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

/** One Markdown file of about `mb` MB from the documentation's text files. */
function bigDocument(dir: string, mb: number): string {
  const parts: string[] = ['# The whole manual\n'];
  let size = 0;
  const files = listFiles(dir);
  for (let round = 1; size < mb * 1e6; round++) {
    for (const f of files) {
      const part = `## ${relative(dir, f)} (${round})\n\n${readFileSync(f, 'utf8')}\n`;
      parts.push(part);
      size += Buffer.byteLength(part);
      if (size >= mb * 1e6) break;
    }
  }
  return parts.join('\n');
}

/** GET /health every 20 ms until stopped: each answer's time in ms. */
function probe(url: string) {
  const times: number[] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const t = performance.now();
      const r = await fetch(`${url}${values.probe}`);
      await r.arrayBuffer();
      times.push(performance.now() - t);
      await new Promise((res) => setTimeout(res, 20));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      const sorted = [...times].sort((a, b) => a - b);
      return { longest: sorted.at(-1) ?? NaN, p99: percentile(sorted, 99), n: sorted.length };
    },
  };
}

async function startServer(root: string, data: string): Promise<{ url: string; stop(): Promise<void> }> {
  const profile = values.profile ? ['--cpu-prof', `--cpu-prof-dir=${resolve(values.profile)}`] : [];
  const child = spawn(process.execPath, [...profile, join(root, 'dist/cli/main.js'), '--data-dir', data, 'serve', '--port', '0', '--allow-local', work], {
    env: { ...process.env, DOCTOR_EMBEDDING_PROVIDER: 'lexical', DOCTOR_LOG_LEVEL: 'warn', DOCTOR_RENDER: 'never' },
    stdio: ['ignore', 'ignore', 'inherit'],
    cwd: root,
  });
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`doctor serve exited with ${child.exitCode}`);
    try {
      const info = JSON.parse(readFileSync(join(data, 'server.json'), 'utf8')) as { pid: number; url: string };
      if (info.pid === child.pid && (await fetch(`${info.url}/health`)).ok) {
        return {
          url: info.url,
          stop: async () => {
            child.kill('SIGTERM');
            await new Promise((r) => child.once('exit', r));
          },
        };
      }
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('doctor serve did not start within 60 s');
}

interface Run {
  variant: string;
  idleLongest: number;
  addSeconds: number;
  addLongest: number;
  addP99: number;
  viewSeconds: number;
  viewLongest: number;
  viewP99: number;
  marked: boolean;
  load: number;
}

const file = join(work, 'docs', 'manual.md');
rmSync(join(work, 'docs'), { recursive: true, force: true });
await import('node:fs/promises').then((fs) => fs.mkdir(join(work, 'docs')));
const doc = bigDocument(values.dir!, Number(values.mb));
writeFileSync(file, doc);
const sizeMb = Buffer.byteLength(doc) / 1e6;
log(`wrote ${file}: ${sizeMb.toFixed(1)} MB`);

const runs: Run[] = [];
for (let i = 0; i < Number(values.runs); i++) for (const variant of variants) {
  const data = join(work, `data-${i}-${variant.name.replace(/\W/g, '')}`);
  const load = loadavg()[0]!;
  const server = await startServer(variant.root, data);
  try {
    let p = probe(server.url);
    await new Promise((r) => setTimeout(r, 2000));
    const idle = await p.stop();

    p = probe(server.url);
    let t = performance.now();
    const added = await fetch(`${server.url}/add_local`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ path: join(work, 'docs') }),
    });
    const lines = (await added.text()).trim().split('\n');
    const addSeconds = (performance.now() - t) / 1000;
    const add = await p.stop();
    const result = JSON.parse(lines.at(-1)!) as { result?: { added?: number } };
    if (added.status !== 200 || result.result?.added !== 1) throw new Error(`add_local failed: ${added.status} ${lines.at(-1)}`);

    const listed = (await (await fetch(`${server.url}/list_doc_pages`)).json()) as { doc_pages: { page_id: string }[] };
    const id = listed.doc_pages[0]!.page_id;
    p = probe(server.url);
    t = performance.now();
    const view = await fetch(`${server.url}/ui/page/${encodeURIComponent(id)}?q=${encodeURIComponent(values.term!)}`);
    const html = await view.text();
    const viewSeconds = (performance.now() - t) / 1000;
    const shown = await p.stop();
    if (view.status !== 200) throw new Error(`the page view answered ${view.status}`);
    const run: Run = {
      variant: variant.name,
      idleLongest: idle.longest,
      addSeconds,
      addLongest: add.longest,
      addP99: add.p99,
      viewSeconds,
      viewLongest: shown.longest,
      viewP99: shown.p99,
      marked: html.includes('<mark>') && !html.includes('shown as plain text'),
      load,
    };
    runs.push(run);
    log(`run ${i + 1} (${variant.name}): ${JSON.stringify(run)}`);
  } finally {
    await server.stop();
    rmSync(data, { recursive: true, force: true });
  }
}

/** The checkout's commit, for the results. */
function commitOf(root: string): string {
  try {
    return `commit ${execFileSync('git', ['-C', root, 'log', '-1', '--format=%h %s'], { encoding: 'utf8' }).trim().slice(0, 100)}`;
  } catch {
    return root;
  }
}

const ms = (x: number) => `${Math.round(x)} ms`;
const s = (x: number) => `${x.toFixed(1)} s`;
const md = [
  '# Event-loop stalls on one very large document',
  '',
  machineDescription(),
  `- Data: one ${sizeMb.toFixed(1)} MB Markdown file made of the reStructuredText sources of Debian's python3.11-doc, each under a \`## <path>\` heading (the sources repeated until the size is reached).`,
  '- Each run: a fresh `doctor serve` (dist/, lexical 1536-d embeddings); `POST /add_local` of the file, then `GET /ui/page/{id}?q=' +
    values.term +
    '` (the page rendered with every "' +
    values.term +
    '" marked). This process asks `GET /health` every 20 ms throughout; "longest" is the slowest answer, i.e. how long every other client of the server waited at worst.',
  ...variants.map((v) => `- ${v.name}: ${commitOf(v.root)}`),
  '',
  '| variant | run | /health idle, longest | add_local | /health during add, longest | p99 | page view | /health during view, longest | p99 | terms marked | load average |',
  '|---|---|---|---|---|---|---|---|---|---|---|',
  ...runs.map(
    (r, i) =>
      `| ${r.variant} | ${Math.floor(i / variants.length) + 1} | ${ms(r.idleLongest)} | ${s(r.addSeconds)} | ${ms(r.addLongest)} | ${ms(r.addP99)} | ${s(r.viewSeconds)} | ${ms(r.viewLongest)} | ${ms(r.viewP99)} | ${r.marked ? 'yes' : 'no'} | ${r.load.toFixed(1)} |`,
  ),
  '',
  '| variant | /health idle, longest | add_local | /health during add, longest | p99 | page view | /health during view, longest | p99 |',
  '|---|---|---|---|---|---|---|---|',
  ...variants.map((v) => {
    const of = runs.filter((r) => r.variant === v.name);
    const m = (f: (r: Run) => number) => median(of.map(f));
    return `| ${v.name} (median of ${of.length}) | ${ms(m((r) => r.idleLongest))} | ${s(m((r) => r.addSeconds))} | **${ms(m((r) => r.addLongest))}** | ${ms(m((r) => r.addP99))} | ${s(m((r) => r.viewSeconds))} | **${ms(m((r) => r.viewLongest))}** | ${ms(m((r) => r.viewP99))} |`;
  }),
  '',
];
writeFileSync(values.out!, md.join('\n'));
log(`wrote ${values.out}`);
