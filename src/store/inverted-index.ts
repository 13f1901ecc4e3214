/**
 * The in-memory inverted index over chunks, derived from the `kw_docs` table (keyword-index.ts keeps it in
 * step with DuckDB). It holds:
 * - documents (chunks) by ordinal: seq, chunk id, page, tag set, BM25 length, live flag;
 * - pages: every chunk's page (or `chunk:<id>` for a chunk stored without one), the page's live chunks
 *   (a doubly linked list through the docs) and their summed length, for page-level scoring;
 * - postings per term (postings.ts) with exact live document frequencies;
 * - stop words apart: one byte of term count per document and stop word (dense), used only by queries made of
 *   nothing but stop words, so they never slow down or skew other queries.
 *
 * Deleting a document marks it dead (its postings stay until the next compaction, and are skipped); its
 * terms' document frequencies, the live count and the total length change at once, so scores are always
 * exact BM25 over the live documents. Compaction rewrites everything into a fresh base without dead
 * documents (`compact`); the owner runs it when the tail or the dead documents grow large.
 */
import { STOPWORDS } from '../text/tokenize.js';
import { termHashWords } from '../text/chunk-terms.js';
import { BLOCK, BLOCK_SHIFT, BasePostings, TailList, saturation } from './postings.js';
import { TermTable } from './term-table.js';

/** A document as added: its terms as hash words (see ChunkTerms) and counts. */
export interface DocInput {
  seq: number;
  id: string;
  /** Page id; null for a chunk stored without one. */
  pageId: string | null;
  tags: readonly string[];
  length: number;
  words: Int32Array;
  counts: Uint16Array;
}

const STOP_LIST = [...STOPWORDS];
const STOP_WORDS = new Int32Array(STOP_LIST.length * 2);
STOP_LIST.forEach((w, i) => termHashWords(w, STOP_WORDS, 2 * i));
/** Stop words take the first term ids: term t is a stop word iff t < STOP_COUNT. */
export const STOP_COUNT = STOP_LIST.length;

/** Grows a typed array to at least `n` elements (doubling). */
function ensure<T extends Uint8Array | Uint16Array | Uint32Array | Int32Array | Float64Array | Float32Array>(a: T, n: number, fill?: number): T {
  if (a.length >= n) return a;
  let size = Math.max(16, a.length);
  while (size < n) size *= 2;
  const b = new (a.constructor as new (n: number) => T)(size);
  b.set(a);
  if (fill !== undefined) b.fill(fill, a.length);
  return b;
}

export interface IndexStats {
  docs: number;
  deadDocs: number;
  pages: number;
  terms: number;
  basePostings: number;
  tailPostings: number;
  bytes: number;
}

export class InvertedIndex {
  terms = new TermTable(1 << 16);
  /** Live document frequency by term id. */
  df = new Uint32Array(1 << 16);
  base = BasePostings.empty();
  /** Tail list by term id (undefined: no tail postings). */
  tails: (TailList | undefined)[] = [];
  tailPostings = 0;
  /** Reference average length the stored block maxima were computed with (see postings.ts). */
  refAvgdl = 1;

  // documents, by ordinal
  nDocs = 0;
  liveDocs = 0;
  totalLen = 0;
  live = new Uint8Array(1024);
  len = new Uint32Array(1024);
  page = new Int32Array(1024);
  tagSet = new Int32Array(1024);
  seq = new Float64Array(1024);
  ids: (string | undefined)[] = [];
  nextInPage = new Int32Array(1024);
  prevInPage = new Int32Array(1024);
  /** Doc ordinal by seq (-1: none). Seqs are small, increasing integers (a DuckDB sequence). */
  docOfSeq = new Int32Array(1024).fill(-1);

  // pages
  pageKeys: string[] = [];
  pageIds: (string | null)[] = [];
  readonly pageOf = new Map<string, number>();
  pageHead = new Int32Array(256).fill(-1);
  pageLive = new Uint32Array(256);
  pageLen = new Float64Array(256);
  livePages = 0;

  // tag sets
  tagSets: (readonly string[])[] = [];
  private readonly tagSetOf = new Map<string, number>();

