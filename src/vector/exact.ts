/**
 * Exact cosine search inside DuckDB core: `array_cosine_distance` over every (matching) row, the query
 * vector bound as a parameter. Always available, always correct; the reference the ANN engines are
 * measured against and the fallback while an index is being built.
 */
import { ARRAY, FLOAT, LIST, VARCHAR, arrayValue, listValue } from '../db/duckdb.js';
import type { Database } from '../db/database.js';
import type { EngineStatus, VectorEngine, VectorHit, VectorSearchRequest } from './engine.js';

export class ExactEngine implements VectorEngine {
  readonly name = 'exact';

  constructor(
    private readonly db: Database,
    private readonly dimension: number,
  ) {}

  async search({ query, limit, tags }: VectorSearchRequest): Promise<VectorHit[]> {
    const vectorType = ARRAY(FLOAT, this.dimension);
    const q = arrayValue(Array.from(query));
    const filtered = tags && tags.length > 0;
    const sql = `SELECT id, page_id, 1 - array_cosine_distance(embedding, $q) AS score
      FROM document_embeddings
      ${filtered ? 'WHERE list_has_any(tags, $tags)' : ''}
      ORDER BY array_cosine_distance(embedding, $q), id
      LIMIT $limit`;
    const params: Record<string, ReturnType<typeof arrayValue> | ReturnType<typeof listValue> | number> = {
      q,
      limit,
    };
    const types: Record<string, ReturnType<typeof ARRAY> | ReturnType<typeof LIST> | undefined> = { q: vectorType };
    if (filtered) {
      params.tags = listValue([...tags]);
      types.tags = LIST(VARCHAR);
    }
    const rows = await this.db.all<{ id: string; page_id: string | null; score: number }>(sql, params, types);
    return rows.map((r) => ({ id: r.id, score: Number(r.score), pageId: r.page_id ?? null }));
  }

  async status(): Promise<EngineStatus> {
    const [row] = await this.db.all<{ n: number }>('SELECT count(*)::INTEGER AS n FROM document_embeddings');
    return { engine: this.name, ready: true, rows: row?.n ?? 0, indexedRows: row?.n ?? 0, detail: 'brute-force scan in DuckDB' };
  }
}
