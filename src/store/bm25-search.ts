/**
 * Queries over the in-memory inverted index (inverted-index.ts), all BM25 (k1 1.2, b 0.75):
 *
 * - `topPages`: the best `k` pages, a page scoring as its best chunk, with an optional tag filter. It
 *   uses MaxScore dynamic pruning with block-max bounds, so a query of common terms does not score every
 *   posting: terms are ordered by their largest possible contribution; once the k-th best page score
 *   (the threshold) exceeds the summed bounds of the weakest terms, those terms only refine documents
 *   found through the others, and a candidate whose bound (block maxima of its terms) cannot beat the
 *   threshold is skipped without being scored. The result is exactly the exhaustive top k.
 * - `scorePages`: for given pages, their best chunk's score and a page-level score: BM25 of the page as one
 *   document, its term counts the sums over its chunks and its length their summed lengths (the same
 *   idf as the chunks). This is the page-level evidence searchDocs fuses with the chunk-level lists.
 *
 * A query made only of stop words is scored exhaustively from the dense stop-word counts.
 */
import { termHashWords } from '../text/chunk-terms.js';
import { tokenize } from '../text/tokenize.js';
import { STOP_COUNT, type InvertedIndex } from './inverted-index.js';
import { Cursor, K1, NO_MORE, boundScale, saturation } from './postings.js';

export interface PlanTerm {
  /** Term id, or stop word index when `stop`. */
  id: number;
  stop: boolean;
  idf: number;
}

export interface QueryPlan {
  terms: PlanTerm[];
  /** True when every term is a stop word (scored from the dense counts). */
  stopOnly: boolean;
}

export interface PageHit {
  page: number;
  /** The page's best chunk (doc ordinal). */
  doc: number;
  score: number;
}

export interface PageScore extends PageHit {
  /** Page-level BM25 (see the module comment). */
  pageScore: number;
}

export const idfOf = (n: number, df: number): number => Math.log(1 + (n - df + 0.5) / (df + 0.5));

/** Looks the query's terms up (unknown terms are dropped: they match nothing). */
export function planQuery(idx: InvertedIndex, terms: readonly string[]): QueryPlan {
  const w = new Int32Array(2);
  const out: PlanTerm[] = [];
  const n = idx.liveDocs;
  for (const term of new Set(terms)) {
    termHashWords(term, w, 0);
    const id = idx.termId(w[0]!, w[1]!);
    if (id >= 0 && idx.df[id]! > 0) out.push({ id, stop: id < STOP_COUNT, idf: idfOf(n, idx.df[id]!) });
  }
  const stopOnly = out.length > 0 && out.every((t) => t.stop);
  // Stop words count only when nothing else does (queryTerms sends them only then anyway).
  return { terms: stopOnly ? out : out.filter((t) => !t.stop), stopOnly };
}

/** Most absent words `absentWords` names. */
export const ABSENT_WORDS_MAX = 10;

/**
 * The words of a query (split at spaces, as typed, without the punctuation around them) that no live chunk
 * holds: none of the terms the word yields (itself, its identifier parts, its CJK bigrams) is indexed. Stop
 * words are left out, and so is a word any of whose parts is indexed (`pg_stat_foo` where `pg` and `stat` are),
 * so a word named here is really absent. At most ABSENT_WORDS_MAX, in the query's order.
 */
export function absentWords(idx: InvertedIndex, query: string): string[] {
  const w = new Int32Array(2);
  const out: string[] = [];
  const indexed = (term: string) => {
    termHashWords(term, w, 0);
    const id = idx.termId(w[0]!, w[1]!);
    return id >= 0 && idx.df[id]! > 0;
  };
  for (const word of new Set(query.normalize('NFC').split(/\s+/))) {
    const terms = tokenize(word);
    if (terms.length === 0 || terms.some(indexed)) continue;
    const shown = word.replace(/^[\p{P}\p{S}]+|[\p{P}\p{S}]+$/gu, '');
    if (!out.includes(shown)) out.push(shown);
    if (out.length === ABSENT_WORDS_MAX) break;
  }
  return out;
}

/** Which tag sets pass a filter (any of `tags`); undefined: no filter. */
export function tagSetFilter(idx: InvertedIndex, tags?: readonly string[]): Uint8Array | undefined {
  if (!tags || tags.length === 0) return undefined;
  const want = new Set(tags);
  const ok = new Uint8Array(idx.tagSets.length);
  idx.tagSets.forEach((set, i) => {
    if (set.some((t) => want.has(t))) ok[i] = 1;
  });
  return ok;
}

