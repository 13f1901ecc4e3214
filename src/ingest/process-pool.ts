/**
 * A pool of worker threads running the per-page processing step (./process-page.ts: extraction, chunking,
 * lexical vectors, keyword terms), so that every core works during a crawl while the main thread fetches
 * and stores. Size: DOCTOR_EXTRACT_WORKERS (default: the machine's cores minus one, two on two cores, one on
 * one); 0 runs the step on the calling thread.
 *
 * Each page goes to the first worker holding fewer than two pages, else to the one with the fewest (pages
 * arriving while the workers start are processed on the calling thread). The queue is bounded by the callers (a crawl
 * has at most its concurrency of pages in flight), so memory stays flat whatever the crawl's size. A
 * worker that dies (out of memory on a hostile page, say) fails the pages it held with the reason and is
 * replaced; idle workers never keep the process alive.
 */
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../worker-thread.js';
import { processPage, unpackChunks, type ProcessPageInput, type ProcessedPage } from './process-page.js';
import type { PoolReply, PoolRequest } from './process-page-worker.js';

type Pending = { resolve: (r: ProcessedPage) => void; reject: (e: Error) => void };

class PoolWorker {
  readonly pending = new Map<number, Pending>();
  private readonly worker: Worker;
  private dead = false;
  private closing = false;
  /** The worker has loaded its code (its first message). */
  ready = false;
  private readonly readyWaiters: (() => void)[] = [];

  constructor(
    private readonly onGone: (w: PoolWorker) => void,
    resourceLimits?: { maxOldGenerationSizeMb: number },
  ) {
    this.worker = startWorker(import.meta.url, 'process-page-worker', resourceLimits ? { resourceLimits } : undefined);
    this.worker.unref();
    this.worker.on('message', (reply: PoolReply) => {
      if (reply.id === 0) {
        this.ready = true; // the start-up message
        for (const w of this.readyWaiters.splice(0)) w();
        return;
      }
      const p = this.pending.get(reply.id);
      if (!p) return; // a page abandoned meanwhile
      this.pending.delete(reply.id);
      if (this.pending.size === 0) this.worker.unref();
      if (reply.ok) p.resolve({ page: reply.result.page, jsOnly: reply.result.jsOnly, ...unpackChunks(reply.result.packed) });
      else p.reject(new Error(reply.error));
    });
    this.worker.on('error', (e) => this.fail(`the extraction worker failed: ${e.message}`));
    this.worker.on('exit', (code) => this.fail(`the extraction worker exited (code ${code})`));
  }

  /** Resolves when the worker has loaded its code, or has failed. */
  whenReady(): Promise<void> {
    return this.ready || this.dead ? Promise.resolve() : new Promise((r) => this.readyWaiters.push(r));
  }

  get load(): number {
    return this.pending.size;
  }

  run(id: number, input: ProcessPageInput): Promise<ProcessedPage> {
    return new Promise((resolve, reject) => {
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(id, { resolve, reject });
      try {
        this.worker.postMessage({ id, input } satisfies PoolRequest);
      } catch (e) {
        this.pending.delete(id);
        if (this.pending.size === 0) this.worker.unref();
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    });
  }

  private fail(reason: string): void {
    if (this.dead) return;
    this.dead = true;
    for (const w of this.readyWaiters.splice(0)) w();
    const err = new Error(this.closing ? 'the extraction pool is closed' : reason);
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    if (!this.closing) this.onGone(this);
  }

  async terminate(): Promise<void> {
    this.closing = true;
    await this.worker.terminate();
  }
}

export interface ProcessPoolOptions {
  /** Worker threads; 0 processes pages on the calling thread. Default: defaultPoolSize(). */
  size?: number;
  /** Heap limit of each worker in MB (a page that needs more fails alone; the worker is replaced). */
  maxHeapMb?: number;
}

/**
 * The default pool size: one worker per core but one (the main thread fetches and calls DuckDB, whose
 * threads also need CPU), and two on a 2-core machine. There the main thread keeps less than half a core
 * busy (12 ms of CPU per python3.11-doc page, 4-6 ms on postgresql-doc-15 and sqlite3-doc), so one worker,
 * the slowest stage, left the machine ~20% idle: with two, python3.11-doc crawled 8-30% more pages per second
 * in each of 6 alternating scratch pairs (bench/results/crawl.md has the committed run). One core: one worker.
 */
export function defaultPoolSize(): number {
  const cores = availableParallelism();
  return cores < 2 ? 1 : Math.max(2, cores - 1);
}

/**
 * A worker takes a page while it holds fewer than this many (the page it works on and one waiting); only
 * when every worker holds this many does the least loaded one get it. So the further workers work only when
 * the first cannot keep up, and a site whose pages the first worker keeps up with does not pay for warming
 * up and collecting a second worker's heap (alternating scratch pairs: 4-7% less CPU per page than spreading
 * pages evenly, on python3.11-doc and sqlite3-doc alike).
 */
const SPILL_AT = 2;

export class ProcessPool {
  readonly size: number;
  private readonly workers: PoolWorker[] = [];
  private nextId = 1;
  private closed = false;
  private readonly maxHeapMb?: number;

  constructor(opts: ProcessPoolOptions = {}) {
    this.size = Math.max(0, Math.floor(opts.size ?? defaultPoolSize()));
    this.maxHeapMb = opts.maxHeapMb;
  }

  /** Processes one page in a worker (or inline when the pool has no workers). */
  async process(input: ProcessPageInput): Promise<ProcessedPage> {
    if (this.closed) throw new Error('the extraction pool is closed');
    if (this.size === 0) return processPage(input);
    const worker = this.pick();
    // Until a worker has loaded its code (~50 ms built, ~1 s under tsx), pages are processed here: a short
    // crawl never waits for the pool to start.
    if (!worker) return processPage(input);
    return worker.run(this.nextId++, input);
  }

  /** Starts the workers and resolves when they have loaded their code (pages then never run on the caller). */
  async ready(): Promise<void> {
    if (this.closed) throw new Error('the extraction pool is closed');
    this.pick();
    await Promise.all(this.workers.map((w) => w.whenReady()));
  }

  /**
   * The first ready worker with fewer than SPILL_AT pages in hand, else the one with the fewest; starts the
   * missing workers.
   */
  private pick(): PoolWorker | undefined {
    while (this.workers.length < this.size) {
      this.workers.push(
        new PoolWorker(
          (gone) => {
            const i = this.workers.indexOf(gone);
            if (i >= 0) this.workers.splice(i, 1); // replaced at the next page
          },
          this.maxHeapMb ? { maxOldGenerationSizeMb: this.maxHeapMb } : undefined,
        ),
      );
    }
    let best: PoolWorker | undefined;
    for (const w of this.workers) {
      if (!w.ready) continue;
      if (w.load < SPILL_AT) return w;
      if (!best || w.load < best.load) best = w;
    }
    return best;
  }

  /** Pages in hand per worker, in the order pages are offered to them. */
  get loads(): number[] {
    return this.workers.map((w) => w.load);
  }

  /** Stops the workers; pages in hand fail with "the extraction pool is closed". */
  async close(): Promise<void> {
    this.closed = true;
    const all = this.workers.splice(0);
    await Promise.allSettled(all.map((w) => w.terminate()));
  }
}
