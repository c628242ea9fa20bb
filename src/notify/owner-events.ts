import type { Merchant } from '../merchants/merchant.js';

// What the owner is told about by SMS, and how each event reads as one short text. Each event has a
// stable id (the appointment, the message, the dial attempt), so the same event raised twice, by a
// retried Twilio callback or a replayed queue, is sent once.

interface Caller {
  callSid: string;
  /** As the caller gave it; null when they did not. */
  callerName: string | null;
  /** E.164, or null when withheld. */
  callerPhone: string | null;
}

export type OwnerEvent =
  | (Caller & { kind: 'urgent_message'; messageId: string; message: string })
  | (Caller & { kind: 'booking'; appointmentId: string; when: string; notes: string | null })
  | (Caller & { kind: 'cancellation'; appointmentId: string; when: string })
  | (Caller & {
      kind: 'transfer_failed';
      /** The target's name ("Dr Patel"). */
      target: string;
      /** Twilio's DialCallStatus: no-answer, busy, failed, canceled. */
      outcome: string;
      /** What the caller wanted, one sentence. */
      reason: string;
      /** Twilio's DialCallSid of the attempt, when there was one: a second attempt is a second event. */
      dialCallSid?: string;
    });

export type OwnerEventKind = OwnerEvent['kind'];

export function ownerEventId(e: OwnerEvent): string {
  switch (e.kind) {
    case 'urgent_message':
      return `urgent:${e.messageId}`;
    case 'booking':
      return `booking:${e.appointmentId}`;
    case 'cancellation':
      return `cancellation:${e.appointmentId}`;
    case 'transfer_failed':
      return `transfer_failed:${e.callSid}:${e.dialCallSid ?? e.target}`;
    default: {
      const never: never = e;
      throw new Error(`unknown owner event ${JSON.stringify(never)}`);
    }
  }
}

/** Two GSM-7 segments: long enough to say what the caller wants, short enough to read at a glance. */
export const OWNER_SMS_MAX = 306;

/** "+14155550100" → "number ending 0100" unless the merchant opted in to full numbers. */
export function callerNumberText(phone: string | null, showFull: boolean): string {
  if (!phone) return 'number withheld';
  return showFull ? phone : `number ending ${phone.slice(-4)}`;
}

/** Typographic characters that would turn the SMS into UCS-2 (70 characters a segment instead of 160). */
function gsmFriendly(text: string): string {
  return text
    .replace(/[\u2018\u2019]/g, "'")
    .replace(/[\u201C\u201D]/g, '"')
    .replace(/[\u2013\u2014]/g, '-')
    .replace(/\u2026/g, '...')
    .replace(/\s+/g, ' ')
    .trim();
}

function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  const room = text.slice(0, Math.max(0, max - 3));
  const space = room.lastIndexOf(' ');
  return `${(space > max * 0.6 ? room.slice(0, space) : room).trimEnd()}...`;
}

/** The SMS text: the business, what happened, who (name and number, masked unless opted in) and what they want. */
export function ownerSmsText(merchant: Pick<Merchant, 'name' | 'ownerNotifications'>, e: OwnerEvent): string {
  const who = `${e.callerName?.trim() || 'A caller'} (${callerNumberText(
    e.callerPhone,
    merchant.ownerNotifications?.showCallerNumber ?? false,
  )})`;
  let head: string;
  let want: string;
  switch (e.kind) {
    case 'urgent_message':
      head = `URGENT message from ${who}`;
      want = e.message;
      break;
    case 'booking':
      head = `New booking: ${who}, ${e.when}`;
      want = e.notes ?? '';
      break;
    case 'cancellation':
      head = `Cancelled: ${who}, ${e.when}`;
      want = '';
      break;
    case 'transfer_failed':
      head = `Missed transfer to ${e.target} (${e.outcome.replace(/-/g, ' ')}): ${who}`;
      want = e.reason;
      break;
    default: {
      const never: never = e;
      throw new Error(`unknown owner event ${JSON.stringify(never)}`);
    }
  }
  const prefix = gsmFriendly(`${merchant.name}: ${head}`);
  const rest = gsmFriendly(want);
  if (rest === '') return cut(prefix, OWNER_SMS_MAX);
  const line = `${prefix}: ${rest}`;
  return line.length <= OWNER_SMS_MAX
    ? line
    : `${prefix}: ${cut(rest, Math.max(20, OWNER_SMS_MAX - prefix.length - 2))}`;
}