/** A min-heap of the best k pages (page -> best doc, score), with the k-th score as the threshold. */
class PageHeap {
  private readonly pages: number[] = [];
  private readonly docs: number[] = [];
  private readonly scores: number[] = [];
  private readonly at = new Map<number, number>();

  constructor(private readonly k: number) {}

  get full(): boolean {
    return this.pages.length >= this.k;
  }

  /** Scores at or below this cannot enter (or change) the top k. */
  get threshold(): number {
    return this.full ? this.scores[0]! : -Infinity;
  }

  offer(page: number, doc: number, score: number): void {
    const i = this.at.get(page);
    if (i !== undefined) {
      if (score <= this.scores[i]!) return;
      this.scores[i] = score;
      this.docs[i] = doc;
      this.down(i);
      return;
    }
    if (this.full) {
      if (score <= this.scores[0]!) return;
      this.at.delete(this.pages[0]!);
      this.set(0, page, doc, score);
      this.down(0);
      return;
    }
    const j = this.pages.length;
    this.pages.push(page);
    this.docs.push(doc);
    this.scores.push(score);
    this.at.set(page, j);
    this.up(j);
  }

  /** Best first; ties by page ordinal. */
  sorted(): PageHit[] {
    return this.pages
      .map((page, i) => ({ page, doc: this.docs[i]!, score: this.scores[i]! }))
      .sort((a, b) => b.score - a.score || a.page - b.page);
  }

  private set(i: number, page: number, doc: number, score: number): void {
    this.pages[i] = page;
    this.docs[i] = doc;
    this.scores[i] = score;
    this.at.set(page, i);
  }

  private swap(i: number, j: number): void {
    const p = this.pages[i]!;
    const d = this.docs[i]!;
    const s = this.scores[i]!;
    this.set(i, this.pages[j]!, this.docs[j]!, this.scores[j]!);
    this.set(j, p, d, s);
  }

  private up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.scores[parent]! <= this.scores[i]!) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private down(i: number): void {
    const n = this.pages.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && this.scores[l]! < this.scores[m]!) m = l;
      if (r < n && this.scores[r]! < this.scores[m]!) m = r;
      if (m === i) return;
      this.swap(i, m);
      i = m;
    }
  }
}

/** Counters of the last topPages call (for benchmarks and tests of the pruning). */
export const pruningStats = { candidates: 0, scored: 0, postings: 0 };

/**
 * The best k pages by their best chunk's BM25, exactly, with MaxScore + block-max pruning. With
 * `perPage` false every chunk counts for itself (`page` then holds the doc ordinal).
 */
export function topPages(idx: InvertedIndex, plan: QueryPlan, k: number, filter?: Uint8Array, perPage = true): PageHit[] {
  pruningStats.candidates = pruningStats.scored = pruningStats.postings = 0;
  if (plan.terms.length === 0 || k < 1) return [];
  if (plan.stopOnly) return topPagesStopOnly(idx, plan, k, filter, perPage);
  const avg = idx.avgdl;
  const scale = boundScale(avg, idx.refAvgdl) * (K1 + 1);
  const live = idx.live;
  const lens = idx.len;
  const pages = idx.page;
  const tagSets = idx.tagSet;
  // Terms in ascending order of their largest possible contribution.
  const terms = plan.terms
    .map((t) => {
      const tail = idx.tails[t.id];
      const listMax = Math.max(t.id < idx.base.terms ? idx.base.listMax[t.id]! : 0, tail?.max ?? 0);
      return { weight: t.idf * (K1 + 1), cursor: new Cursor(idx.base, t.id, tail), ub: t.idf * listMax * scale, blockScale: t.idf * scale };
    })
    .sort((a, b) => a.ub - b.ub);
  const n = terms.length;
  const cursors = terms.map((t) => t.cursor);
  const weights = terms.map((t) => t.weight);
  const blockScales = terms.map((t) => t.blockScale);
  const prefix = new Float64Array(n); // prefix[i] = sum of ub[0..i]
  terms.forEach((t, i) => (prefix[i] = (i > 0 ? prefix[i - 1]! : 0) + t.ub));
  const heap = new PageHeap(k);
  let theta = -Infinity;
  let e = 0; // terms [0, e) are non-essential: together they cannot beat theta
  let candidates = 0;
  let scored = 0;
  for (;;) {
    while (e < n && prefix[e]! <= theta) e++;
    if (e >= n) break;
    let d = NO_MORE;
    for (let i = e; i < n; i++) if (cursors[i]!.doc < d) d = cursors[i]!.doc;
    if (d === NO_MORE) break;
    candidates++;
    if (!live[d] || (filter && !filter[tagSets[d]!])) {
      for (let i = e; i < n; i++) if (cursors[i]!.doc === d) cursors[i]!.next();
      continue;
    }
    const nonEssential = e > 0 ? prefix[e - 1]! : 0;
    if (heap.full) {
      // Block-max bound of the essential terms at d, plus the non-essential ones' list bounds.
      let bound = nonEssential;
      for (let i = e; i < n; i++) if (cursors[i]!.doc === d) bound += blockScales[i]! * cursors[i]!.blockBound();
      if (bound <= theta) {
        for (let i = e; i < n; i++) if (cursors[i]!.doc === d) cursors[i]!.next();
        continue;
      }
    }
    const len = lens[d]!;
    let score = 0;
    for (let i = e; i < n; i++) {
      const c = cursors[i]!;
      if (c.doc === d) {
        score += weights[i]! * saturation(c.tf, len, avg);
        c.next();
      }
    }
    for (let i = e - 1; i >= 0; i--) {
      if (heap.full && score + prefix[i]! <= theta) break;
      const c = cursors[i]!;
      c.advance(d);
      if (c.doc === d) score += weights[i]! * saturation(c.tf, len, avg);
    }
    scored++;
    if (score > theta || !heap.full) {
      heap.offer(perPage ? pages[d]! : d, d, score);
      theta = heap.threshold;
    }
  }
  pruningStats.candidates = candidates;
  pruningStats.scored = scored;
  return heap.sorted();
}

