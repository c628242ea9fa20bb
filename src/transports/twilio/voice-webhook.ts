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

export async function answerVoiceWebhook(
  params: URLSearchParams,
  publicHost: string,
  directory: MerchantDirectory,
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
