// Token-bucket rate limiting. A bucket holds up to `capacity` tokens and refills continuously at
// `refillPerSecond`; each request takes one. This file has the shared math, the named limits, and
// the in-memory limiter (per process); rate-limit-redis.ts shares buckets across instances.

import { LruMap } from './lru-map.js';

export interface TokenBucketConfig {
  capacity: number;
  refillPerSecond: number;
}

export interface RateLimitDecision {
  allowed: boolean;
  /** Seconds until one token is available, rounded up: 0 when allowed, ≥ 1 when denied. */
  retryAfterSeconds: number;
  /** Whole tokens left after this take. */
  remaining: number;
}

export interface RateLimiter {
  /** @param now epoch milliseconds; defaults to the limiter's clock (Date.now(), or Redis TIME). */
  take(key: string, now?: number): Promise<RateLimitDecision>;
}

/** HTTP requests per client IP: 60 per minute. */
export const HTTP_PER_IP: TokenBucketConfig = { capacity: 60, refillPerSecond: 1 };
/** Non-Twilio WebSocket upgrades per client IP: 10 per minute. */
export const WS_UPGRADE_PER_IP: TokenBucketConfig = { capacity: 10, refillPerSecond: 10 / 60 };
/**
 * Requests per signed-in console session (instead of the per-IP limit): a page loads several files
 * and follows live calls, so a person browsing never meets it; a script replaying a cookie does.
 */
export const CONSOLE_SESSION: TokenBucketConfig = { capacity: 120, refillPerSecond: 2 };
/** Twilio Conversations events per conversation: 12 per 30 seconds. */
export const CONVERSATION_EVENTS: TokenBucketConfig = { capacity: 12, refillPerSecond: 12 / 30 };

// Refill arithmetic is in floating point (e.g. 12/30 per second); this absorbs rounding so a bucket
// that should hold exactly one token is not judged to hold 0.9999999999.
const EPSILON = 1e-9;

export function assertBucketConfig(c: TokenBucketConfig): void {
  if (!Number.isInteger(c.capacity) || c.capacity < 1)
    throw new RangeError(`capacity must be a positive integer, got ${c.capacity}`);
  if (!(c.refillPerSecond > 0) || !Number.isFinite(c.refillPerSecond)) {
    throw new RangeError(`refillPerSecond must be a positive number, got ${c.refillPerSecond}`);
  }
}

export interface BucketState {
  tokens: number;
  /** Epoch ms of the last refill computation. */
  updatedAt: number;
}

/**
 * One take against a bucket, mutating `state`. A clock that goes backwards refills nothing (and the
 * bucket keeps its later timestamp) rather than granting tokens twice.
 */
export function takeFromBucket(state: BucketState, config: TokenBucketConfig, now: number): RateLimitDecision {
  if (now > state.updatedAt) {
    state.tokens = Math.min(config.capacity, state.tokens + ((now - state.updatedAt) / 1000) * config.refillPerSecond);
    state.updatedAt = now;
  }
  if (state.tokens >= 1 - EPSILON) {
    state.tokens = Math.max(0, state.tokens - 1);
    return { allowed: true, retryAfterSeconds: 0, remaining: Math.floor(state.tokens + EPSILON) };
  }
  return { allowed: false, retryAfterSeconds: retryAfterSeconds(state.tokens, config.refillPerSecond), remaining: 0 };
}

export function retryAfterSeconds(tokens: number, refillPerSecond: number): number {
  return Math.max(1, Math.ceil((1 - tokens) / refillPerSecond - EPSILON));
}

/** True when the bucket would be full at `now`: dropping it then loses nothing. */
function isFull(state: BucketState, config: TokenBucketConfig, now: number): boolean {
  const elapsed = Math.max(0, now - state.updatedAt) / 1000;
  return state.tokens + elapsed * config.refillPerSecond >= config.capacity - EPSILON;
}

export interface InMemoryRateLimiterOptions extends TokenBucketConfig {
  /** Hard cap on tracked keys (default 100_000; ~100 bytes each plus the key). */
  maxEntries?: number;
  /** Clock for calls without `now` (default Date.now). */
  clock?: () => number;
}

/**
 * Per-process token buckets in least-recently-used order (LruMap), so memory stays bounded however
 * many distinct keys arrive:
 *
 * 1. On every take, buckets at the LRU end that have refilled completely are dropped. This is exact:
 *    a full bucket and a missing one behave the same. The scan stops at the first bucket that is
 *    not full, so it costs O(1) amortised (each entry is dropped at most once).
 * 2. If the map is still at `maxEntries`, the least-recently-used bucket is evicted even though it
 *    is not full. That resets that key's limit, which is the trade-off: to get their own bucket
 *    evicted an attacker must first touch `maxEntries` other keys (their own bucket is the most
 *    recently used), i.e. control that many distinct clients, each of which already has a full
 *    bucket of its own. So eviction grants an attacker no more than the keys they already hold.
 *    The real protection against key rotation is the key choice (IPv6 reduced to /64, see
 *    ipRateLimitKey) and sizing `maxEntries` above the expected number of concurrently limited keys.
 */
export class InMemoryRateLimiter implements RateLimiter {
  readonly config: TokenBucketConfig;
  private readonly buckets = new LruMap<BucketState>();
  private readonly maxEntries: number;
  private readonly clock: () => number;
  /** Count of non-full buckets evicted because of the cap (worth a metric: the cap is too low). */
  evictions = 0;

  constructor(opts: InMemoryRateLimiterOptions) {
    this.config = { capacity: opts.capacity, refillPerSecond: opts.refillPerSecond };
    assertBucketConfig(this.config);
    this.maxEntries = opts.maxEntries ?? 100_000;
    if (!Number.isInteger(this.maxEntries) || this.maxEntries < 1)
      throw new RangeError('maxEntries must be a positive integer');
    this.clock = opts.clock ?? Date.now;
  }

  /** Number of tracked keys. */
  get size(): number {
    return this.buckets.size;
  }

  take(key: string, now?: number): Promise<RateLimitDecision> {
    return Promise.resolve(this.takeSync(key, now));
  }

  /** Synchronous form of take, for callers on a hot path that do not need the async interface. */
  takeSync(key: string, now: number = this.clock()): RateLimitDecision {
    let state = this.buckets.get(key); // get() also marks the key most recently used
    if (state === undefined) {
      this.prune(now);
      state = { tokens: this.config.capacity, updatedAt: now };
      this.buckets.set(key, state);
    }
    return takeFromBucket(state, this.config, now);
  }

  /** Drops full buckets from the LRU end, then evicts LRU entries until there is room for one more. */
  private prune(now: number): void {
    for (
      let o = this.buckets.oldest();
      o !== undefined && isFull(o.value, this.config, now);
      o = this.buckets.oldest()
    ) {
      this.buckets.delete(o.key);
    }
    while (this.buckets.size >= this.maxEntries) {
      const o = this.buckets.oldest();
      if (o === undefined) break;
      this.buckets.delete(o.key);
      this.evictions++;
    }
  }
}
