import { describe, expect, it } from 'vitest';
import { createLimiters } from '../src/security/limiters.js';
import { LruMap } from '../src/security/lru-map.js';
import {
  CONVERSATION_EVENTS,
  HTTP_PER_IP,
  InMemoryRateLimiter,
  WS_UPGRADE_PER_IP,
  type RateLimitDecision,
} from '../src/security/rate-limit.js';

const T0 = 1_760_000_000_000;

async function takeN(l: InMemoryRateLimiter, key: string, n: number, now: number): Promise<RateLimitDecision[]> {
  const out: RateLimitDecision[] = [];
  for (let i = 0; i < n; i++) out.push(await l.take(key, now));
  return out;
}

describe('named limits', () => {
  it('are 60/min, 10/min and 12 per 30 s', () => {
    expect(HTTP_PER_IP.capacity).toBe(60);
    expect(HTTP_PER_IP.refillPerSecond * 60).toBeCloseTo(60);
    expect(WS_UPGRADE_PER_IP.capacity).toBe(10);
    expect(WS_UPGRADE_PER_IP.refillPerSecond * 60).toBeCloseTo(10);
    expect(CONVERSATION_EVENTS.capacity).toBe(12);
    expect(CONVERSATION_EVENTS.refillPerSecond * 30).toBeCloseTo(12);
  });
});

describe('InMemoryRateLimiter at the boundary', () => {
  it('HTTP 60/min: 60th passes, 61st denied with Retry-After 1, one more after a second', async () => {
    const l = new InMemoryRateLimiter(HTTP_PER_IP);
    const first60 = await takeN(l, 'ip', 60, T0);
    expect(first60.every((d) => d.allowed)).toBe(true);
    expect(first60[0]?.remaining).toBe(59);
    expect(first60[59]).toEqual({ allowed: true, retryAfterSeconds: 0, remaining: 0 });
    expect(await l.take('ip', T0)).toEqual({ allowed: false, retryAfterSeconds: 1, remaining: 0 });
    expect(await l.take('ip', T0 + 400)).toEqual({ allowed: false, retryAfterSeconds: 1, remaining: 0 });
    expect((await l.take('ip', T0 + 1000)).allowed).toBe(true);
    expect((await l.take('ip', T0 + 1000)).allowed).toBe(false);
  });

  it('WS upgrades 10/min: 11th denied, Retry-After counts down from 6 s', async () => {
    const l = new InMemoryRateLimiter(WS_UPGRADE_PER_IP);
    expect((await takeN(l, 'ip', 10, T0)).every((d) => d.allowed)).toBe(true);
    expect(await l.take('ip', T0)).toEqual({ allowed: false, retryAfterSeconds: 6, remaining: 0 });
    expect((await l.take('ip', T0 + 2500)).retryAfterSeconds).toBe(4); // 0.4167 tokens: 3.5 s left → 4
    expect((await l.take('ip', T0 + 5999)).allowed).toBe(false);
    expect((await l.take('ip', T0 + 6000)).allowed).toBe(true);
  });

  it('Conversations 12 per 30 s: one event every 2.5 s after the burst', async () => {
    const l = new InMemoryRateLimiter(CONVERSATION_EVENTS);
    expect((await takeN(l, 'CH1', 12, T0)).every((d) => d.allowed)).toBe(true);
    expect(await l.take('CH1', T0)).toEqual({ allowed: false, retryAfterSeconds: 3, remaining: 0 });
    expect((await l.take('CH1', T0 + 2500)).allowed).toBe(true); // exactly one token in float math
    expect((await l.take('CH1', T0 + 2500)).allowed).toBe(false);
  });

  it('keys are independent', async () => {
    const l = new InMemoryRateLimiter({ capacity: 2, refillPerSecond: 1 });
    await takeN(l, 'a', 2, T0);
    expect((await l.take('a', T0)).allowed).toBe(false);
    expect((await l.take('b', T0)).allowed).toBe(true);
  });

  it('refills continuously up to capacity, never beyond', async () => {
    const l = new InMemoryRateLimiter({ capacity: 5, refillPerSecond: 1 });
    await takeN(l, 'k', 5, T0);
    expect((await l.take('k', T0 + 3000)).remaining).toBe(2); // 3 refilled, 1 taken
    const afterLongIdle = await takeN(l, 'k', 6, T0 + 3_600_000);
    expect(afterLongIdle.filter((d) => d.allowed)).toHaveLength(5);
  });

  it('a clock going backwards grants nothing extra', async () => {
    const l = new InMemoryRateLimiter({ capacity: 2, refillPerSecond: 1 });
    await takeN(l, 'k', 2, T0 + 10_000);
    expect((await l.take('k', T0)).allowed).toBe(false);
    expect((await l.take('k', T0 + 10_999)).allowed).toBe(false);
    expect((await l.take('k', T0 + 11_000)).allowed).toBe(true);
  });

  it('uses the injected clock when no time is passed', async () => {
    let now = T0;
    const l = new InMemoryRateLimiter({ capacity: 1, refillPerSecond: 0.5, clock: () => now });
    expect((await l.take('k')).allowed).toBe(true);
    expect(await l.take('k')).toEqual({ allowed: false, retryAfterSeconds: 2, remaining: 0 });
    now += 2000;
    expect((await l.take('k')).allowed).toBe(true);
  });

  it('rejects nonsensical configs', () => {
    expect(() => new InMemoryRateLimiter({ capacity: 0, refillPerSecond: 1 })).toThrow(RangeError);
    expect(() => new InMemoryRateLimiter({ capacity: 1, refillPerSecond: 0 })).toThrow(RangeError);
    expect(() => new InMemoryRateLimiter({ capacity: 1, refillPerSecond: 1, maxEntries: 0 })).toThrow(RangeError);
  });
});

