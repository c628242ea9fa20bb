import twilio from 'twilio';
import type { MerchantDirectory } from '../../merchants/directory.js';
import { log, maskPhone } from '../../log.js';

// Twilio's incoming-call webhook. Answers TwiML that connects the call to our Media Stream. The
// stream URL carries no query string (Twilio rejects it); per-call data travels as <Parameter>s
// and comes back in the stream's `start.customParameters`.

export interface VoiceWebhookResult {
  twiml: string;
  merchantId?: string;
  /** The called number belongs to no merchant: the call went to the fallback merchant. */
  fellBack?: boolean;
}

/**
 * Where a `transport: sip` merchant's call goes: OpenAI's SIP endpoint, with what the relay knows as
 * custom headers (Twilio sends `X-` query parameters of a <Sip> URI as SIP headers), because the INVITE's
 * To then names OpenAI's project, not the number dialled. src/transports/openai-sip/sip-invite.ts reads them.
 */
export function sipTarget(sipUri: string, fields: Record<string, string>): string {
  const q = Object.entries(fields)
    .filter(([, v]) => v !== '')
    .map(([k, v]) => `X-CallRelay-${k}=${encodeURIComponent(v)}`)
    .join('&');
  return q ? `${sipUri}${sipUri.includes('?') ? '&' : '?'}${q}` : sipUri;
}

export async function answerVoiceWebhook(
  params: URLSearchParams,
  publicHost: string,
  directory: MerchantDirectory,
  sipUri?: string,
): Promise<VoiceWebhookResult> {
  const to = params.get('To') ?? '';
  const from = params.get('From') ?? '';
  const callSid = params.get('CallSid') ?? '';
  const direction = (params.get('Direction') ?? 'inbound').startsWith('outbound') ? 'outbound' : 'inbound';
  // On outbound calls the business number is `From`; the merchant may also be named explicitly.
  const businessNumber = direction === 'outbound' ? from : to;
  const named =
    (params.get('merchantId') ? await directory.byId(params.get('merchantId') ?? '') : undefined) ??
    (await directory.byNumber(businessNumber));
  const merchant = named ?? (await directory.fallback());
  const vr = new twilio.twiml.VoiceResponse();
  if (!merchant) {
    log.warn({ callSid, to: maskPhone(to) }, 'no merchant for called number; call refused');
    vr.say('Sorry, this number is not in service.');
    vr.hangup();
    return { twiml: vr.toString() };
  }
  if (merchant.transport === 'sip' && sipUri) {
    // The audio goes from Twilio to OpenAI; the relay hears of the call from OpenAI's webhook.
    const fields = {
      Merchant: merchant.id,
      Caller: direction === 'outbound' ? to : from,
      Called: businessNumber,
      AnsweredBy: params.get('AnsweredBy') ?? '',
      Direction: direction,
      Conversation: params.get('conversationSid') ?? '',
      Requester: params.get('requester') ?? '',
    };
    vr.dial({ answerOnBridge: true }).sip(sipTarget(sipUri, fields));
    log.info({ callSid, merchant: merchant.id, direction }, 'voice webhook: sent to OpenAI over SIP');
    return { twiml: vr.toString(), merchantId: merchant.id, fellBack: named === undefined };
  }
  if (merchant.transport === 'sip') {
    log.warn({ callSid, merchant: merchant.id }, 'merchant is on SIP but OPENAI_SIP_URI is unset: Media Streams used');
  }
  const stream = vr.connect().stream({ url: `wss://${publicHost}/media-stream` });
  const add = (name: string, value: string) => value && stream.parameter({ name, value });
  add('merchantId', merchant.id);
  add('callerPhone', direction === 'outbound' ? to : from);
  add('calledNumber', businessNumber);
  add('direction', direction);
  add('callSid', callSid);
  add('answeredBy', params.get('AnsweredBy') ?? '');
  for (const key of ['conversationSid', 'requester']) add(key, params.get(key) ?? '');
  log.info(
    { callSid, merchant: merchant.id, direction, answeredBy: params.get('AnsweredBy') ?? undefined },
    'voice webhook',
  );
  return { twiml: vr.toString(), merchantId: merchant.id, fellBack: named === undefined };
}
