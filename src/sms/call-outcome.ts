import type { CallSummary } from '../call/recorder.js';

// The line posted back to the SMS thread when a call placed by @call is over: answered or
// voicemail, how long, and a one-line gist taken from the transcript (no model needed: what the
// person said first, else the assistant's last words).

const QUOTE_MAX = 160;

export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
}

function quote(text: string): string {
  const t = text.replace(/\s+/g, ' ').trim();
  return `"${t.length > QUOTE_MAX ? `${t.slice(0, QUOTE_MAX - 1).trimEnd()}…` : t}"`;
}

/** machine_start / machine_end_* / fax: the call reached a machine, not a person. */
export function reachedMachine(s: Pick<CallSummary, 'answeredBy' | 'endReason'>): boolean {
  const a = s.answeredBy ?? '';
  return a.startsWith('machine') || a === 'fax' || s.endReason === 'voicemail_left';
}

export function describeCallOutcome(s: CallSummary): string {
  const who = s.callerPhone ?? 'the number';
  const machine = reachedMachine(s);
  const head = `Call to ${who}: ${machine ? 'reached voicemail' : 'answered'}, ${formatDuration(s.durationMs)}.`;
  const said = (role: 'caller' | 'assistant') => s.transcript.filter((e) => e.role === role && e.text.trim() !== '');
  const caller = said('caller')[0];
  const assistant = said('assistant').at(-1);
  let gist: string;
  if (machine) gist = assistant ? `Message left: ${quote(assistant.text)}` : 'No message was left.';
  else if (caller) gist = `They said: ${quote(caller.text)}`;
  else if (assistant) gist = `They said nothing; the assistant's last words: ${quote(assistant.text)}`;
  else gist = 'Nothing was said.';
  const trouble =
    s.endReason === 'model_dropped' ||
    s.endReason === 'model_error' ||
    s.endReason === 'model_connect_timeout' ||
    s.endReason === 'model_stalled';
  return `${head} ${gist}${trouble ? ' (The call ended early because of a technical problem.)' : ''}`;
}

const UNANSWERED: Record<string, string> = {
  busy: 'the line was busy',
  'no-answer': 'nobody answered',
  failed: 'the call could not be connected',
  canceled: 'the call was canceled',
};

/**
 * For Twilio's final status callback: the line to post when the call never connected, or null
 * (completed calls are reported from their record, with the transcript).
 */
export function describeUnansweredCall(callStatus: string, to: string): string | null {
  const what = UNANSWERED[callStatus];
  return what === undefined ? null : `Call to ${to}: ${what}.`;
}
