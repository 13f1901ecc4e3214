/**
 * A pool of worker threads running the per-page processing step (./process-page.ts: extraction, chunking,
 * lexical vectors, keyword terms), so that every core works during a crawl while the main thread fetches
 * and stores. Size: DOCTOR_EXTRACT_WORKERS (default: the machine's cores minus one, two on two cores, one on
 * one); 0 runs the step on the calling thread.
 *
 * Each page goes to the first worker holding fewer than two pages, else to the one with the fewest; pages
 * arriving while the workers start wait for them (~50 ms), so a page never runs on the calling thread, the
 * server's, which would answer nothing else meanwhile. The queue is bounded by the callers (a crawl has at
 * most its concurrency of pages in flight), so memory stays flat whatever the crawl's size. A worker that
 * dies (out of memory on a hostile page, say), or works on one page past the deadline (DOCTOR_EXTRACT_TIMEOUT_MS:
 * a page on which some step takes time growing faster than its size), fails the page it works on with the
 * reason and is replaced; the pages waiting behind it go to another worker. Idle workers never keep the process
 * alive.
 */
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../worker-thread.js';
import { processPage, unpackChunks, type ProcessPageInput, type ProcessedPage } from './process-page.js';
import type { PoolReply, PoolRequest } from './process-page-worker.js';

type Pending = { input: ProcessPageInput; resolve: (r: ProcessedPage) => void; reject: (e: Error) => void };

/** Default deadline for one page in a worker (the configuration's is DOCTOR_EXTRACT_TIMEOUT_MS). */
const DEFAULT_PAGE_DEADLINE_MS = 120_000;

class PoolWorker {
  readonly pending = new Map<number, Pending>();
  private readonly worker: Worker;
  private dead = false;
  private closing = false;
  /** The worker has loaded its code (its first message). */
  ready = false;
  /** Why it ended, when it did. */
  endedBecause: string | undefined;
  private readonly readyWaiters: (() => void)[] = [];
  /** Fires when the page being worked on (the oldest pending: a worker takes them in order) is late. */
  private deadline: NodeJS.Timeout | undefined;

  constructor(
    /** Called once when the worker is gone, with the pages that were waiting behind the one it worked on. */
    private readonly onGone: (w: PoolWorker, waiting: Pending[]) => void,
    private readonly deadlineMs: number,
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
      this.armDeadline();
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

  /** Hands a page (new, or one that waited behind a page of a worker now gone) to this worker. */
  take(id: number, p: Pending): void {
    if (this.pending.size === 0) this.worker.ref();
    this.pending.set(id, p);
    try {
      this.worker.postMessage({ id, input: p.input } satisfies PoolRequest);
    } catch (e) {
      this.pending.delete(id);
      if (this.pending.size === 0) this.worker.unref();
      p.reject(e instanceof Error ? e : new Error(String(e)));
      return;
    }
    if (this.pending.size === 1) this.armDeadline();
  }

  /** (Re)starts the deadline of the page now worked on, if any. */
  private armDeadline(): void {
    clearTimeout(this.deadline);
    this.deadline = undefined;
    if (this.pending.size === 0 || this.dead) return;
    this.deadline = setTimeout(() => {
      const seconds = Math.round(this.deadlineMs / 100) / 10;
      this.fail(`processing the page took longer than ${seconds} s (DOCTOR_EXTRACT_TIMEOUT_MS); it was stopped`);
      void this.worker.terminate();
    }, this.deadlineMs);
    this.deadline.unref();
  }

  private fail(reason: string): void {
    if (this.dead) return;
    this.dead = true;
    this.endedBecause = reason;
    clearTimeout(this.deadline);
    for (const w of this.readyWaiters.splice(0)) w();
    const [current, ...waiting] = this.pending.values();
    this.pending.clear();
    if (this.closing) {
      const err = new Error('the extraction pool is closed');
      for (const p of [current, ...waiting]) p?.reject(err);
      return;
    }
    current?.reject(new Error(reason));
    this.onGone(this, waiting);
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
  /** Longest a worker may work on one page, in ms (default DEFAULT_PAGE_DEADLINE_MS); the page then fails. */
  pageDeadlineMs?: number;
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
  private readonly pageDeadlineMs: number;
  /** Workers ended before they had loaded their code, since one last did load it; and why the last one did. */
  private startFailures = 0;
  private startFailure: string | undefined;

  constructor(opts: ProcessPoolOptions = {}) {
    this.size = Math.max(0, Math.floor(opts.size ?? defaultPoolSize()));
    this.maxHeapMb = opts.maxHeapMb;
    this.pageDeadlineMs = opts.pageDeadlineMs ?? DEFAULT_PAGE_DEADLINE_MS;
  }

  /** Processes one page in a worker (or inline when the pool has no workers). */
  process(input: ProcessPageInput): Promise<ProcessedPage> {
    return new Promise((resolve, reject) => this.dispatch({ input, resolve, reject }));
  }

  /** Gives a page to a worker, once one has loaded its code (~50 ms built, ~1 s under tsx). */
  private dispatch(p: Pending): void {
    if (this.closed) return p.reject(new Error('the extraction pool is closed'));
    if (this.size === 0) {
      try {
        return p.resolve(processPage(p.input));
      } catch (e) {
        return p.reject(e instanceof Error ? e : new Error(String(e)));
      }
    }
    const worker = this.pick();
    if (worker) return worker.take(this.nextId++, p);
    this.ready().then(
      () => {
        // Workers that cannot even load their code would be started again and again: the page fails.
        if (this.startFailures >= 3 && !this.workers.some((w) => w.ready)) p.reject(new Error(`the extraction workers do not start: ${this.startFailure}`));
        else this.dispatch(p);
      },
      (e: unknown) => p.reject(e instanceof Error ? e : new Error(String(e))),
    );
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
          (gone, waiting) => {
            const i = this.workers.indexOf(gone);
            if (i >= 0) this.workers.splice(i, 1); // replaced at the next page
            if (!gone.ready) {
              this.startFailures++;
              this.startFailure = gone.endedBecause;
            }
            for (const p of waiting) this.dispatch(p);
          },
          this.pageDeadlineMs,
          this.maxHeapMb ? { maxOldGenerationSizeMb: this.maxHeapMb } : undefined,
        ),
      );
    }
    let best: PoolWorker | undefined;
    for (const w of this.workers) {
      if (!w.ready) continue;
      this.startFailures = 0;
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
