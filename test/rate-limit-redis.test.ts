import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLimiters } from '../src/security/limiters.js';
import { InMemoryRateLimiter } from '../src/security/rate-limit.js';
import { RedisRateLimiter } from '../src/security/rate-limit-redis.js';

const REDIS_URL = process.env.REDIS_URL;
const T0 = 1_760_000_000_000;

if (!REDIS_URL)
  console.log(
    'rate-limit-redis: shared-Redis tests skipped because REDIS_URL is not set (CI sets redis://127.0.0.1:6379)',
  );

describe.runIf(REDIS_URL)('RedisRateLimiter against a real Redis', () => {
  const prefix = `callrelay-test:rl:${randomBytes(6).toString('hex')}:`;
  let a: Redis;
  let b: Redis;

  beforeAll(() => {
    const url = REDIS_URL ?? '';
    a = new Redis(url, { maxRetriesPerRequest: 1, connectTimeout: 2_000 });
    b = new Redis(url, { maxRetriesPerRequest: 1, connectTimeout: 2_000 });
  });

  afterAll(async () => {
    const keys = await a.keys(`${prefix}*`);
    if (keys.length > 0) await a.del(...keys);
    await Promise.all([a.quit(), b.quit()]);
  });

  const strictWarn = (fields: Record<string, unknown>, msg: string) => {
    throw new Error(`unexpected fallback: ${msg} ${JSON.stringify(fields)}`);
  };

  it('two instances on two connections enforce ONE shared limit', async () => {
    const config = { capacity: 10, refillPerSecond: 10 / 60 };
    const p = `${prefix}shared:`;
    const one = new RedisRateLimiter({ ...config, redis: a, prefix: p, warn: strictWarn, timeoutMs: 2_000 });
    const two = new RedisRateLimiter({ ...config, redis: b, prefix: p, warn: strictWarn, timeoutMs: 2_000 });
    const decisions = await Promise.all(
      Array.from({ length: 30 }, (_, i) => (i % 2 === 0 ? one : two).take('1.2.3.4', T0)),
    );
    expect(decisions.filter((d) => d.allowed)).toHaveLength(10);
    expect(decisions.filter((d) => !d.allowed).every((d) => d.retryAfterSeconds === 6)).toBe(true);
    expect(one.fallbackCount + two.fallbackCount).toBe(0);
    // Another key is untouched by the first one's traffic.
    expect((await two.take('5.6.7.8', T0)).allowed).toBe(true);
  });

  it('boundary and refill: 60th passes, 61st denied with Retry-After 1, one more a second later', async () => {
    const l = new RedisRateLimiter({
      capacity: 60,
      refillPerSecond: 1,
      redis: a,
      prefix: `${prefix}http:`,
      warn: strictWarn,
      timeoutMs: 2_000,
    });
    for (let i = 0; i < 59; i++) expect((await l.take('ip', T0)).allowed).toBe(true);
    expect(await l.take('ip', T0)).toEqual({ allowed: true, retryAfterSeconds: 0, remaining: 0 });
    expect(await l.take('ip', T0)).toEqual({ allowed: false, retryAfterSeconds: 1, remaining: 0 });
    expect(await l.take('ip', T0 + 999)).toEqual({ allowed: false, retryAfterSeconds: 1, remaining: 0 });
    expect(await l.take('ip', T0 + 1000)).toEqual({ allowed: true, retryAfterSeconds: 0, remaining: 0 });
    expect((await l.take('ip', T0 + 5000)).remaining).toBe(3);
  });

  it('fractional refill (12 per 30 s) survives the round trip through Redis', async () => {
    const l = new RedisRateLimiter({
      capacity: 12,
      refillPerSecond: 0.4,
      redis: b,
      prefix: `${prefix}conv:`,
      warn: strictWarn,
      timeoutMs: 2_000,
    });
    for (let i = 0; i < 12; i++) expect((await l.take('CH1', T0)).allowed).toBe(true);
    expect(await l.take('CH1', T0)).toEqual({ allowed: false, retryAfterSeconds: 3, remaining: 0 });
    expect(await l.take('CH1', T0 + 1000)).toEqual({ allowed: false, retryAfterSeconds: 2, remaining: 0 });
    expect((await l.take('CH1', T0 + 2500)).allowed).toBe(true);
    expect((await l.take('CH1', T0 + 2500)).allowed).toBe(false);
  });

  it('keys carry a TTL of the time to refill from empty, and vanish after it', async () => {
    const l = new RedisRateLimiter({
      capacity: 2,
      refillPerSecond: 10,
      redis: a,
      prefix: `${prefix}ttl:`,
      warn: strictWarn,
      timeoutMs: 2_000,
    });
    expect(l.keyTtlMs).toBe(1_200);
    await l.take('k', T0);
    const pttl = await a.pttl(`${prefix}ttl:k`);
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(1_200);
    await new Promise((r) => setTimeout(r, 1_400));
    expect(await a.exists(`${prefix}ttl:k`)).toBe(0);
  });

  it('uses Redis TIME when no clock is passed', async () => {
    const l = new RedisRateLimiter({
      capacity: 3,
      refillPerSecond: 0.01,
      redis: b,
      prefix: `${prefix}time:`,
      warn: strictWarn,
      timeoutMs: 2_000,
    });
    const d = [];
    for (let i = 0; i < 5; i++) d.push(await l.take('k'));
    expect(d.map((x) => x.allowed)).toEqual([true, true, true, false, false]);
    expect(d[4]?.retryAfterSeconds).toBeGreaterThanOrEqual(90);
    const stored = await b.hget(`${prefix}time:k`, 'ts');
    expect(Math.abs(Number(stored) - Date.now())).toBeLessThan(60_000);
  });

  it('createLimiters({ redisUrl }) shares limits between two factories (two instances)', async () => {
    const keyPrefix = `${prefix}factory:`;
    const one = createLimiters({ redisUrl: REDIS_URL, keyPrefix, warn: strictWarn, timeoutMs: 2_000 });
    const two = createLimiters({ redisUrl: REDIS_URL, keyPrefix, warn: strictWarn, timeoutMs: 2_000 });
    try {
      expect(one.backend).toBe('redis');
      // enableOfflineQueue is off: until connected, checks go to the fallback, so wait like main() would.
      expect(await Promise.all([one.ready(), two.ready()])).toEqual([true, true]);
      let allowed = 0;
      for (let i = 0; i < 20; i++)
        if ((await (i % 2 ? one : two).wsUpgradePerIp.take('9.9.9.9', T0)).allowed) allowed++;
      expect(allowed).toBe(10);
    } finally {
      await Promise.all([one.close(), two.close()]);
    }
  });
});

