import { readEnv, type Config, type EnvSource } from '../config.js';
import type { Logger } from '../log.js';
import type { TrustProxy } from '../security/client-ip.js';
import type { OriginRule } from '../security/origin.js';

// Settings of the public edge (issue 4): who may open a browser session, which proxy header names the
// client, how Twilio traffic is authenticated. Read once at start-up, next to the lead's Config, and
// a bad value is a ConfigError naming the variable like everywhere else.

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

export { DEFAULT_MAX_SESSION_SECONDS } from '../config/env-schema.js';

/**
 * Builds the edge settings. Throws ConfigError on: an ENCRYPTION_KEY that is set but not 32 bytes of
 * base64, a bad ALLOWED_ORIGINS entry, a bad TRUST_PROXY, a bad MAX_SESSION_SECONDS, a REDIS_URL that is
 * not redis(s)://, and (production only) a missing TWILIO_AUTH_TOKEN, because running unverified in
 * production lets anyone who finds /media-stream spend the model API key.
 */
export function loadEdgeConfig(env: EnvSource, config: Config): EdgeConfig {
  return readEnv(env, (r) => {
    // Unset disables the browser relay; set-but-wrong is an operator mistake and stops start-up.
    const encryptionKey = r.get('ENCRYPTION_KEY') ?? null;
    const twilioAuthToken = r.get('TWILIO_AUTH_TOKEN');
    if (config.nodeEnv === 'production' && twilioAuthToken === undefined) {
      r.problem(
        'TWILIO_AUTH_TOKEN',
        'is required in production (every Twilio webhook and media stream is signature-checked with it)',
      );
    }
    return {
      encryptionKey,
      allowedOrigins: r.get('ALLOWED_ORIGINS'),
      twilioAuthToken,
      trustProxy: r.get('TRUST_PROXY'),
      redisUrl: r.get('REDIS_URL'),
      maxSessionSeconds: r.get('MAX_SESSION_SECONDS'),
      publicHost: config.publicHost,
    };
  });
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
      'Twilio signature validation is OFF (TWILIO_AUTH_TOKEN not set): development only, ' +
        'anyone can reach /media-stream and the webhooks',
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
