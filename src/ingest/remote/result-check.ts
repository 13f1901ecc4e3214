/**
 * The server's check of a worker's result before the crawl takes it: anyone who can write to the Redis can
 * put a "result" there, so a result is held to what this server's own crawl would have made of the page.
 * Its fields have their types; its text, title and links are within the bounds of an extracted page
 * (./extract/bounds.ts, DOCTOR_MAX_PAGE_BYTES); its chunks are the ones this server cuts from its Markdown
 * with the crawl's settings (so no chunk list or text of the worker's own is stored); its vectors have the
 * database's dimension, one per chunk, each one the store accepts (checkVector).
 */
import type { EmbeddingErrorCode } from '../../embed/embedder.js';
import { checkVector } from '../../store/validation.js';
import { clip, MAX_LINKS, MAX_TITLE_CHARS } from '../extract/bounds.js';
import { chunkMarkdown, type Chunk } from '../extract/chunker.js';
import type { PageRobots } from '../extract/extracted-page.js';
import { MAX_URL_LENGTH } from '../fetch/url.js';
import { decodeVectors, type PageRequest } from './protocol.js';

/** Longest skip reason or embedding error message taken from a worker (longer ones are cut). */
const MAX_MESSAGE_CHARS = 2000;
/**
 * Markdown a worker may send, as a multiple of the crawl's DOCTOR_MAX_PAGE_BYTES: extraction makes less text
 * than the HTML it reads, save relative links written out in full.
 */
const MARKDOWN_PER_PAGE_BYTE = 2;
const CODES: readonly EmbeddingErrorCode[] = ['auth', 'model', 'rate_limit', 'server', 'network', 'invalid_response', 'invalid_input'];

export class InvalidResult extends Error {
  override name = 'InvalidResult';
}

/** What a checked result holds: its outcome, with the vectors decoded for a page that has chunks. */
export type CheckedOutcome =
  | { kind: 'skipped'; reason: string; unavailable?: true }
  | (Extracted & { kind: 'embed_failed'; error: { code?: EmbeddingErrorCode; message: string } })
  | (Extracted & { kind: 'page'; unchanged: true })
  | (Extracted & { kind: 'page'; unchanged?: undefined; chunks: Chunk[]; vectors: Float32Array[] });

interface Extracted {
  final_url: string;
  title: string;
  markdown: string;
  links: string[];
  text_length: number;
  robots?: PageRobots;
}

/**
 * The outcome of a worker's result for `request`, checked; throws InvalidResult saying what is wrong.
 * `dimension`: the database's (a result whose embedding is another one is refused before this).
 */
