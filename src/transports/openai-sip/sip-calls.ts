import type { Config } from '../../config.js';
import type { Call } from '../../call/call.js';
import type { EdgeConfig } from '../../http/edge-config.js';
import { log } from '../../log.js';
import type { RelayMetrics } from '../../obs/metrics.js';
import { endpointFor } from '../../providers/endpoint.js';
import type { Limiters } from '../../security/limiters.js';
import { createDeduper, RedisDeduper } from '../../sms/dedupe.js';
import type * as uWS from '../uws.js';
import { mountOpenAIWebhook } from './openai-webhook-route.js';
import { SipAnswerer, type SipAnswerDeps } from './sip-answer.js';
import { openaiSipCallApi } from './sip-call-api.js';

// The SIP path put together: OpenAI's REST controls, the webhook route, replay refusal shared through
// Redis when REDIS_URL is set, and the answerer that starts each call. Off (nothing mounted) unless
// OPENAI_WEBHOOK_SECRET and OPENAI_API_KEY are set.

export interface SipCallsDeps extends Pick<SipAnswerDeps, 'directory' | 'toolSpecs' | 'call' | 'draining'> {
  config: Config;
  edge: EdgeConfig;
  limiters: Limiters;
  metrics: RelayMetrics;
  calls: Map<string, Call>;
}

export interface SipCalls {
  close(): Promise<void>;
}

export async function mountSipCalls(app: uWS.TemplatedApp, deps: SipCallsDeps): Promise<SipCalls | null> {
  const { config } = deps;
  const secret = config.sip.webhookSecret;
  const apiKey = config.openai.apiKey;
  if (!secret || !apiKey) return null;
  const api = openaiSipCallApi({ apiKey, ...(config.sip.apiBaseUrl ? { baseURL: config.sip.apiBaseUrl } : {}) });
  const seen = createDeduper({ redisUrl: deps.edge.redisUrl, prefix: 'callrelay:openai-webhook:seen:' });
  if (seen instanceof RedisDeduper) await seen.ready();
  const answerer = new SipAnswerer({
    api,
    directory: deps.directory,
    metrics: deps.metrics,
    endpoint: endpointFor('openai', config),
    toolSpecs: deps.toolSpecs,
    call: deps.call,
    calls: deps.calls,
    draining: deps.draining,
    maxLiveCalls: config.maxLiveCalls,
  });
  mountOpenAIWebhook(app, { edge: deps.edge, limiters: deps.limiters, metrics: deps.metrics, secret, seen, answerer });
  log.info({ dedupe: seen.backend }, 'SIP calls on: OpenAI webhooks at POST /openai/webhook');
  return { close: () => seen.close() };
}
