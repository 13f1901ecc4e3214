/**
 * Choosing the vector engine from the configuration (DOCTOR_VECTOR_ENGINE):
 * - exact: DuckDB brute force; always available.
 * - vss: HNSW inside DuckDB; an error saying why when the extension cannot load.
 * - usearch: HNSW index file beside the database; exact answers while it is loaded or built.
 * - auto (default): vss if it loads, else usearch.
 */
import type { DoctorConfig } from '../config/config.js';
import type { Database } from '../db/database.js';
import type { Logger } from '../log.js';
import type { VectorEngine } from './engine.js';
import { ExactEngine } from './exact.js';
import { UsearchEngine, type UsearchEngineOptions } from './usearch.js';
import type { IndexParams } from './usearch-protocol.js';
import { VssEngine, VssUnavailableError } from './vss.js';

export type VectorEngineConfig = Pick<
  DoctorConfig,
  'vectorEngine' | 'vssExtensionPath' | 'usearchQuantization' | 'usearchConnectivity' | 'usearchExpansionAdd' | 'usearchExpansionSearch'
>;

export interface CreateEngineOptions {
  /** Try `INSTALL vss` from DuckDB's extension server when vss is not installed (default true). */
  allowVssInstall?: boolean;
  /** Passed to the usearch engine (save timing, filter tuning). */
  usearch?: Partial<Omit<UsearchEngineOptions, 'params' | 'dbPath' | 'log'>>;
}

export function usearchParams(dimension: number, config: VectorEngineConfig): IndexParams {
  return {
    dimension,
    quantization: config.usearchQuantization,
    connectivity: config.usearchConnectivity,
    expansionAdd: config.usearchExpansionAdd,
    expansionSearch: config.usearchExpansionSearch,
  };
}

/** The engine for `db`; a usearch engine starts loading or building its index in the background. */
export async function createVectorEngine(
  db: Database,
  dimension: number,
  config: VectorEngineConfig,
  log?: Logger,
  opts: CreateEngineOptions = {},
): Promise<VectorEngine> {
  const usearch = () => {
    const engine = new UsearchEngine(db, dimension, {
      ...opts.usearch,
      params: usearchParams(dimension, config),
      dbPath: db.path,
      log,
    });
    void engine.start();
    return engine;
  };
  const vss = () =>
    VssEngine.open(db, dimension, { extensionPath: config.vssExtensionPath, allowInstall: opts.allowVssInstall, log });
  switch (config.vectorEngine) {
    case 'exact':
      return new ExactEngine(db, dimension);
    case 'usearch':
      return usearch();
    case 'vss':
      return vss();
    case 'auto':
      try {
        return await vss();
      } catch (e) {
        if (!(e instanceof VssUnavailableError)) throw e;
        log?.info({ reason: e.message }, 'vss is not available: using the usearch index');
        return usearch();
      }
  }
}
