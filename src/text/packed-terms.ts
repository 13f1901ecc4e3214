/**
 * The keyword terms of a page's chunks (chunkTerms), computed off the main thread (the migration's page
 * reader, a crawl's extraction pool, a local file's reading thread) and packed into four typed arrays per
 * page, so that they cross to the main thread as four moved buffers instead of two small arrays per chunk;
 * the main thread hands each chunk views on them (ChunkPayload.keyword_terms), and the keyword index does no
 * tokenising on the writing thread.
 */
import { chunkTerms, type ChunkTerms, type ChunkText } from './chunk-terms.js';

export interface PackedTerms {
  /** Term hashes of every chunk, one after the other (two int32 words per term). */
  words: Int32Array;
  counts: Uint16Array;
  /** For chunk i: its terms are at [ends[i - 1], ends[i]) (term positions); then its BM25 length. */
  ends: Uint32Array;
  lengths: Float64Array;
}

/** chunkTerms of every chunk, packed. */
export function packTerms(chunks: readonly ChunkText[]): PackedTerms {
  return packChunkTerms(chunks.map(chunkTerms));
}

/** Terms of every chunk, packed. */
export function packChunkTerms(all: readonly ChunkTerms[]): PackedTerms {
  const total = all.reduce((n, t) => n + t.counts.length, 0);
  const out: PackedTerms = { words: new Int32Array(total * 2), counts: new Uint16Array(total), ends: new Uint32Array(all.length), lengths: new Float64Array(all.length) };
  let at = 0;
  all.forEach((t, i) => {
    out.words.set(t.words, 2 * at);
    out.counts.set(t.counts, at);
    at += t.counts.length;
    out.ends[i] = at;
    out.lengths[i] = t.length;
  });
  return out;
}

/** Chunk i's terms as views on the packed arrays (nothing copied). */
export function termsAt(p: PackedTerms, i: number): ChunkTerms {
  const start = i === 0 ? 0 : p.ends[i - 1]!;
  const end = p.ends[i]!;
  return { words: p.words.subarray(2 * start, 2 * end), counts: p.counts.subarray(start, end), length: p.lengths[i]! };
}

/** The buffers to move with a postMessage. */
export const termBuffers = (p: PackedTerms): ArrayBuffer[] => [p.words.buffer, p.counts.buffer, p.ends.buffer, p.lengths.buffer] as ArrayBuffer[];
