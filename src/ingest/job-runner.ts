/**
 * The in-process worker pool for crawl jobs: pending -> running -> completed | failed | cancelled.
 * Jobs left pending or running by a previous process are picked up again at start(), unless they were
 * started {@link MAX_JOB_ATTEMPTS} times in a row without progress (a crash loop): those are failed.
 *
 * An error inside a job fails that job with its reason; nothing a job does can reject a promise that
 * nobody awaits (which would end the process).
 */
import { EventEmitter } from 'node:events';
import type { DoctorConfig } from '../config/config.js';
import type { Embedder } from '../embed/embedder.js';
import type { Logger } from '../log.js';
import type { Store } from '../store/store.js';
import { FINISHED_STATUSES, type JobRecord, type NewJob } from '../store/jobs.js';
import { FrontierStore } from '../store/frontier.js';
import { Crawl, CrawlCancelled, type PageSource, type StageTimes } from './crawler.js';
import { createGuardedDispatcher } from './fetch/net-guard.js';
import { ChromiumRenderer } from './fetch/renderer.js';
import { ProcessPool } from './process-pool.js';
import type { Dispatcher } from 'undici';

/**
 * What the job runner needs from the process that hosts it. The service layer's context satisfies it; the
 * runner in turn satisfies the service layer's JobRunnerPort (structurally: ingest never imports service).
 */
export interface JobRunnerHost {
  config: DoctorConfig;
  store: Store;
  embedder: Embedder;
  log: Logger;
}

/**
 * Starts of one job in a row that ended without progress (the process died or was stopped while running
 * it, before a page was stored or skipped) after which the job is failed instead of resumed again.
 */
export const MAX_JOB_ATTEMPTS = 3;

export class JobRunner {
  private readonly queue: string[] = [];
  /** `cancelled`: the reason the job was cancelled for (it is stopping for that, not for a shutdown). */
  private readonly running = new Map<string, { abort: AbortController; cancelled?: string; done: Promise<void> }>();
  private readonly events = new EventEmitter();
  private readonly dispatcher: Dispatcher;
  private readonly renderer: ChromiumRenderer;
  private stopped = true;
  /** Extraction worker threads shared by the running crawls (started with the first crawl, stopped by stop()). */
  private pool: ProcessPool | undefined;
  /**
   * Jobs that ended in this process while their end could not be written to the database (a full disk): how
   * they ended. Their rows still say running (the next start resumes them); progress reports them ended.
   */
  private readonly unrecorded = new Map<string, Pick<JobRecord, 'status' | 'error_message'>>();
  /** Stage times of finished crawls, by job id (for benchmarks). */
  readonly stageTimes = new Map<string, StageTimes>();

  constructor(
    private readonly ctx: JobRunnerHost,
    /** Where crawls have their pages fetched and extracted (remote workers); in this process when absent. */
    private readonly pageSource?: PageSource,
  ) {
    this.events.setMaxListeners(0);
    this.dispatcher = createGuardedDispatcher({
      allowPrivate: ctx.config.allowPrivateNetwork,
      allowlist: ctx.config.allowHosts,
    });
    this.renderer = new ChromiumRenderer(ctx.config.chromiumPath, ctx.config.userAgent, this.dispatcher);
  }

  /**
   * Starts the pool and queues jobs that a previous process left pending or running; with `resume: false` (a
   * command that runs one crawl of its own) leaves them for a server. Returns those jobs, oldest first.
   */
  async start(opts: { resume?: boolean } = {}): Promise<JobRecord[]> {
    this.stopped = false;
    const unfinished = (await this.ctx.store.jobs.unfinished()).reverse(); // oldest first
    if (opts.resume ?? true) {
      for (const job of unfinished) {
        this.ctx.log.info({ job_id: job.job_id, url: job.start_url }, 'resuming crawl job');
        this.queue.push(job.job_id);
      }
    }
    this.pump();
    return unfinished;
  }

  async submit(job: NewJob): Promise<void> {
    await this.ctx.store.jobs.create(job);
    this.queue.push(job.job_id);
    this.pump();
  }

