import { createHash, randomBytes } from 'node:crypto';
import twilio from 'twilio';
import * as uWS from '../src/transports/uws.js';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';
import { loadEdgeConfig } from '../src/http/edge-config.js';
import {
  guardStreamUpgrade,
  guardTwilioWebhook,
  guardedUpgrade,
  mountUpgradeRequired,
  rateLimitedRoute,
  readEdgeRequest,
  type TwilioEdge,
} from '../src/http/edge-guard.js';
import { guard, readBody, write } from '../src/http/uws-http.js';
import { parseTrustProxy } from '../src/security/client-ip.js';
import { createLimiters } from '../src/security/limiters.js';
import { createOriginCheck } from '../src/security/origin.js';

const AUTH_TOKEN = 'twilio-auth-token-for-tests-0123';
const HOST = 'relay.example.com';
const FORM = 'application/x-www-form-urlencoded';

let ipCounter = 0;
const freshIp = () => `10.2.${Math.floor(++ipCounter / 250)}.${ipCounter % 250}`;

interface EdgeApp {
  port: number;
  /** Media-stream sockets that reached `open` (where the lead's code opens the model socket). */
  opened: () => number;
  stop(): void;
}

/** The lead's routes as they will be wired: webhook, /media-stream, a plain route, the 426. */
function startEdgeApp(edge: TwilioEdge): Promise<EdgeApp> {
  const app = uWS.App();
  const limiters = createLimiters();
  const trust = parseTrustProxy('X-Forwarded-For');
  const originAllowed = createOriginCheck(undefined);
  let opened = 0;
  app.post('/twilio/voice', (res, req) => {
    const r = readEdgeRequest(res, req, trust);
    const state = guard(res);
    readBody(res, state, 64 * 1024)
      .then(async (body) => {
        const refused = await guardTwilioWebhook(edge, limiters.httpPerIp, r, body);
        write(res, state, refused ?? { status: 200, body: 'accepted' });
      })
      .catch(() => write(res, state, { status: 413 }));
  });
  app.ws<Record<string, never>>('/media-stream', {
    upgrade: (res, req, context) =>
      guardedUpgrade(res, req, context, trust, async (r) => {
        const refused = await guardStreamUpgrade(edge, limiters.wsUpgradePerIp, originAllowed, r);
        return refused ? { accept: false, reply: refused } : { accept: true, userData: {} };
      }),
    open: () => {
      opened++;
    },
  });
  app.get(
    '/ping',
    rateLimitedRoute(limiters.httpPerIp, trust, () => ({ status: 200, body: 'pong' })),
  );
  mountUpgradeRequired(app, ['/media-stream'], limiters.httpPerIp, trust);
  return new Promise((resolve, reject) => {
    app.listen('127.0.0.1', 0, (listen) => {
      if (!listen) return reject(new Error('listen failed'));
      resolve({
        port: uWS.us_socket_local_port(listen),
        opened: () => opened,
        stop: () => uWS.us_listen_socket_close(listen),
      });
    });
  });
}

function post(port: number, pathAndQuery: string, body: string, headers: Record<string, string>): Promise<Response> {
  return fetch(`http://127.0.0.1:${port}${pathAndQuery}`, {
    method: 'POST',
    body,
    headers: { 'X-Forwarded-For': freshIp(), ...headers },
  });
}

type Upgrade = { kind: 'open' } | { kind: 'refused'; status: number; retryAfter: string | undefined };

function upgrade(port: number, path: string, headers: Record<string, string>): Promise<Upgrade> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, {
      headers: { 'X-Forwarded-For': freshIp(), ...headers },
    });
    ws.on('open', () => {
      resolve({ kind: 'open' });
      ws.close();
    });
    ws.on('unexpected-response', (_req, res) => {
      const h = res.headers['retry-after'];
      resolve({ kind: 'refused', status: res.statusCode ?? 0, retryAfter: Array.isArray(h) ? h[0] : h });
      ws.terminate();
    });
    ws.on('error', reject);
  });
}

const sign = (url: string, params: Record<string, string> = {}) =>
  twilio.getExpectedTwilioSignature(AUTH_TOKEN, url, params);

