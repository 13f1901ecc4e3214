/**
 * The main thread's handle on one usearch index living in a worker thread (usearch-worker.ts).
 * Every call is a message; replies come back in order. If the worker dies, pending and later calls fail.
 */
import type { Worker } from 'node:worker_threads';
import { startWorker, stopWorker } from '../worker-thread.js';
import type { AddReply, ResolvedIndexParams, SearchReply, WorkerReply, WorkerRequest } from './usearch-protocol.js';

export class WorkerIndex {
  private readonly worker: Worker;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private failure: Error | undefined;
  private terminated = false;

  private constructor(readonly params: ResolvedIndexParams) {
    this.worker = startWorker(import.meta.url, 'usearch-worker');
    this.worker.unref();
    this.worker.on('message', (reply: WorkerReply) => {
      const p = this.pending.get(reply.id);
      if (!p) return;
      this.pending.delete(reply.id);
      if (this.pending.size === 0) this.worker.unref();
      if (reply.ok) p.resolve(reply.result);
      else p.reject(new Error(`usearch: ${reply.error}`));
    });
    const fail = (e: Error) => {
      this.failure ??= e;
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    };
    this.worker.on('error', (e) => fail(new Error(`the usearch worker failed: ${e.message}`)));
    this.worker.on('exit', (code) => {
      if (!this.terminated) fail(new Error(`the usearch worker exited (code ${code})`));
    });
  }

  /** Starts a worker holding an empty index with these parameters. */
  static async create(params: ResolvedIndexParams): Promise<WorkerIndex> {
    const w = new WorkerIndex(params);
    await w.call({ op: 'init', params });
    return w;
  }

  /** Why the worker stopped working, if it did. */
  get error(): Error | undefined {
    return this.failure;
  }

  private call<T>(req: WorkerRequest, transfer: ArrayBuffer[] = []): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.terminated) return Promise.reject(new Error('the usearch index is closed'));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      // Referenced only while a reply is awaited: an idle index never keeps the process alive.
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ ...req, id }, transfer);
    });
  }

  /** Adds rows; `vectors` is row-major (keys.length x dimension) and is transferred (unusable afterwards). */
  add(keys: BigUint64Array, vectors: Float32Array, threads = 1): Promise<AddReply> {
    return this.call<AddReply>({ op: 'add', keys, vectors, threads }, [keys.buffer as ArrayBuffer, vectors.buffer as ArrayBuffer]);
  }

  remove(keys: BigUint64Array): Promise<number> {
    return this.call<number>({ op: 'remove', keys });
  }

  search(query: Float32Array, k: number): Promise<SearchReply> {
    return this.call<SearchReply>({ op: 'search', query, k });
  }

  /** Saves to `path` (written beside it, then renamed over it); returns the number of vectors saved. */
  save(path: string): Promise<number> {
    return this.call<number>({ op: 'save', path });
  }

  /** Loads a file whose integrity the caller has checked; returns the number of vectors. */
  load(path: string): Promise<number> {
    return this.call<number>({ op: 'load', path });
  }

  size(): Promise<number> {
    return this.call<number>({ op: 'size' });
  }

  async terminate(): Promise<void> {
    if (this.terminated) return;
    this.terminated = true;
    for (const p of this.pending.values()) p.reject(new Error('the usearch index was closed'));
    this.pending.clear();
    // not worker.terminate(): that can abort the process when it lands inside a native usearch call
    await stopWorker(this.worker);
  }
}
