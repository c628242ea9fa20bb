import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CALENDAR_SCOPES, ConnectError, GoogleConnect } from '../src/console/google-connect.js';
import { FakeGoogleServer } from '../src/sim/google/google-server.js';
import { MEMORY, openPglite } from '../src/store/pglite-db.js';
import { seedDemoMerchant } from '../src/store/seed.js';
import { SqlStore } from '../src/store/sql-store.js';

// Connect Google Calendar against the local imitation of Google's OAuth endpoints, reached through
// the same settings the tools use: what the consent request asks for, that the answer is bound to
// the merchant and session that started it, and that disconnecting revokes the token at Google.

const CLIENT = { id: 'client-1.apps.googleusercontent.com', secret: 'shh' };
const REDIRECT = 'http://127.0.0.1:9/console/google/callback';
let google: FakeGoogleServer;
let store: SqlStore;
let connect: GoogleConnect;

beforeAll(async () => {
  google = await FakeGoogleServer.start({ clients: { [CLIENT.id]: CLIENT.secret }, calendars: ['primary', 'shop'] });
  google.addCalendar('shop', 'Shop floor');
  store = new SqlStore(await openPglite(MEMORY));
  await store.migrate();
  await seedDemoMerchant(store);
});

beforeEach(() => {
  connect = new GoogleConnect(
    {
      clientId: CLIENT.id,
      clientSecret: CLIENT.secret,
      authUrl: google.authUrl,
      tokenUrl: google.tokenUrl,
      revokeUrl: google.revokeUrl,
      apiRootUrl: google.rootUrl,
    },
    store,
    REDIRECT,
  );
});

afterAll(async () => {
  await google.close();
  await store.close();
});

/** The owner presses Allow on the consent page: the code and state Google sends back. */
async function consent(url: string): Promise<{ code: string; state: string }> {
  const page = await fetch(url);
  expect(page.status).toBe(200);
  const req = google.oauth.authRequests.at(-1);
  if (!req) throw new Error('no authorization request');
  const back = new URL(google.oauth.decide({ ...req, decision: 'allow' }));
  return { code: back.searchParams.get('code') ?? '', state: back.searchParams.get('state') ?? '' };
}

describe('Connect Google Calendar', () => {
  it('asks for offline access and only the calendar scopes the tools need, with a PKCE challenge', () => {
    const url = new URL(connect.start('demo', 'session-1'));
    expect(`${url.origin}${url.pathname}`).toBe(google.authUrl);
    const p = url.searchParams;
    expect(p.get('access_type')).toBe('offline');
    expect(p.get('response_type')).toBe('code');
    expect(p.get('redirect_uri')).toBe(REDIRECT);
    expect(p.get('scope')?.split(' ')).toEqual([...CALENDAR_SCOPES]);
    expect(p.get('scope')).not.toMatch(/auth\/calendar( |$)/);
    expect(p.get('code_challenge_method')).toBe('S256');
    expect(p.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(p.get('state')).toMatch(/^[A-Za-z0-9_-]{32}$/);
  });

  it('refuses a state from another session or merchant, and a state used twice', async () => {
    const { code, state } = await consent(connect.start('demo', 'session-1'));
    await expect(connect.finish('demo', 'session-2', state, code)).rejects.toBeInstanceOf(ConnectError);
    // The failed attempt used the state up: the right session cannot replay it either.
    await expect(connect.finish('demo', 'session-1', state, code)).rejects.toThrow(/unknown or has expired/);
    const again = await consent(connect.start('demo', 'session-1'));
    await expect(connect.finish('bikes', 'session-1', again.state, again.code)).rejects.toBeInstanceOf(ConnectError);
    expect((await store.getMerchant('demo'))?.googleTokens.refreshToken).toBeNull();
  });

  it('stores the refresh token, lists and picks a calendar, checks free/busy, and revokes on disconnect', async () => {
    const { code, state } = await consent(connect.start('demo', 'session-1'));
    await connect.finish('demo', 'session-1', state, code);
    const saved = await store.getMerchant('demo');
    const refresh = saved?.googleTokens.refreshToken ?? '';
    expect(refresh).toMatch(/^1\/\/fake-/);
    expect(google.hasRefreshToken(refresh)).toBe(true);
    const calendars = await connect.calendars('demo');
    expect(calendars.map((c) => c.name)).toEqual(['owner@example.com', 'Shop floor']);
    await expect(connect.pick('demo', 'someone-elses')).rejects.toBeInstanceOf(ConnectError);
    await connect.pick('demo', 'shop');
    expect((await store.getMerchant('demo'))?.googleCalendarId).toBe('shop');
    google.addEvent('shop', new Date(Date.now() + 3_600_000), new Date(Date.now() + 7_200_000));
    expect(await connect.check('demo')).toEqual({ ok: true, busySlots: 1 });
    expect(await connect.disconnect('demo')).toEqual({ revoked: true });
    expect(google.hasRefreshToken(refresh)).toBe(false);
    const after = await store.getMerchant('demo');
    expect(after?.googleTokens).toEqual({ refreshToken: null, accessToken: null, expiresAt: null });
    expect(after?.googleCalendarId).toBeNull();
    expect(await connect.check('demo')).toEqual({ ok: false, problem: 'not connected' });
  });

  it('says the connection no longer works once Google revoked it elsewhere', async () => {
    const { code, state } = await consent(connect.start('demo', 'session-1'));
    await connect.finish('demo', 'session-1', state, code);
    const refresh = (await store.getMerchant('demo'))?.googleTokens.refreshToken ?? '';
    google.revokeRefreshToken(refresh);
    google.expireAccessTokens();
    expect(await connect.check('demo')).toEqual({ ok: false, problem: 'Google no longer accepts the connection' });
  });
});
