/**
 * The offline, deterministic embedder (`lexical-hash-v1`): no model, no network.
 *
 * Features of a text:
 * - words: case-folded runs of letters/digits; code identifiers are kept whole and also split into
 *   their parts (`readFileSync` -> readfilesync, read, file, sync; `read_file_sync` and
 *   `os.path.join` likewise), so a query "read file sync" meets the identifier;
 * - character 3-grams of each word part with boundary markers (`<re`, `rea`, `ead`, `ad>`), so
 *   inflections and near-spellings overlap (retry / retried / retries);
 * - runs of Han / Hiragana / Katakana (written without spaces) give character bigrams as words and
 *   single characters as grams.
 * Each feature is hashed (FNV-1a, 32-bit) to a dimension, with a sign from other bits of the hash
 * (signed feature hashing keeps collisions unbiased), weighted by 1 + ln(tf) (sublinear), words more
 * than grams and common English words much less, then the vector is L2-normalised.
 *
 * Empty text (or text without any letter or digit) gets a fixed unit vector: 1 at index 0, 0 elsewhere.
 * An all-zero vector would make cosine similarity undefined (NaN); this one keeps every score finite.
 *
 * The tokenisation lives here on purpose (not shared with the keyword index): vectors stored under
 * the model name `lexical-hash-v1` must not change when other code changes. Changing any feature
 * or weight here requires a new model name.
 */
import { KeyIndex, doubled, fmix32 } from '../text/key-index.js';
import { DIGITS, IdentifierParts, TokenScanner, asciiWord } from '../text/token-scan.js';
import type { Embedder } from './embedder.js';

export const LEXICAL_MODEL = 'lexical-hash-v1';

const WORD_WEIGHT = 1.0;
const PART_WEIGHT = 0.8; // a part of a split identifier
const GRAM_WEIGHT = 0.3;
const STOPWORD_WEIGHT = 0.15;
/** Longer letter runs (hashes, base64) get no whole-word feature; grams come from their first chars. */
const MAX_WORD = 64;
const MAX_GRAM_SOURCE = 128;
/** Texts embedded between yields to the event loop, so a big batch does not stall request handling. */
const SLICE = 64;

const STOPWORDS = new Set(
  'a an and are as at be but by for from has have how i if in into is it its of on or that the their then there these this to was were what when where which who why will with you your do does can not no'.split(
    ' ',
  ),
);

// Identifier-ish runs (letters/digits joined by _ . - ::), or runs of scripts written without spaces.
const TOKEN_RE = /([\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]+)|[\p{L}\p{N}\p{M}]+(?:(?:[._\-]|::)[\p{L}\p{N}\p{M}]+)*/gu;
const PART_SPLIT_RE = /[._\-]|::/;
const CAMEL_RE = /\p{Lu}?[\p{Ll}\p{N}\p{M}]+|\p{Lu}+(?![\p{Ll}])|\p{N}+/gu;
const DIGITS_RE = /^\p{N}+$/u;
/** Tokens that are one part for sure (ASCII word, Capitalised word, all caps, digits): no split needed. */
const ONE_PART_RE = /^(?:[A-Z]?[a-z0-9]+|[A-Z]+)$/;

const SEED_WORD = 0x811c9dc5;
const SEED_GRAM = 0x9747b28c;

/** TOKEN_RE's two character classes, for the scanner that finds its matches without the regex. */
const SCANNER = new TokenScanner(/[\p{L}\p{N}\p{M}]/u, /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]/u);
/** Word hashes of the stop words (a hit is confirmed against the words themselves), and their longest length. */
const STOPWORD_HASHES = new Set([...STOPWORDS].map((w) => fnv1a(w, SEED_WORD)));
const MAX_STOPWORD = Math.max(...[...STOPWORDS].map((w) => w.length));

export class LexicalEmbedder implements Embedder {
  readonly provider = 'lexical';
  readonly model = LEXICAL_MODEL;

  constructor(readonly dimension = 1536) {
    if (!Number.isInteger(dimension) || dimension < 8 || dimension > 65536) {
      throw new Error(`the lexical embedder's dimension must be an integer from 8 to 65536 (got ${dimension}): fix DOCTOR_EMBEDDING_DIM.`);
    }
  }

  async embed(texts: string[], opts: { signal?: AbortSignal } = {}): Promise<Float32Array[]> {
    const out: Float32Array[] = new Array(texts.length);
    for (let i = 0; i < texts.length; i++) {
      if (i > 0 && i % SLICE === 0) await new Promise<void>((r) => setImmediate(r));
      opts.signal?.throwIfAborted();
      out[i] = this.embedOne(texts[i]!);
    }
    return out;
  }

