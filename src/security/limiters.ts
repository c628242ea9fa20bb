import { Redis } from 'ioredis';
import { log } from '../log.js';
import {
  CONSOLE_SESSION,
  CONVERSATION_EVENTS,
  HTTP_PER_IP,
  InMemoryRateLimiter,
  WS_UPGRADE_PER_IP,
  type RateLimiter,
  type TokenBucketConfig,
} from './rate-limit.js';
import { RedisRateLimiter, type RedisWarn } from './rate-limit-redis.js';

// The limits the server applies, backed by Redis when REDIS_URL is set (shared across
// instances) and by per-process memory otherwise.

export interface Limiters {
  /** Key: ipRateLimitKey(clientIp). 60 per minute. */
  httpPerIp: RateLimiter;
  /** Key: ipRateLimitKey(clientIp). Browser/other WebSocket upgrades (not Twilio's), 10 per minute. */
  wsUpgradePerIp: RateLimiter;
  /** Key: 'console:' + the session id of a verified console cookie. 120 at once, 2 a second. */
  consoleSession: RateLimiter;
  /** Key: ConversationSid. Twilio Conversations events, 12 per 30 s. */
  conversationEvents: RateLimiter;
  /** 'redis' when REDIS_URL was given (even if Redis is currently down and fallbacks answer). */
  backend: 'redis' | 'memory';
  /**
   * Resolves true once Redis is connected (at once for memory), false after `timeoutMs` (default
   * 3000). Await it at start-up so the first requests are not answered by the fallback; false is not
   * fatal: checks fall back to memory until the background reconnect succeeds.
   */
  ready(timeoutMs?: number): Promise<boolean>;
  /** Closes the Redis connection, if any. */
  close(): Promise<void>;
}

export interface CreateLimitersOptions {
  redisUrl?: string;
  /** Prefix for every Redis key (default 'callrelay:rl:'). */
  keyPrefix?: string;
  /** Per-limiter cap on in-memory keys (default 100_000). */
  maxEntries?: number;
  /** Redis call timeout before falling back (default 250 ms). */
  timeoutMs?: number;
  warnIntervalMs?: number;
  warn?: RedisWarn;
}

export function createLimiters(opts: CreateLimitersOptions = {}): Limiters {
  const maxEntries = opts.maxEntries;
  const memory = (c: TokenBucketConfig) => new InMemoryRateLimiter({ ...c, maxEntries });
  const redisUrl = opts.redisUrl?.trim();
  if (!redisUrl) {
    return {
      httpPerIp: memory(HTTP_PER_IP),
      wsUpgradePerIp: memory(WS_UPGRADE_PER_IP),
      consoleSession: memory(CONSOLE_SESSION),
      conversationEvents: memory(CONVERSATION_EVENTS),
      backend: 'memory',
      ready: () => Promise.resolve(true),
      close: () => Promise.resolve(),
    };
  }

  const warnIntervalMs = opts.warnIntervalMs ?? 30_000;
  const warn: RedisWarn = opts.warn ?? ((fields, msg) => log.warn(fields, msg));
  // No offline queue and no per-request retries: while Redis is down a check fails at once and the
  // in-memory fallback answers, instead of requests piling up behind a reconnect. ioredis keeps
  // reconnecting in the background (capped backoff), and checks go back to Redis when it returns.
  const redis = new Redis(redisUrl, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 2_000,
    retryStrategy: (times) => Math.min(times * 200, 5_000),
  });
  let lastErrorLog = Number.NEGATIVE_INFINITY;
  redis.on('error', (err: Error) => {
    // Without a listener ioredis prints every reconnect failure; keep it to one line per interval.
    const now = Date.now();
    if (now - lastErrorLog < warnIntervalMs) return;
    lastErrorLog = now;
    warn({ err: err.message }, 'redis connection error (rate limits fall back to per-instance memory)');
  });
  const prefix = opts.keyPrefix ?? 'callrelay:rl:';
  const shared = { redis, timeoutMs: opts.timeoutMs, warnIntervalMs, warn };
  const limiter = (name: string, c: TokenBucketConfig) =>
    new RedisRateLimiter({ ...c, ...shared, prefix: `${prefix}${name}:`, fallback: memory(c) });
  return {
    httpPerIp: limiter('http', HTTP_PER_IP),
    wsUpgradePerIp: limiter('ws', WS_UPGRADE_PER_IP),
    consoleSession: limiter('console', CONSOLE_SESSION),
    conversationEvents: limiter('conv', CONVERSATION_EVENTS),
    backend: 'redis',
    ready: (timeoutMs = 3_000) => waitReady(redis, timeoutMs),
    close: async () => {
      try {
        await redis.quit();
      } catch {
        redis.disconnect();
      }
    },
  };
}

function waitReady(redis: Redis, timeoutMs: number): Promise<boolean> {
  if (redis.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const onReady = () => {
      clearTimeout(timer);
      resolve(true);
    };
    const timer = setTimeout(() => {
      redis.off('ready', onReady);
      resolve(false);
    }, timeoutMs);
    redis.once('ready', onReady);
  });
}
