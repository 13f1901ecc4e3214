/**
 * searchDocs: retrieval over chunks, one result per page (that page's best chunk).
 *
 * Each retriever yields a ranked list of *pages*, each represented by its best chunk (page-candidates.ts):
 * - vector: nearest chunks by embedding (over-fetched, grouped per page, with the tag filter);
 * - keyword: BM25 over chunk text + page title + heading path (grouped per page in SQL, same tag filter).
 *
 * What `score` means, per mode (higher is always better):
 * - `vector`: 1 - cosine distance between the query and the page's best chunk (as Qdrant reports it;
 *   1 = same direction). Comparable across queries.
 * - `keyword`: the BM25 score (k1 = 1.2, b = 0.75) of the page's best chunk. Unbounded; only
 *   comparable within one query.
 * - `hybrid` (default): Reciprocal Rank Fusion (k = 60) of the two page rankings:
 *   score = sum over the two lists of 1 / (60 + rank of the page in that list), rank from 1; a page
 *   missing from a list adds nothing. At most 2/61 ~ 0.0328 (first in both lists); only comparable
 *   within one query. The chunk shown is the page's best chunk from the list that ranks the page higher
 *   (the vector one on a tie).
 *
 * `max_results` pages come back whenever that many pages match: each list is asked for pages, not
 * chunks, so a page with many matching chunks cannot crowd others out. With `return_full_document_text`,
 * `chunk_text` holds the whole page text (as the Python service did) and `full_document` is true.
 */
import type { Embedder } from '../embed/embedder.js';
import type { KeywordIndex } from '../store/keyword-index.js';
import type { Store } from '../store/store.js';
import { ValidationError } from '../store/validation.js';
import { keywordPages, vectorPages, type PageCandidate } from './page-candidates.js';

export type SearchMode = 'hybrid' | 'vector' | 'keyword';
export const SEARCH_MODES: readonly SearchMode[] = ['hybrid', 'vector', 'keyword'];
export const MAX_RESULTS_LIMIT = 100;
export const RRF_K = 60;
/**
 * Most characters of page text one search_docs answer carries with return_full_document_text (all results
 * together). 100 results of whole pages could otherwise be gigabytes; pages past the budget are cut
 * (`truncated: true`) or keep their best passage, and the answer's `note` says so.
 */
export const MAX_FULL_TEXT_CHARS = 1_000_000;

export interface SearchDocsParams {
  query: string;
  /** Keep pages having any of these tags (exact values). */
  tags?: string[];
  /** Pages to return, 1..100 (default 10). */
  max_results?: number;
  /** Put the whole page text in chunk_text (default false). */
  return_full_document_text?: boolean;
  mode?: SearchMode;
}

export interface SearchDocResult {
  /** The page's best chunk, or the whole page text with return_full_document_text. */
  chunk_text: string;
  page_id: string;
  tags: string[];
  /** See the module comment: cosine similarity (vector), BM25 (keyword) or RRF sum (hybrid). */
  score: number;
  url: string;
  title: string | null;
  /** Headings above the chunk, joined with " > ". */
  heading_path: string | null;
  domain: string | null;
  /** The id of the page's best chunk (also with return_full_document_text). */
  chunk_id: string;
  /** True when chunk_text holds the page text (all of it, unless `truncated`). */
  full_document: boolean;
  /**
   * With return_full_document_text only: true when the page text was cut at the answer's budget
   * (MAX_FULL_TEXT_CHARS), or left out (chunk_text is then the best passage and full_document false).
   */
  truncated?: boolean;
}

export interface SearchDocsAnswer {
  results: SearchDocResult[];
  /** Set when full-document text was truncated: what happened and how to read the rest. */
  note?: string;
}

export interface SearchDeps {
  store: Store;
  embedder: Embedder;
  keyword: KeywordIndex;
}

/** How many pages each list contributes to hybrid fusion: deeper than max_results, so fusion can reorder. */
const fusionDepth = (maxResults: number) => Math.max(50, 2 * maxResults);

export async function searchDocs(deps: SearchDeps, params: SearchDocsParams): Promise<SearchDocsAnswer> {
  const { query, tags, maxResults, mode, fullText } = validate(params);
  const depth = mode === 'hybrid' ? fusionDepth(maxResults) : maxResults;
  const [vector, keyword] = await Promise.all([
    mode === 'keyword' ? [] : embedQuery(deps.embedder, query).then((q) => vectorPages(deps.store, q, depth, tags)),
    mode === 'vector' ? [] : keywordPages(deps.keyword, query, depth, tags),
  ]);
  const ranked = mode === 'vector' ? vector : mode === 'keyword' ? keyword : fuse([vector, keyword]);
  const results = await materialise(deps.store, ranked.slice(0, maxResults), fullText);
  const cut = results.filter((r) => r.truncated).length;
  if (cut === 0) return { results };
  return {
    results,
    note:
      `return_full_document_text carries at most ${MAX_FULL_TEXT_CHARS.toLocaleString('en-US')} characters of page text per answer: ` +
      `${cut} result${cut === 1 ? ' was' : 's were'} cut or kept only the best passage (truncated: true). ` +
      'Read a whole page with get_doc_page (page_id, in line ranges), or ask for fewer max_results.',
  };
}

