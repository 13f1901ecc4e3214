/**
 * Messages between the local embedder (main thread) and its worker thread (local-worker.ts), which owns
 * transformers.js, the tokenizer and the ONNX Runtime session. Tokenising is synchronous JavaScript and
 * inference keeps CPU cores busy, so neither may run on the thread that serves requests.
 */
import type { Pooling } from './local-models.js';

export interface LoadSpec {
  /** Absolute directory holding the model files. */
  dir: string;
  dtype: 'q8' | 'fp32';
  /** 'onnx' when the weights are in onnx/, '' when beside config.json. */
  subfolder: string;
  /** ONNX Runtime intra-op threads. */
  threads: number;
  /** Let ONNX Runtime's threads spin between runs (its default; off here, on only to measure it). */
  allowSpinning?: boolean;
}

export interface DownloadSpec {
  /** Model-hub id, e.g. Xenova/bge-small-en-v1.5. */
  hubId: string;
  /** Files go to `<modelDir>/<hubId>/`. */
  modelDir: string;
  /** The hub's base URL (https://huggingface.co, a mirror, or a test server). */
  host: string;
  /** Largest file accepted (default: 4 GiB for ONNX weights, 64 MiB for any other file). */
  maxFileBytes?: number;
  /**
   * A file that sends nothing for this long is abandoned (default 60 s), as is one arriving slower than
   * minBytesPerSecond on average once this long has passed (a trickle).
   */
  idleTimeoutMs?: number;
  /** Default 16 KiB/s. */
  minBytesPerSecond?: number;
}

export type WorkerRequest =
  | { op: 'load'; spec: LoadSpec }
  | { op: 'download'; spec: DownloadSpec }
  | { op: 'embed'; texts: unknown[]; pooling: Pooling; maxTokens: number };

export interface DownloadProgress {
  file: string;
  loaded: number;
  total: number;
}

export type WorkerReply =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: string; kind: 'input' | 'runtime' | 'model' | 'network' }
  | { id: number; progress: DownloadProgress };

/** What an embed request returns: `count` vectors of `dimension`, row-major. */
export interface EmbedResult {
  vectors: Float32Array;
  count: number;
  dimension: number;
}