export function checkOutcome(outcome: unknown, request: PageRequest, dimension: number): CheckedOutcome {
  if (!isObject(outcome)) throw new InvalidResult('a result without an outcome');
  if (outcome.kind === 'skipped') {
    const reason = text(outcome.reason, 'the skip reason');
    return { kind: 'skipped', reason: clip(reason, MAX_MESSAGE_CHARS), ...(outcome.unavailable === true ? { unavailable: true as const } : {}) };
  }
  if (outcome.kind !== 'page' && outcome.kind !== 'embed_failed') throw new InvalidResult(`an outcome of unknown kind ${describe(outcome.kind)}`);
  const maxMarkdown = request.limits.max_page_bytes * MARKDOWN_PER_PAGE_BYTE;
  const markdown = text(outcome.markdown, 'the Markdown');
  if (markdown.length > maxMarkdown) {
    throw new InvalidResult(`${markdown.length} characters of Markdown, more than a page within DOCTOR_MAX_PAGE_BYTES (${request.limits.max_page_bytes}) makes`);
  }
  const title = text(outcome.title, 'the title');
  if (title.length > MAX_TITLE_CHARS + 1) throw new InvalidResult(`a title of ${title.length} characters (extraction keeps ${MAX_TITLE_CHARS})`);
  const finalUrl = text(outcome.final_url, 'the final URL');
  if (finalUrl.length > MAX_URL_LENGTH) throw new InvalidResult(`a final URL of ${finalUrl.length} characters (at most ${MAX_URL_LENGTH})`);
  const links = outcome.links;
  if (!Array.isArray(links) || !links.every((l) => typeof l === 'string')) throw new InvalidResult('links that are not a list of strings');
  if (links.length > MAX_LINKS) throw new InvalidResult(`${links.length} links (extraction keeps ${MAX_LINKS})`);
  const textLength = outcome.text_length;
  if (typeof textLength !== 'number' || !Number.isFinite(textLength) || textLength < 0) throw new InvalidResult('a text length that is not a number');
  const robots = outcome.robots;
  if (robots !== undefined && !(isObject(robots) && typeof robots.noindex === 'boolean' && typeof robots.nofollow === 'boolean')) {
    throw new InvalidResult('robots directives that are not {noindex, nofollow} booleans');
  }
  const extracted: Extracted = {
    final_url: finalUrl, title, markdown, links: links as string[], text_length: textLength,
    ...(robots ? { robots: { noindex: robots.noindex as boolean, nofollow: robots.nofollow as boolean } } : {}),
  };

  if (outcome.kind === 'embed_failed') {
    const error = isObject(outcome.error) ? outcome.error : {};
    const message = clip(text(error.message, 'the embedding error'), MAX_MESSAGE_CHARS);
    const code = CODES.find((c) => c === error.code);
    return { kind: 'embed_failed', ...extracted, error: code ? { code, message } : { message } };
  }
  if (outcome.unchanged === true) return { kind: 'page', ...extracted, unchanged: true };

  // the chunks this server's own crawl would cut: the worker's must be those (same texts, headings, order)
  const chunks = chunkMarkdown(markdown, { maxChars: request.chunking.max_chars, overlap: request.chunking.overlap, title });
  const sent = outcome.chunks;
  if (!Array.isArray(sent)) throw new InvalidResult('chunks that are not a list');
  if (sent.length !== chunks.length) throw new InvalidResult(`${sent.length} chunks, where its Markdown makes ${chunks.length}`);
  chunks.forEach((c, i) => {
    const s: unknown = sent[i];
    if (!isObject(s) || s.text !== c.text || s.index !== c.index || !sameStrings(s.headingPath, c.headingPath)) {
      throw new InvalidResult(`chunk ${i} other than the one its Markdown makes`);
    }
  });
  if (outcome.dimension !== dimension) throw new InvalidResult(`vectors of dimension ${describe(outcome.dimension)}, but this index uses ${dimension}`);
  if (typeof outcome.vectors !== 'string') throw new InvalidResult('vectors that are not a base64 string');
  let vectors: Float32Array[];
  try {
    vectors = decodeVectors(outcome.vectors, dimension, chunks.length);
  } catch (e) {
    throw new InvalidResult((e as Error).message.replace(/^a worker sent /, ''));
  }
  vectors.forEach((v, i) => {
    try {
      checkVector(v, dimension, `the vector of chunk ${i}`);
    } catch (e) {
      throw new InvalidResult((e as Error).message);
    }
  });
  return { kind: 'page', ...extracted, chunks, vectors };
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function text(x: unknown, what: string): string {
  if (typeof x !== 'string') throw new InvalidResult(`${what} as ${describe(x)}, not a string`);
  return x;
}

function sameStrings(x: unknown, want: readonly string[]): boolean {
  return Array.isArray(x) && x.length === want.length && x.every((s, i) => s === want[i]);
}

/** A value's type, or a short form of a number or string, for a message. */
function describe(x: unknown): string {
  if (x === null) return 'null';
  if (Array.isArray(x)) return 'a list';
  if (typeof x === 'string') return JSON.stringify(clip(x, 40));
  if (typeof x === 'number') return String(x);
  return typeof x;
}
