// The `realtime.call.incoming` webhook OpenAI POSTs when a call reaches the project's SIP endpoint,
// signed by the Standard Webhooks scheme (the `standardwebhooks` package, which the openai SDK's
// webhooks.unwrap verifies against). Shape: openai's RealtimeCallIncomingWebhookEvent; headers and
// the From/To/Call-ID SIP headers as the developers.openai.com realtime-sip guide's example shows.
// One delivery per call: OpenAI retries failed deliveries, the sim does not (replay with deliver()).
import { randomBytes, randomUUID } from 'node:crypto';
import type { RealtimeCallIncomingWebhookEvent } from 'openai/resources/webhooks';
import { Webhook } from 'standardwebhooks';

export interface SipHeader {
  name: string;
  value: string;
}

export interface RawWebhook {
  headers: Record<string, string>;
  body: string;
}

const USER_AGENT = 'OpenAI/1.0 (+https://platform.openai.com/docs/webhooks)';
const DELIVERY_TIMEOUT_MS = 10_000;

const hex = (bytes: number): string => randomBytes(bytes).toString('hex');

/** `rtc_u1_…`, the form of the call ids in OpenAI's guides. */
export function newCallId(): string {
  return `rtc_u1_${hex(16)}`;
}

function sipUri(number: string): string {
  return number.startsWith('sip:') ? number : `sip:${number}@sip.example.com`;
}

export function incomingCallEvent(
  callId: string,
  from: string,
  to: string,
  extra: readonly SipHeader[] = [],
): RealtimeCallIncomingWebhookEvent {
  return {
    object: 'event',
    id: `evt_${hex(16)}`,
    type: 'realtime.call.incoming',
    created_at: Math.floor(Date.now() / 1000),
    data: {
      call_id: callId,
      sip_headers: [
        { name: 'From', value: sipUri(from) },
        { name: 'To', value: sipUri(to) },
        { name: 'Call-ID', value: randomUUID() },
        ...extra,
      ],
    },
  };
}

/** Signs `body` as one delivery attempt (a fresh webhook-id and the current timestamp). */
export function signed(secret: string, body: string, at = new Date()): RawWebhook {
  const id = `wh_${hex(16)}`;
  return {
    headers: {
      'content-type': 'application/json',
      'user-agent': USER_AGENT,
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
      'webhook-signature': new Webhook(secret).sign(id, at, body),
    },
    body,
  };
}

/** POSTs a webhook; the HTTP status, or 0 when there was no answer (refused, timed out). */
export async function post(url: string, raw: RawWebhook): Promise<number> {
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: raw.headers,
      body: raw.body,
      signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
    });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  }
}
