import type { Direction } from '../../machines/call.types.js';
import type { Merchant } from '../merchants/merchant.js';

// What the relay asks the model to say at the fixed moments of a call. Kept in one place so the
// wording can be reviewed (and translated) without reading the call code.

export function greetingInstructions(m: Merchant, direction: Direction): string {
  const line = direction === 'outbound' ? m.outboundGreeting : m.greeting;
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
