/**
 * The main thread's handle on one usearch index living in a worker thread (usearch-worker.ts).
 * Every call is a message; replies come back in order. If the worker dies, pending and later calls fail.
 * A worker that answers nothing for `stuckAfterMs` while calls wait is given up as stuck (a usearch call that
 * never returns): its calls fail, and it is left running, since nothing can stop it (see stuck-threads.ts).
 */
import type { Worker } from 'node:worker_threads';
import { noteStuckThread } from '../stuck-threads.js';
import { startWorker, stopWorker } from '../worker-thread.js';
import type { AddReply, ResolvedIndexParams, SearchReply, WorkerReply, WorkerRequest } from './usearch-protocol.js';

/**
 * Silence (calls waiting, no reply) after which a worker counts as stuck. Generous: the longest legitimate
 * calls (a build's add of 8,192 rows on every core, loading or saving a file of gigabytes) take tens of
 * seconds. Searches do not wait for it: they fall back to exact search after their own deadline.
 */
export const DEFAULT_STUCK_AFTER_MS = 10 * 60_000;

export class WorkerIndex {
  private readonly worker: Worker;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private failure: Error | undefined;
  private terminated = false;
  private stuck = false;
  /** When the worker last answered, or last became busy (a call sent while none was waiting). */
  private lastHeard = Date.now();
  /** Checks for a stuck worker; unreferenced, it runs for the index's life without keeping the process alive. */
  private readonly watchdog: NodeJS.Timeout;
  private readonly failureListeners: ((e: Error) => void)[] = [];

  private constructor(
    readonly params: ResolvedIndexParams,
    private readonly stuckAfterMs: number,
  ) {
    this.worker = startWorker(import.meta.url, 'usearch-worker');
    this.worker.unref();
    this.watchdog = setInterval(() => this.checkStuck(), Math.min(5000, Math.max(50, stuckAfterMs / 4)));
    this.watchdog.unref();
    this.worker.on('message', (reply: WorkerReply) => {
      this.lastHeard = Date.now();
      const p = this.pending.get(reply.id);
      if (!p) return;
      this.pending.delete(reply.id);
      if (this.pending.size === 0) this.worker.unref();
      if (reply.ok) p.resolve(reply.result);
      else p.reject(new Error(`usearch: ${reply.error}`));
    });
    this.worker.on('error', (e) => this.fail(new Error(`the usearch worker failed: ${e.message}`)));
    this.worker.on('exit', (code) => {
      if (!this.terminated) this.fail(new Error(`the usearch worker exited (code ${code})`));
    });
  }

  /** Starts a worker holding an empty index with these parameters. */
  static async create(params: ResolvedIndexParams, opts: { stuckAfterMs?: number } = {}): Promise<WorkerIndex> {
    const w = new WorkerIndex(params, opts.stuckAfterMs ?? DEFAULT_STUCK_AFTER_MS);
    await w.call({ op: 'init', params });
    return w;
  }

  /** Why the worker stopped working, if it did. */
  get error(): Error | undefined {
    return this.failure;
  }

  /** How long calls have waited without any answer from the worker (0 when none waits). */
  silentForMs(): number {
    return this.pending.size ? Date.now() - this.lastHeard : 0;
  }

  /** Calls `listener` when the worker fails (dies, or is given up as stuck), whoever's call was waiting. */
  onFailure(listener: (e: Error) => void): void {
    this.failureListeners.push(listener);
  }

  private fail(e: Error): void {
    const first = !this.failure;
    this.failure ??= e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
    this.worker.unref();
    clearInterval(this.watchdog);
    if (first) for (const l of this.failureListeners) l(e);
  }

  private checkStuck(): void {
    const silent = this.silentForMs();
    if (silent >= this.stuckAfterMs) this.giveUp(`the usearch worker has not answered for ${Math.round(silent / 1000)} s: stuck inside a usearch call`);
  }

  /** Gives the worker up as stuck: its calls fail with `why`, and it is not waited for again. */
  giveUp(why: string): void {
    if (this.stuck) return;
    this.stuck = true;
    noteStuckThread('a usearch index worker stopped answering', 'the vector index is rebuilt or caught up on the next start');
    this.fail(new Error(why));
  }

  private call<T>(req: WorkerRequest, transfer: ArrayBuffer[] = []): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.terminated) return Promise.reject(new Error('the usearch index is closed'));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      if (this.pending.size === 0) {
        // Referenced only while a reply is awaited: an idle index never keeps the process alive.
        this.worker.ref();
        this.lastHeard = Date.now();
      }
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
    this.worker.unref();
    clearInterval(this.watchdog);
    // a stuck thread would never read the stop request, and terminate() cannot end a native call
    if (this.stuck) return;
    // not worker.terminate(): that can abort the process when it lands inside a native usearch call
    if (!(await stopWorker(this.worker))) this.giveUp('the usearch worker did not stop');
  }
}
