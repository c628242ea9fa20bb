import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRelay, type Relay } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { hashLinkToken, newLinkToken } from '../src/console/link-token.js';
import { SIGN_IN_PER_IP } from '../src/console/index.js';
import { MEMORY, openPglite } from '../src/store/pglite-db.js';
import { seedDemoMerchant, seedMerchant } from '../src/store/seed.js';
import { SqlStore } from '../src/store/sql-store.js';
import type { CallRecord } from '../src/store/call-record.js';

// The console's access rules over HTTP, against the relay itself: who may sign in, what a session can
// see, how state changes are protected, and what bad input gets. The browser tests (test/browser)
// cover the same pages as a person clicks through them.

const TOKEN = 'operator-token-for-the-access-tests-0123';
const dataDir = mkdtempSync(join(tmpdir(), 'callrelay-console-'));
process.env.DATA_DIR = dataDir;
process.env.CONSOLE_TOKEN = TOKEN;
// Each test signs in from its own X-Forwarded-For address, so the sign-in limit of one does not spill over.
process.env.TRUST_PROXY = 'X-Forwarded-For';

let relay: Relay;
let store: SqlStore;
let base: string;
const links: Record<string, string> = {};

const record = (callSid: string, merchantId: string): CallRecord => ({
  callSid,
  streamSid: 'MZ1',
  merchantId,
  callerPhone: '+14155550123',
  calledNumber: '+15005550006',
  direction: 'inbound',
  answeredBy: null,
  startedAt: new Date(Date.now() - 120_000),
  endedAt: new Date(Date.now() - 60_000),
  durationMs: 60_000,
  endReason: 'caller_hung_up',
  provider: 'sim',
  model: 'sim',
  usage: {},
  stats: {},
  transcript: [{ role: 'caller', text: 'Hello there', atMs: 100 }],
  transcriptText: 'Caller: Hello there',
  timeline: [{ atMs: 0, kind: 'state', state: 'connecting' }],
  toolCalls: [],
});

beforeAll(async () => {
  store = new SqlStore(await openPglite(MEMORY));
  await store.migrate();
  await seedDemoMerchant(store);
  await store.upsertMerchant({ ...seedMerchant, id: 'bikes', name: 'Bright Bikes', phoneNumbers: ['+15005550007'] });
  await store.saveCallRecord(record('CA-demo-1', 'demo'));
  await store.saveCallRecord(record('CA-bikes-1', 'bikes'));
  for (const [name, merchant, expires] of [
    ['demo', 'demo', 86_400_000],
    ['bikes', 'bikes', 86_400_000],
    ['expired', 'demo', -1000],
    ['revoked', 'bikes', 86_400_000],
  ] as const) {
    const { token, hash } = newLinkToken();
    await store.createConsoleLink(merchant, hash, new Date(Date.now() + expires));
    links[name] = token;
  }
  await store.revokeConsoleLinks('bikes');
  // A fresh link for bikes after the revocation, so only the 'revoked' one is dead.
  const fresh = newLinkToken();
  await store.createConsoleLink('bikes', fresh.hash, new Date(Date.now() + 86_400_000));
  links.bikes = fresh.token;
  const config = loadConfig({ ...process.env, PORT: '0', HOST: '127.0.0.1', PROVIDER: 'sim', METRICS_PORT: '0' });
  relay = await startRelay(config, { store });
  base = `http://127.0.0.1:${relay.port}`;
});

