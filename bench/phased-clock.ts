import { FrameClock, type TickFn } from '../src/sim/clock/frame-clock.js';

// A FrameClock that spreads its subscribers over `phases` inner clocks started periodMs/phases
// apart. One shared clock would fire every simulated call's frame in the same millisecond, a burst
// real Twilio traffic never makes (each call has its own phase), and the relay's queueing behind
// that burst would be measured as latency. Each inner clock also carries a probe that records how
// late its timer fired: the generator's own lag, the sign that it, not the relay, is saturated.

export class PhasedClock extends FrameClock {
  private readonly inner: FrameClock[];
  private readonly probes: (() => void)[] = [];
  private next = 0;
  private lags: number[] = [];

  constructor(
    periodMs = 20,
    readonly phases = 20,
  ) {
    super({ periodMs });
    this.inner = Array.from({ length: phases }, () => new FrameClock({ periodMs }));
  }

  /** Starts the inner clocks, evenly staggered; resolves once all run. */
  async startPhases(): Promise<void> {
    for (const c of this.inner) {
      if (this.probes.length > 0) await new Promise((r) => setTimeout(r, this.periodMs / this.phases));
      // Every inner clock keeps one subscriber (the probe) so it never stops and restarts off-phase.
      this.probes.push(c.subscribe(() => void this.lags.push(Math.max(0, c.lastLatenessMs))));
    }
  }

  /** Round-robin over the phases. */
  override subscribe(fn: TickFn): () => void {
    const c = this.inner[this.next++ % this.phases];
    if (!c) throw new Error('PhasedClock has no phases');
    return c.subscribe(fn);
  }

  /** Timer lateness samples since the last call (ms), and ticks skipped in all phases. */
  takeLag(): { lags: number[]; skipped: number } {
    const lags = this.lags;
    this.lags = [];
    return { lags, skipped: this.inner.reduce((s, c) => s + c.skippedTicks, 0) };
  }

  stopPhases(): void {
    for (const p of this.probes.splice(0)) p();
  }
}
