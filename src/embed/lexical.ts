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

const SEED_WORD = 0x811c9dc5;
const SEED_GRAM = 0x9747b28c;

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

  /** The vector of one text (synchronous). */
  embedOne(text: string): Float32Array {
    const words = new Map<number, number>(); // feature hash -> weighted count
    const grams = new Map<number, number>();
    const weights = new Map<number, number>(); // word hash -> its weight class
    const addWord = (w: string, weight: number) => {
      const h = fnv1a(w, SEED_WORD);
      words.set(h, (words.get(h) ?? 0) + 1);
      const prev = weights.get(h);
      if (prev === undefined || weight > prev) weights.set(h, weight);
    };
    const addGrams = (w: string) => {
      const n = Math.min(w.length, MAX_GRAM_SOURCE);
      // 3-grams of "<w>" without building the padded string: code units -1 and n stand for < and >.
      for (let i = -1; i + 2 <= n; i++) {
        let h = SEED_GRAM;
        h = Math.imul(h ^ (i < 0 ? 0x3c : w.charCodeAt(i)), 0x01000193);
        h = Math.imul(h ^ w.charCodeAt(i + 1), 0x01000193);
        h = Math.imul(h ^ (i + 2 >= n ? 0x3e : w.charCodeAt(i + 2)), 0x01000193);
        h >>>= 0;
        grams.set(h, (grams.get(h) ?? 0) + 1);
      }
    };

    for (const m of text.matchAll(TOKEN_RE)) {
      const raw = m[0];
      if (m[1] !== undefined) {
        // Han / kana run: bigrams as words, characters as grams.
        const chars = Array.from(raw);
        if (chars.length === 1) addWord(chars[0]!, WORD_WEIGHT);
        for (let i = 0; i < chars.length; i++) {
          if (i + 1 < chars.length) addWord(chars[i]! + chars[i + 1]!, WORD_WEIGHT);
          const h = fnv1a(chars[i]!, SEED_GRAM);
          grams.set(h, (grams.get(h) ?? 0) + 1);
        }
        continue;
      }
      const whole = raw.toLowerCase();
      const parts: string[] = [];
      for (const part of raw.split(PART_SPLIT_RE)) {
        if (!part) continue;
        const camel = part.match(CAMEL_RE);
        if (camel && camel.length > 1) for (const c of camel) parts.push(c.toLowerCase());
        else parts.push(part.toLowerCase());
      }
      if (parts.length > 1) {
        if (whole.length <= MAX_WORD) addWord(whole, WORD_WEIGHT);
        for (const p of parts) this.addPart(p, PART_WEIGHT, addWord, addGrams);
      } else {
        this.addPart(whole, WORD_WEIGHT, addWord, addGrams);
      }
    }

    const v = new Float32Array(this.dimension);
    for (const [h, tf] of words) this.add(v, h, (weights.get(h) ?? WORD_WEIGHT) * (1 + Math.log(tf)));
    for (const [h, tf] of grams) this.add(v, h, GRAM_WEIGHT * (1 + Math.log(tf)));

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

  private addPart(p: string, weight: number, addWord: (w: string, weight: number) => void, addGrams: (w: string) => void): void {
    if (STOPWORDS.has(p)) {
      addWord(p, STOPWORD_WEIGHT);
      return;
    }
    if (p.length <= MAX_WORD) addWord(p, weight);
    if (p.length >= 3 && !DIGITS_RE.test(p)) addGrams(p);
  }

  private add(v: Float32Array, h: number, weight: number): void {
    const index = h % this.dimension;
    // The sign comes from bits the index does not use directly (a murmur3 finaliser of the hash).
    v[index]! += fmix32(h) & 1 ? -weight : weight;
  }
}

/** FNV-1a, 32-bit, over UTF-16 code units. */
function fnv1a(s: string, seed: number): number {
  let h = seed;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** murmur3's 32-bit finaliser: mixes every input bit into every output bit. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
