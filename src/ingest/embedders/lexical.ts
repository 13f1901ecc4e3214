/**
 * The offline, deterministic embedder: feature hashing of case-folded words, identifier parts and
 * character 3-grams into a fixed number of dimensions, signed, with sublinear term weights, L2-normalised.
 * Texts sharing words and word pieces get similar vectors; no model, no network.
 */
import type { Embedder } from './embedder.js';
import { tokenize } from '../../search/tokenize.js';

const WORD_WEIGHT = 1.0;
const GRAM_WEIGHT = 0.35;

export class LexicalEmbedder implements Embedder {
  readonly provider = 'lexical';
  readonly model = 'lexical-hash-v1';

  constructor(readonly dimension = 1536) {
    if (!Number.isInteger(dimension) || dimension < 8) throw new Error('lexical embedder dimension must be an integer >= 8');
  }

  async embed(texts: string[]): Promise<Float32Array[]> {
    return texts.map((t) => this.embedOne(t));
  }

  embedOne(text: string): Float32Array {
    const v = new Float32Array(this.dimension);
    const counts = new Map<string, number>();
    for (const tok of tokenize(text, { stopwords: false })) counts.set(tok, (counts.get(tok) ?? 0) + 1);
    for (const [tok, tf] of counts) {
      const w = 1 + Math.log(tf);
      this.add(v, 'w:' + tok, w * WORD_WEIGHT);
      if (tok.length > 3) {
        const padded = `<${tok}>`;
        for (let i = 0; i + 3 <= padded.length; i++) this.add(v, 'g:' + padded.slice(i, i + 3), w * GRAM_WEIGHT);
      }
    }
    let norm = 0;
    for (let i = 0; i < v.length; i++) norm += v[i]! * v[i]!;
    if (norm === 0) {
      // Empty or symbol-only text: a fixed unit vector, so cosine stays defined (and equal for all such texts).
      v[0] = 1;
      return v;
    }
    const inv = 1 / Math.sqrt(norm);
    for (let i = 0; i < v.length; i++) v[i]! *= inv;
    return v;
  }

  private add(v: Float32Array, feature: string, weight: number): void {
    const h = fnv1a(feature);
    const index = h % this.dimension;
    const sign = (h >>> 31) & 1 ? -1 : 1;
    v[index]! += sign * weight;
  }
}

/** FNV-1a, 32-bit, over UTF-16 code units. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
