/**
 * Group commit for crawl writes: pages finished at about the same time are written in one transaction
 * (each commit costs a WAL sync, more than writing a page). If a grouped transaction fails, its writes are
 * retried one by one so that one bad page cannot fail its neighbours. The transactions are batched
 * (Tx.batched): the stores buffer rows and append them in bulk.
 *
 * With `targetRows` and `moreComing` (a crawl), a group stays open while pages keep arriving fast enough to
 * fill it, until it holds `targetRows` chunk rows (the database's row group size), `maxOpenMs` have passed, or
 * no page is on its way.
 * Each write runs as it arrives and the rows are appended whenever a quarter of the target has arrived, so the
 * appends are spread over the group's life instead of blocking the main thread at once (~0.5 s per group).
 * A group of at least a row group's rows is written by DuckDB straight into the file at COMMIT: no WAL copy,
 * and nothing for the final checkpoint to rewrite (python3.11-doc: final checkpoint 1.45 -> ~0.3 s, CPU per page 60.9 -> 53.3 ms;
 * bench/results/crawl.md).
 * Writes commit in the order they were queued (a page's links before the page).
 */
import type { Database, Tx } from '../db/database.js';

type Write = { fn: (tx: Tx) => Promise<void>; rows: number; resolve: () => void; reject: (e: unknown) => void };

export interface GroupWriterOptions {
  /** Chunk rows a group collects before it commits; 0 commits whatever is queued at once. */
  targetRows?: number;
  /** Longest a group stays open waiting for more writes, in ms (default 3,000). */
  maxOpenMs?: number;
  /** Whether more writes are on their way (pages being fetched or processed). */
  moreComing?: () => boolean;
}

/** How often an open group looks for newly queued writes when nothing woke it (ms). */
const POLL_MS = 20;
/** The span over which the arrival rate of rows is measured (ms). */
const RATE_WINDOW_MS = 2000;
/** An open group waits only if the arrival rate promises this much more than its target in time. */
const RATE_MARGIN = 1.2;
/** Appends per open group (its rows are appended whenever this share of the target has arrived). */
const FLUSHES_PER_GROUP = 4;

export class GroupWriter {
  private queue: Write[] = [];
  private running = false;
  private wake?: () => void;
  /** Recent writes with rows: when they were queued and how many rows (for keepOpen's rate). */
  private readonly arrivals: { at: number; rows: number }[] = [];

  constructor(
    private readonly db: Database,
    private readonly opts: GroupWriterOptions = {},
  ) {}

  /** Resolves when `fn` has been committed (alone or with others). `rows`: the chunk rows it appends. */
  write(fn: (tx: Tx) => Promise<void>, rows = 0): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ fn, rows, resolve, reject });
      if (rows > 0 && this.opts.targetRows) this.arrivals.push({ at: performance.now(), rows });
      this.wake?.();
      if (!this.running) void this.drain();
    });
  }

  /**
   * The group stays open for more writes: when rows keep arriving fast enough to reach the target before
   * `maxOpenMs` (judged by the last RATE_WINDOW_MS of arrivals). A slow crawl (small pages, a slow site)
   * commits each group at once, as before: waiting would only delay its pages.
   */
  private keepOpen(rows: number, openedAt: number): boolean {
    const target = this.opts.targetRows ?? 0;
    if (target <= 0 || rows >= target || !this.opts.moreComing?.()) return false;
    const now = performance.now();
    const left = (this.opts.maxOpenMs ?? 3000) - (now - openedAt);
    if (left <= 0) return false;
    while (this.arrivals.length && this.arrivals[0]!.at < now - RATE_WINDOW_MS) this.arrivals.shift();
    if (this.arrivals.length === 0) return false;
    // over the span the window's arrivals cover (at least 100 ms: one early burst says little)
    const span = Math.max(100, now - this.arrivals[0]!.at);
    const perMs = this.arrivals.reduce((sum, a) => sum + a.rows, 0) / span;
    return rows + perMs * left >= target * RATE_MARGIN;
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length) {
        const group: Write[] = [];
        try {
          await this.db.transaction(
            async (tx) => {
              const openedAt = performance.now();
              let rows = 0;
              let unflushed = 0;
              for (;;) {
                const part = this.queue.splice(0);
                for (const w of part) {
                  group.push(w);
                  rows += w.rows;
                  unflushed += w.rows;
                  await w.fn(tx);
                }
                if (!this.keepOpen(rows, openedAt)) return;
                // appended in a few steps: each costs a round of statements, and holds the main thread
                if (unflushed >= (this.opts.targetRows ?? 0) / FLUSHES_PER_GROUP) {
                  await tx.flushDeferred();
                  unflushed = 0;
                }
                if (this.queue.length === 0) {
                  await new Promise<void>((r) => {
                    this.wake = r;
                    setTimeout(r, POLL_MS);
                  });
                  this.wake = undefined;
                }
              }
            },
            { batched: true },
          );
          for (const w of group) w.resolve();
        } catch (e) {
          if (group.length === 1) {
            group[0]!.reject(e);
            continue;
          }
          for (const w of group) {
            try {
              await this.db.transaction((tx) => w.fn(tx), { batched: true });
              w.resolve();
            } catch (err) {
              w.reject(err);
            }
          }
        }
      }
    } finally {
      this.running = false;
    }
  }
}