function topPagesStopOnly(idx: InvertedIndex, plan: QueryPlan, k: number, filter: Uint8Array | undefined, perPage: boolean): PageHit[] {
  const heap = new PageHeap(k);
  const avg = idx.avgdl;
  for (let d = 0; d < idx.nDocs; d++) {
    if (!idx.live[d] || (filter && !filter[idx.tagSet[d]!])) continue;
    let score = 0;
    for (const t of plan.terms) {
      const tf = idx.stopTf[t.id]![d]!;
      if (tf) score += t.idf * saturation(tf, idx.len[d]!, avg);
    }
    if (score > 0) heap.offer(perPage ? idx.page[d]! : d, d, score * (K1 + 1));
  }
  return heap.sorted();
}

/**
 * For each page: its best chunk (and that chunk's BM25) and the page-level BM25. Pages without a matching
 * chunk get score 0, pageScore 0 and their first chunk.
 */
export function scorePages(idx: InvertedIndex, plan: QueryPlan, pageOrds: readonly number[]): PageScore[] {
  const avg = idx.avgdl;
  const avgPage = idx.avgPageLen;
  // The live docs of these pages, in doc order, with the page (by position in pageOrds) of each.
  const entries: { doc: number; at: number }[] = [];
  pageOrds.forEach((p, at) => {
    for (let d = idx.pageHead[p]!; d >= 0; d = idx.nextInPage[d]!) entries.push({ doc: d, at });
  });
  entries.sort((a, b) => a.doc - b.doc);
  const chunkScore = new Float64Array(entries.length);
  const pageTf = new Float64Array(pageOrds.length);
  const pageScore = new Float64Array(pageOrds.length);
  for (const t of plan.terms) {
    pageTf.fill(0);
    if (t.stop) {
      const counts = idx.stopTf[t.id]!;
      entries.forEach((e, i) => {
        const tf = counts[e.doc]!;
        if (!tf) return;
        chunkScore[i]! += t.idf * saturation(tf, idx.len[e.doc]!, avg);
        pageTf[e.at]! += tf;
      });
    } else {
      const c = new Cursor(idx.base, t.id, idx.tails[t.id]);
      entries.forEach((e, i) => {
        c.advance(e.doc);
        if (c.doc !== e.doc) return;
        chunkScore[i]! += t.idf * saturation(c.tf, idx.len[e.doc]!, avg);
        pageTf[e.at]! += c.tf;
      });
    }
    pageOrds.forEach((p, at) => {
      if (pageTf[at]! > 0) pageScore[at]! += t.idf * saturation(pageTf[at]!, idx.pageLen[p]!, avgPage);
    });
  }
  const out: PageScore[] = pageOrds.map((page, at) => ({ page, doc: idx.pageHead[page]!, score: 0, pageScore: pageScore[at]! * (K1 + 1) }));
  entries.forEach((e, i) => {
    const s = chunkScore[i]! * (K1 + 1);
    const o = out[e.at]!;
    if (s > o.score || (s === o.score && s > 0 && e.doc < o.doc)) {
      o.score = s;
      o.doc = e.doc;
    }
  });
  return out;
}
