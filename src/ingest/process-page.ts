/**
 * The pure per-page processing step: a fetched body (with its content type and URL) -> the extracted page
 * (Markdown, title, links), its chunks, and optionally what the store needs per chunk that can be computed
 * anywhere: lexical vectors (the offline embedder is a pure function of the text) and keyword terms.
 *
 * It holds no state and does no I/O, so it runs in a worker thread of the extraction pool
 * (./process-pool.ts), inline on the main thread (pool size 0), or in any other process that ingests pages.
 * Local files take the second half (chunkPage) in their reading thread (./local/read-worker.ts).
 * Results are plain data with typed arrays (transferable between threads without copying).
 */
import type { Embedder } from '../embed/embedder.js';
import { LEXICAL_MODEL, LexicalEmbedder } from '../embed/lexical.js';
import { chunkTerms, type ChunkTerms } from '../text/chunk-terms.js';
import { packChunkTerms, termBuffers, termsAt, type PackedTerms } from '../text/packed-terms.js';
import { chunkMarkdown, chunkSearchText, type Chunk } from './extract/chunker.js';
import { extractPage, looksLikeJsOnly, type ExtractedPage } from './extract/extract.js';

/** What is computed for an extracted page besides its chunks (options shared by crawled pages and local files). */
export interface ChunkWork {
  chunking: { maxChars: number; overlap: number };
  /** Embed the chunks with the lexical embedder of this dimension (only when that is the store's embedder). */
  lexicalDimension?: number;
  /** Compute each chunk's keyword terms (what the keyword index stores). */
  keywordTerms?: boolean;
}

/**
 * The work for pages stored with `embedder`: lexical vectors only when it is the offline embedder (a pure
 * function of the text, so any thread computes the same vectors); keyword terms always.
 */
export function chunkWorkFor(embedder: Pick<Embedder, 'provider' | 'model' | 'dimension'>, chunking: ChunkWork['chunking']): ChunkWork {
  return {
    chunking,
    lexicalDimension: embedder.provider === 'lexical' && embedder.model === LEXICAL_MODEL ? embedder.dimension : undefined,
    keywordTerms: true,
  };
}

export interface ProcessPageInput extends ChunkWork {
  body: string;
  contentType: string;
  url: string;
}

export interface ProcessedPage {
  page: ExtractedPage;
  chunks: Chunk[];
  /** The static HTML looks like a JavaScript application with no text of its own (render it). */
  jsOnly: boolean;
  /** One lexical vector per chunk (views into one buffer), when asked for. */
  vectors?: Float32Array[];
  /** Keyword terms per chunk, when asked for. */
  terms?: ChunkTerms[];
}

/** A page with its chunks (and their vectors and terms when asked for): what a local file's reading gives. */
export type ChunkedPage = Omit<ProcessedPage, 'jsOnly'>;

/** The heading path of a chunk as stored (and as the keyword index weighs it). */
export function headingPathOf(chunk: Chunk): string | null {
  return chunk.headingPath.join(' > ') || null;
}

const lexical = new Map<number, LexicalEmbedder>();

export function processPage(input: ProcessPageInput): ProcessedPage {
  const page = extractPage({ body: input.body, contentType: input.contentType, url: input.url });
  return { ...chunkPage(page, input), jsOnly: looksLikeJsOnly(page, input.body) };
}

/** An extracted page's chunks, and their lexical vectors and keyword terms when `work` asks for them. */
export function chunkPage(page: ExtractedPage, work: ChunkWork): ChunkedPage {
  const chunks = page.markdown.trim()
    ? chunkMarkdown(page.markdown, { maxChars: work.chunking.maxChars, overlap: work.chunking.overlap, title: page.title })
    : [];
  const out: ChunkedPage = { page, chunks };
  if (work.lexicalDimension && chunks.length) {
    const dim = work.lexicalDimension;
    let embedder = lexical.get(dim);
    if (!embedder) lexical.set(dim, (embedder = new LexicalEmbedder(dim)));
    const all = new Float32Array(chunks.length * dim);
    out.vectors = chunks.map((c, i) => embedder.embedOne(chunkSearchText(c, page.title), all.subarray(i * dim, (i + 1) * dim)));
  }
  if (work.keywordTerms) {
    out.terms = chunks.map((c) => chunkTerms({ text: c.text, title: page.title, heading_path: headingPathOf(c) }));
  }
  return out;
}

