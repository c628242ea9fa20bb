// What the caller has actually heard of the assistant's audio. Twilio only tells us through mark
// echoes (docs/protocols.md, "Media Streams: marks and clear" and "Barge-in and truncation"): a mark
// comes back when the audio queued before it has played.
// Marks go out every `markEveryMs` of audio (not after every delta), and between echoes the heard
// position is interpolated with the wall clock, capped at what was sent. Each barge-in bumps the
// generation: marks of an older generation (Twilio echoes all pending marks at once after `clear`)
// are stale and ignored, which is what makes late echoes harmless (openai-agents-js does the same).

export interface PlayedItem {
  itemId: string;
  responseId: string;
  sentMs: number;
  playedMs: number;
}

export interface Truncation {
  itemId: string;
  responseId: string;
  audioEndMs: number;
  sentMs: number;
}

export class Playback {
  generation = 0;
  private items: PlayedItem[] = [];
  private sinceMarkMs = 0;
  private endSeq = 0;
  private awaitingEnd: number | null = null;
  /** When the last valid echo arrived, and when the first audio of this generation was sent. */
  private lastEchoAt: number | null = null;
  private firstSentAt: number | null = null;
  /** Total assistant audio sent to Twilio, all generations (for the call record). */
  totalSentMs = 0;

  constructor(private readonly markEveryMs = 100) {}

  /**
   * Record audio sent to Twilio. Returns a mark name when one should follow this media frame.
   * Hot path: no allocation unless a mark is due.
   */
  sent(responseId: string, itemId: string, bytes: number, now: number): string | null {
    const ms = bytes / 8;
    let item = this.items[this.items.length - 1];
    if (!item || item.itemId !== itemId) {
      item = { itemId, responseId, sentMs: 0, playedMs: 0 };
      this.items.push(item);
    }
    if (this.firstSentAt === null) this.firstSentAt = now;
    item.sentMs += ms;
    this.totalSentMs += ms;
    this.sinceMarkMs += ms;
    if (this.sinceMarkMs < this.markEveryMs) return null;
    this.sinceMarkMs = 0;
    return `${this.generation}:${this.items.length - 1}:${Math.round(item.sentMs)}`;
  }

  /** Mark that follows the last audio of a response: its echo means playback drained. */
  endMark(): string {
    this.sinceMarkMs = 0;
    this.endSeq += 1;
    this.awaitingEnd = this.endSeq;
    return `${this.generation}:end:${this.endSeq}`;
  }

  /** A mark came back from Twilio. Returns 'drained' when the awaited end mark played. */
  echo(name: string, now: number): 'drained' | 'progress' | 'stale' | 'unknown' {
    const [g, a, b] = name.split(':');
    if (g === undefined || a === undefined || b === undefined) return 'unknown';
    if (Number(g) !== this.generation) return 'stale';
    this.lastEchoAt = now;
    if (a === 'end') {
      for (const it of this.items) it.playedMs = it.sentMs;
      if (Number(b) === this.awaitingEnd) {
        this.awaitingEnd = null;
        this.reset();
        return 'drained';
      }
      return 'progress';
    }
    const idx = Number(a);
    const ms = Number(b);
    const item = this.items[idx];
    if (!item || !Number.isFinite(ms)) return 'unknown';
    // Everything before this item has played completely.
    for (let i = 0; i < idx; i++) {
      const earlier = this.items[i];
      if (earlier) earlier.playedMs = earlier.sentMs;
    }
    item.playedMs = Math.max(item.playedMs, Math.min(ms, item.sentMs));
    return 'progress';
  }

  /** Is any sent audio still queued at Twilio (estimated)? */
  isPlaying(now: number): boolean {
    return this.items.some((it) => this.heardMs(it, now) < it.sentMs);
  }

  /**
   * Barge-in: how much of each unfinished item the caller heard (clamped to what was sent), then a
   * new generation so late deltas' marks and cleared echoes are ignored.
   */
  interrupt(now: number): Truncation[] {
    const out: Truncation[] = [];
    let first = true;
    for (const it of this.items) {
      if (it.playedMs >= it.sentMs) continue;
      const heard = first ? this.heardMs(it, now) : it.playedMs;
      out.push({
        itemId: it.itemId,
        responseId: it.responseId,
        audioEndMs: Math.floor(Math.min(heard, it.sentMs)),
        sentMs: it.sentMs,
      });
      first = false;
    }
    this.generation += 1;
    this.awaitingEnd = null;
    this.reset();
    return out;
  }

  private heardMs(it: PlayedItem, now: number): number {
    const since = this.lastEchoAt ?? this.firstSentAt;
    if (since === null) return it.playedMs;
    // Only the item that is playing now advances with the clock; its start is the last echo.
    const idx = this.items.indexOf(it);
    const prevDone = this.items.slice(0, idx).every((p) => p.playedMs >= p.sentMs);
    if (!prevDone) return it.playedMs;
    return Math.min(it.sentMs, it.playedMs + Math.max(0, now - since));
  }

  private reset(): void {
    this.items = [];
    this.sinceMarkMs = 0;
    this.firstSentAt = null;
    this.lastEchoAt = null;
  }
}
