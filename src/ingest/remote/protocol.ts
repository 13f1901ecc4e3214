/**
 * What the server and remote crawl workers exchange through Redis: the BullMQ queues, the page request (one
 * frontier entry with the job's settings), the result (Markdown, links, chunks, vectors), the worker registry
 * and the embedding the server's database holds. Both sides check `v`; a process of another protocol
 * version is refused with a message.
 */
import type { EmbeddingErrorCode } from '../../embed/embedder.js';
import type { EmbeddingIdentity } from '../../store/embedding-identity.js';
import type { Chunk } from '../extract/chunker.js';
import type { PageRobots } from '../extract/extracted-page.js';
import type { Scope } from '../fetch/url.js';

/** 2: a page the worker could not embed comes back as `embed_failed` (1 failed the page job, retried as any error). */
export const PROTOCOL_VERSION = 2;
/** BullMQ key prefix: every key Doctor writes in Redis starts with it. */
export const PREFIX = 'doctor';
export const PAGES_QUEUE = 'pages';
export const RESULTS_QUEUE = 'results';
/** JSON of the EmbeddingIdentity of the server's database (workers must embed with it). */
export const EMBEDDING_KEY = `${PREFIX}:embedding`;
/**
 * The server using this Redis (JSON: its database, host, pid), expiring unless renewed: a second server would
 * take the first one's results from the shared queues (and answer them as stale), so it is refused at start.
 */
export const SERVER_KEY = `${PREFIX}:server`;
/** Sorted set of worker ids by last heartbeat (ms); each worker's details at WORKER_KEY(id), expiring. */
export const WORKERS_KEY = `${PREFIX}:workers`;
export const workerKey = (id: string): string => `${PREFIX}:worker:${id}`;
export const hostKeys = (host: string): { slots: string; next: string } => ({
  slots: `${PREFIX}:host:${host}:slots`,
  next: `${PREFIX}:host:${host}:next`,
});

/** One frontier entry to fetch, extract, chunk and embed. */
export interface PageRequest {
  v: number;
  /** The BullMQ job id, also the result's: crawl job, URL hash, server run. */
  request: string;
  crawl_job_id: string;
  url: string;
  start_url: string;
  scope: Scope;
  include: string[];
  exclude: string[];
  render: 'never' | 'auto' | 'always';
  respect_robots: boolean;
  limits: {
    request_timeout_ms: number;
    max_page_bytes: number;
    max_redirects: number;
    per_host_concurrency: number;
    per_host_delay_ms: number;
  };
  chunking: { max_chars: number; overlap: number };
  /** The server's vector space: a worker embedding with another model refuses the page. */
  embedding: EmbeddingIdentity;
  /** Content hash of the stored page at this URL: a page whose Markdown has it is not chunked or embedded again. */
  known_hash?: string;
}

/** What the worker extracted from a page: the server queues its links and stores its Markdown. */
export interface ExtractedFields {
  final_url: string;
  title: string;
  markdown: string;
  links: string[];
  text_length: number;
  /** The page's `<meta name="robots">` directives, when it has any (optional: workers before it do not send it). */
  robots?: PageRobots;
}

export type ResultOutcome =
  | { kind: 'skipped'; reason: string; /** the site, not the page, refused or did not answer */ unavailable?: true }
  | (ExtractedFields & {
      kind: 'page';
      chunks: Chunk[];
      /** Every chunk's vector, float32 little-endian, concatenated, base64. */
      vectors: string;
      dimension: number;
      /** The Markdown hashes to `known_hash`: no chunks or vectors were made (the stored ones stay). */
      unchanged?: boolean;
    })
  | (ExtractedFields & {
      /**
       * The worker's embedder failed on the page's chunks (after its own retries): the server counts it as the
       * in-process crawl counts a page it could not embed (src/ingest/embed-failures.ts).
       */
      kind: 'embed_failed';
      /** The embedder's error: its EmbeddingError code, if it was one, and message. */
      error: { code?: EmbeddingErrorCode; message: string };
    });

export interface PageResult {
  v: number;
  request: string;
  crawl_job_id: string;
  url: string;
  worker: string;
  embedding: EmbeddingIdentity;
  outcome: ResultOutcome;
}

/** What a worker announces with each heartbeat (listed by `doctor workers` and /health). */
export interface WorkerInfo {
  id: string;
  host: string;
  pid: number;
  version: string;
  protocol: number;
  embedding: EmbeddingIdentity;
  concurrency: number;
  started_at: string;
  last_seen: string;
  /** Pages in progress now. */
  active: number;
  pages_done: number;
  pages_skipped: number;
  pages_failed: number;
  chunks: number;
  /** Pages finished (stored or skipped) in the last 60 s. */
  pages_last_minute: number;
  /** Set when the worker refused to work for this server (another embedding model, another protocol). */
  refused?: string;
}

export function encodeVectors(vectors: readonly Float32Array[], dimension: number): string {
  const all = new Float32Array(vectors.length * dimension);
  vectors.forEach((v, i) => all.set(v, i * dimension));
  return Buffer.from(all.buffer, all.byteOffset, all.byteLength).toString('base64');
}

export function decodeVectors(b64: string, dimension: number, count: number): Float32Array[] {
  const buf = Buffer.from(b64, 'base64');
  if (buf.byteLength !== count * dimension * 4) {
    throw new Error(`a worker sent ${buf.byteLength} bytes of vectors for ${count} chunks of dimension ${dimension}`);
  }
  // copied out: the Buffer may sit at an offset that is not a multiple of 4
  const all = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  return Array.from({ length: count }, (_, i) => all.subarray(i * dimension, (i + 1) * dimension));
}

export const describeEmbedding = (e: EmbeddingIdentity): string => `${e.provider} model ${e.model} (dimension ${e.dimension})`;