describe('Twilio signatures (TWILIO_AUTH_TOKEN set)', () => {
  let app: EdgeApp;
  beforeAll(async () => {
    app = await startEdgeApp({ twilioAuthToken: AUTH_TOKEN, publicHost: HOST });
  });
  afterAll(() => app.stop());

  const params = { CallSid: 'CA0123456789abcdef', From: '+14155550100', To: '+14155550199', CallStatus: 'ringing' };
  const body = new URLSearchParams(params).toString();

  it('accepts a signed form webhook, query string included', async () => {
    const r = await post(app.port, '/twilio/voice?merchant=m1', body, {
      'Content-Type': FORM,
      'X-Twilio-Signature': sign(`https://${HOST}/twilio/voice?merchant=m1`, params),
    });
    expect(r.status).toBe(200);
    expect(await r.text()).toBe('accepted');
  });

  it.each([
    ['a missing signature', {}],
    ['a signature over another host', { 'X-Twilio-Signature': sign(`https://evil.example.com/twilio/voice`, params) }],
    [
      'a signature over other params',
      { 'X-Twilio-Signature': sign(`https://${HOST}/twilio/voice`, { ...params, From: '+19995550100' }) },
    ],
    [
      'a signature made with another auth token',
      {
        'X-Twilio-Signature': twilio.getExpectedTwilioSignature('other-token', `https://${HOST}/twilio/voice`, params),
      },
    ],
  ])('refuses a form webhook with %s (403)', async (_label, headers: Record<string, string>) => {
    const r = await post(app.port, '/twilio/voice', body, { 'Content-Type': FORM, ...headers });
    expect(r.status).toBe(403);
  });

  it('accepts a JSON webhook signed with bodySHA256, refuses it when the body was altered', async () => {
    const json = JSON.stringify({ EventType: 'onMessageAdded', Body: 'hello' });
    const hash = createHash('sha256').update(json).digest('hex');
    const url = `https://${HOST}/twilio/voice?bodySHA256=${hash}`;
    const headers = { 'Content-Type': 'application/json', 'X-Twilio-Signature': sign(url) };
    expect((await post(app.port, `/twilio/voice?bodySHA256=${hash}`, json, headers)).status).toBe(200);
    expect(
      (await post(app.port, `/twilio/voice?bodySHA256=${hash}`, json.replace('hello', 'HELLO'), headers)).status,
    ).toBe(403);
    // JSON with nothing covering the body.
    expect(
      (
        await post(app.port, '/twilio/voice', json, {
          'Content-Type': 'application/json',
          'X-Twilio-Signature': sign(`https://${HOST}/twilio/voice`),
        })
      ).status,
    ).toBe(403);
  });

  it('does not rate limit verified Twilio webhooks (Twilio shares IPs)', async () => {
    const ip = freshIp();
    const headers = {
      'Content-Type': FORM,
      'X-Twilio-Signature': sign(`https://${HOST}/twilio/voice`, params),
      'X-Forwarded-For': ip,
    };
    const statuses: number[] = [];
    for (let i = 0; i < 65; i++) statuses.push((await post(app.port, '/twilio/voice', body, headers)).status);
    expect(statuses.every((s) => s === 200)).toBe(true);
  });

  it('accepts the media-stream upgrade signed over wss://PUBLIC_HOST/media-stream with empty params', async () => {
    const before = app.opened();
    expect(
      await upgrade(app.port, '/media-stream', { 'X-Twilio-Signature': sign(`wss://${HOST}/media-stream`) }),
    ).toEqual({ kind: 'open' });
    expect(app.opened()).toBe(before + 1);
  });

  it.each([
    ['no signature', {}],
    ['a bad signature', { 'X-Twilio-Signature': 'AAAAAAAAAAAAAAAAAAAAAAAAAAA=' }],
    [
      'a signature over the https:// URL instead of wss://',
      { 'X-Twilio-Signature': sign(`https://${HOST}/media-stream`) },
    ],
    ['Twilio-looking headers but no signature', { 'User-Agent': 'TwilioProxy/1.1' }],
  ])(
    'refuses the media-stream upgrade with %s (403) before the socket opens',
    async (_label, headers: Record<string, string>) => {
      const before = app.opened();
      expect(await upgrade(app.port, '/media-stream', headers)).toEqual({
        kind: 'refused',
        status: 403,
        retryAfter: undefined,
      });
      expect(app.opened()).toBe(before);
    },
  );
});

