import type { TwilioClient } from './twilio-rest.js';
import { describeTwilioError } from './twilio-rest.js';
import { log, maskPhone } from '../log.js';

// @call places one outbound call per number (docs/protocols.md, "Outbound calls"). Answering-machine
// detection is synchronous (`DetectMessageEnd`), so Twilio requests the voice URL after detection
// with AnsweredBy in the params and the call starts in voicemail mode when a machine answered
// (docs/protocols.md, "Answering machine detection"). The SMS thread rides along in the voice URL's
// query string: the relay copies it into the stream parameters, and the call's record comes back
// with conversationSid/requester (→ the outcome is posted there).

export const CALL_STATUS_PATH = '/twilio/convo/call-status';

export interface CallRequest {
  to: string;
  conversationSid: string;
  /** Who asked (their address or identity); echoed back in the call's record. */
  requester: string;
  merchantId: string | undefined;
}

export type Placement =
  | { to: string; ok: true; callSid: string }
  | { to: string; ok: false; code: number | undefined; status: number | undefined };

export interface CallPlacerOptions {
  /** Caller ID (TWILIO_PHONE_NUMBER). */
  from: string;
  /** host[:port] Twilio reaches the relay at (PUBLIC_HOST). */
  publicHost: string;
}

export class CallPlacer {
  constructor(
    private readonly client: TwilioClient,
    private readonly opts: CallPlacerOptions,
  ) {}

  private query(req: CallRequest, extra: Record<string, string> = {}): string {
    const q = new URLSearchParams({ conversationSid: req.conversationSid, requester: req.requester });
    if (req.merchantId) q.set('merchantId', req.merchantId);
    for (const [k, v] of Object.entries(extra)) q.set(k, v);
    return q.toString();
  }

  voiceUrl(req: CallRequest): string {
    return `https://${this.opts.publicHost}/twilio/voice?${this.query(req)}`;
  }

  /** Final status (busy, no-answer, failed, …) for calls that never reach the voice URL. */
  statusCallbackUrl(req: CallRequest): string {
    return `https://${this.opts.publicHost}${CALL_STATUS_PATH}?${this.query(req, { to: req.to })}`;
  }

  /** One calls.create, never retried: a failed or timed-out request may still have dialled. */
  async place(req: CallRequest): Promise<Placement> {
    try {
      const call = await this.client.calls.create({
        to: req.to,
        from: this.opts.from,
        url: this.voiceUrl(req),
        method: 'POST',
        machineDetection: 'DetectMessageEnd',
        statusCallback: this.statusCallbackUrl(req),
        statusCallbackMethod: 'POST',
      });
      log.info(
        { callSid: call.sid, to: maskPhone(req.to), conversationSid: req.conversationSid },
        '@call: call placed',
      );
      return { to: req.to, ok: true, callSid: call.sid };
    } catch (err) {
      const e = describeTwilioError(err);
      log.warn(
        { to: maskPhone(req.to), conversationSid: req.conversationSid, code: e.code, status: e.status, err: e.message },
        '@call: calls.create failed',
      );
      return { to: req.to, ok: false, code: e.code, status: e.status };
    }
  }
}
