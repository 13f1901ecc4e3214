/** Crawl job operations: start (fetch_url), progress, cancel, list. */
import { randomUUID } from 'node:crypto';
import { AmbiguousJobIdError, FINISHED_STATUSES, type JobRecord, type JobStatus } from '../store/jobs.js';
import type { DoctorContext } from './context.js';
import { ConflictError, NotFoundError, ValidationError } from './errors.js';
import { fetchUrlInput, jobProgressInput, listJobsInput, parseInput, type FetchUrlInput, type JobProgressInput, type ListJobsInput } from './inputs.js';
import { checkStartUrl } from './url-check.js';
import { isIP } from 'node:net';
import { AddressPolicy } from '../ingest/fetch/net-guard.js';
import { BACKGROUND_LANE, inReadLane } from '../db/read-lane.js';

/** Crawl jobs that may wait to start: a client in a loop would otherwise queue jobs without end. */
export const MAX_PENDING_JOBS = 1000;

/** The last submission per store: the next one waits for it (see fetchUrl). */
const submitting = new WeakMap<object, Promise<unknown>>();

function oneAtATime<T>(key: object, fn: () => Promise<T>): Promise<T> {
  const run = (submitting.get(key) ?? Promise.resolve()).then(fn, fn);
  submitting.set(key, run.catch(() => undefined));
  return run;
}

/**
 * Starts a crawl job and returns its id at once; the job row exists before this returns. `stored.tags`: the
 * tags of a crawl being repeated (recrawl_site), taken as they were stored instead of checked as new input.
 */
export async function fetchUrl(
  ctx: DoctorContext,
  input: FetchUrlInput,
  stored?: { tags: readonly string[] },
): Promise<{ job_id: string; status: JobStatus; url: string }> {
  const p = parseInput(fetchUrlInput, input);
  if (!ctx.jobs) throw new ConflictError('this Doctor process does not run crawl jobs (read-only); use `doctor serve` or `doctor crawl`.');
  const url = checkStartUrl(p.url);
  // Literal private addresses are refused at once; host names are checked on every connection (net-guard).
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  if (isIP(host)) {
    try {
      new AddressPolicy({ allowPrivate: ctx.config.allowPrivateNetwork, allowlist: ctx.config.allowHosts }).check(host, host);
    } catch (e) {
      throw new ValidationError((e as Error).message);
    }
  }
  const job_id = randomUUID();
  // Counted and submitted one request at a time, so that requests arriving together cannot all pass the count.
  await oneAtATime(ctx.store, async () => {
    // A second crawl of the same start URL (a double click, a client retrying, a re-crawl of a site whose crawl
    // runs) would crawl the site again beside the first, and both would store its pages as new: each page twice.
    const same = await ctx.store.jobs.unfinishedFrom(url);
    if (same && ctx.jobs?.runs && !ctx.jobs.runs(same.job_id)) {
      // `doctor crawl` without a server runs only its own crawl: the earlier job waits for a server.
      throw new ConflictError(
        `a crawl of ${url} from an earlier run is unfinished (job ${same.job_id}, ${same.status}; nothing runs it now): ` +
          `\`doctor serve\` resumes it, or cancel it (doctor cancel ${same.job_id}) and start this one again`,
      );
    }
    if (same) {
      throw new ConflictError(
        `a crawl of ${url} is ${same.status} already (job ${same.job_id}): follow it with job_progress, ` +
          'or cancel it with cancel_job and start this one again',
      );
    }
    const waiting = await ctx.store.jobs.countPending();
    if (waiting >= MAX_PENDING_JOBS) {
      throw new ConflictError(
        `${waiting.toLocaleString('en-US')} crawl jobs are waiting to start already (at most ${MAX_PENDING_JOBS.toLocaleString('en-US')}): ` +
          'wait for some to finish, or cancel those not needed (doctor jobs, cancel_job), then start this one again',
      );
    }
    // The crawl runs in the background lane, not in the lane of the request that started it (src/db/read-lane.ts).
    await inReadLane(BACKGROUND_LANE, () => ctx.jobs!.submit({
      job_id,
      start_url: url,
      max_pages: p.max_pages,
      max_depth: p.max_depth ?? 3,
      tags: stored ? [...stored.tags] : (p.tags ?? []),
      options: {
        scope: p.scope ?? 'prefix',
        include: p.include,
        exclude: p.exclude,
        render: p.render,
        respect_robots: p.respect_robots,
      },
    }));
  });
  return { job_id, status: 'pending', url };
}

export interface JobProgress {
  job_id: string;
  status: JobStatus;
  completed: boolean;
  pages_crawled: number;
  pages_discovered: number;
  pages_skipped: number;
  pages_total: number;
  progress_percent: number;
  max_pages: number;
  url: string;
  tags: string[];
  error_message: string | null;
  skipped: { url: string; reason: string }[];
  created_at: string;
  updated_at: string;
}

export function progressOf(job: JobRecord): JobProgress {
  const finished = FINISHED_STATUSES.includes(job.status);
  const total = Math.min(job.max_pages, Math.max(job.pages_discovered, job.pages_crawled));
  const percent = job.status === 'completed' ? 100 : total > 0 ? Math.min(99, Math.floor((job.pages_crawled / total) * 100)) : 0;
  return {
    job_id: job.job_id,
    status: job.status,
    completed: finished,
    pages_crawled: job.pages_crawled,
    pages_discovered: job.pages_discovered,
    pages_skipped: job.pages_skipped,
    pages_total: total,
    progress_percent: percent,
    max_pages: job.max_pages,
    url: job.start_url,
    tags: job.tags,
    error_message: job.error_message,
    skipped: job.skipped,
    created_at: job.created_at.toISOString(),
    updated_at: job.updated_at.toISOString(),
  };
}

/** A job by full id or 8+ character prefix: NotFound when unknown, ValidationError when ambiguous. */
export async function findJob(ctx: DoctorContext, jobId: string): Promise<JobRecord> {
  let job: JobRecord | undefined;
  try {
    job = await ctx.store.jobs.find(jobId);
  } catch (e) {
    if (e instanceof AmbiguousJobIdError) throw new ValidationError(e.message);
    throw e;
  }
  if (!job) throw new NotFoundError(`no job with id "${jobId}" (a full id or its first 8+ characters).`);
  return ctx.jobs?.asEnded?.(job) ?? job;
}

export async function jobProgress(ctx: DoctorContext, input: JobProgressInput): Promise<JobProgress> {
  const { job_id } = parseInput(jobProgressInput, input);
  return progressOf(await findJob(ctx, job_id));
}

export async function cancelJob(ctx: DoctorContext, input: JobProgressInput): Promise<JobProgress> {
  const { job_id } = parseInput(jobProgressInput, input);
  const job = await findJob(ctx, job_id);
  if (ctx.jobs) await ctx.jobs.cancel(job.job_id);
  // This process holds the database and runs no jobs, so no process is running this one (a server would
  // hold the file): cancel it in the table. A crashed server's job can be cancelled this way too.
  else await ctx.store.jobs.cancelUnheld(job.job_id, 'cancelled by request (no server was running it)');
  return progressOf(await findJob(ctx, job.job_id));
}

export async function listJobs(ctx: DoctorContext, input: ListJobsInput = {}) {
  const { status, limit } = parseInput(listJobsInput, input);
  const jobs = await ctx.store.jobs.list({ status, limit });
  return { jobs: jobs.map((j) => progressOf(ctx.jobs?.asEnded?.(j) ?? j)) };
}
