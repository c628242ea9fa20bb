import OpenAI, { InvalidWebhookSignatureError } from 'openai';
import type { UnwrapWebhookEvent } from 'openai/resources/webhooks';
import { readEdgeRequest, rateLimit } from '../../http/edge-guard.js';
import type { EdgeConfig } from '../../http/edge-config.js';
import { BodyTooLarge, guard, json, readBody, write } from '../../http/uws-http.js';
import { log } from '../../log.js';
import type { RelayMetrics } from '../../obs/metrics.js';
import type { Limiters } from '../../security/limiters.js';
import type { Deduper } from '../../sms/dedupe.js';
import type * as uWS from '../uws.js';
import type { SipAnswerer } from './sip-answer.js';

// POST /openai/webhook: OpenAI's webhooks, of which the relay acts on `realtime.call.incoming` (a SIP
// call offered to the project). Checked in this order, each refusal one log line and no REST call:
// - the signature and timestamp, by the `openai` SDK's own verifier (Standard Webhooks, 300 s
//   tolerance): 401;
// - the webhook id, seen before (Redis when REDIS_URL is set, so any instance refuses a replay): 400;
// - the event: 200 at once, and the call is answered after (OpenAI waits on the answer, the caller
//   hears ringing meanwhile).
// Requests that fail the signature count against the per-IP HTTP limit (429 past it); signed ones do
// not: OpenAI sends every call from a few addresses.

export interface OpenAIWebhookDeps {
  edge: EdgeConfig;
  limiters: Limiters;
  metrics: RelayMetrics;
  /** whsec_… (OPENAI_WEBHOOK_SECRET). */
  secret: string;
  seen: Deduper;
  answerer: SipAnswerer;
}

const MAX_BODY = 256 * 1024;
const SIGNED_HEADERS = ['webhook-id', 'webhook-timestamp', 'webhook-signature'] as const;

export function mountOpenAIWebhook(app: uWS.TemplatedApp, deps: OpenAIWebhookDeps): void {
  const { edge, limiters, metrics } = deps;
  const wlog = log.child({ component: 'openai-webhook' });
  // Only the verifier is used: no request is made with this client.
  const verifier = new OpenAI({ apiKey: 'webhook-verification-only', webhookSecret: deps.secret });

  app.post('/openai/webhook', (res, req) => {
    const arrivedAt = performance.now();
    const state = guard(res);
    const edgeReq = readEdgeRequest(res, req, edge.trustProxy);
    const headers: Record<string, string> = {};
    for (const name of SIGNED_HEADERS) headers[name] = req.getHeader(name);
    readBody(res, state, MAX_BODY)
      .then(async (body) => {
        const text = body.toString('utf8');
        let event: UnwrapWebhookEvent;
        try {
          event = await verifier.webhooks.unwrap(text, headers, deps.secret);
        } catch (err) {
          const limited = await rateLimit(limiters.httpPerIp, edgeReq);
          if (limited) {
            metrics.rateLimited.inc({ limit: 'http' });
            return write(res, state, limited);
          }
          metrics.rateLimited.inc({ limit: 'openai_signature' });
          if (err instanceof InvalidWebhookSignatureError) {
            wlog.warn({ ip: edgeReq.ip, why: err.message }, 'OpenAI webhook refused: signature or timestamp');
            return write(res, state, json(401, { error: `webhook not verified: ${err.message}` }));
          }
          wlog.warn({ ip: edgeReq.ip, err: err instanceof Error ? err.message : String(err) }, 'bad OpenAI webhook');
          return write(res, state, json(400, { error: 'webhook body is not a JSON event' }));
        }
        if (!(await deps.seen.firstSight(headers['webhook-id'] ?? ''))) {
          wlog.warn({ webhookId: headers['webhook-id'], type: event.type }, 'OpenAI webhook replayed; ignored');
          return write(res, state, json(400, { error: 'webhook id already received' }));
        }
        const bad = malformed(event);
        if (bad) {
          wlog.warn({ webhookId: headers['webhook-id'], why: bad }, 'OpenAI call webhook malformed; refused');
          return write(res, state, json(400, { error: `malformed ${event.type}: ${bad}` }));
        }
        write(res, state, json(200, { ok: true }));
        handle(event, arrivedAt);
      })
      .catch((err: unknown) => {
        if (err instanceof BodyTooLarge) return write(res, state, json(413, { error: err.message }));
        wlog.error({ err }, 'OpenAI webhook failed');
        write(res, state, json(500, { error: 'internal error' }));
      });
  });

  function handle(event: UnwrapWebhookEvent, arrivedAt: number): void {
    switch (event.type) {
      case 'realtime.call.incoming':
        void deps.answerer.incoming(event, arrivedAt);
        return;
      // Other events the project may be subscribed to: acknowledged, nothing to do here.
      case 'batch.cancelled':
      case 'batch.completed':
      case 'batch.expired':
      case 'batch.failed':
      case 'eval.run.canceled':
      case 'eval.run.failed':
      case 'eval.run.succeeded':
      case 'fine_tuning.job.cancelled':
      case 'fine_tuning.job.failed':
      case 'fine_tuning.job.succeeded':
      case 'response.cancelled':
      case 'response.completed':
      case 'response.failed':
      case 'response.incomplete':
        wlog.debug({ type: event.type }, 'OpenAI webhook not used by the relay');
        return;
      default: {
        // A type newer than the SDK: acknowledged (OpenAI would retry anything else), logged once each time.
        const unknown: never = event;
        wlog.info({ type: String((unknown as { type?: unknown }).type) }, 'OpenAI webhook of an unknown type');
      }
    }
  }
}

/** The SDK types the payload but does not check it: a call offer must name its call and headers. */
function malformed(event: UnwrapWebhookEvent): string | null {
  if (event.type !== 'realtime.call.incoming') return null;
  const data: unknown = event.data;
  if (typeof data !== 'object' || data === null) return 'no data';
  const { call_id: callId, sip_headers: headers } = data as Record<string, unknown>;
  if (typeof callId !== 'string' || callId === '') return 'no data.call_id';
  if (!Array.isArray(headers)) return 'no data.sip_headers';
  const ok = headers.every(
    (h: unknown) =>
      typeof h === 'object' &&
      h !== null &&
      typeof (h as Record<string, unknown>).name === 'string' &&
      typeof (h as Record<string, unknown>).value === 'string',
  );
  return ok ? null : 'a SIP header without a string name and value';
}
