import { performance } from 'node:perf_hooks';

// The relay's own part of a tool round trip: from reading the model's response that asks for tools
// to the outputs written to the model socket, minus the tools' own time (first tool started to last
// tool finished; tools of one response run side by side). What the chart, its actors and the call
// add around the merchant's tools; the benchmark reports it (target p99 ≤ 2 ms).

/** Samples kept per call: a call asks for a handful of tools; a benchmark call for one every few seconds. */
const KEEP = 1000;

export class ToolTiming {
  /** Relay overhead per round trip, ms, oldest first. */
  readonly overheadMs: number[] = [];
  private askedAt = 0;
  private firstStart = 0;
  private lastEnd = 0;

  /** A response asking for tools was read. */
  asked(): void {
    this.askedAt = performance.now();
    this.firstStart = 0;
    this.lastEnd = 0;
  }

  /** A tool starts; returns the time. */
  started(): number {
    const now = performance.now();
    if (this.firstStart === 0) this.firstStart = now;
    return now;
  }

  /** A tool finished; returns the time. */
  ended(): number {
    this.lastEnd = performance.now();
    return this.lastEnd;
  }

  /** The outputs were written to the model socket. */
  sent(): void {
    if (this.askedAt === 0 || this.firstStart === 0 || this.lastEnd === 0) return;
    const ms = this.firstStart - this.askedAt + (performance.now() - this.lastEnd);
    this.askedAt = 0;
    if (this.overheadMs.length >= KEEP) this.overheadMs.shift();
    this.overheadMs.push(ms);
  }
}