  // stop words (term ids 0..STOP_COUNT-1): count per doc; their live document frequency is in df
  stopTf: Uint8Array[] = STOP_LIST.map(() => new Uint8Array(1024));

  constructor() {
    for (let i = 0; i < STOP_COUNT; i++) this.terms.intern(STOP_WORDS[2 * i]!, STOP_WORDS[2 * i + 1]!);
  }

  /** An index from saved arrays (keyword-snapshot.ts): a compacted index, every document live. */
  static restore(s: {
    termKeys: Int32Array<ArrayBuffer>;
    termIds: Int32Array<ArrayBuffer>;
    termCount: number;
    df: Uint32Array<ArrayBuffer>;
    base: BasePostings;
    refAvgdl: number;
    len: Uint32Array<ArrayBuffer>;
    page: Int32Array<ArrayBuffer>;
    tagSet: Int32Array<ArrayBuffer>;
    seq: Float64Array<ArrayBuffer>;
    stopTf: Uint8Array<ArrayBuffer>[];
    pageLive: Uint32Array<ArrayBuffer>;
    pageLen: Float64Array<ArrayBuffer>;
    ids: string[];
    pageKeys: string[];
    pageIds: (string | null)[];
    tagSets: string[][];
  }): InvertedIndex {
    const idx = new InvertedIndex();
    const n = s.seq.length;
    if (s.stopTf.length !== STOP_COUNT || s.ids.length !== n || s.pageKeys.length !== s.pageLive.length) throw new Error('saved keyword index: inconsistent sizes');
    idx.terms = TermTable.fromArrays(s.termKeys, s.termIds, s.termCount);
    idx.df = s.df;
    idx.base = s.base;
    idx.refAvgdl = s.refAvgdl;
    idx.nDocs = n;
    idx.liveDocs = n;
    idx.len = s.len;
    idx.page = s.page;
    idx.tagSet = s.tagSet;
    idx.seq = s.seq;
    idx.stopTf = s.stopTf;
    idx.ids = s.ids;
    idx.live = new Uint8Array(Math.max(1024, n)).fill(1, 0, n);
    let maxSeq = 0;
    for (let d = 0; d < n; d++) {
      idx.totalLen += s.len[d]!;
      if (s.seq[d]! > maxSeq) maxSeq = s.seq[d]!;
    }
    idx.docOfSeq = new Int32Array(maxSeq + 1024).fill(-1);
    for (let d = 0; d < n; d++) idx.docOfSeq[s.seq[d]!] = d;
    idx.pageKeys = s.pageKeys;
    idx.pageIds = s.pageIds;
    s.pageKeys.forEach((k, p) => idx.pageOf.set(k, p));
    idx.pageLive = s.pageLive;
    idx.pageLen = s.pageLen;
    for (let p = 0; p < s.pageLive.length; p++) if (s.pageLive[p]! > 0) idx.livePages++;
    s.tagSets.forEach((t) => idx.internTags(t));
    idx.pageHead = new Int32Array(Math.max(256, s.pageKeys.length)).fill(-1);
    idx.nextInPage = new Int32Array(Math.max(1024, n));
    idx.prevInPage = new Int32Array(Math.max(1024, n));
    idx.relinkPages();
    return idx;
  }

  /** The seqs of the live documents. */
  liveSeqs(): Float64Array {
    const out = new Float64Array(this.liveDocs);
    let i = 0;
    for (let d = 0; d < this.nDocs; d++) if (this.live[d]) out[i++] = this.seq[d]!;
    return out;
  }

  /**
   * Marks a document dead without knowing its terms (a chunk deleted while the index was not running);
   * document frequencies are then recounted by the next `compact({ recount: true })`.
   */
  markDead(seq: number): void {
    if (!this.hasSeq(seq)) return;
    const doc = this.docOfSeq[seq]!;
    this.docOfSeq[seq] = -1;
    this.live[doc] = 0;
    this.liveDocs--;
    this.totalLen -= this.len[doc]!;
    this.ids[doc] = undefined;
    this.unlinkPage(doc);
  }

  get avgdl(): number {
    return this.liveDocs > 0 ? Math.max(1e-9, this.totalLen / this.liveDocs) : 1;
  }

