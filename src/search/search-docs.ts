/**
 * searchDocs: retrieval over chunks, one result per page (that page's best chunk).
 *
 * Each retriever yields a ranked list of *pages*, each represented by its best chunk (page-candidates.ts):
 * - vector: nearest chunks by embedding (over-fetched, grouped per page, with the tag filter);
 * - keyword: BM25 over chunk text + page title + heading path (in-memory index, pruned top k per page, same
 *   tag filter), re-ranked with page-level evidence: the BM25 of the whole page.
 *
 * What `score` means, per mode (higher is always better):
 * - `vector`: 1 - cosine distance between the query and the page's best chunk (as Qdrant reports it;
 *   1 = same direction). Comparable across queries.
 * - `keyword`: BM25 (k1 = 1.2, b = 0.75) of the page's best chunk + PAGE_WEIGHT x BM25 of the whole page
 *   (the page as one document: its chunks' term counts and lengths summed). Unbounded; only comparable
 *   within one query.
 * - `hybrid` (default): weighted Reciprocal Rank Fusion (k = 60) of the two page rankings:
 *   score = w / (60 + rank in the vector list) + 1 / (60 + rank in the keyword list), rank from 1, with w
 *   the vector weight (VECTOR_WEIGHT; VECTOR_WEIGHT_LEXICAL with the lexical embedder); a page missing
 *   from a list adds nothing. At most (1 + w) / 61; only comparable within one query. The chunk shown is
 *   the page's best chunk from the list that adds most to its score (the vector one on a tie).
 *
 * PAGE_WEIGHT and VECTOR_WEIGHT_LEXICAL were chosen on half of the project's evaluation questions and
 * checked on the other half (bench/eval/, bench/results/retrieval-tuning.md).
 *
 * `max_results` pages come back whenever that many pages match: each list is asked for pages, not
 * chunks, so a page with many matching chunks cannot crowd others out. A page whose best passage reads the
 * same (links as their text) as that of a page ranked above it is left out, its URL listed in that result's
 * `same_text_urls`: a site that publishes one text at several URLs (rustdoc's re-exports:
 * `std::collections::HashMap` and `std::collections::hash_map::HashMap`; a docs version that did not change
 * a page) would otherwise fill the results with copies. With `return_full_document_text`,
 * `chunk_text` holds the whole page text (as the Python service did) and `full_document` is true.
 */
import { EmbeddingError, type Embedder } from '../embed/embedder.js';
import type { KeywordIndex, KeywordQuery } from '../store/keyword-index.js';
import { ABSENT_WORDS_MAX } from '../store/bm25-search.js';
import type { StoredPayload } from '../store/embeddings.js';
import type { Store } from '../store/store.js';
import { ValidationError } from '../store/validation.js';
import { linksToText } from '../text/markdown-links.js';
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

/** Weight of the whole-page BM25 in the keyword score (chosen on fold A of bench/eval, see the module comment). */
export const PAGE_WEIGHT = 0.25;
/**
 * Weight of the vector list in hybrid fusion, the keyword list weighing 1. For the offline lexical embedder
 * it was chosen on fold A like PAGE_WEIGHT: 0, its vectors (hashed words and trigrams) adding nothing that
 * BM25 with page evidence lacks there, so its pages come after the keyword ones (a fallback, e.g. for
 * misspelt words). Embedding models are not evaluated here (no model or API offline): plain RRF (1).
 */
export const VECTOR_WEIGHT_LEXICAL = 0;
export const VECTOR_WEIGHT = 1;

/** Fusion settings (the evaluation harness varies them). */
export interface Fusion {
  pageWeight: number;
  vectorWeight: number;
}
export const fusionFor = (embedder: Pick<Embedder, 'provider'>): Fusion => ({
  pageWeight: PAGE_WEIGHT,
  vectorWeight: embedder.provider === 'lexical' ? VECTOR_WEIGHT_LEXICAL : VECTOR_WEIGHT,
});

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
   * URLs of lower-ranked pages whose best passage reads the same, left out of the results (at most
   * MAX_SAME_TEXT_URLS); absent when there are none.
   */
  same_text_urls?: string[];
  /**
   * With return_full_document_text only: true when the page text was cut at the answer's budget
   * (MAX_FULL_TEXT_CHARS), or left out (chunk_text is then the best passage and full_document false).
   */
  truncated?: boolean;
}

