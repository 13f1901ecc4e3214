/** A minimal async mutex: callers run one at a time, in arrival order. */
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();

  runExclusive<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn, fn);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

/**
 * Hands out idle items (e.g. connections) one caller at a time, waiting when none is idle. Waiters are
 * grouped in lanes and served round-robin across lanes (FIFO within a lane), so one lane with many waiters
 * (30 concurrent searches) cannot starve another (a crawl's reads).
 */
export class ConnectionPool<T = unknown> {
  private readonly idle: T[];
  private readonly lanes = new Map<string, ((item: T) => void)[]>();
  private readonly size: number;
  /** drain() waiting for items: served after every lane's waiters. */
  private readonly drainers: ((item: T) => void)[] = [];

  constructor(items: readonly T[]) {
    this.idle = [...items];
    this.size = items.length;
  }

  /**
   * Takes every item for good, once the callers using or waiting for one are done with it (before closing
   * them: a connection closed under a running query can hang or abort the process).
   */
  async drain(): Promise<T[]> {
    const taken: T[] = [];
    while (taken.length < this.size) {
      taken.push(this.idle.pop() ?? (await new Promise<T>((resolve) => this.drainers.push(resolve))));
    }
    return taken;
  }

  async use<R>(fn: (item: T) => Promise<R>, lane = 'default'): Promise<R> {
    const item = this.idle.pop() ?? (await this.wait(lane));
    try {
      return await fn(item);
    } finally {
      this.release(item);
    }
  }

  private wait(lane: string): Promise<T> {
    return new Promise<T>((resolve) => {
      const queue = this.lanes.get(lane);
      if (queue) queue.push(resolve);
      else this.lanes.set(lane, [resolve]);
    });
  }

  private release(item: T): void {
    // The first lane in the map is served, then moves to the back: round-robin over lanes with waiters.
    const first = this.lanes.entries().next();
    if (first.done) {
      const drainer = this.drainers.shift();
      if (drainer) drainer(item);
      else this.idle.push(item);
      return;
    }
    const [lane, queue] = first.value;
    const next = queue.shift()!;
    this.lanes.delete(lane);
    if (queue.length) this.lanes.set(lane, queue);
    next(item);
  }
}
