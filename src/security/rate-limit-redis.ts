import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { log } from '../log.js';
import {
  assertBucketConfig,
  InMemoryRateLimiter,
  retryAfterSeconds,
  type RateLimitDecision,
  type RateLimiter,
  type TokenBucketConfig,
} from './rate-limit.js';

// Token buckets in Redis, shared by every relay instance. One check = one round trip: a Lua script
// reads, refills, takes and writes the bucket atomically (EVALSHA; EVAL once if Redis lost the script).
// Keys are hashes {t: tokens, ts: ms} with a TTL of "time to refill from empty", after which a missing
// key and a full bucket are the same thing, so Redis memory is bounded by the active keys.
//
// Clock: without `now`, the script uses Redis TIME, so instances with skewed clocks still agree.
// Passing `now` (tests, or a caller with its own clock) uses that instead; do not mix both per key.
//
// Redis unreachable/slow → fail OPEN to this instance's in-memory limiter (same config), with a
// warning at most once per `warnIntervalMs`. A Redis outage must not take calls down, and a flood is
// still limited per instance (N instances → at most N × the limit while Redis is down).

const LUA = `
local key = KEYS[1]
local capacity = tonumber(ARGV[1])
local per_ms = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local ttl = tonumber(ARGV[4])
if now == nil then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local s = redis.call('HMGET', key, 't', 'ts')
local tokens = tonumber(s[1])
local ts = tonumber(s[2])
if tokens == nil or ts == nil then
  tokens = capacity
  ts = now
end
if now > ts then
  tokens = math.min(capacity, tokens + (now - ts) * per_ms)
  ts = now
end
local allowed = 0
if tokens >= 1 - 1e-9 then
  tokens = math.max(0, tokens - 1)
  allowed = 1
end
redis.call('HSET', key, 't', string.format('%.17g', tokens), 'ts', string.format('%d', ts))
redis.call('PEXPIRE', key, ttl)
return { allowed, string.format('%.17g', tokens) }
`;
const LUA_SHA = createHash('sha1').update(LUA).digest('hex');

export type RedisWarn = (fields: Record<string, unknown>, msg: string) => void;

export interface RedisRateLimiterOptions extends TokenBucketConfig {
  redis: Redis;
  /** Key prefix, e.g. 'callrelay:rl:http:'; one per named limit so limits never share buckets. */
  prefix: string;
  /** Used while Redis fails (default: an InMemoryRateLimiter with the same capacity/refill). */
  fallback?: RateLimiter;
  /** A Redis call slower than this counts as a failure (default 250 ms), so requests never stall. */
  timeoutMs?: number;
  /** At most one warning per this interval (default 30 s). */
  warnIntervalMs?: number;
  warn?: RedisWarn;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function parseReply(reply: unknown): { allowed: boolean; tokens: number } {
  if (!Array.isArray(reply) || reply.length !== 2) throw new Error('unexpected rate-limit script reply');
  const [allowed, tokensText]: unknown[] = reply;
  const tokens = typeof tokensText === 'string' ? Number(tokensText) : Number.NaN;
  if ((allowed !== 0 && allowed !== 1) || !Number.isFinite(tokens))
    throw new Error('unexpected rate-limit script reply');
  return { allowed: allowed === 1, tokens };
}

export class RedisRateLimiter implements RateLimiter {
  readonly config: TokenBucketConfig;
  readonly fallback: RateLimiter;
  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly ttlMs: number;
  private readonly timeoutMs: number;
  private readonly warnIntervalMs: number;
  private readonly warn: RedisWarn;
  private lastWarnAt = Number.NEGATIVE_INFINITY;
  /** Checks answered by the fallback since start (worth a metric). */
  fallbackCount = 0;

  constructor(opts: RedisRateLimiterOptions) {
    this.config = { capacity: opts.capacity, refillPerSecond: opts.refillPerSecond };
    assertBucketConfig(this.config);
    this.redis = opts.redis;
    this.prefix = opts.prefix;
    this.ttlMs = Math.ceil((this.config.capacity / this.config.refillPerSecond) * 1000) + 1000;
    this.timeoutMs = opts.timeoutMs ?? 250;
    this.warnIntervalMs = opts.warnIntervalMs ?? 30_000;
    this.warn = opts.warn ?? ((fields, msg) => log.warn(fields, msg));
    this.fallback = opts.fallback ?? new InMemoryRateLimiter(this.config);
  }

  /** Milliseconds a bucket key lives after its last take. */
  get keyTtlMs(): number {
    return this.ttlMs;
  }

  async take(key: string, now?: number): Promise<RateLimitDecision> {
    try {
      const { allowed, tokens } = parseReply(await this.withTimeout(this.run(this.prefix + key, now)));
      if (allowed) return { allowed: true, retryAfterSeconds: 0, remaining: Math.floor(tokens + 1e-9) };
      return {
        allowed: false,
        retryAfterSeconds: retryAfterSeconds(tokens, this.config.refillPerSecond),
        remaining: 0,
      };
    } catch (err) {
      this.fallbackCount++;
      const wallNow = Date.now();
      if (wallNow - this.lastWarnAt >= this.warnIntervalMs) {
        this.lastWarnAt = wallNow;
        this.warn(
          { err: errorText(err), prefix: this.prefix },
          'redis rate limiter unavailable; using per-instance in-memory limits',
        );
      }
      return this.fallback.take(key, now);
    }
  }

  private async run(fullKey: string, now: number | undefined): Promise<unknown> {
    const args = [
      this.config.capacity,
      this.config.refillPerSecond / 1000,
      now === undefined ? '' : Math.floor(now),
      this.ttlMs,
    ];
    try {
      return await this.redis.evalsha(LUA_SHA, 1, fullKey, ...args);
    } catch (err) {
      // Script cache is empty after a Redis restart/failover: EVAL sends the body and caches it again.
      if (errorText(err).startsWith('NOSCRIPT')) return this.redis.eval(LUA, 1, fullKey, ...args);
      throw err;
    }
  }

  private withTimeout<T>(p: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`redis did not answer within ${this.timeoutMs} ms`)), this.timeoutMs);
    });
    return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
  }
}
