// "Wait until the client has sent X" for tests driving a fake model session. Events already received
// count, and each event satisfies one wait only, so sequential waits for the same type step through
// the client's events in order.
import type { ClientEvent, ClientEventType } from './model-protocol.js';

/** Client events a test can wait for (appends are counted, not listed; see waitForAppendedMs). */
export type WaitableType = Exclude<ClientEventType, 'input_audio_buffer.append'>;
export type EventOf<T extends ClientEventType> = Extract<ClientEvent, { type: T }>;

interface Waiter {
  test(e: ClientEvent): boolean;
  resolve(e: ClientEvent): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

interface Threshold {
  ms: number;
  resolve(): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

function isType<T extends ClientEventType>(e: ClientEvent, type: T): e is EventOf<T> {
  return e.type === type;
}

export class EventWaiters {
  private readonly consumed = new WeakSet<ClientEvent>();
  private waiters: Waiter[] = [];
  private thresholds: Threshold[] = [];
  private closedError: Error | undefined;

  constructor(private readonly received: readonly ClientEvent[]) {}

  waitFor<T extends WaitableType>(
    type: T,
    predicate: ((e: EventOf<T>) => boolean) | undefined,
    timeoutMs: number,
  ): Promise<EventOf<T>> {
    const test = (e: ClientEvent): boolean => isType(e, type) && (!predicate || predicate(e)) && !this.consumed.has(e);
    const hit = this.received.find(test);
    if (hit && isType(hit, type)) {
      this.consumed.add(hit);
      return Promise.resolve(hit);
    }
    if (this.closedError) return Promise.reject(this.closedError);
    return new Promise<EventOf<T>>((resolve, reject) => {
      const w: Waiter = {
        test,
        resolve: (e) => {
          if (isType(e, type)) resolve(e);
        },
        reject,
        timer: setTimeout(() => {
          this.waiters = this.waiters.filter((x) => x !== w);
          reject(new Error(`timed out after ${timeoutMs} ms waiting for client event ${type}`));
        }, timeoutMs),
      };
      this.waiters.push(w);
    });
  }

  /** Resolves once `appendedMs()` reaches `ms`. */
  waitForMs(ms: number, current: number, timeoutMs: number): Promise<void> {
    if (current >= ms) return Promise.resolve();
    if (this.closedError) return Promise.reject(this.closedError);
    return new Promise<void>((resolve, reject) => {
      const t: Threshold = {
        ms,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.thresholds = this.thresholds.filter((x) => x !== t);
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${ms} ms of appended audio (have ${current})`));
        }, timeoutMs),
      };
      this.thresholds.push(t);
    });
  }

  get wantsAudioProgress(): boolean {
    return this.thresholds.length > 0;
  }

  /** A client event arrived (after it was pushed to `received`). */
  notify(e: ClientEvent): void {
    const w = this.waiters.find((x) => x.test(e));
    if (!w) return;
    this.consumed.add(e);
    this.waiters = this.waiters.filter((x) => x !== w);
    clearTimeout(w.timer);
    w.resolve(e);
  }

  audioProgress(ms: number): void {
    const due = this.thresholds.filter((t) => ms >= t.ms);
    if (due.length === 0) return;
    this.thresholds = this.thresholds.filter((t) => ms < t.ms);
    for (const t of due) {
      clearTimeout(t.timer);
      t.resolve();
    }
  }

  /** The socket closed: pending and future waits fail fast instead of timing out. */
  close(): void {
    this.closedError = new Error('fake model session closed');
    for (const w of this.waiters) {
      clearTimeout(w.timer);
      w.reject(this.closedError);
    }
    for (const t of this.thresholds) {
      clearTimeout(t.timer);
      t.reject(this.closedError);
    }
    this.waiters = [];
    this.thresholds = [];
  }
}
