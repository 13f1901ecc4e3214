/**
 * The vector-engine interface. Callers (VectorIndexer, search) never know which engine answers:
 * `exact` (DuckDB core, always available), `vss` (HNSW inside DuckDB) or `usearch` (HNSW index file).
 */

/** A stored row as engines see it on insert: `seq` is the row's stable numeric key. */
export interface EngineRow {
  id: string;
  seq: bigint;
  vector: Float32Array;
  tags: readonly string[];
  /** The chunk's page (null for a chunk stored without one). */
  pageId: string | null;
}

export interface VectorSearchRequest {
  query: Float32Array;
  limit: number;
  /** Keep rows having any of these tags (undefined or empty: no filter). */
  tags?: readonly string[];
}

export interface VectorHit {
  id: string;
  /** 1 - cosine distance: higher is better, 1 is identical direction. */
  score: number;
  /**
   * The chunk's page (null: stored without one). Every engine fills it, so that grouping hits per page
   * needs no database read; only the final results' payloads are read (search/page-candidates.ts).
   */
  pageId: string | null;
}

export interface EngineStatus {
  engine: string;
  /** True when the engine answers from an index that holds every stored row. */
  ready: boolean;
  rows?: number;
  indexedRows?: number;
  indexBytes?: number;
  detail?: string;
}

export interface VectorEngine {
  readonly name: string;
  search(req: VectorSearchRequest): Promise<VectorHit[]>;
  /** Called after a transaction that inserted rows has committed; the rows' vectors may be read later (not reused). */
  afterInsert?(rows: readonly EngineRow[]): Promise<void> | void;
  /** Called after a transaction that deleted rows has committed. */
  afterDelete?(seqs: readonly bigint[]): Promise<void> | void;
  status(): Promise<EngineStatus>;
  close?(): Promise<void>;
}
