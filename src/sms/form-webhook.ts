import type { TemplatedApp } from '../transports/uws.js';
import { guardTwilioWebhook, readEdgeRequest, refusal, type EdgeRequest, type TwilioEdge } from '../http/edge-guard.js';
import { BodyTooLarge, guard, readBody, write, type Reply } from '../http/uws-http.js';
import type { TrustProxy } from '../security/client-ip.js';
import type { RateLimiter } from '../security/rate-limit.js';
import { log } from '../log.js';

// The shape every Twilio form webhook of the SMS feature shares (the same steps as /twilio/voice in
// src/server.ts): snapshot the request, read the body, check the signature (or the per-IP limit
// when validation is off), insist on a form body, then hand the parsed params to `handle`.

export interface FormWebhookEdge extends TwilioEdge {
  trustProxy: TrustProxy;
}

export interface FormWebhookDeps {
  edge: FormWebhookEdge;
  /** Applies only while signature validation is off (signed Twilio traffic is exempt). */
  httpPerIp: RateLimiter;
}

const BODY_LIMIT = 64 * 1024;

export function mountFormWebhook(
  app: TemplatedApp,
  path: string,
  deps: FormWebhookDeps,
  handle: (params: URLSearchParams, r: EdgeRequest) => Promise<Reply>,
): void {
  app.post(path, (res, req) => {
    const state = guard(res);
    const r = readEdgeRequest(res, req, deps.edge.trustProxy);
    readBody(res, state, BODY_LIMIT)
      .then(async (body) => {
        const refused = await guardTwilioWebhook(deps.edge, deps.httpPerIp, r, body);
        if (refused) return write(res, state, refused);
        if (!(r.contentType ?? '').toLowerCase().startsWith('application/x-www-form-urlencoded')) {
          return write(
            res,
            state,
            refusal(415, `expected application/x-www-form-urlencoded (a Twilio webhook) on ${path}`),
          );
        }
        write(res, state, await handle(new URLSearchParams(body.toString('utf8')), r));
      })
      .catch((err: unknown) => {
        if (err instanceof BodyTooLarge) return write(res, state, refusal(413, err.message));
        if (state.aborted) return;
        log.error({ err, path }, 'sms webhook failed');
        write(res, state, refusal(500, 'internal error'));
      });
  });
}
