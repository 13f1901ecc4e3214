/**
 * Migration benchmark: `migrateQdrant` of N x 1536-d points from a Qdrant-compatible server (REST and gRPC,
 * bench/qdrant-server-process.ts, its own process) into a fresh database file, each run in its own process
 * (bench/migrate-child.ts) so that its CPU time is the migration's alone; then `doctor index rebuild` of the
 * migrated rows (usearch with the configured parameters): rows/s and CPU per row.
 * Then `doctor migrate qdrant` itself, end to end (`--cli-runs` per variant): the wall time from the process's
 * start to its exit, and the rate its report gives.
 * Run: `npm run bench:migrate [-- --points 50000 --runs 3 --cli-runs 3 --batch 256 --baseline DIR --no-rebuild]`
 * `--baseline DIR` also runs an earlier checkout, interleaved, for each kind (its node_modules must be installed or linked)
 * in the same session, interleaved with this one, for before/after figures on the same machine load.
 */
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import ts from 'typescript';
import { machineDescription, median } from './machine.js';

const { values } = parseArgs({
  allowNegative: true, // --no-profile, --no-rebuild
  options: {
    points: { type: 'string', default: '50000' },
    runs: { type: 'string', default: '3' },
    'cli-runs': { type: 'string', default: '3' },
    batch: { type: 'string', default: '256' },
    baseline: { type: 'string' },
    kinds: { type: 'string', default: 'rest,grpc' },
    rebuild: { type: 'boolean', default: true },
    out: { type: 'string', default: 'bench/results/migrate-qdrant.md' },
  },
});
const N = Number(values.points);
const DIM = 1536;
const here = process.cwd();

const log = (msg: string) => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
interface Run {
  variant: string;
  seconds: number;
  cpuUs: number;
  maxRssMb: number;
  verified: boolean;
  load: number;
  /** CPU µs of the main thread (the only writer), of threads started during the run (the page reader), of the rest (DuckDB, libuv pool, V8 helpers) */
  mainUs: number;
  readerUs: number;
  otherUs: number;
  /** CPU µs of the final checkpoint and the verification */
  tailUs: number;
  /** Seconds from the start to the first committed batch, and from the last one to the report (checkpoint, verification) */
  firstCommitSeconds: number;
  tailSeconds: number;
  /** CPU µs the benchmark's Qdrant-compatible server used during the run (its own process) */
  serverUs: number;
}

