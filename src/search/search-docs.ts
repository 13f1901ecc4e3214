/**
 * searchDocs: hybrid retrieval over chunks, one result per page.
 *
 * - `vector`: nearest chunks by embedding; score = 1 - cosine distance.
 * - `keyword`: BM25 over chunk text + page title + heading path; score = BM25 (only comparable within
 *   one query).
 * - `hybrid` (default): both candidate lists (same tag filter) fused with Reciprocal Rank Fusion,
 *   score = sum over the lists of 1 / (60 + rank) (at most 2/61 ~ 0.033; only comparable within one query).
 *
 * Chunks are grouped per page keeping the page's *best* chunk; candidates are over-fetched (and fetched
 * again, wider, when grouping leaves fewer than `max_results` pages while more may exist).
 */
import type { Embedder } from '../ingest/embedders/embedder.js';
import type { KeywordIndex } from '../store/keyword-index.js';
import type { Store } from '../store/store.js';
import { ValidationError } from '../store/validation.js';

export type SearchMode = 'hybrid' | 'vector' | 'keyword';

export interface SearchDocsParams {
  query: string;
  tags?: string[];
  max_results?: number;
  return_full_document_text?: boolean;
  mode?: SearchMode;
}

export interface SearchDocResult {
  /** The best chunk's text, or the whole page text with return_full_document_text. */
  chunk_text: string;
  page_id: string;
  tags: string[];
  score: number;
  url: string;
  title: string | null;
  heading_path: string | null;
  domain: string | null;
  chunk_id: string;
  /** True when chunk_text holds the whole page. */
  full_document: boolean;
}

export interface SearchDeps {
  store: Store;
  embedder: Embedder;
  keyword: KeywordIndex;
}

const RRF_K = 60;
const MAX_CANDIDATES = 1000;

interface Candidate {
  id: string;
  score: number;
}

export async function searchDocs(deps: SearchDeps, params: SearchDocsParams): Promise<{ results: SearchDocResult[] }> {
  const query = (params.query ?? '').trim();
  if (!query) throw new ValidationError('query must not be empty.');
  const maxResults = params.max_results ?? 10;
  if (!Number.isInteger(maxResults) || maxResults < 1 || maxResults > 100) {
    throw new ValidationError(`max_results must be an integer from 1 to 100 (got ${String(params.max_results)}).`);
  }
  const mode = params.mode ?? 'hybrid';
  if (!['hybrid', 'vector', 'keyword'].includes(mode)) throw new ValidationError(`mode must be hybrid, vector or keyword (got ${mode}).`);
  const tags = params.tags?.length ? params.tags : undefined;

  const queryVector = mode === 'keyword' ? undefined : (await deps.embedder.embed([query]))[0]!;
  let pool = Math.min(MAX_CANDIDATES, Math.max(50, maxResults * 8));
  for (;;) {
    const vector: Candidate[] = queryVector ? (await deps.store.chunks.search(queryVector, pool, { tags })).map((r) => ({ id: r.id, score: r.score })) : [];
    const keyword: Candidate[] = mode !== 'vector' ? await deps.keyword.search(query, pool, tags) : [];
    const ranked = mode === 'vector' ? vector : mode === 'keyword' ? keyword : fuse([vector, keyword]);
    const payloads = await deps.store.chunks.payloads(ranked.map((c) => c.id));
    const best = new Map<string, Candidate>(); // page id -> best chunk (ranked is best first)
    for (const c of ranked) {
      const pageId = payloads.get(c.id)?.page_id ?? `chunk:${c.id}`;
      if (!best.has(pageId)) best.set(pageId, c);
      if (best.size >= maxResults) break;
    }
    const exhausted = vector.length < pool && keyword.length < pool;
    if (best.size >= maxResults || exhausted || pool >= MAX_CANDIDATES) {
      return { results: await materialise(deps, [...best.entries()], payloads, !!params.return_full_document_text) };
    }
    pool = Math.min(MAX_CANDIDATES, pool * 4);
  }
}

/** Reciprocal Rank Fusion of ranked lists (best first). */
export function fuse(lists: Candidate[][]): Candidate[] {
  const scores = new Map<string, number>();
  for (const list of lists) {
    list.forEach((c, rank) => scores.set(c.id, (scores.get(c.id) ?? 0) + 1 / (RRF_K + rank + 1)));
  }
  return [...scores.entries()].map(([id, score]) => ({ id, score })).sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1));
}

async function materialise(
  deps: SearchDeps,
  best: [string, Candidate][],
  payloads: Awaited<ReturnType<Store['chunks']['payloads']>>,
  fullText: boolean,
): Promise<SearchDocResult[]> {
  const pageIds = best.map(([pageId]) => pageId).filter((id) => !id.startsWith('chunk:'));
  const fullTexts = new Map<string, string>();
  if (fullText) {
    for (const id of pageIds) {
      const page = await deps.store.pages.get(id);
      if (page?.raw_text) fullTexts.set(id, page.raw_text);
    }
  }
  return best.map(([pageId, c]) => {
    const p = payloads.get(c.id)!;
    const full = fullTexts.get(pageId);
    return {
      chunk_text: full ?? p.text,
      page_id: p.page_id ?? '',
      tags: p.tags,
      score: c.score,
      url: p.url ?? '',
      title: p.title,
      heading_path: p.heading_path,
      domain: p.domain,
      chunk_id: c.id,
      full_document: full !== undefined,
    };
  });
}
