/**
 * The vss engine: an HNSW index inside DuckDB (the `vss` extension, built on the same HNSW library as
 * usearch). Used only when the extension loads; otherwise `loadVss` says why and the engine is not used.
 *
 * DuckDB's rules for it (see "Known traps" in shared/DESIGN.md):
 * - `LOAD vss` needs `INSTALL vss` first, which needs DuckDB's extension server; offline, point
 *   DOCTOR_VSS_EXTENSION at a local `vss.duckdb_extension` file (or a directory laid out like
 *   ~/.duckdb/extensions, used as `extension_directory`).
 * - On a database file the index needs `SET hnsw_enable_experimental_persistence = true` (DuckDB warns that a
 *   crash can then lose or corrupt the index), and a file holding an HNSW index can only be opened with
 *   vss loaded: Database.open reports that case with what to do.
 * - The index is created after bulk loads (on the first search that finds rows and no index), not before:
 *   maintaining it row by row makes inserts much slower.
 * - Deletes only mark entries: `PRAGMA hnsw_compact_index` after many of them.
 * - A WHERE clause is applied after the index picks its top k, so tag filters use the same plan as the
 *   usearch engine: exact over the matching rows when the filter is selective, else over-fetch + filter,
 *   else exact (see UsearchEngine.searchFiltered).
 */
import { ARRAY, FLOAT, LIST, VARCHAR, arrayValue, listValue } from '../db/duckdb.js';
import type { Database } from '../db/database.js';
import type { Logger } from '../log.js';
import type { EngineStatus, VectorEngine, VectorHit, VectorSearchRequest } from './engine.js';
import { ExactEngine } from './exact.js';
import { DEFAULT_FILTER_TUNING } from './usearch.js';

export const VSS_INDEX = 'document_embeddings_hnsw';

export class VssUnavailableError extends Error {
  override name = 'VssUnavailableError';
}

export interface VssOptions {
  /** A local vss.duckdb_extension file or an extension directory (DOCTOR_VSS_EXTENSION). */
  extensionPath?: string;
  /** Try `INSTALL vss` from DuckDB's extension server when it is not installed (default true). */
  allowInstall?: boolean;
  log?: Logger;
}

const quote = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** Loads vss into the database instance; throws VssUnavailableError saying why it cannot. */
export async function loadVss(db: Database, opts: VssOptions = {}): Promise<void> {
  const first = (e: unknown) => ((e as Error).message ?? String(e)).split('\n')[0];
  try {
    if (opts.extensionPath) {
      const { statSync } = await import('node:fs');
      const isDir = (() => {
        try {
          return statSync(opts.extensionPath!).isDirectory();
        } catch {
          throw new VssUnavailableError(`DOCTOR_VSS_EXTENSION=${opts.extensionPath} does not exist.`);
        }
      })();
      if (isDir) {
        await db.run(`SET extension_directory = ${quote(opts.extensionPath)}`);
        await db.run('LOAD vss');
      } else {
        await db.run(`LOAD ${quote(opts.extensionPath)}`);
      }
      return;
    }
    try {
      await db.run('LOAD vss');
      return;
    } catch (e) {
      if (opts.allowInstall === false) throw e;
    }
    await db.run('INSTALL vss');
    await db.run('LOAD vss');
  } catch (e) {
    if (e instanceof VssUnavailableError) throw e;
    throw new VssUnavailableError(
      `DuckDB's vss extension cannot be loaded (${first(e)}). Without internet, download vss.duckdb_extension ` +
        'for this DuckDB version and platform elsewhere and set DOCTOR_VSS_EXTENSION to it; or use ' +
        'DOCTOR_VECTOR_ENGINE=usearch (or auto), which needs no extension.',
    );
  }
}

export class VssEngine implements VectorEngine {
  readonly name = 'vss';
  private readonly exact: ExactEngine;
  private hasIndex = false;
  private deletedSinceCompact = 0;
  private readonly countCache = new Map<string, { n: number; at: number }>();

  private constructor(
    private readonly db: Database,
    private readonly dimension: number,
    private readonly log?: Logger,
  ) {
    this.exact = new ExactEngine(db, dimension);
  }

  /** Loads vss and prepares the index; throws VssUnavailableError (with the reason) when vss cannot load. */
  static async open(db: Database, dimension: number, opts: VssOptions = {}): Promise<VssEngine> {
    await loadVss(db, opts);
    if (!db.isMemory) await db.run('SET hnsw_enable_experimental_persistence = true');
    const engine = new VssEngine(db, dimension, opts.log);
    const [row] = await db.all<{ n: number }>(
      "SELECT count(*)::INTEGER AS n FROM duckdb_indexes() WHERE index_name = $name",
      { name: VSS_INDEX },
    );
    engine.hasIndex = (row?.n ?? 0) > 0;
    await engine.ensureIndex();
    return engine;
  }

