/**
 * Messages between the migration (main thread) and its page reader (page-reader-worker.ts), which fetches
 * scroll pages over REST or gRPC, decodes them and checks every point, off the main thread. Vectors come
 * back packed in one Float32Array per page, moved (transferred), not copied.
 */
import type { ChunkPayload } from '../store/embeddings.js';
import type { PackedTerms } from '../text/packed-terms.js';
import type { PointId } from './points.js';
import type { SourceConfig } from './source.js';

export interface ReadJob {
  collection: string;
  vectorName?: string;
  dimension: number;
  batchSize: number;
  /** Where to start (a resume point), or null for the beginning. */
  offset: PointId | null;
  maxRetries: number;
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

/**
 * `open` comes first, as the migration starts: the reader loads its client library and opens the source
 * while the main thread reads the collection's parameters; `start` follows once the job is known.
 */
export type ToReader = { type: 'open'; config: SourceConfig } | { type: 'start'; job: ReadJob } | { type: 'ack' };
export type FromReader = { type: 'page'; page: DecodedPage } | { type: 'error'; message: string; migration: boolean };
