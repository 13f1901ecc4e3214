/**
 * Messages between the migration (main thread) and its page reader (page-reader-worker.ts), which fetches
 * scroll pages over REST or gRPC, decodes them and checks every point, off the main thread. Vectors come
 * back packed in one Float32Array per page, moved (transferred), not copied. The reader also answers the
 * migration's other requests to Qdrant (collection info, count, the verification's sample), so that only
 * its thread loads a client library.
 */
import type { ChunkPayload } from '../store/embeddings.js';
import type { PackedTerms } from '../text/packed-terms.js';
import type { PointId } from './points.js';
import type { SourceCalls, SourceConfig } from './source.js';

export interface ReadJob {
  collection: string;
  vectorName?: string;
  dimension: number;
  batchSize: number;
  /** Where to start (a resume point), or null for the beginning. */
  offset: PointId | null;
  /** Pages handed over and not yet acknowledged, at most: bounds the memory of a fast reader. */
  window: number;
}

export interface DecodedPage {
  /** Points in the page (good and bad). */
  read: number;
  next: PointId | null;
  /** The good points, in order: ids, vectors (row-major, ids.length x dimension), payloads. */
  ids: string[];
  vectors: Float32Array;
  payloads: ChunkPayload[];
  /** The keyword terms of the good points' chunks, packed (text/packed-terms.ts). */
  terms: PackedTerms;
  bad: { id: string; reason: string }[];
}

/** A request to the source other than scroll: a method of SourceCalls and its arguments. */
export type SourceCall = { [M in keyof SourceCalls]: { method: M; args: Parameters<SourceCalls[M]> } }[keyof SourceCalls];

/**
 * `open` comes first, as the migration starts: the reader loads its client library and opens the source
 * (retrying transient failures up to `maxRetries` times per request); `call`s may come at any time after it;
 * `start` follows once the job is known.
 */
export type ToReader =
  | { type: 'open'; config: SourceConfig; maxRetries: number }
  | { type: 'call'; id: number; call: SourceCall }
  | { type: 'start'; job: ReadJob }
  | { type: 'ack' };
/** An error with a call's `id` is that call's; without, the reader's (no more pages). */
export type FromReader =
  | { type: 'page'; page: DecodedPage }
  | { type: 'answer'; id: number; value: unknown }
  | { type: 'error'; id?: number; message: string; migration: boolean };
