import twilio from 'twilio';
import type { LineControl, TransferRequest } from '../../call/line-control.js';
import { readEnv, type EnvSource } from '../../config/env-reader.js';
import { createTwilioClient, type TwilioClient } from '../../sms/twilio-rest.js';

// The line of a Twilio call, through the REST API (`twilio` client): a transfer updates the live
// call with TwiML that <Dial>s the person, so Twilio leaves our <Connect><Stream> (the stream
// stops) and rings them. The person hears a whisper (<Number url>) of who is calling and why before
// the caller is connected. <Dial action> reports whether they answered (see transfer-routes.ts).

/** How long the person's phone rings before the dial gives up (Twilio's default is 30 s). */
const RING_SECONDS = 20;

export interface TwilioLineOptions {
  client: TwilioClient;
  /** Host Twilio reaches the relay at, for the action and whisper URLs. */
  publicHost: string;
}

/** The TwiML a transfer redirects the call to. */
export function transferTwiml(req: TransferRequest, publicHost: string): string {
  const vr = new twilio.twiml.VoiceResponse();
  const action = new URL(`https://${publicHost}/twilio/dial-action`);
  action.searchParams.set('merchantId', req.call.merchant.id);
  const dial = vr.dial({
    action: action.toString(),
    method: 'POST',
    timeout: RING_SECONDS,
    answerOnBridge: true,
    // The person sees who is really calling; without a caller number, the business's own.
    ...(req.call.callerPhone || req.call.calledNumber
      ? { callerId: req.call.callerPhone || req.call.calledNumber }
      : {}),
  });
  // The callSid names the transfer whose whisper to say (the request itself is about the new leg).
  const whisper = new URL(`https://${publicHost}/twilio/whisper`);
  whisper.searchParams.set('callSid', req.call.callSid);
  dial.number({ url: whisper.toString(), method: 'POST' }, req.target.number);
  return vr.toString();
}

export function twilioLineControl(opts: TwilioLineOptions): LineControl {
  return {
    async transfer(req) {
      await opts.client.calls(req.call.callSid).update({ twiml: transferTwiml(req, opts.publicHost) });
      // The outcome comes later, from the <Dial action> webhook.
      return {};
    },
    async hangUp(call) {
      await opts.client.calls(call.callSid).update({ status: 'completed' });
    },
  };
}

/** The line control when Twilio REST credentials are configured (TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN). */
export function lineControlFromEnv(env: EnvSource, publicHost: string): LineControl | undefined {
  const creds = readEnv(env, (r) => ({
    accountSid: r.get('TWILIO_ACCOUNT_SID'),
    authToken: r.get('TWILIO_AUTH_TOKEN'),
    apiBaseUrl: r.get('TWILIO_API_BASE_URL'),
  }));
  if (!creds.accountSid || !creds.authToken) return undefined;
  const client = createTwilioClient({
    accountSid: creds.accountSid,
    authToken: creds.authToken,
    ...(creds.apiBaseUrl ? { apiBaseUrl: creds.apiBaseUrl } : {}),
  });
  return twilioLineControl({ client, publicHost });
}