function validate(params: SearchDocsParams) {
  if (!params || typeof params !== 'object') throw new ValidationError('search input must be an object with a query.');
  if (typeof params.query !== 'string') throw new ValidationError('query is required: pass the text to search for.');
  const query = params.query.trim();
  if (!query) throw new ValidationError('query must not be empty: pass the text to search for.');
  const maxResults = params.max_results ?? 10;
  if (typeof maxResults !== 'number' || !Number.isInteger(maxResults) || maxResults < 1 || maxResults > MAX_RESULTS_LIMIT) {
    throw new ValidationError(`max_results must be an integer from 1 to ${MAX_RESULTS_LIMIT} (got ${String(params.max_results)}).`);
  }
  const mode = params.mode ?? 'hybrid';
  if (!SEARCH_MODES.includes(mode)) {
    throw new ValidationError(`mode must be one of ${SEARCH_MODES.join(', ')} (got ${JSON.stringify(params.mode)}).`);
  }
  if (params.tags !== undefined && (!Array.isArray(params.tags) || params.tags.some((t) => typeof t !== 'string'))) {
    throw new ValidationError('tags must be a list of strings.');
  }
  const tags = params.tags?.length ? [...new Set(params.tags)] : undefined;
  return { query, tags, maxResults, mode, fullText: params.return_full_document_text === true };
}

async function embedQuery(embedder: Embedder, query: string): Promise<Float32Array> {
  const [v] = await embedder.embed([query], { input: 'query' });
  if (!v) throw new Error(`the ${embedder.provider} embedder returned no vector for the query.`);
  return v;
}

/**
 * Reciprocal Rank Fusion of page rankings (best first): score = sum of 1 / (RRF_K + rank), rank from 1.
 * Each page keeps the chunk of the list that ranks it highest (earlier lists win ties).
 */
export function fuse(lists: readonly (readonly PageCandidate[])[]): PageCandidate[] {
  const fused = new Map<string, { c: PageCandidate; score: number; bestRank: number }>();
  for (const list of lists) {
    list.forEach((c, i) => {
      const rank = i + 1;
      const f = fused.get(c.pageKey);
      if (!f) fused.set(c.pageKey, { c, score: 1 / (RRF_K + rank), bestRank: rank });
      else {
        f.score += 1 / (RRF_K + rank);
        if (rank < f.bestRank) {
          f.c = c;
          f.bestRank = rank;
        }
      }
    });
  }
  return [...fused.values()]
    .sort((a, b) => b.score - a.score || a.bestRank - b.bestRank || (a.c.pageKey < b.c.pageKey ? -1 : 1))
    .map(({ c, score }) => ({ ...c, score }));
}

async function materialise(store: Store, ranked: readonly PageCandidate[], fullText: boolean): Promise<SearchDocResult[]> {
  if (ranked.length === 0) return [];
  const payloads = await store.chunks.payloads(ranked.map((c) => c.chunkId));
  // Whole page texts, best result first, until the answer's budget is spent (the rest is never read).
  const texts = new Map<string, { text: string; truncated: boolean }>();
  const overBudget = new Set<string>();
  if (fullText) {
    let budget = MAX_FULL_TEXT_CHARS;
    for (const c of ranked) {
      if (c.pageKey.startsWith('chunk:')) continue;
      if (budget <= 0) {
        overBudget.add(c.pageKey);
        continue;
      }
      const head = await store.pages.textHead(c.pageKey, budget);
      if (!head) continue;
      texts.set(c.pageKey, { text: head.text, truncated: head.length > head.text.length });
      budget -= head.text.length;
    }
  }
  const out: SearchDocResult[] = [];
  for (const c of ranked) {
    const p = payloads.get(c.chunkId);
    if (!p) continue; // deleted between ranking and now
    const full = texts.get(c.pageKey);
    out.push({
      chunk_text: full?.text ?? p.text,
      page_id: p.page_id ?? '',
      tags: p.tags,
      score: c.score,
      url: p.url ?? '',
      title: p.title,
      heading_path: p.heading_path,
      domain: p.domain,
      chunk_id: c.chunkId,
      full_document: full !== undefined,
      ...(fullText ? { truncated: full ? full.truncated : overBudget.has(c.pageKey) } : {}),
    });
  }
  return out;
}
