import type { EdgeConfig } from '../../http/edge-config.js';
import { guardTwilioWebhook, readEdgeRequest } from '../../http/edge-guard.js';
import { BodyTooLarge, guard, json, readBody, write } from '../../http/uws-http.js';
import { log } from '../../log.js';
import type { MerchantDirectory } from '../../merchants/directory.js';
import type { RelayMetrics } from '../../obs/metrics.js';
import type { Limiters } from '../../security/limiters.js';
import type * as uWS from '../uws.js';
import { answerVoiceWebhook } from './voice-webhook.js';

// POST /twilio/voice: Twilio asks what to do with a call; the answer is TwiML that connects the call
// to /media-stream with the merchant and caller as stream parameters.

export interface VoiceRouteDeps {
  edge: EdgeConfig;
  limiters: Limiters;
  metrics: RelayMetrics;
  directory: MerchantDirectory;
  publicHost: string;
  draining: () => boolean;
}

export function mountVoiceWebhook(app: uWS.TemplatedApp, deps: VoiceRouteDeps): void {
  const { edge, limiters, metrics } = deps;
  app.post('/twilio/voice', (res, req) => {
    const state = guard(res);
    const edgeReq = readEdgeRequest(res, req, edge.trustProxy);
    readBody(res, state, 64 * 1024)
      .then(async (body) => {
        const refused = await guardTwilioWebhook(edge, limiters.httpPerIp, edgeReq, body);
        if (refused) {
          metrics.rateLimited.inc({ limit: refused.status === 429 ? 'http' : 'twilio_signature' });
          return write(res, state, refused);
        }
        if (!(edgeReq.contentType ?? '').startsWith('application/x-www-form-urlencoded')) {
          const reply = json(415, { error: 'expected application/x-www-form-urlencoded (a Twilio voice webhook)' });
          return write(res, state, reply);
        }
        // Draining: Twilio retries on the fallback URL / another instance.
        if (deps.draining()) return write(res, state, json(503, { error: 'draining' }, { 'Retry-After': '1' }));
        const params = new URLSearchParams(body.toString('utf8'));
        // Calls placed by @call carry their SMS thread in the webhook URL's query string.
        const query = new URLSearchParams(edgeReq.query ?? '');
        for (const key of ['conversationSid', 'requester', 'merchantId']) {
          const v = query.get(key);
          if (v && !params.has(key)) params.set(key, v);
        }
        if (!params.get('CallSid')) return write(res, state, json(400, { error: 'missing CallSid' }));
        const { twiml } = await answerVoiceWebhook(params, deps.publicHost, deps.directory);
        write(res, state, { status: 200, headers: { 'Content-Type': 'text/xml' }, body: twiml });
      })
      .catch((err: unknown) => {
        if (err instanceof BodyTooLarge) return write(res, state, json(413, { error: err.message }));
        log.error({ err }, 'voice webhook failed');
        write(res, state, json(500, { error: 'internal error' }));
      });
  });
}
