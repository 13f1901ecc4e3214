/** The `jobs` table: crawl jobs and their progress. */
import type { Database, Tx } from '../db/database.js';
import { VARCHAR_LIST, parseJson, timestamptz, TIMESTAMP_TZ, toDate, varcharList } from './sql-values.js';

/** Every state a crawl job can be in. */
export const JOB_STATUSES = ['pending', 'running', 'completed', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
export const FINISHED_STATUSES: readonly JobStatus[] = ['completed', 'failed', 'cancelled'];

export interface SkippedUrl {
  url: string;
  reason: string;
}

export interface JobRecord {
  job_id: string;
  start_url: string;
  status: JobStatus;
  pages_discovered: number;
  pages_crawled: number;
  pages_skipped: number;
  max_pages: number;
  max_depth: number | null;
  tags: string[];
  /** Crawl options as given (scope, include/exclude, render...). */
  options: Record<string, unknown>;
  /** URLs skipped with the reason (bounded list). */
  skipped: SkippedUrl[];
  error_message: string | null;
  /**
   * Starts of this job in a row that ended without progress (the process stopped while running it, or
   * crashed). Reset when the job makes progress; the job runner fails a job past its limit.
   */
  attempts: number;
  created_at: Date;
  updated_at: Date;
}

export type NewJob = Pick<JobRecord, 'job_id' | 'start_url' | 'max_pages' | 'max_depth' | 'tags' | 'options'>;
export type JobUpdate = Partial<
  Pick<JobRecord, 'status' | 'pages_discovered' | 'pages_crawled' | 'pages_skipped' | 'skipped' | 'error_message'>
>;

const UPDATABLE = ['status', 'pages_discovered', 'pages_crawled', 'pages_skipped', 'skipped', 'error_message'] as const;

/** Job rows with their attempt count (kept in job_attempts: see schema version 3). */
const SELECT_JOBS = 'SELECT jobs.*, coalesce(job_attempts.attempts, 0) AS attempts FROM jobs LEFT JOIN job_attempts USING (job_id)';

export class JobStore {
  constructor(private readonly db: Database) {}

  async create(job: NewJob, tx?: Tx): Promise<JobRecord> {
    const now = new Date();
    const sql = `INSERT INTO jobs (job_id, start_url, status, max_pages, max_depth, tags, options, skipped, created_at, updated_at)
       VALUES ($job_id, $start_url, 'pending', $max_pages, $max_depth, $tags, $options, '[]', $now, $now)`;
    const params = {
      job_id: job.job_id,
      start_url: job.start_url,
      max_pages: job.max_pages,
      max_depth: job.max_depth,
      tags: varcharList(job.tags),
      options: JSON.stringify(job.options ?? {}),
      now: timestamptz(now),
    };
    const types = { tags: VARCHAR_LIST, now: TIMESTAMP_TZ };
    if (tx) await tx.run(sql, params, types);
    else await this.db.run(sql, params, types);
    return (await this.get(job.job_id, tx))!;
  }

  async get(jobId: string, tx?: Tx): Promise<JobRecord | undefined> {
    const rows = await (tx ?? this.db).all<JobRecord>(`${SELECT_JOBS} WHERE job_id = ?`, [jobId]);
    return rows[0] ? toJob(rows[0]) : undefined;
  }

  /**
   * A job by full id or by an unambiguous prefix (8+ characters). Returns undefined when nothing matches;
   * throws when the prefix matches several jobs.
   */
  async find(idOrPrefix: string): Promise<JobRecord | undefined> {
    const exact = await this.get(idOrPrefix);
    if (exact || idOrPrefix.length < 8) return exact;
    const rows = await this.db.all<JobRecord>(`${SELECT_JOBS} WHERE starts_with(job_id, ?) LIMIT 2`, [idOrPrefix]);
    if (rows.length > 1) throw new AmbiguousJobIdError(`job id prefix "${idOrPrefix}" matches several jobs: give more characters.`);
    return rows[0] ? toJob(rows[0]) : undefined;
  }

  async update(jobId: string, fields: JobUpdate, tx?: Tx): Promise<void> {
    const sets: string[] = ['updated_at = $now'];
    const params: Record<string, ReturnType<typeof timestamptz> | string | number | null> = {
      job_id: jobId,
      now: timestamptz(new Date()),
    };
    for (const key of UPDATABLE) {
      const v = fields[key];
      if (v === undefined) continue;
      sets.push(`${key} = $${key}`);
      params[key] = key === 'skipped' ? JSON.stringify(v) : (v as string | number | null);
    }
    const sql = `UPDATE jobs SET ${sets.join(', ')} WHERE job_id = $job_id`;
    const types = { now: TIMESTAMP_TZ };
    if (tx) await tx.run(sql, params, types);
    else await this.db.run(sql, params, types);
  }

  /** Sets the job's attempt count (see {@link JobRecord.attempts}). */
  async setAttempts(jobId: string, attempts: number): Promise<void> {
    await this.db.run(
      'INSERT INTO job_attempts (job_id, attempts) VALUES (?, ?) ON CONFLICT (job_id) DO UPDATE SET attempts = excluded.attempts',
      [jobId, attempts],
    );
  }

  /** Jobs waiting to start. */
  async countPending(): Promise<number> {
    const [row] = await this.db.all<{ n: number }>("SELECT count(*)::INTEGER AS n FROM jobs WHERE status = $status", { status: 'pending' });
    return row?.n ?? 0;
  }

  /** The oldest pending or running job that crawls from this start URL, if any. */
  async unfinishedFrom(startUrl: string): Promise<JobRecord | undefined> {
    const rows = await this.db.all<JobRecord>(
      `${SELECT_JOBS} WHERE start_url = ? AND status IN ('pending', 'running') ORDER BY created_at, job_id LIMIT 1`,
      [startUrl],
    );
    return rows[0] ? toJob(rows[0]) : undefined;
  }

  /** Newest first. */
  async list(opts: { status?: readonly JobStatus[]; limit?: number } = {}): Promise<JobRecord[]> {
    const rows = await this.db.all<JobRecord>(
      `${SELECT_JOBS} WHERE $statuses IS NULL OR list_contains($statuses, status)
       ORDER BY created_at DESC, job_id LIMIT $limit`,
      { statuses: opts.status ? varcharList(opts.status) : null, limit: opts.limit ?? 100 },
      { statuses: VARCHAR_LIST },
    );
    return rows.map(toJob);
  }

  /**
   * Cancels a pending or running job in the table alone, for a process that holds the database but runs
   * no jobs (no other process can be running it then). Returns false when the job had already finished.
   */
  async cancelUnheld(jobId: string, reason: string): Promise<boolean> {
    const rows = await this.db.transaction((tx) =>
      tx.all<{ job_id: string }>(
        `UPDATE jobs SET status = 'cancelled', error_message = $reason, updated_at = $now
         WHERE job_id = $job_id AND status IN ('pending', 'running') RETURNING job_id`,
        { job_id: jobId, reason, now: timestamptz(new Date()) },
        { now: TIMESTAMP_TZ },
      ),
    );
    return rows.length > 0;
  }

  /** Jobs that were pending or running (e.g. when the process stopped): to resume at start-up. */
  unfinished(): Promise<JobRecord[]> {
    return this.list({ status: ['pending', 'running'], limit: 10_000 });
  }
}

export class AmbiguousJobIdError extends Error {
  override name = 'AmbiguousJobIdError';
}

function toJob(row: JobRecord): JobRecord {
  return {
    ...row,
    pages_discovered: Number(row.pages_discovered),
    pages_crawled: Number(row.pages_crawled),
    pages_skipped: Number(row.pages_skipped),
    max_pages: Number(row.max_pages),
    max_depth: row.max_depth === null ? null : Number(row.max_depth),
    attempts: Number(row.attempts ?? 0),
    tags: row.tags ?? [],
    options: parseJson(row.options, {}),
    skipped: parseJson(row.skipped, []),
    created_at: toDate(row.created_at),
    updated_at: toDate(row.updated_at),
  };
}
