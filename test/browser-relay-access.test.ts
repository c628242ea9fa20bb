import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { browserEndpointResolver } from '../src/browser/browser-endpoint.js';
import { chooseSubprotocol, tokenFromRequest } from '../src/browser/browser-relay.js';
import { browserCloseForModelClose, clampReason, modelCloseForBrowserClose } from '../src/browser/close-codes.js';
import { mintToken, sealToken } from '../src/security/token.js';
import {
  KEY,
  attempt,
  freshIp,
  startWorld,
  token,
  waitFor,
  type AttemptOptions,
  type Client,
  type FakeModel,
  type Running,
  type World,
} from './browser-relay-fixtures.js';

// Who may open a browser session (token 401, Origin 403, per-IP 429) and the plain-HTTP answers on
// the relay's paths; plus the small pure helpers behind them.

let world: World;
let model: FakeModel;
let main: Running;

beforeAll(async () => {
  world = await startWorld();
  ({ model, main } = world);
});
afterEach(() => world.afterEach());
afterAll(() => world.stop());

const open = (port: number, path: string, opts?: AttemptOptions): Promise<Client> => world.open(port, path, opts);

const nowS = () => Math.floor(Date.now() / 1000);

describe('browser relay: access control', () => {
  const other = randomBytes(32);
  const rejections: [string, () => string][] = [
    ['no token at all', () => '/realtime'],
    ['an empty ?auth=', () => '/realtime?auth='],
    ['an expired token', () => `/token/${mintToken(KEY, { ttlSeconds: 60, now: Date.now() - 3_600_000 })}`],
    [
      'a tampered token',
      () => {
        const raw = Buffer.from(token(), 'base64url');
        raw[20] = (raw[20] ?? 0) ^ 1;
        return `/auth/${raw.toString('base64url')}`;
      },
    ],
    ['a token minted with another key', () => `/realtime?auth=${mintToken(other, { ttlSeconds: 60 })}`],
    [
      'a token for another origin (not a client token)',
      () => `/token/${sealToken(KEY, { origin: 'server', iat: nowS(), exp: nowS() + 60 })}`,
    ],
    ['a malformed token', () => '/token/not.a.token'],
    ['a malformed token in the SDK path form', () => '/token/%00%01/realtime'],
  ];

  it.each(rejections)('refuses %s with 401 and opens no model socket', async (_label, path) => {
    const attempts = model.attempts;
    const a = await attempt(main.port, path());
    expect(a.kind === 'refused' && a.status).toBe(401);
    await new Promise((r) => setTimeout(r, 30));
    expect(model.attempts).toBe(attempts);
  });

  it.each([
    ['a foreign origin', 'https://evil.example'],
    ['a look-alike origin', 'https://www.gateframes.com.evil.com'],
    ['no Origin header', null],
  ])('refuses %s with 403 and opens no model socket', async (_label, origin) => {
    const attempts = model.attempts;
    const a = await attempt(main.port, `/token/${token()}`, { origin });
    expect(a.kind === 'refused' && a.status).toBe(403);
    expect(model.attempts).toBe(attempts);
  });

  it('accepts all carriers: /token/<t>, /auth/<t>, ?auth=<t>, /token/<t>/realtime', async () => {
    for (const path of [
      `/token/${token()}`,
      `/auth/${token()}`,
      `/realtime?auth=${token()}`,
      `/token/${token()}/realtime?model=x`,
    ]) {
      const before = model.conns.length;
      const c = await open(main.port, path);
      // Wait for the model side too, so no half-open handshake spills into the next test's counts.
      await waitFor(() => model.conns.length === before + 1, `model connection for ${path.slice(0, 8)}`);
      c.ws.close();
    }
  });

  it('refuses the 11th upgrade from one IP within a minute with 429 and Retry-After', async () => {
    const ip = freshIp();
    for (let i = 0; i < 10; i++) {
      const before = model.conns.length;
      const c = await open(main.port, `/token/${token()}`, { ip });
      await waitFor(() => model.conns.length === before + 1, `model connection ${i + 1}`);
      c.ws.close();
    }
    const attempts = model.attempts;
    const a = await attempt(main.port, `/token/${token()}`, { ip });
    expect(a.kind).toBe('refused');
    if (a.kind !== 'refused') return;
    expect(a.status).toBe(429);
    expect(Number(a.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(model.attempts).toBe(attempts);
    // Another client is unaffected.
    const before = model.conns.length;
    const other = await open(main.port, `/token/${token()}`);
    await waitFor(() => model.conns.length === before + 1, 'model connection for another IP');
    other.ws.close();
  });
});

describe('browser relay: plain HTTP on the WebSocket paths', () => {
  const get = (path: string, method = 'GET') =>
    fetch(`http://127.0.0.1:${main.port}${path}`, { method, headers: { 'X-Forwarded-For': freshIp() } });

  it('answers 200 OK to GET /token/<t> and /auth/<t> (health pings)', async () => {
    for (const p of ['/token/x', '/auth/anything']) {
      const r = await get(p);
      expect(r.status).toBe(200);
      expect(await r.text()).toBe('OK');
    }
  });

  it('answers 426 Upgrade Required to other plain requests on WebSocket paths', async () => {
    for (const [p, m] of [
      ['/realtime', 'GET'],
      ['/token/x', 'POST'],
      ['/auth/x', 'PUT'],
      ['/media-stream', 'GET'],
    ] as const) {
      const r = await get(p, m);
      expect(r.status, `${m} ${p}`).toBe(426);
      expect(r.headers.get('upgrade')).toBe('websocket');
    }
  });

  it('leaves unknown paths to the 404 fallback', async () => {
    expect((await get('/tokens/x')).status).toBe(404);
  });
});

describe('browser relay: pure helpers', () => {
  it('finds the token in the SDK path form and the standard carriers', () => {
    expect(tokenFromRequest('/token/abc/realtime', 'model=gpt-realtime')).toBe('abc');
    expect(tokenFromRequest('/auth/abc', '')).toBe('abc');
    expect(tokenFromRequest('/realtime', 'auth=xyz&provider=xai')).toBe('xyz');
    expect(tokenFromRequest('/token/abc/other', '')).toBeUndefined();
  });

  it('answers realtime, never a credential subprotocol', () => {
    expect(chooseSubprotocol(['openai-insecure-api-key.sk-x', 'realtime'])).toBe('realtime');
    expect(chooseSubprotocol(['openai-insecure-api-key.sk-x', 'chat'])).toBe('chat');
    expect(chooseSubprotocol(['openai-insecure-api-key.sk-x'])).toBe('');
    expect(chooseSubprotocol([])).toBe('');
  });

  it('maps close codes', () => {
    expect(browserCloseForModelClose(1001, 'Your session hit the maximum duration of 60 minutes.', true)).toEqual({
      code: 1001,
      reason: 'Your session hit the maximum duration of 60 minutes.',
    });
    expect(browserCloseForModelClose(1005, '', true).code).toBe(1011);
    expect(browserCloseForModelClose(1006, '', true).code).toBe(1011);
    expect(browserCloseForModelClose(1010, '', true).code).toBe(1011);
    expect(browserCloseForModelClose(1000, '', false).code).toBe(1011);
    expect(modelCloseForBrowserClose(1006)).toBe(1000);
    expect(modelCloseForBrowserClose(4100)).toBe(4100);
    const long = clampReason('é'.repeat(200));
    expect(Buffer.byteLength(long)).toBeLessThanOrEqual(123);
    expect(long.endsWith('…')).toBe(true);
  });

  it('resolves providers only when configured', () => {
    const onlyOpenai = loadConfig({ NODE_ENV: 'test', PROVIDER: 'openai', OPENAI_API_KEY: 'k' });
    const r = browserEndpointResolver(onlyOpenai);
    expect(r(undefined)).toMatchObject({ ok: true, endpoint: { provider: 'openai', apiKey: 'k' } });
    expect(r('xai')).toEqual({ ok: false, error: 'provider xai is not configured on this relay' });
    expect(r('sim').ok).toBe(false);
    const sim = browserEndpointResolver(loadConfig({ NODE_ENV: 'test', PROVIDER: 'sim' }), 'ws://127.0.0.1:9/sim');
    expect(sim(undefined)).toMatchObject({ ok: true, endpoint: { provider: 'sim', baseUrl: 'ws://127.0.0.1:9/sim' } });
  });
});
