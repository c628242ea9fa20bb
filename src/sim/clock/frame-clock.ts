// One shared frame ticker for every simulated call in a process: hundreds of callers at 50 frames a
// second must not mean hundreds of setIntervals. Ticks are scheduled from absolute time so they do
// not drift; a late timer runs the missed ticks (bounded, so an overloaded process degrades by
// skipping ticks instead of spinning), and the timer stops when nobody listens so processes exit.
import { performance } from 'node:perf_hooks';
import { log } from '../../log.js';

export type TickFn = (tickNo: number, now: number) => void;

export interface FrameClockOptions {
  /** Tick period in ms (default 20, one Twilio media frame). */
  periodMs?: number;
  /** Most ticks run back-to-back after a late timer; older missed ticks are skipped. Default 5. */
  maxCatchUp?: number;
}

export class FrameClock {
  readonly periodMs: number;
  private readonly maxCatchUp: number;
  private subs: TickFn[] = [];
  private timer: NodeJS.Timeout | undefined;
  private epoch = 0;
  private tick = 0;
  /** Ticks dropped because the process was too late to run them (a load indicator). */
  skippedTicks = 0;
  /** How late the latest timer fired, in ms (a load indicator). */
  lastLatenessMs = 0;

  constructor(opts: FrameClockOptions = {}) {
    this.periodMs = opts.periodMs ?? 20;
    this.maxCatchUp = Math.max(1, opts.maxCatchUp ?? 5);
    if (!(this.periodMs > 0)) throw new Error('FrameClock periodMs must be > 0');
  }

  get subscriberCount(): number {
    return this.subs.length;
  }

  get running(): boolean {
    return this.timer !== undefined;
  }

  /** Current tick number (0 before the first tick since the clock last started). */
  get tickNo(): number {
    return this.tick;
  }

  /**
   * Call `fn(tickNo, now)` on every tick, `now` being performance.now(). All subscribers of a tick
   * see the same tickNo. Returns the unsubscribe function (idempotent).
   */
  subscribe(fn: TickFn): () => void {
    // Copy-on-write so a subscriber may (un)subscribe from inside a tick safely.
    this.subs = [...this.subs, fn];
    if (!this.timer) this.start();
    let active = true;
    return () => {
      if (!active) return;
      active = false;
      const i = this.subs.indexOf(fn);
      if (i >= 0) this.subs = [...this.subs.slice(0, i), ...this.subs.slice(i + 1)];
      if (this.subs.length === 0) this.stop();
    };
  }

  private start(): void {
    this.epoch = performance.now();
    this.tick = 0;
    this.schedule();
  }

  private stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    const due = this.epoch + (this.tick + 1) * this.periodMs;
    this.timer = setTimeout(this.onTimer, Math.max(0, due - performance.now()));
  }

  private readonly onTimer = (): void => {
    this.timer = undefined;
    const now = performance.now();
    const target = Math.floor((now - this.epoch) / this.periodMs);
    this.lastLatenessMs = now - (this.epoch + (this.tick + 1) * this.periodMs);
    if (target - this.tick > this.maxCatchUp) {
      this.skippedTicks += target - this.tick - this.maxCatchUp;
      this.tick = target - this.maxCatchUp;
    }
    const epoch = this.epoch; // a stop+restart inside a subscriber starts a new timeline: stop this loop
    while (this.tick < target && this.subs.length > 0 && this.epoch === epoch) {
      this.tick++;
      const subs = this.subs;
      for (const fn of subs) {
        try {
          fn(this.tick, now);
        } catch (err) {
          log.error({ err }, 'frame clock subscriber threw');
        }
      }
    }
    if (this.subs.length > 0 && !this.timer) this.schedule();
  };
}

const shared = new Map<number, FrameClock>();

/** The process-wide clock for a period (default 20 ms); created on first use. */
export function sharedFrameClock(periodMs = 20): FrameClock {
  let c = shared.get(periodMs);
  if (!c) {
    c = new FrameClock({ periodMs });
    shared.set(periodMs, c);
  }
  return c;
}