afterAll(async () => {
  await relay?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

async function signIn(token: string, ip = '10.0.0.1'): Promise<Response> {
  return fetch(`${base}/console/session`, {
    method: 'POST',
    redirect: 'manual',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      origin: base,
      'x-forwarded-for': ip,
    },
    body: form({ token }),
  });
}

async function cookieFor(token: string, ip?: string): Promise<string> {
  const res = await signIn(token, ip);
  expect(res.status).toBe(303);
  const set = res.headers.get('set-cookie') ?? '';
  return set.split(';')[0] ?? '';
}

const get = (path: string, cookie = '') => fetch(`${base}${path}`, { headers: { cookie }, redirect: 'manual' });

async function failures(reason: string): Promise<number> {
  const text = await relay.metrics.registry.getSingleMetricAsString('callrelay_console_sign_in_failures_total');
  return Number(new RegExp(`reason="${reason}"\\} (\\d+)`).exec(text)?.[1] ?? 0);
}

describe('console access', () => {
  it('signs the operator in with an HttpOnly, SameSite=Strict cookie and sends no cookie to a bad token', async () => {
    const ok = await signIn(TOKEN, '10.0.1.1');
    expect(ok.status).toBe(303);
    expect(ok.headers.get('location')).toBe('/console');
    expect(ok.headers.get('set-cookie')).toMatch(
      /^callrelay_console=[^;]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=43200$/,
    );
    const before = await failures('wrong_token');
    const bad = await signIn(`${TOKEN}x`, '10.0.1.1');
    expect(bad.status).toBe(401);
    expect(bad.headers.get('set-cookie')).toBeNull();
    expect(await bad.text()).toMatch(/not valid, or it has expired/);
    expect(await failures('wrong_token')).toBe(before + 1);
  });

  it('shows the sign-in page, with no data, to a missing or forged session; a forged one is counted', async () => {
    const none = await get('/console/calls');
    expect(none.status).toBe(401);
    expect(await none.text()).not.toContain('CA-demo-1');
    const before = await failures('bad_session');
    const cookie = await cookieFor(TOKEN, '10.0.2.1');
    const forged = `${cookie.slice(0, -3)}abc`;
    const res = await get('/console/calls', forged);
    expect(res.status).toBe(401);
    expect(await res.text()).toMatch(/Sign in/);
    expect(await failures('bad_session')).toBe(before + 1);
  });

  it('refuses expired, revoked and unknown owner links, each counted by reason', async () => {
    const counts = async () => [
      await failures('expired_link'),
      await failures('revoked_link'),
      await failures('unknown_link'),
    ];
    const before = await counts();
    expect((await signIn(links.expired ?? '', '10.0.3.1')).status).toBe(401);
    expect((await signIn(links.revoked ?? '', '10.0.3.1')).status).toBe(401);
    expect((await signIn(newLinkToken().token, '10.0.3.1')).status).toBe(401);
    expect(await counts()).toEqual(before.map((n) => n + 1));
  });

  it("ends an owner's open session when their links are revoked", async () => {
    const fresh = newLinkToken();
    await store.createConsoleLink('demo', fresh.hash, new Date(Date.now() + 86_400_000));
    const cookie = await cookieFor(fresh.token, '10.0.3.9');
    expect((await get('/console/merchants/demo', cookie)).status).toBe(200);
    const before = await failures('revoked_link');
    await store.revokeConsoleLinks('demo');
    const after = await get('/console/merchants/demo', cookie);
    expect(after.status).toBe(401);
    expect(after.headers.get('set-cookie')).toMatch(/Max-Age=0/);
    expect(await after.text()).toMatch(/no longer valid/);
    expect(await failures('revoked_link')).toBe(before + 1);
    // A new link works again.
    const again = newLinkToken();
    await store.createConsoleLink('demo', again.hash, new Date(Date.now() + 86_400_000));
    links.demo = again.token;
  });

  it('rate limits sign-in per client address', async () => {
    const codes: number[] = [];
    for (let i = 0; i < SIGN_IN_PER_IP.capacity + 2; i++) codes.push((await signIn('wrong', '10.0.4.1')).status);
    expect(codes.slice(0, SIGN_IN_PER_IP.capacity).every((c) => c === 401)).toBe(true);
    expect(codes.at(-1)).toBe(429);
    // Another address is not affected.
    expect((await signIn(TOKEN, '10.0.4.2')).status).toBe(303);
  });

  it("shows an owner their own call and answers 404 for another merchant's call and page", async () => {
    const cookie = await cookieFor(links.bikes ?? '', '10.0.5.1');
    expect((await get('/console/calls/CA-bikes-1', cookie)).status).toBe(200);
    const foreign = await get('/console/calls/CA-demo-1', cookie);
    expect(foreign.status).toBe(404);
    expect(await foreign.text()).not.toContain('Hello there');
    expect((await get('/console/merchants/demo', cookie)).status).toBe(404);
    expect((await get('/console/merchants', cookie)).status).toBe(404);
    expect((await get('/console/calls?merchant=demo', cookie)).status).toBe(404);
    const list = await (await get('/console/calls', cookie)).text();
    expect(list).toContain('CA-bikes-1');
    expect(list).not.toContain('CA-demo-1');
  });

  it('answers malformed query parameters with 400 naming the field, and unknown ids with 404', async () => {
    const cookie = await cookieFor(TOKEN, '10.0.6.1');
    for (const [query, field] of [
      ['from=2030-02-31', 'from'],
      ['direction=sideways', 'direction'],
      ['before=yesterday', 'before'],
      ['q=a&q=b', 'q'],
      ['colour=red', 'colour'],
    ] as const) {
      const res = await get(`/console/calls?${query}`, cookie);
      expect(res.status, query).toBe(400);
      expect(await res.text(), query).toContain(`<code>${field}</code>`);
    }
    expect((await get('/console/merchants/demo?done=hacked', cookie)).status).toBe(400);
    expect((await get('/console/calls/CA-none', cookie)).status).toBe(404);
    expect((await get('/console/merchants/nobody', cookie)).status).toBe(404);
  });

  it('refuses a state change without the form token or from another site, and does it with both', async () => {
    const cookie = await cookieFor(links.demo ?? '', '10.0.7.1');
    const m = await store.saveMessage({ merchantId: 'demo', body: 'Call me back' });
    const path = `/console/merchants/demo/messages/${m.id}/read`;
    const post = (fields: Record<string, string>, origin = base) =>
      fetch(`${base}${path}`, {
        method: 'POST',
        redirect: 'manual',
        headers: { cookie, origin, 'content-type': 'application/x-www-form-urlencoded' },
        body: form(fields),
      });
    expect((await post({})).status).toBe(403);
    expect((await post({ csrf: 'guess' })).status).toBe(403);
    const page = await (await get('/console/merchants/demo', cookie)).text();
    const csrf = /name="csrf" value="([^"]+)"/.exec(page)?.[1] ?? '';
    expect((await post({ csrf }, 'https://evil.example')).status).toBe(403);
    expect((await store.listMessages('demo', 10)).find((x) => x.id === m.id)?.readAt).toBeNull();
    const done = await post({ csrf });
    expect(done.status).toBe(303);
    expect(done.headers.get('location')).toBe('/console/merchants/demo?done=read');
    expect((await store.listMessages('demo', 10)).find((x) => x.id === m.id)?.readAt).toBeInstanceOf(Date);
  });

  it('serves pages with a strict Content-Security-Policy and no caching', async () => {
    const cookie = await cookieFor(TOKEN, '10.0.8.1');
    const res = await get('/console', cookie);
    expect(res.headers.get('content-security-policy')).toMatch(/script-src 'self'; style-src 'self'/);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(hashLinkToken(links.demo ?? '')).toMatch(/^[0-9a-f]{64}$/);
  });
});
