import type { CallSummary } from './recorder.js';

// Transfers in flight: the first half of a call that left the relay for a person, kept until the
// person's line answers (the record is final) or the call comes back to the assistant (the second
// half continues the same conversation and records both as one). In memory: a transfer takes
// seconds, and a relay restart in between only loses the join (both halves are still recorded).

const KEEP_MS = 10 * 60_000;
const MAX_ENTRIES = 10_000;

export interface TransferEntry {
  /** The first half's record, once its stream has ended. */
  summary?: CallSummary;
  target: string;
  /** Said to the person before the caller is connected. */
  whisper: string;
  at: number;
}

export class TransferLedger {
  private readonly entries = new Map<string, TransferEntry>();

  put(callSid: string, entry: Omit<TransferEntry, 'at'>): void {
    this.prune(Date.now());
    if (this.entries.size >= MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value ?? '');
    this.entries.set(callSid, { ...entry, at: Date.now() });
  }

  /** The first half's stream ended: its record joins the entry. */
  ended(callSid: string, summary: CallSummary): void {
    const e = this.entries.get(callSid);
    if (e) e.summary = summary;
  }

  get(callSid: string): TransferEntry | undefined {
    return this.entries.get(callSid);
  }

  /** The first half, once: the returned call takes it. */
  take(callSid: string): TransferEntry | undefined {
    const e = this.entries.get(callSid);
    this.entries.delete(callSid);
    return e;
  }

  private prune(now: number): void {
    for (const [sid, e] of this.entries) {
      if (now - e.at < KEEP_MS) break;
      this.entries.delete(sid);
    }
  }
}
