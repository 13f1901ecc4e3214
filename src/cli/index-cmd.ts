/**
 * `doctor index status` and `doctor index rebuild`: the vector index beside the database.
 * Both open the database themselves (a running server owns the file and its index: stop it first).
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
import { UsearchEngine, assessIndexFile, type BuildProgress, type UsearchStatusExtra } from '../vector/usearch.js';
import { autoExpansionSearch } from '../vector/usearch-protocol.js';
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
        'Stop it to inspect or rebuild the index from the command line; the server itself keeps the index current.',
    );
  }
  if (config.dbPath === ':memory:' || !existsSync(config.dbPath)) {
    throw new Error(`No Doctor database at ${config.dbPath}: crawl something first (doctor crawl <url>), or pass --db-path.`);
  }
  const db = await Database.open(config.dbPath);
  const identity = await recordedEmbedding(db).catch(() => undefined);
  if (!identity) {
    await db.close();
    throw new Error(`${config.dbPath} is not a Doctor database yet (no embedding recorded): open it once with doctor serve or doctor crawl.`);
  }
  return { db, dimension: identity.dimension };
}

function describe(config: DoctorConfig, st: EngineStatus & Partial<UsearchStatusExtra>): string[] {
  const lines = [
    `engine:        ${st.engine}`,
    `rows:          ${st.rows ?? '-'}`,
    `indexed rows:  ${st.indexedRows ?? '-'}`,
    `index file:    ${st.indexPath ?? '-'} (${human(st.indexBytes)})`,
    `freshness:     ${st.detail ?? '-'}`,
  ];
  if (st.engine !== 'exact') {
    const ef = config.usearchExpansionSearch;
    const search = ef === 'auto' ? `auto (${autoExpansionSearch(st.rows ?? 0)} at this size)` : String(ef);
    lines.push(`settings:      ${config.usearchQuantization}, connectivity ${config.usearchConnectivity}, expansion add ${config.usearchExpansionAdd}, search ${search}`);
  }
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
      const { db, dimension } = await openForIndex(config);
      try {
        if (config.vectorEngine === 'exact') {
          const [row] = await db.all<{ n: number }>('SELECT count(*)::INTEGER AS n FROM document_embeddings');
          const st = { engine: 'exact', ready: true, rows: row?.n ?? 0, detail: 'no index: exact search in DuckDB (DOCTOR_VECTOR_ENGINE=exact)' };
          return o.json ? printJson(st) : describe(config, st).forEach((l) => println(l));
        }
        // The same checks start-up makes (watermark, parameters, size, checksum), without loading the index.
        const a = await assessIndexFile(db, config.dbPath, usearchParams(dimension, config));
        const st = {
          engine: config.vectorEngine === 'usearch' ? 'usearch' : `usearch (or vss when it loads: DOCTOR_VECTOR_ENGINE=${config.vectorEngine})`,
          ready: a.state === 'current',
          rows: a.rows,
          indexedRows: a.indexedRows,
          indexBytes: a.indexBytes,
          indexPath: a.indexPath,
          freshness: a.state,
          detail: `${a.state}: ${a.reason}${a.savedAt ? ` (saved ${a.savedAt})` : ''}`,
        };
        if (o.json) return printJson(st);
        describe(config, st).forEach((l) => println(l));
        if (!['current', 'behind'].includes(a.state)) {
          println('The index is rebuilt from the database on the next start (exact search answers meanwhile), or now with: doctor index rebuild');
        }
      } finally {
        await db.close();
      }
    });

  index
    .command('rebuild')
    .description('rebuild the usearch index from the database (with progress) and save it')
    .action(async (_o: unknown, cmd: Command) => {
      const config = configFrom(cmd);
      const { db, dimension } = await openForIndex(config);
      const log = createLogger((cmd.optsWithGlobals() as { logLevel?: string }).logLevel ?? 'warn');
      const engine = new UsearchEngine(db, dimension, { params: usearchParams(dimension, config), dbPath: config.dbPath, log });
      const view = buildProgress();
      const t0 = performance.now();
      try {
        await engine.rebuild((p) => view.update(p));
        view.stop();
        const st = (await engine.status()) as EngineStatus & UsearchStatusExtra;
        if (st.state === 'failed') throw new Error(`The rebuild failed: ${st.detail}`);
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