describe('Redis unreachable: fail open to the per-instance in-memory limiter', () => {
  it('answers from memory at once, still enforces the limit, and warns once per interval', async () => {
    const down = new Redis({
      host: '127.0.0.1',
      port: 1,
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      connectTimeout: 200,
    });
    down.on('error', () => undefined);
    const warnings: string[] = [];
    const l = new RedisRateLimiter({
      capacity: 3,
      refillPerSecond: 1 / 60,
      redis: down,
      prefix: 'unused:',
      warnIntervalMs: 60_000,
      warn: (_fields, msg) => warnings.push(msg),
    });
    try {
      const decisions = [];
      for (let i = 0; i < 6; i++) decisions.push(await l.take('ip', T0));
      expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, false, false, false]);
      expect(decisions[3]?.retryAfterSeconds).toBe(60);
      expect(l.fallbackCount).toBe(6);
      expect(l.fallback).toBeInstanceOf(InMemoryRateLimiter);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/in-memory/);
    } finally {
      down.disconnect();
    }
  });

  it('createLimiters with a dead REDIS_URL keeps limiting per instance and closes cleanly', async () => {
    const warnings: string[] = [];
    const limiters = createLimiters({
      redisUrl: 'redis://127.0.0.1:1',
      warn: (_f, msg) => warnings.push(msg),
      warnIntervalMs: 60_000,
    });
    try {
      expect(limiters.backend).toBe('redis');
      let allowed = 0;
      for (let i = 0; i < 15; i++) if ((await limiters.wsUpgradePerIp.take('ip', T0)).allowed) allowed++;
      expect(allowed).toBe(10);
      expect(warnings.length).toBeGreaterThanOrEqual(1);
      expect(warnings.length).toBeLessThanOrEqual(2); // one for the limiter, at most one connection error line
      expect(await limiters.ready(100)).toBe(false);
    } finally {
      await limiters.close();
    }
  });

  it('a Redis that accepts but never answers counts as down after timeoutMs', async () => {
    const { createServer } = await import('node:net');
    const sockets: import('node:net').Socket[] = [];
    const silent = createServer((s) => sockets.push(s)); // accepts, never replies
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const address = silent.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    const redis = new Redis({
      host: '127.0.0.1',
      port,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      connectTimeout: 500,
    });
    redis.on('error', () => undefined);
    const l = new RedisRateLimiter({
      capacity: 1,
      refillPerSecond: 1,
      redis,
      prefix: 'x:',
      timeoutMs: 100,
      warn: () => undefined,
    });
    try {
      const d = await l.take('k', T0);
      expect(d.allowed).toBe(true);
      expect(l.fallbackCount).toBe(1);
    } finally {
      redis.disconnect();
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => silent.close(() => r()));
    }
  });
});
