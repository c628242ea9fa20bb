// What happened in a call, over time: the chart's states as bands, barge-ins, tool calls with
// their durations, the moments the caller finished hearing an answer, and the end. Kept with the
// call record for the console's timeline picture. A few entries per turn, bounded for long calls.

export type TimelineEntry =
  | { atMs: number; kind: 'state'; state: string }
  | { atMs: number; kind: 'bargeIn' }
  | { atMs: number; kind: 'tool'; name: string; ms: number; ok: boolean }
  | { atMs: number; kind: 'heard' }
  /** A transfer: dialing (the redirect was asked for), answered, failed, or how the dial went (no-answer…). */
  | { atMs: number; kind: 'transfer'; target: string; outcome: string }
  /**
   * The model socket dropped and was replaced (ok) or could not be within the bound (not ok);
   * `resumed`: the same conversation went on (xAI resumption), else a new session was seeded with it.
   */
  | { atMs: number; kind: 'reconnect'; gapMs: number; attempts: number; ok: boolean; resumed: boolean }
  | { atMs: number; kind: 'end'; reason: string };

/** About two hours of a busy call; past it, only the end is still added. */
const MAX_ENTRIES = 2000;

export class Timeline {
  private readonly list: TimelineEntry[] = [];

  constructor(private readonly startedAt: number) {}

  private at(): number {
    return Date.now() - this.startedAt;
  }

  state(state: string): void {
    this.add({ atMs: this.at(), kind: 'state', state });
  }

  bargeIn(): void {
    this.add({ atMs: this.at(), kind: 'bargeIn' });
  }

  /** A tool call that took `ms` and has just finished. */
  tool(name: string, ms: number, ok: boolean): void {
    this.add({ atMs: Math.max(0, this.at() - Math.round(ms)), kind: 'tool', name, ms: Math.round(ms), ok });
  }

  transfer(target: string, outcome: string): void {
    this.add({ atMs: this.at(), kind: 'transfer', target, outcome });
  }

  /** Entered when the gap ends; placed at its start. */
  reconnect(gapMs: number, attempts: number, ok: boolean, resumed: boolean): void {
    const ms = Math.round(gapMs);
    this.add({ atMs: Math.max(0, this.at() - ms), kind: 'reconnect', gapMs: ms, attempts, ok, resumed });
  }

  heard(): void {
    this.add({ atMs: this.at(), kind: 'heard' });
  }

  end(reason: string): void {
    this.list.push({ atMs: this.at(), kind: 'end', reason });
  }

  entries(): TimelineEntry[] {
    return [...this.list];
  }

  private add(e: TimelineEntry): void {
    if (this.list.length < MAX_ENTRIES) this.list.push(e);
  }
}
