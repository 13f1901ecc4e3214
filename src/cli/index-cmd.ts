/**
 * `doctor index status` and `doctor index rebuild`: the vector index beside the database.
 * Status asks the running server for its live index, or assesses the index file when no server runs
 * (src/service/index-status.ts either way). Rebuild opens the database itself: stop the server first.
 */
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { Database } from '../db/database.js';
import { createLogger } from '../log.js';
import { progressView, type ProgressView } from '../app/progress-view.js';
import { readServerInfo } from '../app/server-info.js';
import { recordedEmbedding } from '../store/store.js';
import type { EngineStatus } from '../vector/engine.js';
import { usearchParams } from '../vector/select.js';
import { UsearchEngine, type BuildProgress, type UsearchStatusExtra } from '../vector/usearch.js';
import { indexFileStatus, type IndexStatus } from '../service/index.js';
import { remoteBackend } from '../app/backend.js';
import { configFrom } from './global.js';
import { printJson, println } from './output.js';
import type { DoctorConfig } from '../config/config.js';

const human = (bytes: number | undefined) =>
  bytes === undefined ? '-' : bytes < 2 ** 20 ? `${(bytes / 1024).toFixed(0)} KiB` : `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/** Opens the database for index work, or explains why it cannot. */
async function openForIndex(config: DoctorConfig): Promise<{ db: Database; dimension: number }> {
  const server = await readServerInfo(config);
  if (server) {
    throw new Error(
      `A Doctor server (${server.url}, pid ${server.pid}) holds ${config.dbPath} and its vector index. ` +
        'Stop it to rebuild the index from the command line; the server itself keeps the index current.',
    );
  }
  if (config.dbPath === ':memory:' || !existsSync(config.dbPath)) {
    throw new Error(`No Doctor database at ${config.dbPath}: crawl something first (doctor crawl <url>), or pass --db-path.`);
  }
  const db = await Database.open(config.dbPath, { threads: config.duckdbThreads });
  const identity = await recordedEmbedding(db).catch(() => undefined);
  if (!identity) {
    await db.close();
    throw new Error(`${config.dbPath} is not a Doctor database yet (no embedding recorded): open it once with doctor serve or doctor crawl.`);
  }
  return { db, dimension: identity.dimension };
}

/** The running server's live index, or the index file beside the database when no server holds it. */
async function statusOf(config: DoctorConfig): Promise<{ status: IndexStatus; live: boolean }> {
  const server = await readServerInfo(config);
  if (server) return { status: await remoteBackend(server.url, config.apiToken).indexStatus({}), live: true };
  const { db, dimension } = await openForIndex(config);
  try {
    return { status: await indexFileStatus(db, config, dimension), live: false };
  } finally {
    await db.close();
  }
}

function describe(st: IndexStatus): string[] {
  const lines = [
    `engine:        ${st.engine}`,
    `rows:          ${st.rows ?? '-'}`,
    `indexed rows:  ${st.indexedRows ?? '-'}`,
    `index file:    ${st.indexPath ?? '-'} (${human(st.indexBytes)})`,
    `freshness:     ${st.detail.startsWith(st.freshness) ? st.detail : `${st.freshness}: ${st.detail}`}`,
  ];
  if (st.settings) lines.push(`settings:      ${st.settings}`);
  return lines;
}

export function registerIndex(program: Command): void {
  const index = program.command('index').description('the vector index beside the database (usearch): status and rebuild');

  index
    .command('status')
    .description('engine, rows, indexed rows, index file size and freshness')
    .option('--json', 'print the raw JSON result')
    .action(async (o: { json?: boolean }, cmd: Command) => {
      const config = configFrom(cmd);
      const { status, live } = await statusOf(config);
      if (o.json) return printJson(status);
      if (live) println(`(the running server's index)`);
      describe(status).forEach((l) => println(l));
      if (!live && !['current', 'behind'].includes(status.freshness)) {
        println('The index is rebuilt from the database on the next start (exact search answers meanwhile), or now with: doctor index rebuild');
      }
    });

  index
    .command('rebuild')
    .description('rebuild the usearch index from the database (with progress) and save it')
    .action(async (_o: unknown, cmd: Command) => {
      const config = configFrom(cmd);
      const { db, dimension } = await openForIndex(config);
      const log = createLogger(config.logLevel);
      const engine = new UsearchEngine(db, dimension, { params: usearchParams(dimension, config), dbPath: config.dbPath, log });
      const view = buildProgress();
      const t0 = performance.now();
      try {
        await engine.rebuild((p) => view.update(p));
        view.stop();
        const st = (await engine.status()) as EngineStatus & UsearchStatusExtra;
        if (st.state === 'failed') throw new Error(`The rebuild failed: ${st.detail}`);
        if (st.saveError) {
          throw new Error(
            `Rebuilt ${st.indexedRows} rows, but saving the index to ${st.indexPath} failed (${st.saveError}): is the disk full? ` +
              'Free space on it and run doctor index rebuild again; until then every start rebuilds the index.',
          );
        }
        println(`rebuilt ${st.indexedRows} rows in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${st.indexPath} (${human(st.indexBytes)})`);
      } finally {
        view.stop();
        await engine.close();
        await db.close();
      }
    });
}

function buildProgress(): ProgressView<BuildProgress> {
  return progressView<BuildProgress>({
    format: 'indexing [{bar}] {value}/{total} rows | {eta_formatted} left',
    value: (p) => p.done,
    total: (p) => p.total,
    line: (p) => `indexing: ${p.done}/${p.total} rows`,
    key: (p) => String(p.total ? Math.floor((p.done / p.total) * 10) * 10 : 100),
  });
}