  get avgPageLen(): number {
    return this.livePages > 0 ? Math.max(1e-9, this.totalLen / this.livePages) : 1;
  }

  /** Term id of a hash, or -1 when no document ever had it. */
  termId(lo: number, hi: number): number {
    return this.terms.get(lo, hi);
  }

  /** Stop word index of a hash, or -1. */
  stopIndex(lo: number, hi: number): number {
    const t = this.terms.get(lo, hi);
    return t < STOP_COUNT ? t : -1;
  }

  hasSeq(seq: number): boolean {
    return seq < this.docOfSeq.length && this.docOfSeq[seq]! >= 0;
  }

  /** Adds a live document (ignored when its seq is present already). Postings go to the tail. */
  add(d: DocInput): void {
    const doc = this.addDoc(d);
    if (doc < 0) return;
    const avg = this.refAvgdl;
    const n = d.counts.length;
    for (let i = 0; i < n; i++) {
      const tf = d.counts[i]!;
      const t = this.countTerm(d.words[2 * i]!, d.words[2 * i + 1]!, tf, doc);
      if (t < 0) continue;
      let tail = this.tails[t];
      if (!tail) this.tails[t] = tail = new TailList();
      tail.append(doc, tf, saturation(tf, d.length, avg));
      this.tailPostings++;
    }
  }

  /**
   * Loading many documents into an empty index: postings are collected per document and laid out into the
   * base in one counting sort at `finish` (no tail, no per-term growth).
   */
  bulk(): { add(d: DocInput): void; finish(): void } {
    if (this.nDocs !== 0) throw new Error('bulk loading needs an empty index');
    let terms = new Uint32Array(1 << 16);
    let tfs = new Uint16Array(1 << 16);
    let n = 0;
    let docEnd = new Uint32Array(1024);
    return {
      add: (d) => {
        const doc = this.addDoc(d);
        if (doc < 0) return;
        const m = d.counts.length;
        if (n + m > terms.length) {
          let size = terms.length;
          while (size < n + m) size *= 2;
          const t2 = new Uint32Array(size);
          t2.set(terms);
          terms = t2;
          const f2 = new Uint16Array(size);
          f2.set(tfs);
          tfs = f2;
        }
        const words = d.words;
        const counts = d.counts;
        for (let i = 0; i < m; i++) {
          const tf = counts[i]!;
          const t = this.countTerm(words[2 * i]!, words[2 * i + 1]!, tf, doc);
          if (t < 0) continue;
          terms[n] = t;
          tfs[n] = tf;
          n++;
        }
        if (doc >= docEnd.length) {
          const e2 = new Uint32Array(docEnd.length * 2);
          e2.set(docEnd);
          docEnd = e2;
        }
        docEnd[doc] = n;
      },
      finish: () => {
        const nTerms = this.terms.size;
        const offsets = new Uint32Array(nTerms + 1);
        for (let i = 0; i < n; i++) offsets[terms[i]! + 1]!++;
        for (let t = 0; t < nTerms; t++) offsets[t + 1]! += offsets[t]!;
        const fill = offsets.slice(0, nTerms);
        const docs = new Uint32Array(n);
        const counts = new Uint16Array(n);
        let i = 0;
        for (let doc = 0; doc < this.nDocs; doc++) {
          const end = docEnd[doc]!;
          for (; i < end; i++) {
            const at = fill[terms[i]!]!++;
            docs[at] = doc;
            counts[at] = tfs[i]!;
          }
        }
        this.setBase(offsets, docs, counts);
      },
    };
  }

  /** The document tables part of adding; returns the new ordinal, or -1 when the seq is present. */
  private addDoc(d: DocInput): number {
    if (this.hasSeq(d.seq)) return -1;
    const doc = this.nDocs++;
    this.growDocs(this.nDocs);
    if (d.seq >= this.docOfSeq.length) this.docOfSeq = ensure(this.docOfSeq, d.seq + 1, -1);
    this.docOfSeq[d.seq] = doc;
    this.seq[doc] = d.seq;
    this.ids[doc] = d.id;
    this.live[doc] = 1;
    this.len[doc] = d.length;
    this.tagSet[doc] = this.internTags(d.tags);
    this.liveDocs++;
    this.totalLen += d.length;
    this.linkPage(doc, d.pageId, d.id, d.length);
    return doc;
  }

