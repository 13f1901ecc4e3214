/**
 * Group commit for crawl writes: pages finished at about the same time are written in one transaction
 * (each commit costs a WAL sync of ~4 ms here, more than writing a page). If a grouped transaction fails,
 * its writes are retried one by one so that one bad page cannot fail its neighbours. The transactions are
 * batched (Tx.batched): the stores buffer the group's rows and append them once, before COMMIT.
 */
import type { Database, Tx } from '../db/database.js';

type Write = { fn: (tx: Tx) => Promise<void>; resolve: () => void; reject: (e: unknown) => void };

export class GroupWriter {
  private queue: Write[] = [];
  private running = false;

  constructor(
    private readonly db: Database,
    private readonly maxGroup = 64,
  ) {}

  /** Resolves when `fn` has been committed (alone or with others). */
  write(fn: (tx: Tx) => Promise<void>): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ fn, resolve, reject });
      if (!this.running) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length) {
        const group = this.queue.splice(0, this.maxGroup);
        try {
          await this.db.transaction(
            async (tx) => {
              for (const w of group) await w.fn(tx);
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