  /** The vector of one text (synchronous), written into `out` when given (its length must be the dimension). */
  embedOne(text: string, out?: Float32Array): Float32Array {
    const words = this.words.reset();
    const grams = this.grams.reset();
    const scanner = SCANNER;
    const count = scanner.scan(text);
    if (count < 0) {
      // characters outside the BMP: the regex, which reads code points
      for (const m of text.matchAll(TOKEN_RE)) {
        if (m[1] !== undefined) this.addRun(m[0]);
        else this.addToken(m[0]);
      }
    }
    for (let t = 0; t < count; t++) {
      const start = scanner.starts[t]!;
      const end = scanner.ends[t]!;
      if (scanner.runs[t]) this.addRun(text.slice(start, end));
      else if (!this.addPlainAscii(text, start, end) && !this.addAsciiIdentifier(text, start, end)) this.addToken(text.slice(start, end));
    }

    // Features in first-seen order, words then grams: the float sums (and so the vectors) depend on it.
    const v = out ? out.fill(0) : new Float32Array(this.dimension);
    for (let k = 0; k < words.size; k++) this.add(v, words.hash(k), words.weights[k]! * sublinear(words.counts[k]!));
    for (let k = 0; k < grams.size; k++) this.add(v, grams.hash(k), GRAM_WEIGHT * sublinear(grams.counts[k]!));

    let norm = 0;
    for (let i = 0; i < v.length; i++) norm += v[i]! * v[i]!;
    if (!(norm > 0)) {
      v.fill(0);
      v[0] = 1; // documented fixed unit vector for texts without features
      return v;
    }
    const inv = 1 / Math.sqrt(norm);
    for (let i = 0; i < v.length; i++) v[i]! *= inv;
    return v;
  }

  /** Feature counts of the text being embedded (reused from text to text: no allocation per feature). */
  private readonly words = new FeatureCounts();
  private readonly grams = new FeatureCounts();

  /** A run of Han / kana: bigrams as words, characters as grams. */
  private addRun(raw: string): void {
    const chars = Array.from(raw);
    const words = this.words;
    if (chars.length === 1) words.add(fnv1a(chars[0]!, SEED_WORD), WORD_WEIGHT);
    for (let i = 0; i < chars.length; i++) {
      if (i + 1 < chars.length) words.add(fnv1a(chars[i]! + chars[i + 1]!, SEED_WORD), WORD_WEIGHT);
      this.grams.add(fnv1a(chars[i]!, SEED_GRAM), 0);
    }
  }

  /** A token of letters and digits, with its identifier parts when it has several. */
  private addToken(raw: string): void {
    const whole = raw.toLowerCase();
    if (ONE_PART_RE.test(raw)) {
      // one part (no separator, no case change inside): the common case, without split/match arrays
      this.addPart(whole, WORD_WEIGHT);
      return;
    }
    const parts: string[] = [];
    for (const part of raw.split(PART_SPLIT_RE)) {
      if (!part) continue;
      const camel = part.match(CAMEL_RE);
      if (camel && camel.length > 1) for (const c of camel) parts.push(c.toLowerCase());
      else parts.push(part.toLowerCase());
    }
    if (parts.length > 1) {
      if (whole.length <= MAX_WORD) this.words.add(fnv1a(whole, SEED_WORD), WORD_WEIGHT);
      for (const p of parts) this.addPart(p, PART_WEIGHT);
    } else {
      this.addPart(whole, WORD_WEIGHT);
    }
  }

  /**
   * `addToken` for the commonest token, an ASCII word of one part (ONE_PART_RE: `[A-Z]?[a-z0-9]+` or
   * `[A-Z]+`), read straight from the text: the same features as `addPart` of its lower case, without making
   * a string. Returns false (having added nothing) for any other token.
   */
  private addPlainAscii(text: string, start: number, end: number): boolean {
    const kind = asciiWord(text, start, end);
    if (kind === 0) return false;
    this.addAsciiPart(text, start, end, WORD_WEIGHT, (kind & DIGITS) !== 0);
    return true;
  }

  /**
   * `addToken` for an ASCII identifier (`os.path.join`, `readFileSync`): the same features in the same
   * order, from offsets into the text. Returns false (having added nothing) when the token is not ASCII.
   */
  private addAsciiIdentifier(text: string, start: number, end: number): boolean {
    const parts = this.parts;
    const n = parts.split(text, start, end);
    if (n < 0) return false;
    if (n <= 1) {
      this.addAsciiPart(text, start, end, WORD_WEIGHT);
      return true;
    }
    if (end - start <= MAX_WORD) this.words.add(asciiHash(text, start, end, SEED_WORD), WORD_WEIGHT);
    for (let k = 0; k < n; k++) this.addAsciiPart(text, parts.starts[k]!, parts.ends[k]!, PART_WEIGHT);
    return true;
  }

  private readonly parts = new IdentifierParts();

