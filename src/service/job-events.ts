/**
 * Live crawl progress as events, pushed by the job runner (no polling): the web interface's job pages
 * and `GET /job_events` (Server-Sent Events) read these. Each event is a job's progress plus its rate
 * and the time left at that rate.
 */
import { FINISHED_STATUSES, type JobRecord } from '../store/jobs.js';
import type { DoctorContext } from './context.js';
import { ConflictError } from './errors.js';
import { jobEventsInput, parseInput, type JobEventsInput } from './inputs.js';
import { findJob, progressOf, type JobProgress } from './jobs.js';

export interface JobEvent extends JobProgress {
  /** Pages stored per second, over the last ten seconds or so (null until it can be told). */
  pages_per_second: number | null;
  /** Seconds until the queued pages (up to max_pages) are done at that rate; null when unknown or finished. */
  eta_seconds: number | null;
}

export interface JobWatch {
  /** The current state of the watched job (or of every unfinished job), to send first. */
  initial: JobEvent[];
  /** True when a single job was asked for and it has already finished (nothing more will come). */
  finished: boolean;
  close(): void;
}

const WINDOW_MS = 10_000;

/** Stored-page counts over time, per job, for the rate. */
class RateMeter {
  private readonly samples = new Map<string, { t: number; n: number }[]>();

  event(job: JobRecord, now = Date.now()): JobEvent {
    const p = progressOf(job);
    if (p.completed) {
      this.samples.delete(job.job_id);
      return { ...p, pages_per_second: null, eta_seconds: null };
    }
    const list = this.samples.get(job.job_id) ?? [];
    list.push({ t: now, n: job.pages_crawled });
    while (list.length > 2 && now - list[1]!.t >= WINDOW_MS) list.shift();
    this.samples.set(job.job_id, list);
    const first = list[0]!;
    let rate: number | null = null;
    if (now - first.t >= 1000) rate = (job.pages_crawled - first.n) / ((now - first.t) / 1000);
    else if (job.status === 'running' && job.pages_crawled > 0) {
      // No history yet (a watcher that joined mid-crawl): the average since the job was created.
      const secs = (job.updated_at.getTime() - job.created_at.getTime()) / 1000;
      if (secs > 0) rate = job.pages_crawled / secs;
    }
    const queued = Math.max(0, job.pages_discovered - job.pages_crawled - job.pages_skipped);
    const left = Math.min(queued, Math.max(0, job.max_pages - job.pages_crawled));
    const eta = rate && rate > 0 ? Math.round(left / rate) : left === 0 && job.pages_discovered > 0 && job.status === 'running' ? 0 : null;
    return { ...p, pages_per_second: rate === null ? null : Math.round(rate * 100) / 100, eta_seconds: eta };
  }
}

/**
 * Watches one job (job_id given: full id or 8+ character prefix) or every job, calling `send` on every
 * progress change the job runner reports (at most about ten a second per running job).
 */
export async function watchJobs(ctx: DoctorContext, input: JobEventsInput, send: (event: JobEvent) => void): Promise<JobWatch> {
  const { job_id } = parseInput(jobEventsInput, input);
  const runner = ctx.jobs;
  if (!runner?.onProgress || !runner.onAnyProgress) {
    throw new ConflictError('this Doctor process runs no crawl jobs: job events come from `doctor serve`.');
  }
  const meter = new RateMeter();
  // Progress reported while the current state is read is held back, then only what is newer than that
  // state follows it: a watcher never sees a job go back.
  let held: JobRecord[] | undefined = [];
  const live = (j: JobRecord) => (held ? held.push(j) : send(meter.event(j)));
  const initialOf = (snapshot: readonly JobRecord[]): JobEvent[] => {
    const seen = new Map(snapshot.map((j) => [j.job_id, handled(j)]));
    const newer = held!.filter((j) => handled(j) >= (seen.get(j.job_id) ?? -1));
    held = undefined;
    return [...snapshot, ...newer].map((j) => meter.event(j));
  };
  if (job_id) {
    const job = await findJob(ctx, job_id);
    const close = runner.onProgress(job.job_id, live);
    const now = (await ctx.store.jobs.get(job.job_id)) ?? job;
    const finished = FINISHED_STATUSES.includes(now.status);
    if (finished) close();
    return { initial: initialOf([now]), finished, close };
  }
  const close = runner.onAnyProgress(live);
  const unfinished = await ctx.store.jobs.unfinished();
  return { initial: initialOf(unfinished), finished: false, close };
}

/** How far a job has come: pages handled, then whether it finished (a later state never has less). */
function handled(j: JobRecord): number {
  return (j.pages_crawled + j.pages_skipped) * 2 + (FINISHED_STATUSES.includes(j.status) ? 1 : 0);
}
