/**
 * One measured run for bench/migrate-qdrant.ts, in its own process so that its CPU time
 * (process.cpuUsage: every thread of this process, DuckDB's and workers' included) is the migration's alone.
 *   --root DIR   the Doctor checkout whose code runs (another checkout measures an earlier version)
 *   --kind rest|grpc  --url URL  --db FILE  --batch N       a migration
 *   --rebuild FILE                                           `doctor index rebuild` of that database
 * Prints one JSON line: seconds, cpuUs, maxRssMb, and the migration's verification or the rebuild's rows.
 */
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { existsSync, readdirSync, readFileSync } from 'node:fs';

/** CPU time (µs) of every thread of this process so far, by thread id, with its name (Linux /proc). */
function threadCpu(): Record<string, { name: string; us: number }> {
  const out: Record<string, { name: string; us: number }> = {};
  try {
    for (const tid of readdirSync('/proc/self/task')) {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out[tid] = { name: tid === String(process.pid) ? 'main' : name, us: (Number(f[11]) + Number(f[12])) * 10_000 };
    }
  } catch {
    /* not Linux */
  }
  return out;
}

const { values } = parseArgs({ options: { root: { type: 'string' }, kind: { type: 'string', default: 'rest' }, url: { type: 'string' }, db: { type: 'string' }, batch: { type: 'string', default: '256' }, group: { type: 'string' }, rebuild: { type: 'string' }, dim: { type: 'string', default: '1536' } } });
const root = values.root ?? process.cwd();
// The compiled code (dist/, what `doctor` runs) when it is built (the benchmark builds it and runs this file
// with plain node), else the sources (run this file with `node --import tsx` then).
const built = existsSync(join(root, 'dist', 'migrate', 'qdrant.js'));
const load = (p: string) => import(pathToFileURL(join(root, built ? p.replace(/^src\//, 'dist/').replace(/\.ts$/, '.js') : p)).href);
const dimension = Number(values.dim);

if (values.rebuild) {
  const { Database } = await load('src/db/database.ts');
  const { UsearchEngine } = await load('src/vector/usearch.ts');
  const { usearchParams } = await load('src/vector/select.ts');
  const { loadConfig } = await load('src/config/config.ts');
  const config = loadConfig({ dbPath: values.rebuild }, {});
  const db = await Database.open(values.rebuild);
  const engine = new UsearchEngine(db, dimension, { params: usearchParams(dimension, config), dbPath: values.rebuild });
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await engine.rebuild();
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0);
  const st = await engine.status();
  await engine.close();
  await db.close();
  console.log(JSON.stringify({ seconds, cpuUs: cpu.user + cpu.system, rows: st.indexedRows, params: usearchParams(dimension, config), maxRssMb: process.resourceUsage().maxRSS / 1024 }));
} else {
  const mod = await load('src/migrate/qdrant.ts');
  const { openStore } = await load('src/store/store.ts');
  // as `doctor migrate qdrant` opens it (versions before migrationRowGroupSize: DuckDB's default)
  const rowGroupSize = mod.migrationRowGroupSize?.(Number(values.batch));
  // DuckDB's threads as the CLI's configuration gives them (DOCTOR_DUCKDB_THREADS, else the default)
  const duckdbThreads = Number(process.env.DOCTOR_DUCKDB_THREADS) || undefined;
  const store = await openStore({ path: values.db!, embedding: { provider: 'openai', model: 'text-embedding-ada-002', dimension }, rowGroupSize, threads: duckdbThreads });
  const opts = { url: values.url!, collection: 'doctor_chunks', batchSize: Number(values.batch), onError: 'stop' as const, ...(values.group ? { writeGroupRows: Number(values.group) } : {}) };
  const c0 = process.cpuUsage();
  const th0 = threadCpu();
  // threads that end during the run (the page reader) are seen by a sampler every 200 ms
  const seen = { ...th0 };
  const sampler = setInterval(() => Object.assign(seen, threadCpu()), 200);
  const t0 = performance.now();
  // when the last batch has committed: what follows is the final checkpoint and the verification
  let lastCommit = { cpu: c0, t: t0 };
  // when the first batch has committed: the start (loading the clients, checking the collection, the first pages)
  let firstCommitSeconds: number | undefined;
  const hooks = {
    onProgress: () => {
      lastCommit = { cpu: process.cpuUsage(), t: performance.now() };
      firstCommitSeconds ??= (lastCommit.t - t0) / 1000;
    },
  };
  // versions before the gRPC source took a client object
  const report = mod.createQdrantClient
    ? await mod.migrateQdrant(store, mod.createQdrantClient(opts), opts, hooks)
    : await mod.migrateQdrant(store, values.kind === 'grpc' ? { ...opts, grpcUrl: values.url } : opts, hooks);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0);
  const tailCpu = process.cpuUsage(lastCommit.cpu);
  const tail = { seconds: (performance.now() - lastCommit.t) / 1000, cpuUs: tailCpu.user + tailCpu.system };
  // CPU by thread during the run (µs)
  clearInterval(sampler);
  Object.assign(seen, threadCpu());
  const threads: Record<string, number> = {};
  for (const [tid, t] of Object.entries(seen)) {
    const us = t.us - (th0[tid]?.us ?? 0);
    if (us > 0) threads[`${t.name === 'main' ? 'main' : tid in th0 ? 'existing' : 'new'} ${tid}`] = us;
  }
  await store.close();
  const v = report.verification;
  console.log(JSON.stringify({ seconds, cpuUs: cpu.user + cpu.system, read: report.read, verified: !!v?.countsMatch && v.sampleMismatches.length === 0, firstCommitSeconds, tail, threads, maxRssMb: process.resourceUsage().maxRSS / 1024 }));
}
