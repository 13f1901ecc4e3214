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
import { existsSync } from 'node:fs';

const { values } = parseArgs({ options: { root: { type: 'string' }, kind: { type: 'string', default: 'rest' }, url: { type: 'string' }, db: { type: 'string' }, batch: { type: 'string', default: '256' }, rebuild: { type: 'string' }, dim: { type: 'string', default: '1536' } } });
const root = values.root ?? process.cwd();
// The compiled code (dist/, what `doctor` runs) when it is built, else the sources through tsx.
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
  const store = await openStore({ path: values.db!, embedding: { provider: 'openai', model: 'text-embedding-ada-002', dimension } });
  const opts = { url: values.url!, collection: 'doctor_chunks', batchSize: Number(values.batch), onError: 'stop' as const };
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  // versions before the gRPC source took a client object
  const report = mod.createQdrantClient
    ? await mod.migrateQdrant(store, mod.createQdrantClient(opts), opts)
    : await mod.migrateQdrant(store, values.kind === 'grpc' ? { ...opts, grpcUrl: values.url } : opts);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0);
  await store.close();
  const v = report.verification;
  console.log(JSON.stringify({ seconds, cpuUs: cpu.user + cpu.system, read: report.read, verified: !!v?.countsMatch && v.sampleMismatches.length === 0, maxRssMb: process.resourceUsage().maxRSS / 1024 }));
}
