import type { EdgeConfig } from '../../http/edge-config.js';
import { guardTwilioWebhook, readEdgeRequest } from '../../http/edge-guard.js';
import { BodyTooLarge, guard, json, readBody, write, type Reply } from '../../http/uws-http.js';
import { log } from '../../log.js';
import type { RelayMetrics } from '../../obs/metrics.js';
import type { Limiters } from '../../security/limiters.js';
import type * as uWS from '../uws.js';

// A Twilio webhook: POST, form-encoded, signed. Each one is refused the same way before its handler
// runs: a bad signature is 403 (or the HTTP limit 429 while signatures are off), a body that is not a
// form is 415, one too large 413; the handler gets the form and the URL's query.

export interface TwilioRouteDeps {
  edge: EdgeConfig;
  limiters: Limiters;
  metrics: RelayMetrics;
}

export type TwilioFormHandler = (form: URLSearchParams, query: URLSearchParams) => Promise<Reply>;

export function twiml(body: string): Reply {
  return { status: 200, headers: { 'Content-Type': 'text/xml' }, body };
}

export function mountTwilioForm(
  app: uWS.TemplatedApp,
  path: string,
  deps: TwilioRouteDeps,
  what: string,
  handle: TwilioFormHandler,
): void {
  const { edge, limiters, metrics } = deps;
  app.post(path, (res, req) => {
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
          return write(res, state, json(415, { error: `expected application/x-www-form-urlencoded (${what})` }));
        }
        const reply = await handle(
          new URLSearchParams(body.toString('utf8')),
          new URLSearchParams(edgeReq.query ?? ''),
        );
        write(res, state, reply);
      })
      .catch((err: unknown) => {
        if (err instanceof BodyTooLarge) return write(res, state, json(413, { error: err.message }));
        log.error({ err, path }, 'Twilio webhook failed');
        write(res, state, json(500, { error: 'internal error' }));
      });
  });
}
