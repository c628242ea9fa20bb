import type { ProviderName } from './merchants/merchant.js';
import { EnvReader, readEnv, type Env, type EnvSource } from './config/env-reader.js';
import type { LogLevel, NodeEnv } from './config/env-schema.js';
import { relayEnv } from './config/relay-env.js';

// The relay's core settings, read once at start-up through the schema (config/env-schema.ts). A bad
// value stops the process with one line naming the variable (ConfigError), never a stack trace or a
// silent default.

export { ConfigError, ConfigProblems } from './config/config-error.js';
export { EnvReader, readEnv, type Env, type EnvSource } from './config/env-reader.js';
export { relayEnv } from './config/relay-env.js';
export type { LogLevel } from './config/env-schema.js';

export interface Config {
  nodeEnv: NodeEnv;
  port: number;
  host: string;
  /** Host (and optional port) Twilio reaches us at; used for the stream URL and signatures. */
  publicHost: string;
  provider: ProviderName;
  openai: {
    apiKey?: string;
    realtimeUrl: string;
    model: string;
    voice: string;
    transcriptionModel: string;
    /** GPT-Live (PROVIDER=openai-live): endpoint, model, and the Responses model its tools run on. */
    liveUrl: string;
    liveModel: string;
    liveToolsModel: string;
  };
  /** The SIP path (src/transports/openai-sip): on when the webhook secret and an OpenAI key are set. */
  sip: { webhookSecret?: string; sipUri?: string; apiBaseUrl?: string };
  /** 0: no limit. */
  maxLiveCalls: number;
  xai: { apiKey?: string; realtimeUrl: string; model: string; voice: string };
  maxCallSeconds: number;
  connectTimeoutMs: number;
  /** A response the model owes that stays silent this long ends the call as `model_stalled`. */
  responseTimeoutMs: number;
  /** Caller silence before the assistant asks if they are still there (a second one ends the call). */
  silenceRepromptMs: number;
  logLevel: LogLevel;
  /** Graceful drain window on SIGTERM before remaining calls are asked to wrap up. */
  drainSeconds: number;
  /** Bearer token for /metrics on the main port; unset = metrics only on metricsPort, loopback. */
  metricsToken?: string;
  metricsPort: number;
  /** True when no API key was configured and the local simulated agent answers calls. */
  simulated: boolean;
}

export function loadConfig(env: EnvSource = relayEnv()): Config {
  return readEnv(env, (r) => {
    const nodeEnv = r.get('NODE_ENV');
    const port = r.get('PORT');
    const host = r.get('HOST');
    const publicHost = r.get('PUBLIC_HOST');
    if (nodeEnv === 'production' && !r.isSet('PUBLIC_HOST'))
      r.problem('PUBLIC_HOST', 'is required in production (Twilio must reach wss://PUBLIC_HOST/media-stream)');

    const openaiKey = r.get('OPENAI_API_KEY');
    const xaiKey = r.get('XAI_API_KEY');
    const provider: ProviderName = r.get('PROVIDER') ?? (openaiKey ? 'openai' : xaiKey ? 'xai' : 'sim');
    const openaiUrl = r.get('OPENAI_REALTIME_URL');
    const xaiUrl = r.get('XAI_REALTIME_URL');
    if ((provider === 'openai' || provider === 'openai-live') && !openaiKey)
      r.problem('OPENAI_API_KEY', `is required when PROVIDER=${provider}`);
    if (provider === 'xai' && !xaiKey) r.problem('XAI_API_KEY', 'is required when PROVIDER=xai');
    if (r.isSet('OPENAI_WEBHOOK_SECRET') && !openaiKey)
      r.problem('OPENAI_WEBHOOK_SECRET', "needs OPENAI_API_KEY: SIP calls are accepted over OpenAI's REST API");
    if (nodeEnv === 'production' && provider === 'sim') {
      r.problem(
        'OPENAI_API_KEY',
        'no model API key (OPENAI_API_KEY or XAI_API_KEY) is set; the simulated agent is not allowed in production',
      );
    }

    return {
      nodeEnv,
      port,
      host,
      publicHost: publicHost ?? `localhost:${port}`,
      provider,
      openai: {
        apiKey: openaiKey,
        realtimeUrl: openaiUrl,
        model: r.get('OPENAI_REALTIME_MODEL'),
        voice: r.get('OPENAI_VOICE'),
        transcriptionModel: r.get('OPENAI_TRANSCRIPTION_MODEL'),
        liveUrl: r.get('OPENAI_LIVE_URL'),
        liveModel: r.get('OPENAI_LIVE_MODEL'),
        liveToolsModel: r.get('OPENAI_LIVE_TOOLS_MODEL'),
      },
      xai: {
        apiKey: xaiKey,
        realtimeUrl: xaiUrl,
        model: r.get('XAI_REALTIME_MODEL'),
        voice: r.get('XAI_VOICE'),
      },
      sip: {
        webhookSecret: r.get('OPENAI_WEBHOOK_SECRET'),
        sipUri: r.get('OPENAI_SIP_URI'),
        apiBaseUrl: r.get('OPENAI_BASE_URL'),
      },
      maxLiveCalls: r.get('MAX_LIVE_CALLS'),
      maxCallSeconds: r.get('MAX_CALL_SECONDS'),
      connectTimeoutMs: r.get('MODEL_CONNECT_TIMEOUT_MS'),
      responseTimeoutMs: r.get('MODEL_RESPONSE_TIMEOUT_MS'),
      silenceRepromptMs: r.get('SILENCE_REPROMPT_SECONDS') * 1000,
      logLevel: r.get('LOG_LEVEL'),
      drainSeconds: r.get('DRAIN_SECONDS'),
      metricsToken: r.get('METRICS_TOKEN'),
      metricsPort: r.get('METRICS_PORT'),
      simulated: provider === 'sim',
    };
  });
}

/**
 * LOG_LEVEL when it is set and valid, else `fallback`: the level of a logger created before loadConfig
 * runs (a bad LOG_LEVEL is loadConfig's to report, not a crash at import).
 */
export function logLevelOr(env: Env, fallback: LogLevel): LogLevel {
  const r = new EnvReader(env);
  const level = r.get('LOG_LEVEL');
  return r.isSet('LOG_LEVEL') && r.problems.length === 0 ? level : fallback;
}
