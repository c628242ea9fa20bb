import type { CallSummary } from './recorder.js';
import type { TimelineEntry } from './timeline.js';
import type { TranscriptEntry } from './transcript.js';

// A call whose transfer nobody answered comes back to the assistant on a new stream with the same
// CallSid. It is one conversation for the caller, so it is one record: the first half's transcript
// and timeline, a note of what happened to the transfer, then the second half shifted onto the
// first half's clock.

/** Twilio's DialCallStatus for a transfer that did not reach the person. */
export type TransferMiss = 'busy' | 'no-answer' | 'failed' | 'canceled';

export function isTransferMiss(s: string): s is TransferMiss {
  return s === 'busy' || s === 'no-answer' || s === 'failed' || s === 'canceled';
}

export interface ResumedCall {
  first: CallSummary;
  /** The person the caller was being put through to. */
  target: string;
  outcome: TransferMiss;
}

function sumCounts(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] = typeof v === 'number' && typeof prev === 'number' ? prev + v : v;
  }
  return out;
}

export function joinHalves(back: ResumedCall, second: CallSummary): CallSummary {
  const { first } = back;
  const shift = second.startedAt.getTime() - first.startedAt.getTime();
  const note: TranscriptEntry = {
    role: 'system',
    text: `The transfer to ${back.target} was not answered (${back.outcome}); the call came back to the assistant.`,
    atMs: shift,
  };
  const transcript = [...first.transcript, note, ...second.transcript.map((e) => ({ ...e, atMs: e.atMs + shift }))];
  const timeline: TimelineEntry[] = [
    ...first.timeline.filter((e) => e.kind !== 'end'),
    { atMs: shift, kind: 'transfer', target: back.target, outcome: back.outcome },
    ...second.timeline.map((e) => ({ ...e, atMs: e.atMs + shift })),
  ];
  const text = (e: TranscriptEntry) => `${e.role[0]?.toUpperCase()}${e.role.slice(1)}: ${e.text}`;
  return {
    ...second,
    startedAt: first.startedAt,
    durationMs: second.endedAt.getTime() - first.startedAt.getTime(),
    transcript,
    transcriptText: `${first.transcriptText}\n${text(note)}\n${second.transcriptText}`.trim(),
    timeline,
    usage: sumCounts({ ...first.usage }, { ...second.usage }),
    stats: sumCounts({ ...first.stats }, { ...second.stats }) as unknown as CallSummary['stats'],
  };
}