export interface SearchDocsAnswer {
  results: SearchDocResult[];
  /**
   * Set when some words of the query are in no indexed page, when it holds only common words (hybrid and keyword
   * modes), or when full-document text was truncated: what happened and what to do.
   */
  note?: string;
}

export interface SearchDeps {
  store: Store;
  embedder: Embedder;
  keyword: KeywordIndex;
  /** Overrides the fusion weights (evaluation only). */
  fusion?: Fusion;
}

/**
 * How many pages each list contributes to hybrid fusion, and how many keyword pages are re-ranked with
 * page-level evidence: deeper than max_results, so re-ranking and fusion can reorder.
 */
const fusionDepth = (maxResults: number) => Math.max(50, 2 * maxResults);
/** Pages asked of one list in vector or keyword mode: room for pages left out as copies of others. */
const singleListDepth = (maxResults: number) => 2 * maxResults;
/** Most URLs one result lists in `same_text_urls`. */
export const MAX_SAME_TEXT_URLS = 10;

export async function searchDocs(deps: SearchDeps, params: SearchDocsParams): Promise<SearchDocsAnswer> {
  const { query, tags, maxResults, mode, fullText } = validate(params);
  const fusion = deps.fusion ?? fusionFor(deps.embedder);
  const depth = fusionDepth(maxResults);
  const vectorSide = () => embedQuery(deps.embedder, query).then((q) => vectorPages(deps.store, q, mode === 'hybrid' ? depth : singleListDepth(maxResults), tags));
  let prepared: KeywordQuery | undefined;
  const keywordSide = async () => {
    prepared = await deps.keyword.prepare(query);
    return keywordPages(deps.keyword, prepared, { limit: mode === 'hybrid' ? depth : singleListDepth(maxResults), depth, pageWeight: fusion.pageWeight, tags });
  };
  let vector: PageCandidate[] = [];
  let keyword: PageCandidate[] = [];
  if (mode === 'vector') vector = await vectorSide();
  else if (mode === 'keyword') keyword = await keywordSide();
  else if (fusion.vectorWeight === 0) {
    // Vector pages then only follow the keyword ones: they matter only when the keyword list runs short.
    keyword = await keywordSide();
    if (keyword.length < maxResults) vector = await vectorSide();
  } else [vector, keyword] = await Promise.all([vectorSide(), keywordSide()]);
  const ranked = mode === 'vector' ? vector : mode === 'keyword' ? keyword : fuse([vector, keyword], [fusion.vectorWeight, 1]);
  const results = await materialise(deps.store, ranked, maxResults, fullText);
  const notes: string[] = [];
  const words = prepared && queryNote(prepared, mode, results.length > 0);
  if (words) notes.push(words);
  const cut = results.filter((r) => r.truncated).length;
  if (cut > 0) {
    notes.push(
      `return_full_document_text carries at most ${MAX_FULL_TEXT_CHARS.toLocaleString('en-US')} characters of page text per answer: ` +
        `${cut} result${cut === 1 ? ' was' : 's were'} cut or kept only the best passage (truncated: true). ` +
        'Read a whole page with get_doc_page (page_id, in line ranges), or ask for fewer max_results.',
    );
  }
  return notes.length ? { results, note: notes.join(' ') } : { results };
}

/**
 * What the keyword side found of the query's words, when a caller (an agent above all) could not tell from
 * the results: words no indexed page holds (the results then match the other words, or only the meaning,
 * and may be unrelated), or a query of common words only.
 */
