/**
 * Where a migration reads from: Qdrant over REST (port 6333) or gRPC (port 6334). Both give the same
 * shapes, so one pipeline (qdrant.ts and its page reader) serves both; only decoding and error classes differ.
 */
import { MigrationError } from './errors.js';
import type { PointId } from './points.js';

/** Everything needed to connect; plain data, so that a worker thread can open its own connection. */
export interface SourceConfig {
  kind: 'rest' | 'grpc';
  url: string;
  apiKey?: string;
  /**
   * gRPC: the deadline of each call. REST: the longest wait for the answer's headers or its next bytes, and
   * twice it for the whole answer (a server that trickles bytes would otherwise hold the run for ever).
   * Default 60 s.
   */
  timeoutMs?: number;
}

export interface VectorParams {
  size: number;
  distance: string;
}

export interface CollectionInfo {
  /** One unnamed vector, or named vectors; undefined when the collection has no dense vectors. */
  vectors: VectorParams | Record<string, VectorParams> | undefined;
  pointsCount: number;
}

export interface RawPoint {
  id: PointId;
  /** The dense vector asked for (the unnamed one, or `vectorName`): a number array, or undefined. */
  vector: ArrayLike<number> | undefined;
  payload: Record<string, unknown> | null;
}

export interface RawPage {
  points: RawPoint[];
  next: PointId | null;
}

export interface ErrorClass {
  transient: boolean;
  kind: 'not-found' | 'auth' | 'unreachable' | 'other';
  /** e.g. "503" or "UNAVAILABLE", for messages */
  status: string;
}

/** A scroll answer: the next page's offset, and its points (decoded by the call: call it once). */
export interface ScrollAnswer {
  next: PointId | null;
  points(): RawPage;
}

/** The requests a migration makes besides scroll (answered by its page reader thread, see page-stream.ts). */
export interface SourceCalls {
  collectionInfo(collection: string): Promise<CollectionInfo>;
  count(collection: string): Promise<number>;
  retrieve(collection: string, ids: PointId[], vectorName?: string): Promise<RawPoint[]>;
}

export interface QdrantSource extends SourceCalls {
  readonly config: SourceConfig;
  /**
   * One scroll page. The answer's next offset is known before its points are decoded (`points()`), so the
   * reader can ask for the next page first and decode this one while that answer travels. `dimension`: the
   * expected vector length (a hint for buffers).
   */
  scroll(collection: string, args: { offset: PointId | null; limit: number; vectorName?: string; dimension?: number }): Promise<ScrollAnswer>;
  classify(e: unknown): ErrorClass;
  close(): void;
}

/** The vector a point holds under `vectorName` (named vectors), or its only vector. */
export function pickVector<T>(vector: T | Record<string, T> | null | undefined, vectorName: string | undefined, isVector: (v: unknown) => v is T): T | undefined {
  if (vector === null || vector === undefined) return undefined;
  if (isVector(vector)) return vector;
  return vectorName ? (vector as Record<string, T>)[vectorName] : undefined;
}

/** Retries of a failed request to Qdrant, unless the options say otherwise. */
export const MAX_RETRIES = 5;

/** Retries transient failures (timeouts, network errors, 5xx, 429, UNAVAILABLE) with backoff. */
export async function withRetries<T>(what: string, source: Pick<QdrantSource, 'config' | 'classify'>, fn: () => Promise<T>, maxRetries = MAX_RETRIES): Promise<T> {
  const url = source.config.url;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (e instanceof MigrationError) throw e;
      const c = source.classify(e);
      const msg = (e as Error)?.message ?? String(e);
      if (!c.transient || attempt >= maxRetries) {
        if (c.kind === 'not-found') throw new MigrationError(`${what}: not found at ${url} (${msg}). Check --collection.`);
        if (c.kind === 'auth') throw new MigrationError(`${what}: Qdrant refused the request (${c.status}): check --api-key.`);
        if (c.kind === 'unreachable') {
          throw new MigrationError(`${what}: cannot reach Qdrant at ${url} after ${attempt + 1} attempts (${msg}). Is it running? Nothing half-written: run again with --resume.`);
        }
        throw new MigrationError(`${what}: Qdrant answered ${c.status} (${msg}) after ${attempt + 1} attempts. Run again with --resume.`);
      }
      const base = Math.min(8000, 200 * 2 ** attempt);
      await new Promise((r) => setTimeout(r, base / 2 + Math.random() * (base / 2)));
    }
  }
}