describe('InMemoryRateLimiter memory bound', () => {
  it('stays at or below maxEntries under 100k distinct keys arriving at once', () => {
    const l = new InMemoryRateLimiter({ ...HTTP_PER_IP, maxEntries: 5_000 });
    for (let i = 0; i < 100_000; i++) {
      l.takeSync(`k${i}`, T0); // same instant: no bucket refills, so only LRU eviction can bound the map
      if (l.size > 5_000) throw new Error(`size ${l.size} exceeded the cap at key ${i}`);
    }
    expect(l.size).toBe(5_000);
    expect(l.evictions).toBe(95_000);
  });

  it('under a 100k-key flood spread over time, refilled buckets are dropped before anything is evicted', () => {
    const l = new InMemoryRateLimiter({ ...HTTP_PER_IP, maxEntries: 5_000 });
    let peak = 0;
    for (let i = 0; i < 100_000; i++) {
      l.takeSync(`k${i}`, T0 + i); // 1000 keys/s; a bucket at 59/60 is full again after 1 s
      peak = Math.max(peak, l.size);
    }
    expect(peak).toBeLessThanOrEqual(1_001);
    expect(l.evictions).toBe(0);
  });

  it('drops full buckets first, so idle keys cost nothing and no limit is lost', () => {
    const l = new InMemoryRateLimiter({ capacity: 10, refillPerSecond: 10, maxEntries: 1_000 });
    for (let i = 0; i < 500; i++) l.takeSync(`old${i}`, T0);
    // One second later every old bucket is full again: they are pruned instead of evicting anything.
    for (let i = 0; i < 500; i++) l.takeSync(`new${i}`, T0 + 1_000);
    expect(l.size).toBe(500);
    expect(l.evictions).toBe(0);
  });

  it('an attacker cannot reset their own bucket without flooding maxEntries other keys first', () => {
    const l = new InMemoryRateLimiter({ capacity: 3, refillPerSecond: 0.001, maxEntries: 100 });
    for (let i = 0; i < 3; i++) l.takeSync('attacker', T0);
    expect(l.takeSync('attacker', T0).allowed).toBe(false);
    // 98 other keys fill the map to the cap; the attacker's bucket is still tracked and still empty.
    for (let i = 0; i < 98; i++) l.takeSync(`other${i}`, T0 + 1);
    expect(l.takeSync('attacker', T0 + 2).allowed).toBe(false);
    // A few more new keys evict the least recently used ones, which are the others, not the attacker.
    for (let i = 0; i < 50; i++) l.takeSync(`more${i}`, T0 + 3);
    expect(l.takeSync('attacker', T0 + 4).allowed).toBe(false);
  });
});

describe('LruMap', () => {
  it('orders by last use: get and set touch, oldest() does not', () => {
    const m = new LruMap<number>();
    m.set('a', 1);
    m.set('b', 2);
    m.set('c', 3);
    expect(m.oldest()?.key).toBe('a');
    expect(m.get('a')).toBe(1); // a becomes newest
    expect(m.oldest()).toEqual({ key: 'b', value: 2 });
    m.set('b', 20); // b becomes newest
    expect(m.oldest()?.key).toBe('c');
    expect(m.delete('c')).toBe(true);
    expect(m.delete('c')).toBe(false);
    expect(m.oldest()?.key).toBe('a');
    m.delete('a');
    expect(m.oldest()).toEqual({ key: 'b', value: 20 });
    m.delete('b');
    expect(m.size).toBe(0);
    expect(m.oldest()).toBeUndefined();
    expect(m.get('b')).toBeUndefined();
  });
});

describe('createLimiters without Redis', () => {
  it('returns in-memory limiters with the named limits', async () => {
    const limiters = createLimiters({});
    try {
      expect(limiters.backend).toBe('memory');
      let allowed = 0;
      for (let i = 0; i < 15; i++) if ((await limiters.wsUpgradePerIp.take('ip', T0)).allowed) allowed++;
      expect(allowed).toBe(10);
      allowed = 0;
      for (let i = 0; i < 15; i++) if ((await limiters.conversationEvents.take('CH1', T0)).allowed) allowed++;
      expect(allowed).toBe(12);
      allowed = 0;
      for (let i = 0; i < 70; i++) if ((await limiters.httpPerIp.take('ip', T0)).allowed) allowed++;
      expect(allowed).toBe(60);
    } finally {
      await limiters.close();
    }
  });
});