/**
 * A page's chunks as they cross from a worker thread to the main thread: a few arrays and moved buffers instead
 * of an object, a vector view and two term arrays per chunk. Receiving a 20 MB file's ~20,000 chunks as objects
 * took ~0.3 s on the main thread (the structured clone rebuilds every object and typed array there).
 */
export interface PackedChunks {
  texts: string[];
  /** Every chunk's heading path, one after the other: chunk i's are [headingEnds[i - 1], headingEnds[i]). */
  headings: string[];
  headingEnds: Uint32Array;
  indexes: Uint32Array;
  /** Chunk i's lexical vector is [i * dimension, (i + 1) * dimension). */
  vectors?: Float32Array;
  dimension?: number;
  terms?: PackedTerms;
}

/** `c`'s chunks packed for postMessage, with the buffers to move (not copy). */
export function packChunks(c: Pick<ChunkedPage, 'chunks' | 'vectors' | 'terms'>): { packed: PackedChunks; transfer: ArrayBuffer[] } {
  const n = c.chunks.length;
  const headingEnds = new Uint32Array(n);
  const headings: string[] = [];
  c.chunks.forEach((ch, i) => {
    headings.push(...ch.headingPath);
    headingEnds[i] = headings.length;
  });
  const packed: PackedChunks = { texts: c.chunks.map((ch) => ch.text), headings, headingEnds, indexes: Uint32Array.from(c.chunks, (ch) => ch.index) };
  const transfer: ArrayBuffer[] = [headingEnds.buffer as ArrayBuffer, packed.indexes.buffer as ArrayBuffer];
  if (c.vectors?.length) {
    const dim = c.vectors[0]!.length;
    const first = c.vectors[0]!;
    // chunkPage's vectors are views on one buffer, in order: moved as they are; others are copied together
    const contiguous = first.byteOffset === 0 && first.buffer.byteLength === n * dim * 4 && c.vectors.every((v, i) => v.buffer === first.buffer && v.byteOffset === i * dim * 4);
    let all: Float32Array;
    if (contiguous) all = new Float32Array(first.buffer as ArrayBuffer);
    else {
      all = new Float32Array(n * dim);
      c.vectors.forEach((v, i) => all.set(v, i * dim));
    }
    packed.vectors = all;
    packed.dimension = dim;
    transfer.push(all.buffer as ArrayBuffer);
  }
  if (c.terms) {
    packed.terms = packChunkTerms(c.terms);
    transfer.push(...termBuffers(packed.terms));
  }
  return { packed, transfer };
}

/** The chunks (and their vectors and terms, as views on the packed buffers) of packChunks' output. */
export function unpackChunks(p: PackedChunks): Pick<ChunkedPage, 'chunks' | 'vectors' | 'terms'> {
  const chunks: Chunk[] = p.texts.map((text, i) => ({
    text,
    headingPath: p.headings.slice(i === 0 ? 0 : p.headingEnds[i - 1]!, p.headingEnds[i]!),
    index: p.indexes[i]!,
  }));
  const out: Pick<ChunkedPage, 'chunks' | 'vectors' | 'terms'> = { chunks };
  if (p.vectors && p.dimension) {
    const { vectors, dimension: dim } = p;
    out.vectors = chunks.map((_, i) => vectors.subarray(i * dim, (i + 1) * dim));
  }
  if (p.terms) {
    const terms = p.terms;
    out.terms = chunks.map((_, i) => termsAt(terms, i));
  }
  return out;
}