  /**
   * `addPart` of the lower case of text[start, end), an ASCII run, without making the string; `digits`: whether
   * the run is all digits, when the caller knows already (asciiWord told it), else looked at here if needed.
   */
  private addAsciiPart(text: string, start: number, end: number, weight: number, digits?: boolean): void {
    const len = end - start;
    const h = asciiHash(text, start, end, SEED_WORD);
    if (len <= MAX_STOPWORD && STOPWORD_HASHES.has(h) && STOPWORDS.has(text.slice(start, end).toLowerCase())) {
      this.words.add(h, STOPWORD_WEIGHT);
      return;
    }
    if (len <= MAX_WORD) this.words.add(h, weight);
    if (len >= 3 && !(digits ?? digitsOnly(text, start, end))) {
      const n = start + Math.min(len, MAX_GRAM_SOURCE);
      for (let i = start - 1; i + 2 <= n; i++) {
        let g = SEED_GRAM;
        g = Math.imul(g ^ (i < start ? 0x3c : lowerAscii(text.charCodeAt(i))), 0x01000193);
        g = Math.imul(g ^ lowerAscii(text.charCodeAt(i + 1)), 0x01000193);
        g = Math.imul(g ^ (i + 2 >= n ? 0x3e : lowerAscii(text.charCodeAt(i + 2))), 0x01000193);
        this.grams.add(g >>> 0, 0);
      }
    }
  }

  private addPart(p: string, weight: number): void {
    if (STOPWORDS.has(p)) {
      this.words.add(fnv1a(p, SEED_WORD), STOPWORD_WEIGHT);
      return;
    }
    if (p.length <= MAX_WORD) this.words.add(fnv1a(p, SEED_WORD), weight);
    if (p.length >= 3 && !DIGITS_RE.test(p)) {
      const n = Math.min(p.length, MAX_GRAM_SOURCE);
      // 3-grams of "<p>" without building the padded string: code units -1 and n stand for < and >.
      for (let i = -1; i + 2 <= n; i++) {
        let h = SEED_GRAM;
        h = Math.imul(h ^ (i < 0 ? 0x3c : p.charCodeAt(i)), 0x01000193);
        h = Math.imul(h ^ p.charCodeAt(i + 1), 0x01000193);
        h = Math.imul(h ^ (i + 2 >= n ? 0x3e : p.charCodeAt(i + 2)), 0x01000193);
        this.grams.add(h >>> 0, 0);
      }
    }
  }

  private add(v: Float32Array, h: number, weight: number): void {
    const index = h % this.dimension;
    // The sign comes from bits the index does not use directly (a murmur3 finaliser of the hash).
    v[index]! += fmix32(h) & 1 ? -weight : weight;
  }
}

/** Per 32-bit feature hash: how often it occurs and the highest weight class seen, in first-seen order. */
class FeatureCounts {
  readonly keys = new KeyIndex();
  counts = new Uint32Array(512);
  weights = new Float64Array(512);

  reset(): this {
    this.keys.reset();
    return this;
  }

  get size(): number {
    return this.keys.size;
  }

  /** The hash of feature `k` (in first-seen order). */
  hash(k: number): number {
    return this.keys.lo[k]! >>> 0;
  }

  add(h: number, weight: number): void {
    const before = this.keys.size;
    const k = this.keys.add(h | 0, 0);
    if (k < before) {
      this.counts[k]! += 1;
      if (weight > this.weights[k]!) this.weights[k] = weight;
      return;
    }
    if (k === this.counts.length) {
      this.counts = doubled(this.counts);
      this.weights = doubled(this.weights);
    }
    this.counts[k] = 1;
    this.weights[k] = weight;
  }
}

/** 1 + ln(n) for the counts most features have (the same doubles Math.log gives: a table lookup instead of a call). */
const SUBLINEAR = Float64Array.from({ length: 256 }, (_, n) => 1 + Math.log(n));

/** The sublinear term frequency 1 + ln(count). */
function sublinear(count: number): number {
  return count < 256 ? SUBLINEAR[count]! : 1 + Math.log(count);
}

/** The lower case of an ASCII code unit. */
function lowerAscii(c: number): number {
  return c >= 65 && c <= 90 ? c + 32 : c;
}

/** fnv1a of the lower case of text[start, end), an ASCII run. */
function asciiHash(text: string, start: number, end: number, seed: number): number {
  let h = seed;
  for (let i = start; i < end; i++) h = Math.imul(h ^ lowerAscii(text.charCodeAt(i)), 0x01000193);
  return h >>> 0;
}

/** Whether text[start, end) is all ASCII digits (DIGITS_RE for an ASCII run). */
function digitsOnly(text: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** FNV-1a, 32-bit, over UTF-16 code units. */
function fnv1a(s: string, seed: number): number {
  let h = seed;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

