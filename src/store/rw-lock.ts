/**
 * An async readers-writer lock: any number of `shared` holders at once, or one `exclusive` holder.
 * Waiters are served in arrival order, so a waiting writer is not starved by a stream of readers (readers
 * arriving after it wait for it).
 */
export class RwLock {
  private readers = 0;
  private writer = false;
  private readonly waiting: Array<{ write: boolean; go: () => void }> = [];

  async shared<T>(fn: () => Promise<T>): Promise<T> {
    await this.acquire(false);
    try {
      return await fn();
    } finally {
      this.readers--;
      this.wake();
    }
  }

  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    await this.acquire(true);
    try {
      return await fn();
    } finally {
      this.writer = false;
      this.wake();
    }
  }

  /**
   * Takes the exclusive side and returns its release function (for holding it across steps that are not
   * one callback). Call the release exactly once.
   */
  async lockExclusive(): Promise<() => void> {
    await this.acquire(true);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.writer = false;
      this.wake();
    };
  }

  private acquire(write: boolean): Promise<void> {
    if (this.waiting.length === 0 && this.free(write)) {
      this.take(write);
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push({ write, go: resolve }));
  }

  private free(write: boolean): boolean {
    return !this.writer && (!write || this.readers === 0);
  }

  private take(write: boolean): void {
    if (write) this.writer = true;
    else this.readers++;
  }

  private wake(): void {
    while (this.waiting.length && this.free(this.waiting[0]!.write)) {
      const next = this.waiting.shift()!;
      this.take(next.write);
      next.go();
      if (next.write) return;
    }
  }
}