  /** Cancels a pending or running job, with the reason its row keeps; false when it had already finished. */
  async cancel(jobId: string, reason = 'cancelled by request'): Promise<boolean> {
    const queued = this.queue.indexOf(jobId);
    if (queued >= 0) this.queue.splice(queued, 1);
    const run = this.running.get(jobId);
    if (run) {
      run.cancelled ??= reason;
      run.abort.abort();
      await run.done;
      return true;
    }
    const job = await this.ctx.store.jobs.get(jobId);
    if (!job || FINISHED_STATUSES.includes(job.status)) return false;
    await this.finish(jobId, 'cancelled', reason);
    return true;
  }

  /** Whether this runner runs or has queued the job. */
  runs(jobId: string): boolean {
    return this.running.has(jobId) || this.queue.includes(jobId);
  }

  /** Jobs running in this process right now. */
  activeJobs(): number {
    return this.running.size;
  }

  onProgress(jobId: string, fn: (job: JobRecord) => void): () => void {
    return this.onAnyProgress((job) => {
      if (job.job_id === jobId) fn(job);
    });
  }

  /** Progress of every job (the web interface's job list); returns an unsubscribe function. */
  onAnyProgress(fn: (job: JobRecord) => void): () => void {
    this.events.on('progress', fn);
    return () => this.events.off('progress', fn);
  }

  /** Resolves with the job's final row when it has finished. */
  waitFor(jobId: string): Promise<JobRecord> {
    return new Promise((resolve, reject) => {
      const check = async () => {
        const row = await this.ctx.store.jobs.get(jobId);
        if (!row) return reject(new Error(`no job ${jobId}`));
        const job = this.asEnded(row);
        if (FINISHED_STATUSES.includes(job.status)) {
          off();
          resolve(job);
        }
      };
      const off = this.onProgress(jobId, () => void check().catch(reject));
      void check().catch(reject);
    });
  }

  /** The job as this process ended it, when that could not be written to the database; else as stored. */
  asEnded(job: JobRecord): JobRecord {
    const ended = this.unrecorded.get(job.job_id);
    return ended && !FINISHED_STATUSES.includes(job.status) ? { ...job, ...ended } : job;
  }

