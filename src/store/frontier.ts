/** The persisted crawl frontier (`crawl_frontier`): URLs found per job, in breadth-first order. */
import { INTEGER, LIST, listValue } from '../db/duckdb.js';
import type { Database, Tx } from '../db/database.js';
import { VARCHAR_LIST, varcharList } from './sql-values.js';

export type FrontierState = 'queued' | 'done' | 'skipped';

export interface FrontierEntry {
  url: string;
  depth: number;
  parent_page_id: string | null;
}

export interface FrontierCounts {
  total: number;
  queued: number;
  done: number;
  skipped: number;
}

interface Mark {
  jobId: string;
  url: string;
  state: FrontierState;
  reason: string | null;
  page_id: string | null;
}

export class FrontierStore {
  constructor(private readonly db: Database) {}

  /** Adds URLs not yet known for the job (known ones are left as they are); returns how many were new. */
  async add(jobId: string, entries: readonly FrontierEntry[], outer?: Tx): Promise<number> {
    if (entries.length === 0) return 0;
    const inTx = (fn: (tx: Tx) => Promise<number>) => (outer ? fn(outer) : this.db.transaction(fn));
    return inTx(async (tx) => {
      // one statement: the new URLs numbered after the job's last one (known URLs are left as they are)
      const added = await tx.all<{ url: string }>(
        `INSERT OR IGNORE INTO crawl_frontier (job_id, url, depth, parent_page_id, state, seq)
         SELECT $job, u.url, u.depth, u.parent, 'queued',
                (SELECT coalesce(max(seq), 0) FROM crawl_frontier WHERE job_id = $job) + u.i
         FROM (SELECT unnest($urls) AS url, unnest($depths) AS depth, unnest($parents) AS parent,
                      unnest(range(1, len($urls) + 1)) AS i) u
         RETURNING url`,
        {
          job: jobId,
          urls: varcharList(entries.map((e) => e.url)),
          depths: listValue(entries.map((e) => e.depth)),
          parents: listValue(entries.map((e) => e.parent_page_id)),
        },
        { urls: VARCHAR_LIST, depths: LIST(INTEGER), parents: VARCHAR_LIST },
      );
      return added.length;
    });
  }

  /** Queued entries in breadth-first order, skipping `exclude` (URLs already in flight). */
  async next(jobId: string, limit: number, exclude: readonly string[] = []): Promise<FrontierEntry[]> {
    return this.db.all<FrontierEntry>(
      `SELECT url, depth, parent_page_id FROM crawl_frontier
       WHERE job_id = $job AND state = 'queued' AND NOT list_contains($exclude, url)
       ORDER BY depth, seq LIMIT $limit`,
      { job: jobId, exclude: varcharList(exclude), limit },
      { exclude: VARCHAR_LIST },
    );
  }

  async mark(jobId: string, url: string, state: FrontierState, extra: { reason?: string; page_id?: string } = {}, tx?: Tx): Promise<void> {
    const mark: Mark = { jobId, url, state, reason: extra.reason ?? null, page_id: extra.page_id ?? null };
    if (tx?.batched) {
      // a group commit: every mark of the transaction in one UPDATE before COMMIT
      tx.deferred<Mark[]>(this, () => [], (marks) => this.markAll(tx, marks)).push(mark);
      return;
    }
    await this.markAll(tx ?? this.db, [mark]);
  }