function queryNote(q: KeywordQuery, mode: SearchMode, found: boolean): string | undefined {
  if (q.indexed === 0) return 'Nothing is indexed yet: index some documentation first.';
  const meaning = mode === 'hybrid' ? ' or its meaning' : '';
  if (q.absent.length > 0) {
    const words = q.absent.map((w) => JSON.stringify(w)).join(', ');
    const more = q.absent.length >= ABSENT_WORDS_MAX ? ' (and maybe more of its words)' : '';
    if (!found) return `No indexed page contains ${words}${more}. Try other words, or index documentation that covers it.`;
    if (q.plan.terms.length > 0) {
      return `No indexed page contains ${words}${more}: the results match the query's other words${meaning}, and may not answer it.`;
    }
    return (
      `No indexed page contains ${words}${more}${mode === 'hybrid' ? ': the results are only the nearest by meaning and may be unrelated' : ''}. ` +
      'Try other words, or index documentation that covers it.'
    );
  }
  if (!found) return undefined;
  if (q.plan.stopOnly) {
    return 'The query holds only common words, which nearly every page contains, so the results are barely ranked. Add a word specific to what you look for.';
  }
  return undefined;
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

/** The query's vector; an embedder's failure says that a keyword search works without one. */
async function embedQuery(embedder: Embedder, query: string): Promise<Float32Array> {
  let v: Float32Array | undefined;
  try {
    [v] = await embedder.embed([query], { input: 'query' });
  } catch (e) {
    if (!(e instanceof EmbeddingError)) throw e;
    throw new EmbeddingError(e.code, `${e.message.replace(/\.?$/, '.')} Meanwhile a keyword search (mode "keyword") needs no embeddings.`);
  }
  if (!v) throw new Error(`the ${embedder.provider} embedder returned no vector for the query.`);
  return v;
}

/**
 * Weighted Reciprocal Rank Fusion of page rankings (best first): score = sum of weight / (RRF_K + rank),
 * rank from 1 (weights default to 1). Each page keeps the chunk of the list that adds most to its score
 * (earlier lists win ties). Pages with equal scores keep the order of their best rank (so with weight 0,
 * a list's own pages follow the others in its order).
 */
export function fuse(lists: readonly (readonly PageCandidate[])[], weights: readonly number[] = []): PageCandidate[] {
  const fused = new Map<string, { c: PageCandidate; score: number; best: number; bestRank: number }>();
  for (const [l, list] of lists.entries()) {
    const w = weights[l] ?? 1;
    list.forEach((c, i) => {
      const rank = i + 1;
      const part = w / (RRF_K + rank);
      const f = fused.get(c.pageKey);
      if (!f) fused.set(c.pageKey, { c, score: part, best: part, bestRank: rank });
      else {
        f.score += part;
        if (part > f.best) {
          f.c = c;
          f.best = part;
        }
        f.bestRank = Math.min(f.bestRank, rank);
      }
    });
  }
  return [...fused.values()]
    .sort((a, b) => b.score - a.score || a.bestRank - b.bestRank || (a.c.pageKey < b.c.pageKey ? -1 : 1))
    .map(({ c, score }) => ({ ...c, score }));
}

/** One result: its candidate, its chunk's payload, and the URLs of the pages left out as its copies. */
interface Chosen {
  c: PageCandidate;
  p: StoredPayload;
  same: string[];
}

/**
 * The first `maxResults` of `ranked` whose chunk still exists and whose text is not that of a result above it
 * (whose `same` then gets its URL), texts compared with their links read as their text. Payloads are read a
 * window at a time: one read unless copies or deleted chunks use up the first window.
 */
async function distinctResults(store: Store, ranked: readonly PageCandidate[], maxResults: number): Promise<Chosen[]> {
  const chosen: Chosen[] = [];
  const byText = new Map<string, Chosen>();
  let start = 0;
  while (start < ranked.length && chosen.length < maxResults) {
    const window = ranked.slice(start, start + maxResults + (maxResults - chosen.length));
    start += window.length;
    const payloads = await store.chunks.payloads(window.map((c) => c.chunkId));
    for (const c of window) {
      const p = payloads.get(c.chunkId);
      if (!p) continue; // deleted between ranking and now
      // as a reader sees it: a page's links to itself (rustdoc's item anchors) differ between the copies
      const text = linksToText(p.text);
      const first = byText.get(text);
      if (first) {
        if (p.url && first.same.length < MAX_SAME_TEXT_URLS && p.url !== first.p.url && !first.same.includes(p.url)) first.same.push(p.url);
        continue;
      }
      if (chosen.length === maxResults) continue; // the window's rest only adds copies' URLs
      const r = { c, p, same: [] };
      chosen.push(r);
      byText.set(text, r);
    }
  }
  return chosen;
}

async function materialise(store: Store, ranked: readonly PageCandidate[], maxResults: number, fullText: boolean): Promise<SearchDocResult[]> {
  if (ranked.length === 0) return [];
  const chosen = await distinctResults(store, ranked, maxResults);
  // Whole page texts, best result first, until the answer's budget is spent (the rest is never read).
  const texts = new Map<string, { text: string; truncated: boolean }>();
  const overBudget = new Set<string>();
  if (fullText) {
    let budget = MAX_FULL_TEXT_CHARS;
    for (const { c } of chosen) {
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
  for (const { c, p, same } of chosen) {
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
      ...(same.length ? { same_text_urls: same } : {}),
      ...(fullText ? { truncated: full ? full.truncated : overBudget.has(c.pageKey) } : {}),
    });
  }
  return out;
}