  /** Creates the HNSW index when rows exist and it does not (after bulk loads, not before). */
  async ensureIndex(): Promise<void> {
    if (this.hasIndex) return;
    const [row] = await this.db.all<{ n: number }>('SELECT count(*)::INTEGER AS n FROM document_embeddings');
    if (!row?.n) return;
    const t0 = performance.now();
    await this.db.run(`CREATE INDEX IF NOT EXISTS ${VSS_INDEX} ON document_embeddings USING HNSW (embedding) WITH (metric = 'cosine')`);
    this.hasIndex = true;
    this.log?.info({ rows: row.n, seconds: (performance.now() - t0) / 1000 }, 'vss HNSW index created');
  }

  /** The plan of an unfiltered top-k search; it should contain HNSW_INDEX_SCAN. */
  async explain(k = 10): Promise<string> {
    const rows = await this.db.all<{ explain_value: string }>(
      `EXPLAIN SELECT id FROM document_embeddings ORDER BY array_cosine_distance(embedding, $q) LIMIT ${Number(k)}`,
      { q: arrayValue(new Array(this.dimension).fill(0.1)) },
      { q: ARRAY(FLOAT, this.dimension) },
    );
    return rows.map((r) => r.explain_value).join('\n');
  }

  async search(req: VectorSearchRequest): Promise<VectorHit[]> {
    await this.ensureIndex();
    if (!this.hasIndex) return this.exact.search(req);
    if (!req.tags || req.tags.length === 0) return this.topK(req.query, req.limit);
    const [total, matching] = await Promise.all([this.countRows(), this.countRows(req.tags)]);
    if (matching === 0) return [];
    const selectivity = matching / Math.max(1, total);
    const k = Math.ceil((req.limit / selectivity) * DEFAULT_FILTER_TUNING.overfetch);
    if (matching <= req.limit || selectivity < DEFAULT_FILTER_TUNING.minSelectivity || k > DEFAULT_FILTER_TUNING.maxK) {
      return this.exact.search(req);
    }
    const hits = await this.topK(req.query, k, req.tags);
    return hits.length >= req.limit ? hits.slice(0, req.limit) : this.exact.search(req);
  }

  /** Top k through the HNSW index; with tags, those of the k that carry one (filtered after the index). */
  private async topK(query: Float32Array, k: number, tags?: readonly string[]): Promise<VectorHit[]> {
    const rows = await this.db.all<{ id: string; page_id: string | null; score: number }>(
      `SELECT id, page_id, score FROM (
         SELECT id, page_id, tags, 1 - array_cosine_distance(embedding, $q) AS score FROM document_embeddings
         ORDER BY array_cosine_distance(embedding, $q) LIMIT $k)
       ${tags ? 'WHERE list_has_any(tags, $tags)' : ''} ORDER BY score DESC, id`,
      { q: arrayValue(Array.from(query)), k, ...(tags ? { tags: listValue([...tags]) } : {}) },
      { q: ARRAY(FLOAT, this.dimension), ...(tags ? { tags: LIST(VARCHAR) } : {}) },
    );
    return rows.map((r) => ({ id: r.id, score: Number(r.score), pageId: r.page_id ?? null }));
  }

  /** Row counts (all rows, or those carrying any of `tags`), cached for 10 s per tag set. */
  private async countRows(tags?: readonly string[]): Promise<number> {
    const key = tags ? [...tags].sort().join('\u0000') : '';
    const hit = this.countCache.get(key);
    if (hit && Date.now() - hit.at < 10_000) return hit.n;
    const [row] = await this.db.all<{ n: number }>(
      `SELECT count(*)::INTEGER AS n FROM document_embeddings ${tags ? 'WHERE list_has_any(tags, $tags)' : ''}`,
      tags ? { tags: listValue([...tags]) } : undefined,
      tags ? { tags: LIST(VARCHAR) } : undefined,
    );
    this.countCache.set(key, { n: row?.n ?? 0, at: Date.now() });
    return row?.n ?? 0;
  }

  afterInsert(): void {
    this.countCache.clear();
  }

  async afterDelete(seqs: readonly bigint[]): Promise<void> {
    this.countCache.clear();
    this.deletedSinceCompact += seqs.length;
    if (!this.hasIndex || this.deletedSinceCompact < 1000) return;
    const total = await this.countRows();
    if (this.deletedSinceCompact > 0.1 * total) {
      await this.db.run(`PRAGMA hnsw_compact_index(${quote(VSS_INDEX)})`);
      this.deletedSinceCompact = 0;
    }
  }

  async status(): Promise<EngineStatus> {
    const rows = await this.countRows();
    return {
      engine: this.name,
      ready: this.hasIndex,
      rows,
      indexedRows: this.hasIndex ? rows : 0,
      detail: this.hasIndex ? `HNSW index ${VSS_INDEX} inside DuckDB (vss)` : 'no rows yet: the HNSW index is created after the first load',
    };
  }
}
