import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js';
import type { RealtimeCallIncomingWebhookEvent } from 'openai/resources/webhooks';

// What the relay reads from a SIP INVITE's headers, as OpenAI forwards them in realtime.call.incoming
// (`data.sip_headers`: name/value pairs in INVITE order, untrusted). Parsed here, once, into numbers:
// - `To`: the number dialled, matched against merchants' numbers as on Media Streams (a Twilio Elastic
//   SIP trunk puts the dialled E.164 in the To URI's user part: `<sip:+15557654321@….openai.com>`);
// - `From`: the caller;
// - `X-CallRelay-*`: what the relay's own voice webhook adds when it sends a call on to OpenAI with
//   <Dial><Sip> (the To URI then names OpenAI's project, not the number): merchant, caller, number,
//   direction, AMD's answer and the SMS thread of a call placed by @call. A trunk that carries no such
//   header gives an inbound call, where no machine answers, so voicemail does not arise.

export interface SipInvite {
  /** E.164 of the number dialled, when the headers name one. */
  to?: string;
  from?: string;
  merchantId?: string;
  answeredBy?: string;
  /** `outbound` only when the relay's voice webhook says so (a call placed by @call). */
  direction?: 'inbound' | 'outbound';
  /** The SMS thread of an @call, and who asked: where the outcome is posted back. */
  conversationSid?: string;
  requester?: string;
  /** The SIP Call-ID, for logs. */
  sipCallId?: string;
}

type SipHeader = RealtimeCallIncomingWebhookEvent.Data.SipHeader;

/** `"Ann" <sip:+1555…@host;user=phone>;tag=x`, `sip:1555…@host`, `<tel:+1555…>` → the user part. */
export function uriUser(value: string): string | undefined {
  const m = /(?:sips?|tel):([^@;>?\s]+)/i.exec(value);
  return m?.[1] ? decodeURIComponent(m[1]) : undefined;
}

/** A SIP user part as E.164 when it is a phone number ("+15557654321", "15557654321"). */
export function userNumber(user: string | undefined, region: CountryCode = 'US'): string | undefined {
  if (!user) return undefined;
  const digits = user.replace(/[\s().-]/g, '');
  if (!/^\+?\d{6,15}$/.test(digits)) return undefined;
  const parsed = parsePhoneNumberFromString(digits, region);
  return parsed?.isPossible() ? parsed.number : undefined;
}

export function parseInvite(headers: readonly SipHeader[], region?: CountryCode): SipInvite {
  const get = (name: string): string | undefined =>
    headers.find((h) => h.name.toLowerCase() === name.toLowerCase())?.value?.trim() || undefined;
  const out: SipInvite = {};
  const to = userNumber(get('X-CallRelay-Called'), region) ?? userNumber(uriUser(get('To') ?? ''), region);
  const from = userNumber(get('X-CallRelay-Caller'), region) ?? userNumber(uriUser(get('From') ?? ''), region);
  const merchantId = get('X-CallRelay-Merchant');
  const answeredBy = get('X-CallRelay-AnsweredBy');
  const sipCallId = get('Call-ID');
  const direction = get('X-CallRelay-Direction');
  const conversationSid = get('X-CallRelay-Conversation');
  const requester = get('X-CallRelay-Requester');
  if (direction === 'outbound' || direction === 'inbound') out.direction = direction;
  if (conversationSid) out.conversationSid = conversationSid;
  if (requester) out.requester = requester;
  if (to) out.to = to;
  if (from) out.from = from;
  if (merchantId) out.merchantId = merchantId;
  if (answeredBy) out.answeredBy = answeredBy;
  if (sipCallId) out.sipCallId = sipCallId;
  return out;
}
