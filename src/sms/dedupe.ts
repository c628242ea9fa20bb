import { Redis } from 'ioredis';
import { LruMap } from '../security/lru-map.js';
import { log } from '../log.js';

// Twilio retries a webhook it thinks failed (timeout, 5xx, connection reset), possibly to another
// relay instance. An event seen within the window is a duplicate and is ignored, so one text never
// places two calls or gets two answers.
//
// With REDIS_URL, instances share the "seen" set through `SET key 1 NX PX 600000` (atomic: exactly one
// instance gets OK). Each instance also remembers keys in memory, which answers local retries without
// a round trip and is the fallback while Redis is down.
//
// Redis down or slow (> timeoutMs): fail OPEN to the per-instance memory. A retry reaching the same
// instance is still a duplicate; one reaching another instance during the outage is handled twice.
// Dropping every message while Redis is down (fail closed) would silence the bot completely, and
// Twilio rarely retries a webhook that we answer within milliseconds.

export const DEDUPE_WINDOW_MS = 10 * 60_000;

export interface Deduper {
  /** True the first time `key` is seen within the window (go on); false for a duplicate. */
  firstSight(key: string): Promise<boolean>;
  readonly backend: 'redis' | 'memory';
  close(): Promise<void>;
}

export interface MemoryDeduperOptions {
  ttlMs?: number;
  /** Bound on remembered keys (default 50k, ~10 min of a busy number); the oldest go first. */
  maxEntries?: number;
  clock?: () => number;
}

export class MemoryDeduper implements Deduper {
  readonly backend = 'memory' as const;
  private readonly seen = new LruMap<number>(); // key → expiry (epoch ms)
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly clock: () => number;

  constructor(opts: MemoryDeduperOptions = {}) {
    this.ttlMs = opts.ttlMs ?? DEDUPE_WINDOW_MS;
    this.maxEntries = opts.maxEntries ?? 50_000;
    this.clock = opts.clock ?? Date.now;
  }

  get size(): number {
    return this.seen.size;
  }

  firstSight(key: string): Promise<boolean> {
    return Promise.resolve(this.firstSightSync(key));
  }

  firstSightSync(key: string): boolean {
    const now = this.clock();
    const expiry = this.seen.get(key);
    // A duplicate does not extend the window (same as Redis NX: the key keeps its first TTL).
    if (expiry !== undefined && expiry > now) return false;
    for (
      let o = this.seen.oldest();
      o !== undefined && (o.value <= now || this.seen.size >= this.maxEntries);
      o = this.seen.oldest()
    ) {
      this.seen.delete(o.key);
    }
    this.seen.set(key, now + this.ttlMs);
    return true;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

export interface RedisDeduperOptions {
  redis: Redis;
  /** Key prefix (default 'callrelay:sms:seen:'). */
  prefix?: string;
  ttlMs?: number;
  /** A Redis answer slower than this counts as a failure (default 250 ms). */
  timeoutMs?: number;
  memory?: MemoryDeduper;
  warnIntervalMs?: number;
  /** Closes the connection on close() (true when this deduper created it). */
  ownsConnection?: boolean;
}

export class RedisDeduper implements Deduper {
  readonly backend = 'redis' as const;
  readonly memory: MemoryDeduper;
  /** Checks answered by memory alone because Redis failed. */
  fallbackCount = 0;
  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly ttlMs: number;
  private readonly timeoutMs: number;
  private readonly warnIntervalMs: number;
  private lastWarnAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly opts: RedisDeduperOptions) {
    this.redis = opts.redis;
    this.prefix = opts.prefix ?? 'callrelay:sms:seen:';
    this.ttlMs = opts.ttlMs ?? DEDUPE_WINDOW_MS;
    this.timeoutMs = opts.timeoutMs ?? 250;
    this.warnIntervalMs = opts.warnIntervalMs ?? 30_000;
    this.memory = opts.memory ?? new MemoryDeduper({ ttlMs: this.ttlMs });
  }

  async firstSight(key: string): Promise<boolean> {
    if (!this.memory.firstSightSync(key)) return false;
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`redis did not answer within ${this.timeoutMs} ms`)), this.timeoutMs);
      });
      const reply = await Promise.race([this.redis.set(this.prefix + key, '1', 'PX', this.ttlMs, 'NX'), timeout]);
      return reply === 'OK';
    } catch (err) {
      this.fallbackCount++;
      const now = Date.now();
      if (now - this.lastWarnAt >= this.warnIntervalMs) {
        this.lastWarnAt = now;
        log.warn(
          { err: err instanceof Error ? err.message : String(err) },
          'redis dedupe unavailable; duplicates are caught per instance only',
        );
      }
      return true;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Resolves true once Redis is connected, false after `timeoutMs` (not fatal: memory answers meanwhile). */
  ready(timeoutMs = 3_000): Promise<boolean> {
    if (this.redis.status === 'ready') return Promise.resolve(true);
    return new Promise((resolve) => {
      const onReady = () => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.redis.off('ready', onReady);
        resolve(false);
      }, timeoutMs);
      this.redis.once('ready', onReady);
    });
  }

  async close(): Promise<void> {
    if (!this.opts.ownsConnection) return;
    try {
      await this.redis.quit();
    } catch {
      this.redis.disconnect();
    }
  }
}

/** Redis-backed when `redisUrl` is given (its own connection, closed by close()), else memory. */
export function createDeduper(opts: { redisUrl?: string; prefix?: string } = {}): Deduper {
  if (!opts.redisUrl) return new MemoryDeduper();
  // Same connection policy as the rate limiters: no offline queue, no per-request retries, so a
  // check fails fast while Redis is down and the memory answer stands.
  const redis = new Redis(opts.redisUrl, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 2_000,
    retryStrategy: (times) => Math.min(times * 200, 5_000),
  });
  redis.on('error', () => undefined); // reported (throttled) by firstSight
  return new RedisDeduper({ redis, prefix: opts.prefix, ownsConnection: true });
}