  /**
   * Counts a term of a new document (its df; a stop word's count goes to the dense table). Returns the term
   * id when the term gets a posting, -1 for a stop word.
   */
  private countTerm(lo: number, hi: number, tf: number, doc: number): number {
    const t = this.terms.intern(lo, hi);
    if (t >= this.df.length) this.df = ensure(this.df, t + 1);
    if (t < STOP_COUNT) {
      if (!this.stopTf[t]![doc]) this.df[t]!++;
      this.stopTf[t]![doc] = Math.max(1, Math.min(255, tf));
      return -1;
    }
    this.df[t]!++;
    return t;
  }

  /**
   * Marks the document with this seq dead; `words`/`counts` are its terms as added (from kw_docs) so that
   * document frequencies stay exact. Returns false when the seq is not indexed.
   */
  remove(seq: number, words: Int32Array): boolean {
    if (!this.hasSeq(seq)) return false;
    const doc = this.docOfSeq[seq]!;
    this.docOfSeq[seq] = -1;
    if (!this.live[doc]) return false;
    this.live[doc] = 0;
    this.liveDocs--;
    this.totalLen -= this.len[doc]!;
    this.ids[doc] = undefined;
    this.unlinkPage(doc);
    for (let i = 0; i < words.length; i += 2) {
      const t = this.terms.get(words[i]!, words[i + 1]!);
      if (t < 0) continue;
      if (t < STOP_COUNT) {
        if (!this.stopTf[t]![doc]) continue;
        this.stopTf[t]![doc] = 0;
      }
      if (this.df[t]! > 0) this.df[t]!--;
    }
    return true;
  }

  get deadDocs(): number {
    return this.nDocs - this.liveDocs;
  }

