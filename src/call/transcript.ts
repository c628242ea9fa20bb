// The call's transcript in conversation order. Caller transcription arrives late (often after the
// assistant already answered), so each turn gets its slot when the turn happens (committed user
// item, assistant output item) and the text fills in whenever it comes. An interrupted assistant
// turn is trimmed to roughly what the caller heard and marked as interrupted.

export type TranscriptRole = 'caller' | 'assistant' | 'tool' | 'system';

const ROLE_LABEL: Record<TranscriptRole, string> = {
  caller: 'Caller',
  assistant: 'Assistant',
  tool: 'Tool',
  system: 'System',
};

export interface TranscriptEntry {
  role: TranscriptRole;
  text: string;
  /** ms since the call started. */
  atMs: number;
  interrupted?: boolean;
}

interface Slot {
  role: TranscriptRole;
  itemId: string | null;
  text: string | null;
  /** The final text arrived; deltas no longer apply. */
  final: boolean;
  atMs: number;
  /** Fraction of the assistant's audio the caller heard (set on barge-in). */
  heardFraction?: number;
}

const MAX_ENTRIES = 2000;

export class Transcript {
  private slots: Slot[] = [];
  private byItem = new Map<string, Slot>();

  constructor(
    private readonly startedAt: number,
    private readonly now: () => number = Date.now,
  ) {}

  private at(): number {
    return this.now() - this.startedAt;
  }

  private slot(role: TranscriptRole, itemId: string | null): Slot {
    if (itemId) {
      const existing = this.byItem.get(itemId);
      if (existing) return existing;
    }
    const s: Slot = { role, itemId, text: null, final: false, atMs: this.at() };
    if (this.slots.length < MAX_ENTRIES) this.slots.push(s);
    if (itemId) this.byItem.set(itemId, s);
    return s;
  }

  /** A caller turn was committed: reserve its place before its text is known. */
  callerTurn(itemId: string): void {
    this.slot('caller', itemId);
  }

  callerText(itemId: string, text: string): void {
    this.slot('caller', itemId || null).text = text.trim();
  }

  assistantTurn(itemId: string): void {
    this.slot('assistant', itemId);
  }

  assistantText(itemId: string, text: string): void {
    const s = this.slot('assistant', itemId || null);
    s.text = text.trim();
    s.final = true;
  }

  /** Streaming assistant text: kept so a call that ends mid-sentence still has what was said. */
  assistantDelta(itemId: string, delta: string): void {
    if (!itemId) return;
    const s = this.slot('assistant', itemId);
    if (!s.final) s.text = (s.text ?? '') + delta;
  }

  /** The caller heard `heardMs` of `sentMs` of this item before talking over it. */
  interrupted(itemId: string, heardMs: number, sentMs: number): void {
    const s = this.slot('assistant', itemId);
    s.heardFraction = sentMs > 0 ? Math.max(0, Math.min(1, heardMs / sentMs)) : 0;
  }

  note(role: 'tool' | 'system' | 'caller', text: string): void {
    const s = this.slot(role, null);
    s.text = text;
  }

  entries(): TranscriptEntry[] {
    const out: TranscriptEntry[] = [];
    for (const s of this.slots) {
      if (s.text === null || s.text.trim() === '') continue;
      if (s.heardFraction !== undefined) {
        out.push({
          role: s.role,
          text: trimToFraction(s.text.trim(), s.heardFraction),
          atMs: s.atMs,
          interrupted: true,
        });
      } else {
        out.push({ role: s.role, text: s.text.trim(), atMs: s.atMs });
      }
    }
    return out;
  }

  text(): string {
    return this.entries()
      .map((e) => `${ROLE_LABEL[e.role]}: ${e.text}${e.interrupted ? ' [interrupted]' : ''}`)
      .join('\n');
  }
}

/** Keep the words spoken in the heard part of the audio (speech rate is roughly even). */
export function trimToFraction(text: string, fraction: number): string {
  if (fraction >= 1) return text;
  const cut = Math.round(text.length * fraction);
  if (cut <= 0) return '…';
  const head = text.slice(0, cut);
  const lastSpace = head.lastIndexOf(' ');
  const words = lastSpace > 0 && cut < text.length && text[cut] !== ' ' ? head.slice(0, lastSpace) : head;
  return `${words.trimEnd()}…`;
}
