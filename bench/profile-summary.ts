/**
 * Summarises V8 CPU profiles (`node --cpu-prof`, one .cpuprofile per thread) by stage: self time of every
 * sampled function, grouped by the file it lives in (extraction libraries, chunker, embedder, keyword
 * tokeniser, DuckDB bindings, HTTP client...), plus garbage collection and idle time.
 * Run: `node --import tsx bench/profile-summary.ts FILE.cpuprofile [...] [--top 25]`
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface Node { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }
interface Profile { nodes: Node[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number }

const STAGES: [string, RegExp][] = [
  ['extract', /linkedom|css-select|css-what|htmlparser2|domhandler|domutils|dom-serializer|entities|turndown|node-html-markdown|boolbase|nth-check|\/extract\/(?!chunker)/],
  ['chunk', /chunker\./],
  ['embed', /embed\/lexical\./],
  ['keyword terms', /keyword-index\.|tokenize\.|chunk-terms\./],
  ['store', /@duckdb|\/store\/|\/db\/|group-writer\./],
  ['fetch', /undici|fetch\/|node:internal\/(stream|net|http|dns|tls|zlib|buffer)|node:(stream|net|http|zlib)/],
  ['worker messaging', /worker_threads|node:internal\/worker|piscina|\/ingest\/pool|structured/],
  ['crawl logic', /crawler\.|job-runner\.|frontier\./],
];

export interface ProfileSummary { totalMs: number; stages: Record<string, number>; top: { name: string; ms: number }[] }

export function summariseProfile(p: Profile, topN = 25): ProfileSummary {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) self.set(p.samples[i]!, (self.get(p.samples[i]!) ?? 0) + (p.timeDeltas[i] ?? 0) / 1000);
  // a node's stage is that of its nearest ancestor frame (or itself) with a recognised file, so that
  // builtins (RegExp, string ops) count for the code that called them
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const stageOf = (id: number): string => {
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const f = byId.get(cur)!.callFrame;
      if (f.functionName === '(garbage collector)') return 'GC';
      if (f.functionName === '(idle)') return 'idle';
      if (f.functionName === '(program)') return 'program (native, unattributed)';
      for (const [s, re] of STAGES) if (re.test(f.url)) return s;
    }
    return 'other';
  };
  const stages: Record<string, number> = {};
  const fns = new Map<string, number>();
  let total = 0;
  for (const [id, ms] of self) {
    const s = stageOf(id);
    stages[s] = (stages[s] ?? 0) + ms;
    total += ms;
    const f = byId.get(id)!.callFrame;
    const key = `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*node_modules\//, '').replace(/^.*\/(src|dist)\//, '')}:${f.lineNumber + 1}`;
    fns.set(key, (fns.get(key) ?? 0) + ms);
  }
  const top = [...fns].sort((a, b) => b[1] - a[1]).slice(0, topN).map(([name, ms]) => ({ name, ms }));
  return { totalMs: total, stages, top };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values, positionals: files } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '25' } } });
  const topN = Number(values.top) || 25;
  for (const f of files) {
    const s = summariseProfile(JSON.parse(readFileSync(f, 'utf8')) as Profile, topN);
    console.log(`\n== ${f}: ${(s.totalMs / 1000).toFixed(1)} s sampled`);
    for (const [k, v] of Object.entries(s.stages).sort((a, b) => b[1] - a[1])) console.log(`  ${k.padEnd(32)} ${(v / 1000).toFixed(2).padStart(8)} s  ${((v / s.totalMs) * 100).toFixed(1)}%`);
    console.log('  top functions (self):');
    for (const t of s.top) console.log(`    ${(t.ms / 1000).toFixed(2).padStart(7)} s  ${t.name}`);
  }
}