  /**
   * Rebuilds the postings into a new base holding only live documents, renumbering them densely (in their
   * old order), and empties the tail. Block maxima are recomputed against the current average length.
   */
  compact(o: { recount?: boolean } = {}): void {
    const oldN = this.nDocs;
    const allLive = this.liveDocs === oldN;
    const newOf = new Int32Array(oldN);
    let n = 0;
    for (let d = 0; d < oldN; d++) newOf[d] = this.live[d] ? n++ : -1;
    const nTerms = this.terms.size;
    const base = this.base;
    const baseTerms = base.terms;
    const bOff = base.offsets;
    const bDocs = base.docs;
    const bTfs = base.tfs;
    // 1. Count live postings per term.
    const offsets = new Uint32Array(nTerms + 1);
    for (let t = 0; t < nTerms; t++) {
      let c = 0;
      if (t < baseTerms) {
        if (allLive) c = bOff[t + 1]! - bOff[t]!;
        else for (let p = bOff[t]!, end = bOff[t + 1]!; p < end; p++) if (newOf[bDocs[p]!]! >= 0) c++;
      }
      const tail = this.tails[t];
      if (tail) {
        if (allLive) c += tail.n;
        else for (let p = 0; p < tail.n; p++) if (newOf[tail.docs[p]!]! >= 0) c++;
      }
      offsets[t + 1] = offsets[t]! + c;
    }
    if (o.recount) {
      // Document frequencies from the live postings (and the live stop-word counts).
      this.df = new Uint32Array(Math.max(this.df.length, nTerms));
      for (let t = STOP_COUNT; t < nTerms; t++) this.df[t] = offsets[t + 1]! - offsets[t]!;
      for (let t = 0; t < STOP_COUNT; t++) {
        const counts = this.stopTf[t]!;
        let c = 0;
        for (let d = 0; d < oldN; d++) if (counts[d] && newOf[d]! >= 0) c++;
        this.df[t] = c;
      }
    }
    const total = offsets[nTerms]!;
    const docs = new Uint32Array(total);
    const tfs = new Uint16Array(total);
    // 2. Copy them, renumbered (a plain copy when nothing died).
    for (let t = 0; t < nTerms; t++) {
      let w = offsets[t]!;
      if (t < baseTerms) {
        const start = bOff[t]!;
        const end = bOff[t + 1]!;
        if (allLive) {
          docs.set(bDocs.subarray(start, end), w);
          tfs.set(bTfs.subarray(start, end), w);
          w += end - start;
        } else {
          for (let p = start; p < end; p++) {
            const nd = newOf[bDocs[p]!]!;
            if (nd < 0) continue;
            docs[w] = nd;
            tfs[w] = bTfs[p]!;
            w++;
          }
        }
      }
      const tail = this.tails[t];
      if (!tail) continue;
      for (let p = 0; p < tail.n; p++) {
        const nd = newOf[tail.docs[p]!]!;
        if (nd < 0) continue;
        docs[w] = nd;
        tfs[w] = tail.tfs[p]!;
        w++;
      }
    }
    if (allLive) {
      this.setBase(offsets, docs, tfs);
      return;
    }
    // 3. Renumber the document arrays and relink pages.
    const cap = Math.max(1024, n);
    const ids: (string | undefined)[] = new Array(n);
    const live = new Uint8Array(cap);
    const len = new Uint32Array(cap);
    const page = new Int32Array(cap);
    const tagSet = new Int32Array(cap);
    const seq = new Float64Array(cap);
    const stopTf = this.stopTf.map(() => new Uint8Array(cap));
    for (let d = 0; d < oldN; d++) {
      const nd = newOf[d]!;
      if (nd < 0) continue;
      ids[nd] = this.ids[d];
      live[nd] = 1;
      len[nd] = this.len[d]!;
      page[nd] = this.page[d]!;
      tagSet[nd] = this.tagSet[d]!;
      seq[nd] = this.seq[d]!;
    }
    for (let s = 0; s < stopTf.length; s++) {
      const from = this.stopTf[s]!;
      const to = stopTf[s]!;
      for (let d = 0; d < oldN; d++) if (from[d] && newOf[d]! >= 0) to[newOf[d]!] = from[d]!;
    }
    this.docOfSeq.fill(-1);
    for (let nd = 0; nd < n; nd++) this.docOfSeq[seq[nd]!] = nd;
    this.ids = ids;
    this.live = live;
    this.len = len;
    this.page = page;
    this.tagSet = tagSet;
    this.seq = seq;
    this.stopTf = stopTf;
    this.nDocs = n;
    this.nextInPage = new Int32Array(cap);
    this.prevInPage = new Int32Array(cap);
    this.relinkPages();
    this.setBase(offsets, docs, tfs);
  }

  /** Rebuilds the per-page lists of live documents from `page`. */
  private relinkPages(): void {
    this.pageHead.fill(-1);
    for (let d = this.nDocs - 1; d >= 0; d--) {
      if (!this.live[d]) continue;
      const p = this.page[d]!;
      const head = this.pageHead[p]!;
      this.nextInPage[d] = head;
      this.prevInPage[d] = -1;
      if (head >= 0) this.prevInPage[head] = d;
      this.pageHead[p] = d;
    }
  }

  /** Installs a new base (empty tail), computing its block maxima against the current average length. */
  private setBase(offsets: Uint32Array, docs: Uint32Array, tfs: Uint16Array): void {
    const nTerms = offsets.length - 1;
    const avg = this.avgdl;
    const blockOffsets = new Uint32Array(nTerms + 1);
    for (let t = 0; t < nTerms; t++) blockOffsets[t + 1] = blockOffsets[t]! + ((offsets[t + 1]! - offsets[t]! + BLOCK - 1) >> BLOCK_SHIFT);
    const blockLast = new Uint32Array(blockOffsets[nTerms]!);
    const blockMax = new Float32Array(blockOffsets[nTerms]!);
    const listMax = new Float32Array(nTerms);
    const len = this.len;
    for (let t = 0; t < nTerms; t++) {
      let maxAll = 0;
      for (let p = offsets[t]!, b = blockOffsets[t]!; p < offsets[t + 1]!; p += BLOCK, b++) {
        const end = Math.min(p + BLOCK, offsets[t + 1]!);
        let m = 0;
        for (let q = p; q < end; q++) {
          const sat = saturation(tfs[q]!, len[docs[q]!]!, avg);
          if (sat > m) m = sat;
        }
        blockLast[b] = docs[end - 1]!;
        blockMax[b] = m;
        if (m > maxAll) maxAll = m;
      }
      listMax[t] = maxAll;
    }
    this.base = new BasePostings(offsets, docs, tfs, blockOffsets, blockLast, blockMax, listMax);
    this.tails = [];
    this.tailPostings = 0;
    this.refAvgdl = avg;
  }

  stats(): IndexStats {
    let tailBytes = 0;
    for (const t of this.tails) if (t) tailBytes += t.bytes;
    const docBytes = this.live.byteLength + this.len.byteLength + this.page.byteLength + this.tagSet.byteLength + this.seq.byteLength +
      this.nextInPage.byteLength + this.prevInPage.byteLength + this.docOfSeq.byteLength + this.stopTf.reduce((a, s) => a + s.byteLength, 0);
    // chunk id strings: ~ (length + 16) bytes each in V8's heap
    const idBytes = this.liveDocs * 52;
    return {
      docs: this.liveDocs,
      deadDocs: this.deadDocs,
      pages: this.livePages,
      terms: this.terms.size,
      basePostings: this.base.postings,
      tailPostings: this.tailPostings,
      bytes: this.base.bytes + tailBytes + docBytes + idBytes + this.terms.bytes + this.df.byteLength + this.pageHead.byteLength * 3,
    };
  }

  private growDocs(n: number): void {
    // Each array on its own: a restored index's arrays may have different capacities.
    if (n > this.live.length) this.live = ensure(this.live, n);
    if (n > this.len.length) this.len = ensure(this.len, n);
    if (n > this.page.length) this.page = ensure(this.page, n);
    if (n > this.tagSet.length) this.tagSet = ensure(this.tagSet, n);
    if (n > this.seq.length) this.seq = ensure(this.seq, n);
    if (n > this.nextInPage.length) this.nextInPage = ensure(this.nextInPage, n);
    if (n > this.prevInPage.length) this.prevInPage = ensure(this.prevInPage, n);
    if (n > this.stopTf[0]!.length) this.stopTf = this.stopTf.map((s) => ensure(s, n));
  }

  internTags(tags: readonly string[]): number {
    const key = tags.join('\u0000');
    let id = this.tagSetOf.get(key);
    if (id === undefined) {
      id = this.tagSets.length;
      this.tagSets.push(Object.freeze([...tags]));
      this.tagSetOf.set(key, id);
    }
    return id;
  }

  private linkPage(doc: number, pageId: string | null, chunkId: string, length: number): void {
    const key = pageId ?? `chunk:${chunkId}`;
    let p = this.pageOf.get(key);
    if (p === undefined) {
      p = this.pageKeys.length;
      this.pageKeys.push(key);
      this.pageIds.push(pageId);
      this.pageOf.set(key, p);
      this.pageHead = ensure(this.pageHead, p + 1, -1);
      this.pageLive = ensure(this.pageLive, p + 1);
      this.pageLen = ensure(this.pageLen, p + 1);
    }
    this.page[doc] = p;
    // Docs are added in order, so the list stays sorted by doc if new docs go to the end; pages are short,
    // and prepending is O(1): page scoring sorts the docs it collects anyway.
    const head = this.pageHead[p]!;
    this.nextInPage[doc] = head;
    this.prevInPage[doc] = -1;
    if (head >= 0) this.prevInPage[head] = doc;
    this.pageHead[p] = doc;
    if (this.pageLive[p] === 0) this.livePages++;
    this.pageLive[p]!++;
    this.pageLen[p]! += length;
  }

  private unlinkPage(doc: number): void {
    const p = this.page[doc]!;
    const prev = this.prevInPage[doc]!;
    const next = this.nextInPage[doc]!;
    if (prev >= 0) this.nextInPage[prev] = next;
    else this.pageHead[p] = next;
    if (next >= 0) this.prevInPage[next] = prev;
    this.pageLive[p]!--;
    this.pageLen[p]! -= this.len[doc]!;
    if (this.pageLive[p] === 0) {
      this.livePages--;
      this.pageLen[p] = 0;
    }
  }
}
