/**
 * Messages between the usearch engine (main thread) and its worker thread, which owns one usearch HNSW
 * index. usearch's add/search/save are synchronous native calls: a 100k build takes over a minute and a
 * save of 300 MB a noticeable fraction of a second, so none of them may run on the thread serving requests.
 */

/** Parameters an index is built with; a saved file is reused only when they match. */
export interface IndexParams {
  dimension: number;
  quantization: 'f32' | 'f16' | 'bf16' | 'i8';
  connectivity: number;
  expansionAdd: number;
  /** 'auto': chosen from the row count when the index is loaded or built (see autoExpansionSearch). */
  expansionSearch: number | 'auto';
}

/** Parameters as the worker gets them: the search expansion resolved to a number. */
export type ResolvedIndexParams = IndexParams & { expansionSearch: number };

/**
 * The search expansion (HNSW ef) for an index of `rows` vectors. Recall at a fixed expansion falls as the
 * index grows (embedding-like 1536-d data: with connectivity 16, recall@10 at ef 128 was 1.000 at 100k
 * rows, 0.94 at 300k and 0.84 at 1M; with connectivity 32, ef 64 gave 1.000 at 100k in 0.7 ms, ef 128
 * 1.000 at 300k, and at 1M 0.985 from ef 64 to 256 (1.1-2.1 ms) and 0.990 at 512 (3.6 ms)), so the
 * expansion grows with the square root of the rows: 64 up to 100k, 128 at 300k, 224 at 1M, at most 2,048.
 */
export function autoExpansionSearch(rows: number): number {
  return Math.min(2048, Math.max(64, Math.ceil((64 * Math.sqrt(rows / 100_000)) / 32) * 32));
}

export function resolveParams(params: IndexParams, rows: number): ResolvedIndexParams {
  return { ...params, expansionSearch: params.expansionSearch === 'auto' ? autoExpansionSearch(rows) : params.expansionSearch };
}

export type WorkerRequest =
  | { op: 'init'; params: ResolvedIndexParams }
  /** Adds vectors (row-major, `keys.length` x dimension); keys already present are skipped. */
  | { op: 'add'; keys: BigUint64Array; vectors: Float32Array; threads: number }
  | { op: 'remove'; keys: BigUint64Array }
  | { op: 'search'; query: Float32Array; k: number }
  | { op: 'save'; path: string }
  | { op: 'load'; path: string }
  | { op: 'size' };

export interface SearchReply {
  keys: BigUint64Array;
  distances: Float32Array;
}

export interface AddReply {
  added: number;
  size: number;
}

export type WorkerReply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };
