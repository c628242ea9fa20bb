import { randomInt } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRelay, type Relay } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { loadEdgeConfig } from '../src/http/edge-config.js';
import { CONSOLE_SESSION, HTTP_PER_IP } from '../src/security/rate-limit.js';
import { MEMORY, openPglite } from '../src/store/pglite-db.js';
import { seedDemoMerchant } from '../src/store/seed.js';
import { SqlStore } from '../src/store/sql-store.js';

// Issue 16, "Every HTTP route limited": each class of HTTP route against a running relay, then two
// relays sharing one Redis bucket. Every client here speaks from its own X-Forwarded-For address.

const AUTH_TOKEN = 'twilio-auth-token-for-route-limits-01';
const METRICS_TOKEN = 'metrics-token-for-route-limits-0123';
const CONSOLE_TOKEN = 'console-token-for-route-limits-0123456';
const PUBLIC_HOST = 'relay.test';
const dataDir = mkdtempSync(join(tmpdir(), 'callrelay-limits-'));
const ENV = {
  ...process.env,
  DATA_DIR: dataDir,
  PORT: '0',
  HOST: '127.0.0.1',
  PUBLIC_HOST,
  PROVIDER: 'sim',
  METRICS_PORT: '0',
  TRUST_PROXY: 'X-Forwarded-For',
  TWILIO_AUTH_TOKEN: AUTH_TOKEN,
  METRICS_TOKEN,
  CONSOLE_TOKEN,
};
// The relay reads a few settings (console, store) from the process's environment.
Object.assign(process.env, { DATA_DIR: dataDir, CONSOLE_TOKEN, TRUST_PROXY: 'X-Forwarded-For' });

/** A documentation-range address no other run of this test (sharing Redis) is likely to use. */
const freshIp = () => `203.0.${randomInt(0, 256)}.${randomInt(1, 255)}`;

async function relayWith(redisUrl: string, store: SqlStore | null): Promise<Relay> {
  const config = loadConfig(ENV);
  const edge = loadEdgeConfig({ ...ENV, REDIS_URL: redisUrl }, config);
  return startRelay(config, { edge, store });
}

/** Sends `n` requests in order and returns their statuses. */
async function statuses(n: number, send: () => Promise<Response>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = await send();
    await r.arrayBuffer();
    out.push(r.status);
  }
  return out;
}

const only = (list: number[], status: number) => list.every((s) => s === status);

describe('one relay, in-memory limits', () => {
  let relay: Relay;
  let base: string;
  beforeAll(async () => {
    const store = new SqlStore(await openPglite(MEMORY));
    await store.migrate();
    await seedDemoMerchant(store);
    relay = await relayWith('', store);
    base = `http://127.0.0.1:${relay.port}`;
  });
  afterAll(async () => {
    await relay?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const from = (ip: string, extra: Record<string, string> = {}) => ({ 'X-Forwarded-For': ip, ...extra });

  it('limits unknown paths (the 404) to 60 a minute per IP, HEAD included, then 429 with Retry-After', async () => {
    const ip = freshIp();
    const got = await statuses(HTTP_PER_IP.capacity, () =>
      fetch(`${base}/scan/${randomInt(1e6)}`, { method: 'HEAD', headers: from(ip) }),
    );
    expect(only(got, 404)).toBe(true);
    const limited = await fetch(`${base}/wp-login.php`, { headers: from(ip) });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect((await fetch(`${base}/wp-login.php`, { headers: from(freshIp()) })).status).toBe(404);
  });

  it('never limits /health', async () => {
    const ip = freshIp();
    expect(only(await statuses(100, () => fetch(`${base}/health`, { headers: from(ip) })), 200)).toBe(true);
  });

  it('counts bearer guesses on /metrics: 60 × 401, then 429 even with the right token', async () => {
    const ip = freshIp();
    const guess = () => fetch(`${base}/metrics`, { headers: from(ip, { Authorization: 'Bearer guess' }) });
    expect(only(await statuses(HTTP_PER_IP.capacity, guess), 401)).toBe(true);
    const right = { Authorization: `Bearer ${METRICS_TOKEN}` };
    expect((await fetch(`${base}/metrics`, { headers: from(ip, right) })).status).toBe(429);
    expect((await fetch(`${base}/metrics`, { headers: from(freshIp(), right) })).status).toBe(200);
  });

  it('counts unsigned webhooks (403, then 429) and never limits verified ones', async () => {
    const params = { CallSid: 'CA00000000000000000000000000000001', From: '+14155550100', To: '+15005550006' };
    const body = new URLSearchParams(params).toString();
    const post = (ip: string, signature: string) =>
      fetch(`${base}/twilio/voice`, {
        method: 'POST',
        body,
        headers: from(ip, { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Twilio-Signature': signature }),
      });
    const ip = freshIp();
    expect(only(await statuses(HTTP_PER_IP.capacity, () => post(ip, 'guess')), 403)).toBe(true);
    expect((await post(ip, 'guess')).status).toBe(429);
    const signature = twilio.getExpectedTwilioSignature(AUTH_TOKEN, `https://${PUBLIC_HOST}/twilio/voice`, params);
    // The same exhausted address: Twilio shares its IPs, so verified requests do not take from it.
    const signed = await statuses(HTTP_PER_IP.capacity + 10, () => post(ip, signature));
    expect(signed.filter((s) => s === 429 || s === 403)).toEqual([]);
  });

  it('limits plain GETs of WebSocket paths (426) and of disabled browser paths (404)', async () => {
    const ip = freshIp();
    const half = HTTP_PER_IP.capacity / 2;
    expect(only(await statuses(half, () => fetch(`${base}/media-stream`, { headers: from(ip) })), 426)).toBe(true);
    expect(only(await statuses(half, () => fetch(`${base}/realtime`, { headers: from(ip) })), 404)).toBe(true);
    expect((await fetch(`${base}/media-stream`, { headers: from(ip) })).status).toBe(429);
  });

  it('limits the console per IP until signed in, then per session', async () => {
    const ip = freshIp();
    const signIn = await fetch(`${base}/console/session`, {
      method: 'POST',
      redirect: 'manual',
      headers: from(ip, { 'Content-Type': 'application/x-www-form-urlencoded', Origin: base }),
      body: new URLSearchParams({ token: CONSOLE_TOKEN }).toString(),
    });
    expect(signIn.status).toBe(303);
    const cookie = (signIn.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    const anonymous = () => fetch(`${base}/console/sign-in`, { headers: from(ip) });
    expect(only(await statuses(HTTP_PER_IP.capacity - 1, anonymous), 200)).toBe(true);
    expect((await anonymous()).status).toBe(429);
    // The address is spent; the session has its own budget, enough for a page and its files.
    const page = () => fetch(`${base}/console/assets/console.css`, { headers: from(ip, { cookie }) });
    // At once, so the bucket's refill (2 a second) barely adds to it.
    const burst = await Promise.all(Array.from({ length: CONSOLE_SESSION.capacity + 30 }, () => page()));
    const codes = burst.map((r) => r.status);
    expect(codes.filter((s) => s === 200).length).toBeGreaterThanOrEqual(CONSOLE_SESSION.capacity);
    expect(codes).toContain(429);
    // A forged cookie is anonymous again.
    const forged = `${cookie.slice(0, -3)}abc`;
    const other = freshIp();
    const forgedGets = await statuses(HTTP_PER_IP.capacity + 1, () =>
      fetch(`${base}/console/assets/console.css`, { headers: from(other, { cookie: forged }) }),
    );
    expect(forgedGets.at(-1)).toBe(429);
  });
});

describe.skipIf(!process.env.REDIS_URL)('two relays sharing Redis', () => {
  let a: Relay;
  let b: Relay;
  beforeAll(async () => {
    a = await relayWith(process.env.REDIS_URL ?? '', null);
    b = await relayWith(process.env.REDIS_URL ?? '', null);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
  });

  it('share one budget per IP: 30 on each, then both answer 429', async () => {
    const ip = freshIp();
    const hit = (r: Relay) => () =>
      fetch(`http://127.0.0.1:${r.port}/nothing-here`, { headers: { 'X-Forwarded-For': ip } });
    const half = HTTP_PER_IP.capacity / 2;
    expect(only(await statuses(half, hit(a)), 404)).toBe(true);
    expect(only(await statuses(half, hit(b)), 404)).toBe(true);
    expect((await hit(a)()).status).toBe(429);
    expect((await hit(b)()).status).toBe(429);
  });
});
