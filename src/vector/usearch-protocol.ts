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
  expansionSearch: number;
}

export type WorkerRequest =
  | { op: 'init'; params: IndexParams }
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
