/**
 * What the keyword index stores for a chunk: its terms with their counts and its length, computed from the
 * chunk text, page title and heading path. A pure function of its input, with a compact, transferable
 * result (typed arrays), so that it can run in a worker thread and be handed to the index write path
 * (`IndexedChunk.terms`).
 *
 * Terms are identified by a 64-bit hash (two 32-bit words): integers are cheap to store, to read back and
 * to look up, and no term dictionary has to be kept in step. Two different terms sharing a hash is
 * ~1e-8-unlikely even with a million distinct terms, and would only merge their postings.
 */
import { KeyIndex, doubled } from './key-index.js';
import { linksToText, splitLinks } from './markdown-links.js';
import { STOPWORDS, analyze, analyzeInto, isPhrase, type TermSink } from './tokenize.js';

/** How many times a title / heading-path term counts relative to a term of the chunk text. */
export const TITLE_WEIGHT = 2;
export const HEADING_WEIGHT = 2;
/** Counts are stored as 16-bit integers. */
export const MAX_TERM_COUNT = 0xffff;

export interface ChunkText {
  text: string;
  title?: string | null;
  heading_path?: string | null;
}

export interface ChunkTerms {
  /** Term hashes, two int32 words per term: [lo0, hi0, lo1, hi1, ...] (see termHashWords). */
  words: Int32Array;
  /** Count of each term (title and heading terms weighted), 1..65535. */
  counts: Uint16Array;
  /** BM25 document length: the weighted count of the terms that are neither stop words nor phrases. */
  length: number;
}

/** Term counts of a chunk as indexed: title and heading path terms count TITLE_WEIGHT / HEADING_WEIGHT times. */
export function chunkTermCounts(c: ChunkText): Map<string, number> {
  const tf = new Map<string, number>();
  const add = (text: string | null | undefined, weight: number) => {
    if (!text) return;
    for (const t of analyze(text)) tf.set(t, (tf.get(t) ?? 0) + weight);
  };
  add(c.title, TITLE_WEIGHT);
  add(c.heading_path, HEADING_WEIGHT);
  // a link counts by its text: its destination (`json1.html#jex`) and title are not words of the chunk
  add(linksToText(c.text), 1);
  return tf;
}

/** The chunk's terms in the index's form: chunkTermCounts's terms, hashed, in the same (first-seen) order. */
export function chunkTerms(c: ChunkText): ChunkTerms {
  const table = TABLE.reset();
  const add = (text: string | null | undefined, weight: number) => {
    if (!text) return;
    table.weight = weight;
    analyzeInto(text, 'capitals', table);
  };
  add(c.title, TITLE_WEIGHT);
  add(c.heading_path, HEADING_WEIGHT);
  // a link counts by its text: its destination (`json1.html#jex`) and title are not words of the chunk,
  // though they make it longer (a page of links stays a long document, whose every word weighs little)
  const { text, targets } = splitLinks(c.text);
  add(text, 1);
  const n = table.keys.size;
  const words = new Int32Array(n * 2);
  const counts = new Uint16Array(n);
  let length = 0;
  for (let i = 0; i < n; i++) {
    words[2 * i] = table.keys.lo[i]!;
    words[2 * i + 1] = table.keys.hi[i]!;
    const count = table.counts[i]!;
    counts[i] = Math.min(count, MAX_TERM_COUNT);
    if (table.content[i]) length += count;
  }
  if (targets) for (const t of analyze(targets, 'none')) if (!STOPWORDS.has(t)) length++;
  return { words, counts, length };
}

/**
 * Weighted counts per term hash in first-seen order. As a TermSink it hashes an ASCII word straight from the
 * text, lower-cased on the fly: no string per term.
 */
class TermTable implements TermSink {
  readonly keys = new KeyIndex();
  counts = new Float64Array(512);
  /** 1 when the term counts towards the BM25 length (neither a stop word nor a phrase). */
  content = new Uint8Array(512);
  /** The weight of the terms being added. */
  weight = 1;
  private readonly hash = new Int32Array(2);

  reset(): this {
    this.keys.reset();
    return this;
  }

  term(term: string): void {
    termHashWords(term, this.hash, 0);
    this.add(this.hash[0]!, this.hash[1]!, !STOPWORDS.has(term) && !isPhrase(term));
  }

  span(text: string, start: number, end: number): void {
    hashRange(text, start, end, true, this.hash, 0);
    const lo = this.hash[0]!;
    const stop = end - start <= MAX_STOPWORD && STOPWORD_LOWS.has(lo) && STOPWORDS.has(text.slice(start, end).toLowerCase());
    this.add(lo, this.hash[1]!, !stop);
  }

  private add(lo: number, hi: number, content: boolean): void {
    const before = this.keys.size;
    const k = this.keys.add(lo, hi);
    if (k < before) {
      this.counts[k]! += this.weight;
      return;
    }
    if (k === this.counts.length) {
      this.counts = doubled(this.counts);
      this.content = doubled(this.content);
    }
    this.counts[k] = this.weight;
    this.content[k] = content ? 1 : 0;
  }
}

const TABLE = new TermTable();
/** Low hash words of the stop words (a hit is confirmed against the words themselves), and their longest length. */
const STOPWORD_LOWS = new Set(
  [...STOPWORDS].map((w) => {
    const h = new Int32Array(2);
    termHashWords(w, h, 0);
    return h[0]!;
  }),
);
const MAX_STOPWORD = Math.max(...[...STOPWORDS].map((w) => w.length));

/**
 * Writes the 64-bit hash of a term into out[at] (low word) and out[at + 1] (high word): FNV-1a and a
 * multiply-xorshift hash over the UTF-16 code units.
 */
export function termHashWords(term: string, out: Int32Array, at: number): void {
  hashRange(term, 0, term.length, false, out, at);
}

/** termHashWords of text[start, end), or of its lower case when `lowerAscii` (for an ASCII word: no string made). */
function hashRange(text: string, start: number, end: number, lowerAscii: boolean, out: Int32Array, at: number): void {
  let lo = 0x811c9dc5;
  let hi = 0x9747b28c;
  // the flag read once, outside the loop (a test of it per code unit made chunkTerms ~10% slower)
  const lower = lowerAscii ? 32 : 0;
  for (let i = start; i < end; i++) {
    let c = text.charCodeAt(i);
    if ((c - 65) >>> 0 < 26) c += lower; // A-Z
    lo = Math.imul(lo ^ c, 0x01000193);
    hi = Math.imul(hi ^ c, 0x5bd1e995);
    hi ^= hi >>> 15;
  }
  hi = Math.imul(hi ^ (hi >>> 13), 0xc2b2ae35);
  hi ^= hi >>> 16;
  out[at] = lo | 0;
  out[at + 1] = hi | 0;
}

/** The 64-bit hash of a term as a signed BIGINT value (how kw_docs stores it). */
export function termHash(term: string): bigint {
  const w = new Int32Array(2);
  termHashWords(term, w, 0);
  return BigInt.asIntN(64, (BigInt(w[1]! >>> 0) << 32n) | BigInt(w[0]! >>> 0));
}
