import type { MerchantDirectory } from '../../merchants/directory.js';
import { json } from '../../http/uws-http.js';
import type * as uWS from '../uws.js';
import { mountTwilioForm, twiml, type TwilioRouteDeps } from './twilio-form-route.js';
import { answerVoiceWebhook } from './voice-webhook.js';
import { demoMerchant } from '../../merchants/demo-merchant.js';
import { log, maskPhone } from '../../log.js';

// POST /twilio/voice: Twilio asks what to do with a call; the answer is TwiML that connects the call
// to /media-stream with the merchant and caller as stream parameters.

export interface VoiceRouteDeps extends TwilioRouteDeps {
  directory: MerchantDirectory;
  publicHost: string;
  draining: () => boolean;
  /** OPENAI_SIP_URI: where `transport: sip` merchants' calls are sent. */
  sipUri?: string;
  /** MAX_LIVE_CALLS reached. */
  busy?: () => boolean;
}

export function mountVoiceWebhook(app: uWS.TemplatedApp, deps: VoiceRouteDeps): void {
  mountTwilioForm(app, '/twilio/voice', deps, 'a Twilio voice webhook', async (params, query) => {
    // Draining: Twilio retries on the fallback URL / another instance.
    if (deps.draining()) return json(503, { error: 'draining' }, { 'Retry-After': '1' });
    // Calls placed by @call carry their SMS thread in the webhook URL's query string.
    for (const key of ['conversationSid', 'requester', 'merchantId']) {
      const v = query.get(key);
      if (v && !params.has(key)) params.set(key, v);
    }
    if (!params.get('CallSid')) return json(400, { error: 'missing CallSid' });
    if (deps.busy?.()) {
      // The caller hears a busy signal and may try again; nobody is answered halfway.
      log.warn({ callSid: params.get('CallSid') }, 'call refused busy: MAX_LIVE_CALLS reached');
      return twiml('<?xml version="1.0" encoding="UTF-8"?><Response><Reject reason="busy"/></Response>');
    }
    const answer = await answerVoiceWebhook(params, deps.publicHost, deps.directory, deps.sipUri);
    // With TWILIO_AUTH_TOKEN set this request's signature verified: a real caller on a real number
    // that no merchant owns is about to hear the demo business.
    if (answer.fellBack && answer.merchantId === demoMerchant.id && deps.edge.twilioAuthToken !== undefined) {
      deps.metrics.demoFallbackCalls.inc();
      log.warn(
        { callSid: params.get('CallSid'), to: maskPhone(params.get('To') ?? '') },
        'A REAL TWILIO CALL REACHED THE DEMO MERCHANT: no merchant owns the called number ' +
          '(add one: MERCHANT_FILES or npm run merchant -- file.yaml)',
      );
    }
    return twiml(answer.twiml);
  });
}
