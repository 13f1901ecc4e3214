/**
 * Ranked *pages* from each retriever: every page once, represented by its best chunk. searchDocs fuses
 * and returns these; the per-page step lives here so that a page with many matching chunks can never
 * crowd other pages out of `max_results`.
 */
import { ARRAY, FLOAT, arrayValue } from '../db/duckdb.js';
import type { KeywordIndex, KeywordQuery } from '../store/keyword-index.js';
import type { Store } from '../store/store.js';
import { MAX_SEARCH_LIMIT } from '../store/validation.js';
import { VARCHAR_LIST, varcharList } from '../store/sql-values.js';

export interface PageCandidate {
  /** Page id; a chunk stored without a page stands for itself as `chunk:<id>`. */
  pageKey: string;
  chunkId: string;
  /** The best chunk's score in this retriever (cosine similarity or BM25). */
  score: number;
}

const pageKeyOf = (chunkId: string, pageId: string | null | undefined) => pageId ?? `chunk:${chunkId}`;

/**
 * Keyword side: pages by their best chunk's BM25 (the keyword engine's exact, pruned top `depth`), re-ranked
 * with page-level evidence: score = BM25 of the best chunk + `pageWeight` x BM25 of the whole page (its
 * chunks' term counts and lengths summed: a page whose title, headings and sections together cover the
 * query gains on a page where one chunk happens to match). Returns at most `limit` pages, best first.
 */
export async function keywordPages(
  keyword: KeywordIndex,
  q: KeywordQuery,
  o: { limit: number; depth: number; pageWeight: number; tags?: readonly string[] },
): Promise<PageCandidate[]> {
  const top = await keyword.topPages(q, Math.max(o.limit, o.depth), o.tags);
  if (o.pageWeight === 0) return top.slice(0, o.limit);
  const scored = await keyword.scorePages(q, top.map((p) => p.pageKey));
  const rank = new Map(top.map((p, i) => [p.pageKey, i]));
  return scored
    .map((s) => ({ pageKey: s.pageKey, chunkId: s.chunkId, score: s.score + o.pageWeight * s.pageScore }))
    .sort((a, b) => b.score - a.score || rank.get(a.pageKey)! - rank.get(b.pageKey)!)
    .slice(0, o.limit);
}

/**
 * Vector side: nearest chunks from the vector engine, over-fetched and grouped per page (first chunk of a
 * page = its best). When grouping leaves fewer than `limit` pages, fetch again 4x wider; when even the
 * engine's largest request (1,000 chunks) is not enough (pages with hundreds of near-identical chunks),
 * fall back to an exact per-page scan in DuckDB. Returns `limit` pages whenever that many (matching) exist.
 */
export async function vectorPages(store: Store, query: Float32Array, limit: number, tags?: readonly string[]): Promise<PageCandidate[]> {
  let pool = Math.min(MAX_SEARCH_LIMIT, Math.max(50, limit * 4));
  for (;;) {
    // Hits carry their page id (engines keep it in memory or read it with the hit): grouping needs no
    // payloads, which are read for the final results only (searchDocs' materialise).
    const hits = await store.chunks.nearest(query, pool, { tags });
    const pages = new Map<string, PageCandidate>();
    for (const h of hits) {
      const key = pageKeyOf(h.id, h.pageId);
      if (!pages.has(key)) pages.set(key, { pageKey: key, chunkId: h.id, score: h.score });
      if (pages.size >= limit) break;
    }
    if (pages.size >= limit || hits.length < pool) return [...pages.values()];
    if (pool >= MAX_SEARCH_LIMIT) return exactVectorPages(store, query, limit, tags);
    pool = Math.min(MAX_SEARCH_LIMIT, pool * 4);
  }
}

/** Best chunk per page by exact cosine over every (matching) stored chunk; score = 1 - cosine distance. */
export async function exactVectorPages(store: Store, query: Float32Array, limit: number, tags?: readonly string[]): Promise<PageCandidate[]> {
  const filtered = !!tags && tags.length > 0;
  const rows = await store.db.all<{ page_key: string; id: string; score: number }>(
    `SELECT page_key, arg_max(id, score) AS id, max(score) AS score FROM (
       SELECT id, coalesce(page_id, 'chunk:' || id) AS page_key, 1 - array_cosine_distance(embedding, $q) AS score
       FROM document_embeddings ${filtered ? 'WHERE list_has_any(tags, $tags)' : ''})
     GROUP BY page_key ORDER BY score DESC, id LIMIT $limit`,
    { q: arrayValue(Array.from(query)), limit, ...(filtered ? { tags: varcharList(tags) } : {}) },
    { q: ARRAY(FLOAT, store.chunks.dimension), ...(filtered ? { tags: VARCHAR_LIST } : {}) },
  );
  return rows.map((r) => ({ pageKey: r.page_key, chunkId: r.id, score: Number(r.score) }));
}