describe('refusals count (TWILIO_AUTH_TOKEN set)', () => {
  let app: EdgeApp;
  beforeAll(async () => {
    app = await startEdgeApp({ twilioAuthToken: AUTH_TOKEN, publicHost: HOST });
  });
  afterAll(() => app.stop());

  it('answers 60 unsigned webhooks from one IP with 403, then 429 with Retry-After', async () => {
    const headers = { 'Content-Type': FORM, 'X-Forwarded-For': freshIp(), 'X-Twilio-Signature': 'guess' };
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 61; i++) {
      const r = await post(app.port, '/twilio/voice', 'CallSid=CA1', headers);
      statuses.push(r.status);
      retryAfter = r.headers.get('retry-after');
    }
    expect(statuses.slice(0, 60).every((s) => s === 403)).toBe(true);
    expect(statuses[60]).toBe(429);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
  });

  it('answers 10 unsigned upgrades from one IP with 403, then 429; a signed one still opens', async () => {
    const ip = freshIp();
    for (let i = 0; i < 10; i++)
      expect(await upgrade(app.port, '/media-stream', { 'X-Forwarded-For': ip })).toMatchObject({ status: 403 });
    expect(await upgrade(app.port, '/media-stream', { 'X-Forwarded-For': ip })).toMatchObject({ status: 429 });
    const signature = sign(`wss://${HOST}/media-stream`);
    expect(
      await upgrade(app.port, '/media-stream', { 'X-Forwarded-For': ip, 'X-Twilio-Signature': signature }),
    ).toEqual({ kind: 'open' });
  });
});

describe('validation off (no TWILIO_AUTH_TOKEN, development)', () => {
  let app: EdgeApp;
  beforeAll(async () => {
    app = await startEdgeApp({ twilioAuthToken: undefined, publicHost: HOST });
  });
  afterAll(() => app.stop());

  it('lets unsigned webhooks through but rate limits them per IP (61st is 429)', async () => {
    const headers = { 'Content-Type': FORM, 'X-Forwarded-For': freshIp() };
    const statuses: number[] = [];
    for (let i = 0; i < 61; i++) statuses.push((await post(app.port, '/twilio/voice', 'CallSid=CA1', headers)).status);
    expect(statuses.slice(0, 60).every((s) => s === 200)).toBe(true);
    expect(statuses[60]).toBe(429);
  });

  it.each([
    ['any X-Twilio-Signature header', '/media-stream', { 'X-Twilio-Signature': 'made-up' }],
    ['a TwilioProxy/ User-Agent', '/media-stream', { 'User-Agent': 'TwilioProxy/1.1' }],
    ['?mode=twilio', '/media-stream?mode=twilio', {}],
  ])(
    'does not let %s skip the anonymous upgrade limit (11th is 429)',
    async (_l, path, headers: Record<string, string>) => {
      const ip = freshIp();
      for (let i = 0; i < 10; i++)
        expect(await upgrade(app.port, path, { ...headers, 'X-Forwarded-For': ip })).toEqual({ kind: 'open' });
      expect(await upgrade(app.port, path, { ...headers, 'X-Forwarded-For': ip })).toMatchObject({
        kind: 'refused',
        status: 429,
      });
    },
  );

  it('does not let a Twilio look skip the Origin check', async () => {
    expect(
      await upgrade(app.port, '/media-stream?mode=twilio', {
        'User-Agent': 'TwilioProxy/1.1',
        'X-Twilio-Signature': 'x',
        Origin: 'https://evil.example',
      }),
    ).toMatchObject({ kind: 'refused', status: 403 });
  });

  it('refuses a browser Origin that is not allowed (403), and limits other upgrades to 10 per IP (429)', async () => {
    const before = app.opened();
    expect(await upgrade(app.port, '/media-stream', { Origin: 'https://evil.example' })).toMatchObject({
      kind: 'refused',
      status: 403,
    });
    expect(app.opened()).toBe(before);
    const ip = freshIp();
    for (let i = 0; i < 10; i++)
      expect(await upgrade(app.port, '/media-stream', { 'X-Forwarded-For': ip })).toEqual({ kind: 'open' });
    const eleventh = await upgrade(app.port, '/media-stream', { 'X-Forwarded-For': ip });
    expect(eleventh).toMatchObject({ kind: 'refused', status: 429 });
    expect(Number(eleventh.kind === 'refused' ? eleventh.retryAfter : 0)).toBeGreaterThanOrEqual(1);
  });
});

