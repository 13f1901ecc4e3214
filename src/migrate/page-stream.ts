/** The main thread's end of the page reader (page-reader-worker.ts): pages in order, errors as MigrationErrors. */
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../worker-thread.js';
import { MigrationError } from './errors.js';
import type { DecodedPage, FromReader, ReadJob, ToReader } from './page-protocol.js';
import type { SourceConfig } from './source.js';

export class PageStream {
  private readonly worker: Worker;
  private readonly queue: DecodedPage[] = [];
  private failure: Error | undefined;
  private waiter: { resolve: (p: DecodedPage) => void; reject: (e: Error) => void } | undefined;
  private closed = false;
  private closing: Promise<void> | undefined;

  /**
   * Starts the reader thread and has it open `config` (loading the client library) right away, in parallel
   * with what the caller does before it knows the job; the pages come after `start`.
   */
  constructor(config: SourceConfig) {
    this.worker = startWorker(import.meta.url, 'page-reader-worker');
    this.worker.on('message', (m: FromReader) => {
      if (m.type === 'page') this.deliver(m.page);
      else this.fail(m.migration ? new MigrationError(m.message) : new Error(`reading from Qdrant failed: ${m.message}`));
    });
    this.worker.on('error', (e) => this.fail(new Error(`the page reader failed: ${e.message}`)));
    this.worker.on('exit', (code) => {
      if (!this.closed) this.fail(new Error(`the page reader stopped (exit code ${code})`));
    });
    this.worker.postMessage({ type: 'open', config } satisfies ToReader);
  }

  start(job: ReadJob): void {
    this.worker.postMessage({ type: 'start', job } satisfies ToReader);
  }

  private deliver(page: DecodedPage): void {
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w.resolve(page);
    } else this.queue.push(page);
  }

  private fail(e: Error): void {
    this.failure ??= e;
    const w = this.waiter;
    this.waiter = undefined;
    w?.reject(this.failure);
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

  /** Ends the reader thread; every call waits for the same end. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true;
      await this.worker.terminate().catch(() => undefined);
    })();
    return this.closing;
  }
}
