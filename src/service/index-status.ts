/**
 * The vector index's status: engine, rows, indexed rows, index file and its freshness, settings. Two
 * sources give the same shape: the live engine of a running process (`indexStatus`, for REST, the web
 * interface and `doctor index status` while a server runs) and the index file on disk, assessed without
 * loading it (`indexFileStatus`, for `doctor index status` when no server holds the database).
 */
import type { DoctorConfig } from '../config/config.js';
import type { Database } from '../db/database.js';
import type { EngineStatus } from '../vector/engine.js';
import { usearchParams } from '../vector/select.js';
import { assessIndexFile, type UsearchStatusExtra } from '../vector/usearch.js';
import { autoExpansionSearch } from '../vector/usearch-protocol.js';
import type { DoctorContext } from './context.js';

export interface IndexStatus {
  /** exact, vss or usearch (offline: what DOCTOR_VECTOR_ENGINE would pick). */
  engine: string;
  /** True when searches are answered by an index holding every stored row (always true for exact). */
  ready: boolean;
  rows?: number;
  indexedRows?: number;
  indexPath?: string;
  indexBytes?: number;
  /**
   * One word: current, behind (rows to add or remove), building, stale, missing, damaged,
   * other-parameters, failed.
   */
  freshness: string;
  /** The same in a sentence, with what happens next. */
  detail: string;
  /** The index build and search settings (usearch), e.g. "bf16, connectivity 32, expansion add 128, search auto (64 at this size)". */
  settings?: string;
}

function settingsOf(config: DoctorConfig, rows: number, searchExpansion?: number): string {
  const ef = config.usearchExpansionSearch;
  const search = ef === 'auto' ? `auto (${searchExpansion ?? autoExpansionSearch(rows)} at this size)` : String(ef);
  return `${config.usearchQuantization}, connectivity ${config.usearchConnectivity}, expansion add ${config.usearchExpansionAdd}, search ${search}`;
}

const LIVE_FRESHNESS: Record<string, string> = {
  ready: 'current',
  'catching-up': 'behind',
  loading: 'building',
  building: 'building',
  idle: 'missing',
  failed: 'failed',
  closed: 'failed',
};

/** The live engine of this process. */
export async function indexStatus(ctx: DoctorContext, _input: object = {}): Promise<IndexStatus> {
  const st = (await ctx.store.chunks.vectorEngine.status()) as EngineStatus & Partial<UsearchStatusExtra>;
  const base = { engine: st.engine, ready: st.ready, rows: st.rows, indexedRows: st.indexedRows, indexBytes: st.indexBytes };
  if (st.engine === 'exact') return { ...base, freshness: 'current', detail: `no index: ${st.detail ?? 'exact search in DuckDB'}` };
  if (st.engine !== 'usearch') return { ...base, freshness: st.ready ? 'current' : 'missing', detail: st.detail ?? '' };
  let freshness = LIVE_FRESHNESS[st.state ?? ''] ?? st.state ?? 'unknown';
  if (freshness === 'current' && !st.ready) freshness = 'behind';
  return {
    ...base,
    indexPath: st.indexPath,
    freshness,
    detail: st.detail ?? '',
    settings: settingsOf(ctx.config, st.rows ?? 0, st.expansionSearch),
  };
}

/**
 * The index file beside a database, assessed with the checks start-up makes (watermark, parameters,
 * size, checksum) without loading it. The database must not be held by a server.
 */
export async function indexFileStatus(db: Database, config: DoctorConfig, dimension: number): Promise<IndexStatus> {
  if (config.vectorEngine === 'exact') {
    const [row] = await db.all<{ n: number }>('SELECT count(*)::INTEGER AS n FROM document_embeddings');
    return { engine: 'exact', ready: true, rows: row?.n ?? 0, freshness: 'current', detail: 'no index: exact search in DuckDB (DOCTOR_VECTOR_ENGINE=exact)' };
  }
  const a = await assessIndexFile(db, config.dbPath, usearchParams(dimension, config));
  return {
    engine: config.vectorEngine === 'usearch' ? 'usearch' : `usearch (or vss when it loads: DOCTOR_VECTOR_ENGINE=${config.vectorEngine})`,
    ready: a.state === 'current',
    rows: a.rows,
    indexedRows: a.indexedRows,
    indexBytes: a.indexBytes,
    indexPath: a.indexPath,
    freshness: a.state,
    detail: `${a.state}: ${a.reason}${a.savedAt ? ` (saved ${a.savedAt})` : ''}`,
    settings: settingsOf(config, a.rows),
  };
}