describe('HTTP rate limit and 426', () => {
  let app: EdgeApp;
  beforeAll(async () => {
    app = await startEdgeApp({ twilioAuthToken: AUTH_TOKEN, publicHost: HOST });
  });
  afterAll(() => app.stop());

  it('answers 60 requests a minute per IP, then 429 with Retry-After; other IPs are unaffected', async () => {
    const ip = freshIp();
    const get = (from: string) => fetch(`http://127.0.0.1:${app.port}/ping`, { headers: { 'X-Forwarded-For': from } });
    for (let i = 0; i < 60; i++) expect((await get(ip)).status).toBe(200);
    const limited = await get(ip);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect((await get(freshIp())).status).toBe(200);
  });

  it('answers 426 with an Upgrade header to plain HTTP on /media-stream', async () => {
    const r = await fetch(`http://127.0.0.1:${app.port}/media-stream`, { headers: { 'X-Forwarded-For': freshIp() } });
    expect(r.status).toBe(426);
    expect(r.headers.get('upgrade')).toBe('websocket');
  });
});

describe('loadEdgeConfig', () => {
  const config = loadConfig({ NODE_ENV: 'test', PUBLIC_HOST: HOST });
  const key = randomBytes(32).toString('base64');

  it('reads the defaults: relay disabled without ENCRYPTION_KEY, validation off, 600 s sessions', () => {
    const e = loadEdgeConfig({}, config);
    expect(e.encryptionKey).toBeNull();
    expect(e.twilioAuthToken).toBeUndefined();
    expect(e.trustProxy).toEqual({ kind: 'none' });
    expect(e.maxSessionSeconds).toBe(600);
    expect(e.publicHost).toBe(HOST);
    expect(e.redisUrl).toBeUndefined();
  });

  it('reads every variable', () => {
    const e = loadEdgeConfig(
      {
        ENCRYPTION_KEY: key,
        TWILIO_AUTH_TOKEN: AUTH_TOKEN,
        TRUST_PROXY: 'Fly-Client-IP',
        REDIS_URL: 'redis://127.0.0.1:6379',
        MAX_SESSION_SECONDS: '120',
        ALLOWED_ORIGINS: 'https://app.example.com',
      },
      config,
    );
    expect(e.encryptionKey?.length).toBe(32);
    expect(e.twilioAuthToken).toBe(AUTH_TOKEN);
    expect(e.trustProxy).toEqual({ kind: 'whole', header: 'fly-client-ip' });
    expect(e.redisUrl).toBe('redis://127.0.0.1:6379');
    expect(e.maxSessionSeconds).toBe(120);
    expect(e.allowedOrigins).toEqual([{ kind: 'exact', scheme: 'https', host: 'app.example.com', port: 443 }]);
  });

  it.each([
    ['ENCRYPTION_KEY', { ENCRYPTION_KEY: randomBytes(16).toString('base64') }],
    ['MAX_SESSION_SECONDS', { MAX_SESSION_SECONDS: '0' }],
    ['MAX_SESSION_SECONDS', { MAX_SESSION_SECONDS: '10m' }],
    ['ALLOWED_ORIGINS', { ALLOWED_ORIGINS: 'https://ok.example, *' }],
    ['TRUST_PROXY', { TRUST_PROXY: 'Fly-Client-IP:2' }],
    ['REDIS_URL', { REDIS_URL: 'localhost:6379' }],
  ])('stops start-up on a bad %s', (variable, env: Record<string, string>) => {
    let err: unknown;
    try {
      loadEdgeConfig(env, config);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect(err instanceof ConfigError && err.variable).toBe(variable);
  });

  it('requires TWILIO_AUTH_TOKEN in production', () => {
    const prod = loadConfig({ NODE_ENV: 'production', PUBLIC_HOST: HOST, OPENAI_API_KEY: 'k' });
    expect(() => loadEdgeConfig({}, prod)).toThrow(/TWILIO_AUTH_TOKEN/);
    expect(loadEdgeConfig({ TWILIO_AUTH_TOKEN: AUTH_TOKEN }, prod).twilioAuthToken).toBe(AUTH_TOKEN);
  });
});
