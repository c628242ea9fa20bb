import { z } from 'zod';
import type { ProviderName } from './merchants/merchant.js';

// Configuration is read from the environment once, at start-up. A bad value stops the process with
// one line naming the variable (ConfigError), never a stack trace or a silent default.

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export interface Config {
  nodeEnv: 'production' | 'development' | 'test';
  port: number;
  host: string;
  /** Host (and optional port) Twilio reaches us at; used for the stream URL and signatures. */
  publicHost: string;
  provider: ProviderName;
  openai: { apiKey?: string; realtimeUrl: string; model: string; voice: string; transcriptionModel: string };
  xai: { apiKey?: string; realtimeUrl: string; model: string; voice: string };
  maxCallSeconds: number;
  connectTimeoutMs: number;
  /** A response the model owes that stays silent this long ends the call as `model_stalled`. */
  responseTimeoutMs: number;
  logLevel: (typeof LOG_LEVELS)[number];
  /** Graceful drain window on SIGTERM before remaining calls are asked to wrap up. */
  drainSeconds: number;
  /** Bearer token for /metrics on the main port; unset = metrics only on metricsPort, loopback. */
  metricsToken?: string;
  metricsPort: number;
  /** True when no API key was configured and the local simulated agent answers calls. */
  simulated: boolean;
}

type Env = Record<string, string | undefined>;

function read(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

function parseWith<T>(env: Env, name: string, schema: z.ZodType<T>, fallback: T): T {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  const r = schema.safeParse(raw);
  if (!r.success)
    throw new ConfigError(name, `invalid value ${JSON.stringify(raw)} (${r.error.issues[0]?.message ?? 'invalid'})`);
  return r.data;
}

const intIn = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const wsUrl = z
  .string()
  .url()
  .refine((u) => /^wss?:$/.test(new URL(u).protocol), 'must be a ws:// or wss:// URL');

export function loadConfig(env: Env = process.env): Config {
  const nodeEnvRaw = read(env, 'NODE_ENV') ?? 'development';
  const nodeEnv = nodeEnvRaw === 'production' || nodeEnvRaw === 'test' ? nodeEnvRaw : 'development';
  const port = parseWith(env, 'PORT', intIn(0, 65535), 8080);
  const host = read(env, 'HOST') ?? '0.0.0.0';
  const publicHostRaw = read(env, 'PUBLIC_HOST');
  if (publicHostRaw !== undefined && !/^[A-Za-z0-9.-]+(:\d{1,5})?$/.test(publicHostRaw)) {
    throw new ConfigError(
      'PUBLIC_HOST',
      `expected a host name like relay.example.com (no scheme or path), got ${JSON.stringify(publicHostRaw)}`,
    );
  }
  if (nodeEnv === 'production' && !publicHostRaw)
    throw new ConfigError(
      'PUBLIC_HOST',
      'is required in production (Twilio must reach wss://PUBLIC_HOST/media-stream)',
    );
  const publicHost = publicHostRaw ?? `localhost:${port}`;

  const openaiKey = read(env, 'OPENAI_API_KEY');
  const xaiKey = read(env, 'XAI_API_KEY');
  const providerRaw = read(env, 'PROVIDER');
  let provider: ProviderName;
  if (providerRaw === undefined) provider = openaiKey ? 'openai' : xaiKey ? 'xai' : 'sim';
  else if (providerRaw === 'openai' || providerRaw === 'xai' || providerRaw === 'sim') provider = providerRaw;
  else
    throw new ConfigError('PROVIDER', `unknown provider ${JSON.stringify(providerRaw)} (expected openai, xai or sim)`);

  const openaiUrl = parseWith(env, 'OPENAI_REALTIME_URL', wsUrl, 'wss://api.openai.com/v1/realtime');
  const xaiUrl = parseWith(env, 'XAI_REALTIME_URL', wsUrl, 'wss://api.x.ai/v1/realtime');
  if (provider === 'openai' && !openaiKey) throw new ConfigError('OPENAI_API_KEY', 'is required when PROVIDER=openai');
  if (provider === 'xai' && !xaiKey) throw new ConfigError('XAI_API_KEY', 'is required when PROVIDER=xai');
  if (nodeEnv === 'production' && provider === 'sim') {
    throw new ConfigError(
      'OPENAI_API_KEY',
      'no model API key (OPENAI_API_KEY or XAI_API_KEY) is set; the simulated agent is not allowed in production',
    );
  }

  const logLevel = parseWith(env, 'LOG_LEVEL', z.enum(LOG_LEVELS), 'info');
  return {
    nodeEnv,
    port,
    host,
    publicHost,
    provider,
    openai: {
      apiKey: openaiKey,
      realtimeUrl: openaiUrl,
      model: read(env, 'OPENAI_REALTIME_MODEL') ?? 'gpt-realtime',
      voice: read(env, 'OPENAI_VOICE') ?? 'marin',
      transcriptionModel: read(env, 'OPENAI_TRANSCRIPTION_MODEL') ?? 'gpt-4o-transcribe',
    },
    xai: {
      apiKey: xaiKey,
      realtimeUrl: xaiUrl,
      model: read(env, 'XAI_REALTIME_MODEL') ?? 'grok-voice-latest',
      voice: read(env, 'XAI_VOICE') ?? 'ara',
    },
    maxCallSeconds: parseWith(env, 'MAX_CALL_SECONDS', intIn(1, 4 * 3600), 600),
    connectTimeoutMs: parseWith(env, 'MODEL_CONNECT_TIMEOUT_MS', intIn(100, 60_000), 8000),
    responseTimeoutMs: parseWith(env, 'MODEL_RESPONSE_TIMEOUT_MS', intIn(1000, 120_000), 10_000),
    logLevel,
    drainSeconds: parseWith(env, 'DRAIN_SECONDS', intIn(0, 3600), 300),
    metricsToken: read(env, 'METRICS_TOKEN'),
    metricsPort: parseWith(env, 'METRICS_PORT', intIn(0, 65535), 9464),
    simulated: provider === 'sim',
  };
}