// The child runs as plain JavaScript, as \`doctor\` runs: under tsx's loader every module the migration loads
// (the gRPC client, its protobuf descriptors) and its page reader thread loads again went through tsx's hooks,
// ~0.25 s more at the start of each run than a user's \`doctor migrate qdrant\` takes.
const childDir = mkdtempSync(join(tmpdir(), 'doctor-migrate-child-'));
const childScript = join(childDir, 'migrate-child.mjs');
writeFileSync(
  childScript,
  ts.transpileModule(readFileSync(join(here, 'bench/migrate-child.ts'), 'utf8'), { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText,
);
process.on('exit', () => rmSync(childDir, { recursive: true, force: true }));

function child(args: string[]): Promise<Record<string, unknown>> {
  return new Promise((resolvePromise, reject) => {
    const p = spawn(process.execPath, [childScript, ...args], { stdio: ['ignore', 'pipe', 'inherit'], cwd: here });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.on('exit', (code) => (code === 0 ? resolvePromise(JSON.parse(out.trim().split('\n').at(-1)!)) : reject(new Error(`child exited ${code}`))));
  });
}

// Runs measure the compiled code (dist/), what `doctor` runs: build it (and the baseline's) first.
for (const root of [here, ...(values.baseline ? [resolve(values.baseline)] : [])]) {
  log(`building ${root}`);
  execFileSync(process.execPath, [join(here, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
}
log(`starting the Qdrant-compatible server with ${N} points (every page encoded once before the runs)`);
const serverProcess = spawn(process.execPath, ['--import', 'tsx', 'bench/qdrant-server-process.ts', String(N), String(DIM), values.batch!], { stdio: ['ignore', 'pipe', 'inherit'] });
process.on('exit', () => serverProcess.kill('SIGTERM'));
const urls = await new Promise<{ rest: string; grpc: string }>((ok, fail) => {
  serverProcess.stdout!.once('data', (d) => ok(JSON.parse(String(d).trim())));
  serverProcess.once('exit', (code) => fail(new Error(`server exited ${code}`)));
});
const serverCpu = () => {
  const stat = execFileSync('cat', [`/proc/${serverProcess.pid}/stat`], { encoding: 'utf8' }).split(') ')[1]!.split(' ');
  return (Number(stat[11]) + Number(stat[12])) * 10_000; // utime + stime, clock ticks (10 ms) -> µs
};

const kinds = values.kinds!.split(',') as ('rest' | 'grpc')[];
const variants: { name: string; root: string; kind: 'rest' | 'grpc' }[] = [
  ...kinds.flatMap((kind) => [
    ...(values.baseline ? [{ name: `before (${kind === 'rest' ? 'REST' : 'gRPC'})`, root: resolve(values.baseline), kind }] : []),
    { name: kind === 'rest' ? 'REST' : 'gRPC', root: here, kind },
  ]),
];
const runs: Run[] = [];
/** `doctor migrate qdrant` end to end, as a user runs it: wall time from the process's start to its exit. */
interface CliRun {
  variant: string;
  seconds: number;
  reportedRate: number;
  verified: boolean;
}
const cliRuns: CliRun[] = [];
let keptDb: string | undefined;
let rebuild: { seconds: number; cpuUs: number; rows: number; params: Record<string, unknown>; load: number } | undefined;
for (let r = 0; r < Number(values.runs); r++) {
  for (const v of variants) {
    const dir = mkdtempSync(join(tmpdir(), 'doctor-migrate-bench-'));
    const db = join(dir, 'm.duckdb');
    const load = loadavg()[0]!;
    const s0 = serverCpu();
    const out = await child(['--root', v.root, '--kind', v.kind, '--url', v.kind === 'grpc' ? urls.grpc : urls.rest, '--db', db, '--batch', values.batch!]);
    const serverUs = serverCpu() - s0;
    const threads = Object.entries((out.threads ?? {}) as Record<string, number>);
    const sum = (f: (k: string) => boolean) => threads.filter(([k]) => f(k)).reduce((n, [, us]) => n + us, 0);
    runs.push({
      variant: v.name, seconds: out.seconds as number, cpuUs: out.cpuUs as number, maxRssMb: out.maxRssMb as number, verified: out.verified as boolean, load,
      mainUs: sum((k) => k.startsWith('main')), readerUs: sum((k) => k.startsWith('new')), otherUs: sum((k) => k.startsWith('existing')),
      tailUs: (out.tail as { cpuUs: number } | undefined)?.cpuUs ?? NaN,
      firstCommitSeconds: (out.firstCommitSeconds as number | undefined) ?? NaN,
      tailSeconds: (out.tail as { seconds: number } | undefined)?.seconds ?? NaN,
      serverUs,
    });
    log(`${v.name} run ${r + 1}: ${(N / (out.seconds as number)).toFixed(0)} points/s, ${((out.cpuUs as number) / N).toFixed(0)} µs CPU/point, verified ${String(out.verified)}`);
    write(); // partial results survive an interrupted benchmark
    if (!keptDb && v.root === here && values.rebuild) keptDb = db;
    else rmSync(dir, { recursive: true, force: true });
  }
}

function cli(root: string, kind: 'rest' | 'grpc', dataDir: string): Promise<CliRun> {
  const url = kind === 'grpc' ? ['--grpc-url', urls.grpc] : ['--url', urls.rest];
  const args = [join(root, 'bin/doctor.js'), '--data-dir', dataDir, 'migrate', 'qdrant', ...url, '--collection', 'doctor_chunks', '--batch-size', values.batch!, '--json'];
  return new Promise((ok, fail) => {
    const t0 = performance.now();
    const p = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'ignore'], cwd: here });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.on('exit', (code) => {
      const seconds = (performance.now() - t0) / 1000;
      if (code !== 0) return fail(new Error(`doctor migrate qdrant exited ${code}`));
      const report = JSON.parse(out) as { pointsPerSecond: number; verification?: { countsMatch: boolean; sampleMismatches: string[] } };
      ok({ variant: '', seconds, reportedRate: report.pointsPerSecond, verified: !!report.verification?.countsMatch && report.verification.sampleMismatches.length === 0 });
    });
  });
}
for (let r = 0; r < Number(values['cli-runs']); r++) {
  for (const v of variants) {
    const dir = mkdtempSync(join(tmpdir(), 'doctor-migrate-cli-'));
    const run = { ...(await cli(v.root, v.kind, dir)), variant: v.name };
    rmSync(dir, { recursive: true, force: true });
    cliRuns.push(run);
    log(`${v.name} CLI run ${r + 1}: ${run.seconds.toFixed(2)} s, report ${Math.round(run.reportedRate)} points/s`);
    write();
  }
}
serverProcess.kill('SIGTERM');

if (keptDb) {
  log('rebuilding the usearch index over the migrated rows');
  const load = loadavg()[0]!;
  rebuild = { ...(await child(['--root', here, '--rebuild', keptDb])), load } as typeof rebuild;
  rmSync(join(keptDb, '..'), { recursive: true, force: true });
}

const md = write();
console.log(md);

function write(): string {
const ms = (s: number) => (Number.isFinite(s) ? `${Math.round(s * 1000)} ms` : '-');
const perPoint = (us: number) => (Number.isFinite(us) && us > 0 ? `${Math.round(us / N)} µs` : '-');
const row = (r: Run, i: number) =>
  `| ${r.variant} | ${i + 1} | ${r.seconds.toFixed(1)} s | ${ms(r.firstCommitSeconds)} | ${ms(r.tailSeconds)} | ${Math.round(N / r.seconds).toLocaleString('en')} | ${Math.round(r.cpuUs / N)} µs | ${perPoint(r.mainUs)} | ${perPoint(r.readerUs)} | ${perPoint(r.otherUs)} | ${perPoint(r.tailUs)} | ${perPoint(r.serverUs)} | ${Math.round(r.maxRssMb)} MB | ${r.load.toFixed(1)} | ${r.verified ? 'yes' : 'NO'} |`;
const byVariant = variants.map((v) => {
  const rs = runs.filter((r) => r.variant === v.name);
  return { name: v.name, rs, rate: median(rs.map((r) => N / r.seconds)), cpu: median(rs.map((r) => r.cpuUs / N)) };
});
const targets: Record<string, number> = { REST: 4000, gRPC: 10000 };
const md = `# Qdrant migration benchmark

${machineDescription()}
- Load average (1 min) at the start of each run is in the table: this machine is shared, so compare the CPU time per point (the migrating process's own, every thread) more than the wall-clock rate.
- Data: ${N.toLocaleString('en')} points x ${DIM}-d embedding-like vectors (\`topicSpace\`), integer and UUID ids mixed, payloads like the Python Doctor's with unicode text (plus an unknown field on every fifth point), served by Qdrant-compatible REST and gRPC servers on 127.0.0.1 in their own process (bench/qdrant-server-process.ts). REST prints vector components as Qdrant does (serde_json: the shortest decimal that reads back as the same f32, e.g. \`0.0435315892\`); gRPC sends packed floats. Every page is encoded once before the runs, and gRPC scroll answers are written from those bytes as they are (a Rust server's cost, not connect-node's: its per-answer copies kept V8's garbage collector busy on both cores, 50-260 µs of CPU per point); the server's CPU per point served, on the same two cores, is in the table.
- Each run: \`migrateQdrant\` (the compiled code in dist/) with batches of ${values.batch}, in its own process, into a fresh database file opened as \`doctor migrate qdrant\` opens it (2,048-row row groups, transactions of 2,048 points, DuckDB's default threads), including the final checkpoint and the verification (count + 20 vectors compared element by element).
- First commit: from the call of \`migrateQdrant\` to its first committed transaction (starting the page reader thread, loading the Qdrant client, checking the collection, reading and writing the first 2,048 points). Last commit to report: the final checkpoint and the verification.
- CPU per thread comes from /proc/self/task/*/stat (10 ms ticks), sampled every 200 ms so that the page reader, whose thread ends before the run does, is counted; a variant that predates the per-thread figures shows '-'.

| variant | run | time | first commit | last commit to report | points/s | CPU of the migrating process per point | of which main thread (the writer) | page reader thread | other threads (DuckDB, libuv pool, V8 GC helpers) | final checkpoint + verification (all threads) | the server (its own process) | peak RSS | load average | verified |
|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|
${byVariant.flatMap((v) => v.rs.map(row)).join('\n')}

| variant | median points/s | median CPU per point | median first commit | median last commit to report | target |
|---|---|---|---|---|---|
${byVariant.map((v) => `| ${v.name} | **${Math.round(v.rate).toLocaleString('en')}** | ${Math.round(v.cpu)} µs | ${ms(median(v.rs.map((r) => r.firstCommitSeconds)))} | ${ms(median(v.rs.map((r) => r.tailSeconds)))} | ${targets[v.name] ? `>= ${targets[v.name]!.toLocaleString('en')} points/s` : '-'} |`).join('\n')}
${
  cliRuns.length
    ? `
## \`doctor migrate qdrant\` end to end

The command as a user runs it (\`node bin/doctor.js --data-dir <fresh directory> migrate qdrant --url|--grpc-url <the same server> --collection doctor_chunks --batch-size ${values.batch} --json\`), ${values['cli-runs']} runs per variant, interleaved: the wall time from the process's start to its exit (loading Doctor, reading the collection, opening the database, the migration, its checkpoint and verification), and the rate the command's report gives (points read over the time from the migration's start, after the database is open, to its report).

| variant | runs | median wall time | median reported points/s | best reported points/s | verified |
|---|---|---|---|---|---|
${variants
  .map((v) => {
    const rs = cliRuns.filter((r) => r.variant === v.name);
    if (!rs.length) return '';
    return `| ${v.name} | ${rs.length} | ${median(rs.map((r) => r.seconds)).toFixed(2)} s | ${Math.round(median(rs.map((r) => r.reportedRate))).toLocaleString('en')} | ${Math.round(Math.max(...rs.map((r) => r.reportedRate))).toLocaleString('en')} | ${rs.every((r) => r.verified) ? 'yes' : 'NO'} |`;
  })
  .filter(Boolean)
  .join('\n')}
`
    : ''
}${
  rebuild
    ? `
## Index rebuild after the migration

\`doctor index rebuild\` (UsearchEngine.rebuild) over the ${rebuild.rows.toLocaleString('en')} migrated rows with the default parameters (${Object.entries(rebuild.params).map(([k, v]) => `${k} ${String(v)}`).join(', ')}): **${Math.round(rebuild.rows / rebuild.seconds).toLocaleString('en')} rows/s** (${rebuild.seconds.toFixed(1)} s), ${(rebuild.cpuUs / 1000 / rebuild.rows).toFixed(2)} ms CPU per row, load average ${rebuild.load.toFixed(1)} at the start.
`
    : ''
}`;
  writeFileSync(values.out!, md);
  return md;
}
