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

  constructor(items: readonly T[]) {
    this.idle = [...items];
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
      this.idle.push(item);
      return;
    }
    const [lane, queue] = first.value;
    const next = queue.shift()!;
    this.lanes.delete(lane);
    if (queue.length) this.lanes.set(lane, queue);
    next(item);
  }
}
