/**
 * The main thread's end of the page reader (page-reader-worker.ts): pages in order, errors as
 * MigrationErrors, and the migration's other requests to Qdrant (SourceCalls), answered by the reader's
 * source with its retries. The client library (~0.15 s to load for gRPC) loads in the reader thread only.
 */
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../worker-thread.js';
import { MigrationError } from './errors.js';
import type { DecodedPage, FromReader, ReadJob, SourceCall, ToReader } from './page-protocol.js';
import type { PointId } from './points.js';
import type { CollectionInfo, RawPoint, SourceCalls, SourceConfig } from './source.js';

type Waiter<T> = { resolve: (v: T) => void; reject: (e: Error) => void };

export class PageStream implements SourceCalls {
  private readonly worker: Worker;
  private readonly queue: DecodedPage[] = [];
  private failure: Error | undefined;
  private waiter: Waiter<DecodedPage> | undefined;
  private readonly calls = new Map<number, Waiter<unknown>>();
  private lastCall = 0;
  private dead: Error | undefined;
  private closed = false;
  private closing: Promise<void> | undefined;

  /**
   * Starts the reader thread and has it open `config` (loading the client library) right away, in parallel
   * with what the caller does before it knows the job; the pages come after `start`. Each request to Qdrant
   * is retried up to `maxRetries` times when it fails transiently.
   */
  constructor(
    readonly config: SourceConfig,
    maxRetries: number,
  ) {
    this.worker = startWorker(import.meta.url, 'page-reader-worker');
    this.worker.on('message', (m: FromReader) => {
      if (m.type === 'page') this.deliver(m.page);
      else if (m.type === 'answer') this.settle(m.id, (w) => w.resolve(m.value));
      else if (m.id !== undefined) this.settle(m.id, (w) => w.reject(m.migration ? new MigrationError(m.message) : new Error(m.message)));
      else this.fail(m.migration ? new MigrationError(m.message) : new Error(`reading from Qdrant failed: ${m.message}`));
    });
    this.worker.on('error', (e) => this.die(new Error(`the page reader failed: ${e.message}`)));
    this.worker.on('exit', (code) => {
      if (!this.closed) this.die(new Error(`the page reader stopped (exit code ${code})`));
    });
    this.worker.postMessage({ type: 'open', config, maxRetries } satisfies ToReader);
  }

  start(job: ReadJob): void {
    this.worker.postMessage({ type: 'start', job } satisfies ToReader);
  }

  collectionInfo(collection: string): Promise<CollectionInfo> {
    return this.call({ method: 'collectionInfo', args: [collection] });
  }

  count(collection: string): Promise<number> {
    return this.call({ method: 'count', args: [collection] });
  }

  retrieve(collection: string, ids: PointId[], vectorName?: string): Promise<RawPoint[]> {
    return this.call({ method: 'retrieve', args: [collection, ids, vectorName] });
  }

  private call<T>(call: SourceCall): Promise<T> {
    if (this.closed) return Promise.reject(new Error('the page reader is closed'));
    if (this.dead) return Promise.reject(this.dead);
    const id = ++this.lastCall;
    const answer = new Promise<T>((resolve, reject) => this.calls.set(id, { resolve: resolve as (v: unknown) => void, reject }));
    this.worker.postMessage({ type: 'call', id, call } satisfies ToReader);
    return answer;
  }

  private settle(id: number, how: (w: Waiter<unknown>) => void): void {
    const w = this.calls.get(id);
    this.calls.delete(id);
    if (w) how(w);
  }

  private deliver(page: DecodedPage): void {
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w.resolve(page);
    } else this.queue.push(page);
  }

  /** Reading pages failed: the page awaited and the later ones fail with `e` (calls have their own errors). */
  private fail(e: Error): void {
    this.failure ??= e;
    const w = this.waiter;
    this.waiter = undefined;
    w?.reject(this.failure);
  }

  /** The thread is gone: pages and calls fail with `e`. */
  private die(e: Error): void {
    this.dead ??= e;
    this.fail(e);
    this.rejectCalls(e);
  }

  /** Every call still waiting for an answer fails with `e`. */
  private rejectCalls(e: Error): void {
    const waiting = [...this.calls.values()];
    this.calls.clear();
    for (const w of waiting) w.reject(e);
  }

  /** The next page; the reader fetches another once this one is acknowledged with `ack`. */
  next(): Promise<DecodedPage> {
    const page = this.queue.shift();
    if (page) return Promise.resolve(page);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  ack(): void {
    if (!this.closed) this.worker.postMessage({ type: 'ack' } satisfies ToReader);
  }

  /** Ends the reader thread (calls still waiting fail); every call of close waits for the same end. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true;
      this.rejectCalls(new Error('the page reader is closed'));
      await this.worker.terminate().catch(() => undefined);
    })();
    return this.closing;
  }
}
