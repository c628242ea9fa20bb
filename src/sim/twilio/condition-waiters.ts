// "Resolve when this holds" for simulated endpoints: conditions are re-checked when the owner says
// something changed (no polling timers), each with its own timeout, and all settle when the owner
// knows nothing will change any more (e.g. the socket closed).

interface Waiter {
  check: () => boolean;
  resolve: () => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export class ConditionWaiters {
  private readonly waiters = new Set<Waiter>();

  get size(): number {
    return this.waiters.size;
  }

  /** Resolves once check() is true; rejects after timeoutMs naming `what`. */
  wait(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const w: Waiter = {
        check,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters.delete(w);
          reject(new Error(`waitFor(${what}) timed out after ${timeoutMs} ms`));
        }, timeoutMs),
      };
      this.waiters.add(w);
    });
  }

  /** Something changed: resolve the waiters whose condition now holds. */
  notify(): void {
    if (this.waiters.size === 0) return;
    for (const w of [...this.waiters]) {
      if (!w.check()) continue;
      this.waiters.delete(w);
      clearTimeout(w.timer);
      w.resolve();
    }
  }

  /** Nothing will change any more: resolve what holds, reject the rest with `why`. */
  finish(why: string): void {
    for (const w of [...this.waiters]) {
      this.waiters.delete(w);
      clearTimeout(w.timer);
      if (w.check()) w.resolve();
      else w.reject(new Error(why));
    }
  }
}