  private async markAll(db: Pick<Tx, 'run'>, marks: readonly Mark[]): Promise<void> {
    if (marks.length === 1) {
      const m = marks[0]!;
      await db.run('UPDATE crawl_frontier SET state = ?, reason = ?, page_id = ? WHERE job_id = ? AND url = ?', [m.state, m.reason, m.page_id, m.jobId, m.url]);
      return;
    }
    // the last mark of a URL wins, as it would with one UPDATE each
    const last = new Map(marks.map((m) => [`${m.jobId}\n${m.url}`, m]));
    const all = [...last.values()];
    await db.run(
      `UPDATE crawl_frontier SET state = m.state, reason = m.reason, page_id = m.page_id
       FROM (SELECT unnest($jobs) AS job_id, unnest($urls) AS url, unnest($states) AS state, unnest($reasons) AS reason,
                    unnest($pages) AS page_id) m
       WHERE crawl_frontier.job_id = m.job_id AND crawl_frontier.url = m.url`,
      {
        jobs: varcharList(all.map((m) => m.jobId)),
        urls: varcharList(all.map((m) => m.url)),
        states: varcharList(all.map((m) => m.state)),
        reasons: listValue(all.map((m) => m.reason)),
        pages: listValue(all.map((m) => m.page_id)),
      },
      { jobs: VARCHAR_LIST, urls: VARCHAR_LIST, states: VARCHAR_LIST, reasons: VARCHAR_LIST, pages: VARCHAR_LIST },
    );
  }

  async counts(jobId: string): Promise<FrontierCounts> {
    const [row] = await this.db.all<FrontierCounts>(
      `SELECT count(*)::INTEGER AS total,
              count(*) FILTER (WHERE state = 'queued')::INTEGER AS queued,
              count(*) FILTER (WHERE state = 'done')::INTEGER AS done,
              count(*) FILTER (WHERE state = 'skipped')::INTEGER AS skipped
       FROM crawl_frontier WHERE job_id = ?`,
      [jobId],
    );
    return row ?? { total: 0, queued: 0, done: 0, skipped: 0 };
  }

  async skipped(jobId: string, limit = 200): Promise<{ url: string; reason: string }[]> {
    return this.db.all(
      "SELECT url, coalesce(reason, '') AS reason FROM crawl_frontier WHERE job_id = ? AND state = 'skipped' ORDER BY seq LIMIT ?",
      [jobId, limit],
    );
  }

  /** Every URL known for the job (to skip links already queued without asking the database). */
  async urls(jobId: string): Promise<Set<string>> {
    const rows = await this.db.all<{ url: string }>('SELECT url FROM crawl_frontier WHERE job_id = ?', [jobId]);
    return new Set(rows.map((r) => r.url));
  }

  async known(jobId: string, url: string): Promise<boolean> {
    const rows = await this.db.all('SELECT 1 FROM crawl_frontier WHERE job_id = ? AND url = ?', [jobId, url]);
    return rows.length > 0;
  }

  /**
   * The text hash of every page this job has stored, with the page's URL (the first one for a hash): a resumed
   * crawl skips pages with the same text as these, as it does within one run.
   */
  async storedTexts(jobId: string): Promise<Map<string, string>> {
    const rows = await this.db.all<{ hash: string; url: string }>(
      `SELECT p.content_hash AS hash, p.url FROM crawl_frontier f JOIN pages p ON p.id = f.page_id
       WHERE f.job_id = ? AND f.state = 'done' AND p.content_hash IS NOT NULL ORDER BY f.seq`,
      [jobId],
    );
    const out = new Map<string, string>();
    for (const r of rows) if (!out.has(r.hash)) out.set(r.hash, r.url);
    return out;
  }

  /**
   * Forgets a finished job's frontier: only a running job reads it (to resume), and the job's row keeps its
   * counts and skipped URLs. Kept, every crawl and re-crawl left a row per URL it found in the file for good.
   */
  async forget(jobId: string, tx: Tx): Promise<void> {
    await tx.run('DELETE FROM crawl_frontier WHERE job_id = ?', [jobId]);
  }

  /** The page stored for a URL by this job (for parent links of pages found from it). */
  async pageIdOf(jobId: string, url: string): Promise<string | undefined> {
    const rows = await this.db.all<{ page_id: string | null }>(
      'SELECT page_id FROM crawl_frontier WHERE job_id = ? AND url = ?',
      [jobId, url],
    );
    return rows[0]?.page_id ?? undefined;
  }
}