  /**
   * Stops the pool. Running jobs are interrupted but stay `running` in the database, so the next
   * start() resumes them; pages stored so far are kept.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    this.queue.length = 0;
    const runs = [...this.running.values()];
    for (const r of runs) r.abort.abort();
    await Promise.allSettled(runs.map((r) => r.done));
    await this.renderer.close().catch(() => {});
    await this.pool?.close();
    this.pool = undefined;
    // destroy, not close: the crawls have ended, and close() would wait for a connection attempt they left
    // behind (to a host that does not answer: until the connect timeout).
    await this.dispatcher.destroy().catch(() => {});
  }

  private pump(): void {
    while (!this.stopped && this.running.size < this.ctx.config.workers && this.queue.length) {
      const jobId = this.queue.shift()!;
      if (this.running.has(jobId)) continue;
      const abort = new AbortController();
      const entry: { abort: AbortController; cancelled?: string; done: Promise<void> } = { abort, done: Promise.resolve() };
      entry.done = this.runJob(jobId, abort.signal, () => entry.cancelled)
        .catch((e: unknown) => {
          // runJob fails the job itself; this is an error while doing that (e.g. the database is closing)
          this.ctx.log.error({ job_id: jobId, err: errorMessage(e) }, 'crawl job could not be run or finished');
        })
        .finally(() => {
          this.running.delete(jobId);
          this.pump();
        });
      this.running.set(jobId, entry);
    }
  }

  private async runJob(jobId: string, signal: AbortSignal, wasCancelled: () => string | undefined): Promise<void> {
    const { store, log } = this.ctx;
    const job = await store.jobs.get(jobId);
    if (!job || FINISHED_STATUSES.includes(job.status)) return;
    if (job.attempts >= MAX_JOB_ATTEMPTS) {
      const msg =
        `Doctor stopped while running this job ${job.attempts} times in a row before it made progress ` +
        '(a page that crashes or hangs the process?), so it is not resumed again. See the log of those runs; ' +
        'start a new crawl to try again.';
      log.error({ job_id: jobId, attempts: job.attempts }, 'crawl job failed: it never made progress after restarts');
      await this.finish(jobId, 'failed', msg);
      return;
    }
    // counted before anything can crash; the crawl clears it as soon as it makes progress
    await store.jobs.setAttempts(jobId, job.attempts + 1);
    await store.jobs.update(jobId, { status: 'running' });
    this.emit(jobId);
    let crawl: Crawl | undefined;
    try {
      crawl = new Crawl({ ...job, status: 'running' }, {
        config: this.ctx.config,
        store,
        embedder: this.ctx.embedder,
        log,
        dispatcher: this.dispatcher,
        renderer: this.renderer.available ? this.renderer : undefined,
        // Pages from a remote source come processed: no extraction threads then.
        pool: this.pageSource ? undefined : (this.pool ??= new ProcessPool({ size: this.ctx.config.extractWorkers, pageDeadlineMs: this.ctx.config.extractTimeoutMs })),
        onProgress: (j) => this.publish(j),
        pageSource: this.pageSource,
      }, signal);
      const result = await crawl.run();
      await this.finish(jobId, result.status, result.error ?? null);
      log.info({ job_id: jobId, status: result.status, error: result.error }, 'crawl finished');
    } catch (e) {
      if (e instanceof CrawlCancelled || signal.aborted) {
        const reason = wasCancelled();
        if (reason !== undefined) await this.finish(jobId, 'cancelled', reason);
        else {
          // The process is stopping: the job stays `running` and resumes at the next start. An orderly
          // stop is no crash: this start does not count (unless the crawl already cleared the count).
          const now = await store.jobs.get(jobId);
          if (now && now.attempts > job.attempts) await store.jobs.setAttempts(jobId, job.attempts);
        }
        return;
      }
      const msg = errorMessage(e);
      log.error({ job_id: jobId, err: msg }, 'crawl failed');
      await this.finish(jobId, 'failed', msg);
    } finally {
      if (crawl) this.stageTimes.set(jobId, crawl.stages);
    }
  }

  private async finish(jobId: string, status: 'completed' | 'failed' | 'cancelled', error: string | null): Promise<void> {
    try {
      // the end and the frontier's removal in one transaction: a job whose end is not written resumes from it
      await this.ctx.store.db.transaction(async (tx) => {
        await this.ctx.store.jobs.update(jobId, { status, error_message: error }, tx);
        await new FrontierStore(this.ctx.store.db).forget(jobId, tx);
      });
      this.unrecorded.delete(jobId);
    } catch (e) {
      // Waiters (doctor crawl, job_progress) must not see it running forever: they see how it ended.
      const why = errorMessage(e);
      this.unrecorded.set(jobId, {
        status,
        error_message:
          `${error ?? status}. Its end could not be written to the database (${why}), so the job is still running there: ` +
          'it resumes when doctor serve next starts (doctor cancel <job_id> ends it before that).',
      });
      this.ctx.log.error({ job_id: jobId, status, err: why }, 'the end of a crawl job could not be stored; it resumes at the next start');
    }
    this.emit(jobId);
  }

  private emit(jobId: string): void {
    this.ctx.store.jobs
      .get(jobId)
      .then((job) => job && this.publish(this.asEnded(job)))
      .catch((e: unknown) => this.ctx.log.warn({ job_id: jobId, err: errorMessage(e) }, 'could not read the job to report its progress'));
  }

  /** Tells the progress listeners; a failing listener (a closed MCP stream...) is logged, not thrown. */
  private publish(job: JobRecord): void {
    try {
      this.events.emit('progress', job);
    } catch (e) {
      this.ctx.log.warn({ job_id: job.job_id, err: errorMessage(e) }, 'progress listener failed');
    }
  }
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
