import type { Direction, EndReason } from '../../machines/call.types.js';
import type { Merchant } from '../merchants/merchant.js';
import { recordingNotice } from '../notify/call-recordings.js';

// What the relay asks the model to say at the fixed moments of a call. Kept in one place so the
// wording can be reviewed (and translated) without reading the call code.

export function greetingInstructions(m: Merchant, direction: Direction): string {
  // A recorded call says so before anything else (the merchant's one sentence).
  const notice = recordingNotice(m);
  const greeting = direction === 'outbound' ? m.outboundGreeting : m.greeting;
  const line = notice ? `${notice} ${greeting}` : greeting;
  return `${m.instructions}\n\nThe call has just connected. Open the call by saying: "${line}"`;
}

export function voicemailInstructions(m: Merchant): string {
  const message = m.voicemailTemplate.replaceAll('{business}', m.name);
  return `You have reached an answering machine. Leave this message exactly, then stop speaking: "${message}"`;
}

export const WRAP_UP_NOTE =
  'The call has reached its maximum length. Politely tell the caller you have to end the call now, ' +
  'offer that they can call back, and say goodbye in one or two sentences.';

export const SHUTDOWN_NOTE =
  'The line is being restarted for maintenance. Politely tell the caller you have to end the call now, ' +
  'ask them to call back in a minute, and say goodbye in one sentence.';

export function dtmfNote(digits: string): string {
  return `[The caller pressed ${digits.split('').join(' ')} on the phone keypad.]`;
}

/** Spoken while a slow tool runs, so the caller never sits in silence. */
export const FILLER_INSTRUCTIONS =
  'A lookup is still running. In a few words, tell the caller you are still checking ' +
  '(for example "One moment while I check that."). Do not call any tools and do not answer the question yet.';

export const SILENCE_GOODBYE_NOTE =
  'The caller has not said anything for a while, even after you asked. Say a short, polite goodbye ' +
  '(they are welcome to call back) in one sentence.';

/** What the model is told when the relay ends the call for `reason`. */
export function wrapUpNote(reason: EndReason | null): string {
  if (reason === 'server_shutdown') return SHUTDOWN_NOTE;
  if (reason === 'caller_silent') return SILENCE_GOODBYE_NOTE;
  return WRAP_UP_NOTE;
}

/** The caller has been quiet: one short question, nothing else. */
export const SILENCE_PROMPT =
  'The caller has been quiet for a while. Ask briefly and kindly whether they are still there. Do not call any tools.';

export function transferFailedNote(target: string): string {
  return (
    `The transfer to ${target} could not be placed. Apologise briefly, say ${target} cannot be reached ` +
    'right now, and offer to take a message.'
  );
}

/** The conversation before a transfer, for the model of the call that came back. */
export function conversationSoFar(entries: ReadonlyArray<{ role: string; text: string }>): string {
  const lines = entries
    .filter((e) => e.role === 'caller' || e.role === 'assistant')
    .map((e) => `${e.role === 'caller' ? 'Caller' : 'You'}: ${e.text}`);
  return `The conversation so far on this call:\n${lines.join('\n')}`;
}

export function returnedInstructions(m: Merchant, target: string, outcome: string): string {
  const why = outcome === 'busy' ? 'was busy' : outcome === 'no-answer' ? 'did not answer' : 'could not be reached';
  const said =
    outcome === 'busy' ? 'is on another call' : outcome === 'no-answer' ? "didn't answer" : "couldn't be reached";
  return (
    `${m.instructions}\n\nYou tried to put the caller through to ${target}, who ${why}. The caller is back ` +
    'with you; use the takeMessage tool if they want to leave a message. Say: ' +
    `"I'm sorry, ${target} ${said}. Would you like me to take a message?"`
  );
}
