/** `doctor migrate qdrant`: move a Qdrant collection into Doctor's DuckDB file. */
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { inspectCollection, migrateQdrant, migrationRowGroupSize, openReader, type MigrationReport } from '../migrate/qdrant.js';
import { readServerInfo } from '../app/server-info.js';
import { openStore } from '../store/store.js';
import { configFrom } from './global.js';
import { intOption, printJson, println } from './output.js';

interface Flags {
  url: string;
  grpcUrl?: string;
  apiKey?: string;
  collection: string;
  vectorName?: string;
  batchSize: number;
  dryRun?: boolean;
  resume?: boolean;
  onError: string;
  force?: boolean;
  model: string;
  json?: boolean;
}

export function registerMigrate(program: Command): void {
  const migrate = program.command('migrate').description('move data from the Python Doctor into this database');
  migrate
    .command('qdrant')
    .description('copy a Qdrant collection (ids, vectors, payloads) into DuckDB; Qdrant is only read')
    .option('--url <url>', 'Qdrant REST URL', 'http://localhost:6333')
    .option('--grpc-url <url>', "read over Qdrant's gRPC API instead (e.g. http://localhost:6334): vectors travel as packed floats, several times faster")
    .option('--api-key <key>', 'Qdrant API key (env QDRANT_API_KEY)', process.env.QDRANT_API_KEY)
    .option('--collection <name>', 'collection to migrate', 'doctor_chunks')
    .option('--vector-name <name>', 'which named vector to take (collections with named vectors)')
    .option('--batch-size <n>', 'points per scroll request (a transaction writes pages of up to 2,048 points together)', intOption('--batch-size', 1, 10_000), 256)
    .option('--dry-run', 'read and validate everything, write nothing')
    .option('--resume', 'continue after the last committed batch of an interrupted run')
    .option('--on-error <mode>', 'a bad point: stop (default) or skip it and report it', 'stop')
    .option('--force', 'migrate collections whose distance is neither Cosine nor Dot')
    .option('--model <name>', 'the embedding model that made the vectors (queries must use it)', 'text-embedding-ada-002')
    .option('--json', 'print the final report as JSON')
    .action(async (o: Flags, cmd: Command) => {
      if (o.onError !== 'skip' && o.onError !== 'stop') throw new Error(`--on-error must be skip or stop (got ${o.onError})`);
      const config = configFrom(cmd);
      const server = await readServerInfo(config);
      if (server) throw new Error(`a Doctor server (pid ${server.pid}, ${server.url}) holds ${config.dbPath}: stop it, migrate, then start it again.`);
      if (o.grpcUrl && !/^https?:\/\//.test(o.grpcUrl)) throw new Error(`--grpc-url must start with http:// or https:// (got ${o.grpcUrl}), e.g. http://localhost:6334`);
      // The migration's page reader thread starts here: it loads the client library and reads the collection's
      // dimension, which the database is opened with; migrateQdrant then reads its pages (and closes it).
      const reader = openReader(o);
      let store: Awaited<ReturnType<typeof openStore>>;
      try {
        const info = await inspectCollection(reader, o);
        store = await openStore({
          path: config.dbPath,
          embedding: { provider: 'openai', model: o.model, dimension: info.size },
          rowGroupSize: migrationRowGroupSize(o.batchSize),
          threads: config.duckdbThreads,
        });
      } catch (e) {
        await reader.close();
        throw e;
      }
      const bar = process.stderr.isTTY
        ? new cliProgress.SingleBar({ format: 'migrating [{bar}] {value}/{total} points | {rate} points/s | ETA {eta_formatted} | skipped {skipped}', stream: process.stderr }, cliProgress.Presets.shades_classic)
        : undefined;
      const t0 = performance.now();
      let lastLog = -Infinity; // the first progress line comes with the first commit
      let barStarted = false;
      try {
        const report = await migrateQdrant(
          store,
          { ...o, onError: o.onError },
          {
            onNote: (n) => process.stderr.write(`note: ${n}\n`),
            onProgress: (p) => {
              const rate = Math.round(p.read / Math.max((performance.now() - t0) / 1000, 0.001));
              if (bar) {
                if (!barStarted) {
                  bar.start(p.total, 0, { rate, skipped: 0 });
                  barStarted = true;
                }
                bar.update(p.read, { rate, skipped: p.skipped });
              } else if (performance.now() - lastLog > 2000 || p.read >= p.total) {
                lastLog = performance.now();
                process.stderr.write(`migrated ${p.read}/${p.total} points (${rate} points/s, ${p.skipped} skipped)\n`);
              }
            },
          },
          reader,
        );
        bar?.stop();
        if (o.json) printJson(report);
        else printReport(report);
        if (report.verification && (!report.verification.countsMatch || report.verification.sampleMismatches.length)) process.exitCode = 2;
      } finally {
        bar?.stop();
        await store.close();
      }
    });
}

function printReport(r: MigrationReport): void {
  println(`${r.dryRun ? 'Dry run of' : 'Migrated'} collection "${r.collection}" (${r.dimension}-d, ${r.distance})${r.resumedFrom !== undefined ? `, resumed after offset ${String(r.resumedFrom)}` : ''}`);
  println(`  points read ${r.read}, written ${r.written}, skipped ${r.skipped}, in ${r.elapsedSeconds.toFixed(1)} s (${Math.round(r.pointsPerSecond)} points/s)`);
  for (const s of r.skippedPoints.slice(0, 20)) println(`  skipped ${s.id}: ${s.reason}`);
  for (const n of r.notes) println(`  note: ${n}`);
  const v = r.verification;
  if (v) {
    println(`  verification: Qdrant count ${v.qdrantCount}, rows from this collection ${v.rows} (+${r.skipped} skipped): ${v.countsMatch ? 'OK' : 'MISMATCH'}`);
    println(`  sample of ${v.sampled} vectors compared element by element: ${v.sampleMismatches.length ? `MISMATCH (${v.sampleMismatches.join('; ')})` : 'identical'}`);
  }
}
