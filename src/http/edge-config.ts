import { ConfigError, type Config } from '../config.js';
import type { Logger } from '../log.js';
import { parseTrustProxy, type TrustProxy } from '../security/client-ip.js';
import { parseAllowedOrigins, type OriginRule } from '../security/origin.js';
import { parseEncryptionKey } from '../security/token.js';

// Settings of the public edge (issue 4): who may open a browser session, which proxy header names the
// client, how Twilio traffic is authenticated. Read once at start-up, next to the lead's Config, and
// a bad value is a ConfigError naming the variable like everywhere else.

type Env = Record<string, string | undefined>;

export interface EdgeConfig {
  /** AES-256-GCM key for client tokens; null when ENCRYPTION_KEY is unset (browser relay disabled). */
  encryptionKey: Buffer | null;
  allowedOrigins: readonly OriginRule[];
  /** Unset means Twilio signature validation is OFF: an explicit development setting. */
  twilioAuthToken: string | undefined;
  trustProxy: TrustProxy;
  /** Shared rate-limit buckets across instances; unset means per-process memory. */
  redisUrl: string | undefined;
  /** Each browser realtime session is closed politely (1000) after this many seconds. */
  maxSessionSeconds: number;
  /** host[:port] Twilio reaches us at; the URL Twilio signs is built from it, never from Host. */
  publicHost: string;
}

export const DEFAULT_MAX_SESSION_SECONDS = 600;
const MAX_SESSION_LIMIT = 4 * 3600;

function read(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

function parseSeconds(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new ConfigError(name, `expected whole seconds in ${min}..${max}, got ${JSON.stringify(raw)}`);
  }
  return n;
}

/**
 * Builds the edge settings. Throws ConfigError on: an ENCRYPTION_KEY that is set but not 32 bytes of
 * base64, a bad ALLOWED_ORIGINS entry, a bad TRUST_PROXY, a bad MAX_SESSION_SECONDS, and (production
 * only) a missing TWILIO_AUTH_TOKEN, because running unverified in production lets anyone who finds
 * /media-stream spend the model API key.
 */
export function loadEdgeConfig(env: Env, config: Config): EdgeConfig {
  const keyRaw = read(env, 'ENCRYPTION_KEY');
  // Unset disables the browser relay; set-but-wrong is an operator mistake and stops start-up.
  const encryptionKey = keyRaw === undefined ? null : parseEncryptionKey(keyRaw);
  const twilioAuthToken = read(env, 'TWILIO_AUTH_TOKEN');
  if (config.nodeEnv === 'production' && twilioAuthToken === undefined) {
    throw new ConfigError(
      'TWILIO_AUTH_TOKEN',
      'is required in production (every Twilio webhook and media stream is signature-checked with it)',
    );
  }
  const redisUrl = read(env, 'REDIS_URL');
  if (redisUrl !== undefined && !/^rediss?:\/\//.test(redisUrl)) {
    throw new ConfigError('REDIS_URL', 'expected a redis:// or rediss:// URL');
  }
  return {
    encryptionKey,
    allowedOrigins: parseAllowedOrigins(env.ALLOWED_ORIGINS),
    twilioAuthToken,
    trustProxy: parseTrustProxy(env.TRUST_PROXY),
    redisUrl,
    maxSessionSeconds: parseSeconds(env, 'MAX_SESSION_SECONDS', DEFAULT_MAX_SESSION_SECONDS, 10, MAX_SESSION_LIMIT),
    publicHost: config.publicHost,
  };
}

/** The start-up lines about the edge, logged once: what is disabled or unverified is said out loud. */
export function logEdgeConfig(edge: EdgeConfig, logger: Logger): void {
  if (edge.encryptionKey === null) {
    logger.warn(
      'browser relay DISABLED: ENCRYPTION_KEY is not set (set 32 random bytes as base64: `openssl rand -base64 32`)',
    );
  }
  if (edge.twilioAuthToken === undefined) {
    logger.warn(
      'Twilio signature validation is OFF (TWILIO_AUTH_TOKEN not set): development only, anyone can reach /media-stream and the webhooks',
    );
  }
  logger.info(
    {
      browserRelay: edge.encryptionKey !== null,
      twilioValidation: edge.twilioAuthToken !== undefined,
      trustProxy:
        edge.trustProxy.kind === 'none'
          ? 'none'
          : edge.trustProxy.kind === 'xff'
            ? `x-forwarded-for:${edge.trustProxy.hops}`
            : edge.trustProxy.header,
      rateLimits: edge.redisUrl === undefined ? 'memory' : 'redis',
      allowedOrigins: edge.allowedOrigins.length,
      maxSessionSeconds: edge.maxSessionSeconds,
    },
    'edge configuration',
  );
}
