import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CalendarError, type CalendarClient } from '../src/calendar/calendar.js';
import {
  createGoogleCalendar,
  type GoogleCalendarOptions,
  type GoogleTokens,
} from '../src/calendar/google-calendar.js';
import { FakeGoogleServer, type RecordedRequest } from '../src/sim/google/google-server.js';

let fake: FakeGoogleServer;
let saved: GoogleTokens[];

beforeEach(async () => {
  fake = await FakeGoogleServer.start({ clients: { 'cid.apps': 'csecret' }, refreshTokens: ['rt-1'] });
  saved = [];
});
afterEach(async () => {
  await fake.close();
});

function client(over: Partial<GoogleCalendarOptions> = {}): CalendarClient {
  return createGoogleCalendar({
    clientId: 'cid.apps',
    clientSecret: 'csecret',
    refreshToken: 'rt-1',
    rootUrl: fake.rootUrl,
    tokenUrl: fake.tokenUrl,
    onTokens: (t) => {
      saved.push(t);
    },
    timeoutMs: 3000,
    ...over,
  });
}

const calls = (pathPart: string): RecordedRequest[] =>
  fake.requests.filter((r) => `${r.method} ${r.path}`.includes(pathPart));

async function rejection(p: Promise<unknown>): Promise<CalendarError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof CalendarError) return e;
    throw e;
  }
  throw new Error('expected a CalendarError, the call succeeded');
}

const appt = {
  summary: 'Haircut: Sam',
  description: 'Booked by phone',
  start: new Date('2026-03-31T14:00:00Z'), // 15:00 BST
  end: new Date('2026-03-31T15:00:00Z'),
  timeZone: 'Europe/London',
  attendeePhone: '+447700900123',
};

describe('tokens', () => {
  it('refreshes with the refresh token, hands the new access token to onTokens and uses it', async () => {
    const cal = client();
    await cal.freeBusy('2026-03-31T00:00:00Z', '2026-04-01T00:00:00Z');
    await cal.freeBusy('2026-04-01T00:00:00Z', '2026-04-02T00:00:00Z');

    const token = calls('POST /token');
    expect(token).toHaveLength(1); // cached after the first refresh
    expect(token[0]?.headers['content-type']).toContain('application/x-www-form-urlencoded');
    expect(token[0]?.body).toEqual({
      refresh_token: 'rt-1',
      client_id: 'cid.apps',
      client_secret: 'csecret',
      grant_type: 'refresh_token',
    });
    expect(saved).toHaveLength(1);
    const issued = saved[0]?.accessToken ?? '';
    expect(issued).toMatch(/^ya29\.fake-/);
    expect(saved[0]?.expiryDate).toBeGreaterThan(Date.now() + 3_000_000);
    for (const r of calls('/freeBusy')) expect(r.headers.authorization).toBe(`Bearer ${issued}`);
  });

  it('uses a stored, still-valid access token without refreshing', async () => {
    const { accessToken, expiryDate } = fake.issueAccessToken();
    await client({ accessToken, expiryDate }).freeBusy('2026-03-31T00:00:00Z', '2026-04-01T00:00:00Z');
    expect(calls('/token')).toHaveLength(0);
    expect(calls('/freeBusy')[0]?.headers.authorization).toBe(`Bearer ${accessToken}`);
    expect(saved).toHaveLength(0);
  });

  it('a stored token Google no longer accepts gets one refresh and the call still succeeds', async () => {
    const { accessToken, expiryDate } = fake.issueAccessToken();
    fake.expireAccessTokens();
    await client({ accessToken, expiryDate }).insertEvent(appt);
    expect(calls('/events').map((r) => r.headers.authorization)).toEqual([
      `Bearer ${accessToken}`,
      `Bearer ${saved[0]?.accessToken ?? 'missing'}`,
    ]);
    expect(fake.events().filter((e) => e.status === 'confirmed')).toHaveLength(1);
  });

  it('a revoked refresh token is an auth error (401 on the API, then invalid_grant)', async () => {
    const { accessToken } = fake.issueAccessToken();
    fake.expireAccessTokens();
    fake.revokeRefreshToken('rt-1');
    const err = await rejection(client({ accessToken }).freeBusy('2026-03-31T00:00:00Z', '2026-04-01T00:00:00Z'));
    expect(err.kind).toBe('auth');
    expect(err.message).toContain('invalid_grant');
    expect(calls('/freeBusy')).toHaveLength(1);
    expect(calls('/token')).toHaveLength(1);
  });

  it('a wrong client secret is an auth error', async () => {
    const err = await rejection(client({ clientSecret: 'nope' }).deleteEvent('abcdef'));
    expect(err.kind).toBe('auth');
    expect(calls('/calendar/')).toHaveLength(0);
  });

  it('a failing onTokens does not fail the call', async () => {
    const busy = await client({ onTokens: () => Promise.reject(new Error('db down')) }).freeBusy(
      '2026-03-31T00:00:00Z',
      '2026-04-01T00:00:00Z',
    );
    expect(busy).toEqual([]);
  });
});

describe('request shapes', () => {
  it('freeBusy posts timeMin/timeMax/items to /calendar/v3/freeBusy and returns busy instants', async () => {
    fake.addEvent('primary', new Date('2026-03-31T08:00:00Z'), new Date('2026-03-31T09:30:00Z'));
    fake.addEvent('primary', new Date('2026-03-31T09:00:00Z'), new Date('2026-03-31T10:00:00Z')); // overlaps
    fake.addEvent('primary', new Date('2026-03-31T13:00:00Z'), new Date('2026-03-31T14:00:00Z'));
    fake.addEvent('primary', new Date('2026-04-02T13:00:00Z'), new Date('2026-04-02T14:00:00Z')); // outside
    const busy = await client().freeBusy('2026-03-31T08:30:00.000Z', '2026-04-01T00:00:00Z');

    const [req] = calls('POST /calendar/v3/freeBusy');
    expect(req?.body).toEqual({
      timeMin: '2026-03-31T08:30:00.000Z',
      timeMax: '2026-04-01T00:00:00.000Z',
      items: [{ id: 'primary' }],
    });
    expect(req?.headers['content-type']).toContain('application/json');
    expect(busy.map((b) => [b.start.toISOString(), b.end.toISOString()])).toEqual([
      ['2026-03-31T08:30:00.000Z', '2026-03-31T10:00:00.000Z'], // clipped and merged, as Google does
      ['2026-03-31T13:00:00.000Z', '2026-03-31T14:00:00.000Z'],
    ]);
  });

  it('insertEvent posts start/end as dateTime with the merchant offset plus timeZone', async () => {
    const { eventId } = await client().insertEvent(appt);
    const [req] = calls('POST /calendar/v3/calendars/primary/events');
    expect(req?.body).toEqual({
      id: eventId,
      summary: 'Haircut: Sam',
      description: 'Booked by phone\n\nPhone: +447700900123',
      start: { dateTime: '2026-03-31T15:00:00+01:00', timeZone: 'Europe/London' },
      end: { dateTime: '2026-03-31T16:00:00+01:00', timeZone: 'Europe/London' },
      extendedProperties: { private: { attendeePhone: '+447700900123' } },
    });
    expect(eventId).toMatch(/^[a-v0-9]{5,}$/);
    const [stored] = fake.events();
    expect(stored).toMatchObject({ id: eventId, status: 'confirmed', summary: 'Haircut: Sam' });
    expect(stored?.htmlLink).toMatch(/^https:\/\/www\.google\.com\/calendar\/event\?eid=/);

    // The new booking now shows up as busy.
    const busy = await client().freeBusy('2026-03-31T00:00:00Z', '2026-04-01T00:00:00Z');
    expect(busy.map((b) => b.start.toISOString())).toEqual(['2026-03-31T14:00:00.000Z']);
  });

  it('deleteEvent sends DELETE to the event path; the slot frees up', async () => {
    const cal = client();
    const { eventId } = await cal.insertEvent(appt);
    await cal.deleteEvent(eventId);
    expect(calls('DELETE').map((r) => r.path)).toEqual([`/calendar/v3/calendars/primary/events/${eventId}`]);
    expect(fake.events()[0]?.status).toBe('cancelled');
    expect(await cal.freeBusy('2026-03-31T00:00:00Z', '2026-04-01T00:00:00Z')).toEqual([]);
  });

  it('uses the configured calendar id, encoded in the path', async () => {
    fake.addCalendar('shop@example.com');
    const cal = client({ calendarId: 'shop@example.com' });
    const { eventId } = await cal.insertEvent(appt);
    await cal.deleteEvent(eventId);
    expect(calls('/calendars/').map((r) => `${r.method} ${r.path}`)).toEqual([
      'POST /calendar/v3/calendars/shop@example.com/events',
      `DELETE /calendar/v3/calendars/shop@example.com/events/${eventId}`,
    ]);
    expect(fake.events('shop@example.com')).toHaveLength(1);
    expect(fake.events('primary')).toHaveLength(0);
  });
});

describe('errors', () => {
  it('deleting twice is not_found (410); an unknown id is not_found (404)', async () => {
    const cal = client();
    const { eventId } = await cal.insertEvent(appt);
    await cal.deleteEvent(eventId);
    const gone = await rejection(cal.deleteEvent(eventId));
    expect([gone.kind, gone.status]).toEqual(['not_found', 410]);
    expect(gone.message).toContain('Resource has been deleted');
    const unknown = await rejection(cal.deleteEvent('abcdefabcdef'));
    expect([unknown.kind, unknown.status]).toEqual(['not_found', 404]);
  });

  it('an unknown calendar is not_found, for free/busy and for insert', async () => {
    const cal = client({ calendarId: 'nobody@example.com' });
    expect((await rejection(cal.freeBusy('2026-03-31T00:00:00Z', '2026-04-01T00:00:00Z'))).kind).toBe('not_found');
    expect((await rejection(cal.insertEvent(appt))).kind).toBe('not_found');
  });

  it('503 that persists is unavailable after one retry; a single 503 is retried away', async () => {
    const cal = client();
    fake.failNext('/freeBusy', 503, 2);
    const err = await rejection(cal.freeBusy('2026-03-31T00:00:00Z', '2026-04-01T00:00:00Z'));
    expect([err.kind, err.status, err.retryable]).toEqual(['unavailable', 503, true]);
    expect(calls('/freeBusy')).toHaveLength(2);

    fake.failNext('/freeBusy', 503, 1);
    fake.requests.length = 0;
    await expect(cal.freeBusy('2026-03-31T00:00:00Z', '2026-04-01T00:00:00Z')).resolves.toEqual([]);
    expect(calls('/freeBusy')).toHaveLength(2);
  });

  it('an insert whose response was lost is retried with the same id and not double-booked', async () => {
    fake.failNext('/events', 503, 1, { afterHandling: true });
    const { eventId } = await client().insertEvent(appt);
    const inserts = calls('POST /calendar/v3/calendars/primary/events');
    expect(inserts).toHaveLength(2);
    expect(inserts.map((r) => (r.body as { id?: string }).id)).toEqual([eventId, eventId]);
    expect(fake.events()).toHaveLength(1);
  });

  it('429 is rate_limited and not retried', async () => {
    fake.failNext('/events', 429, 3);
    const err = await rejection(client().insertEvent(appt));
    expect([err.kind, err.status]).toEqual(['rate_limited', 429]);
    expect(calls('/events')).toHaveLength(1);
    expect(fake.events()).toHaveLength(0);
  });

  it('400 from Google is bad_request; invalid input is refused before any request', async () => {
    fake.failNext('/freeBusy', 400);
    expect((await rejection(client().freeBusy('2026-03-31T00:00:00Z', '2026-04-01T00:00:00Z'))).kind).toBe(
      'bad_request',
    );
    const before = fake.requests.length;
    expect((await rejection(client().insertEvent({ ...appt, end: appt.start }))).kind).toBe('bad_request');
    expect((await rejection(client().insertEvent({ ...appt, timeZone: 'Nowhere/X' }))).kind).toBe('bad_request');
    expect((await rejection(client().freeBusy('yesterday', '2026-04-01T00:00:00Z'))).kind).toBe('bad_request');
    expect(fake.requests.length).toBe(before);
  });

  it('a slow Google times out as unavailable well before it would have answered', async () => {
    fake.delayMs = 4000;
    const started = Date.now();
    const err = await rejection(client({ timeoutMs: 300 }).freeBusy('2026-03-31T00:00:00Z', '2026-04-01T00:00:00Z'));
    expect(err.kind).toBe('unavailable');
    expect(err.message).toContain('timed out');
    expect(Date.now() - started).toBeLessThan(3500);
  });

  it("the caller's AbortSignal cancels the call", async () => {
    fake.delayMs = 4000;
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const err = await rejection(client().insertEvent(appt, { signal: ac.signal }));
    expect(err.kind).toBe('unavailable');
    expect(err.message).toContain('cancelled');
    const pre = new AbortController();
    pre.abort();
    const before = fake.requests.length;
    expect((await rejection(client().deleteEvent('abcdef', { signal: pre.signal }))).message).toContain('cancelled');
    expect(fake.requests.length).toBe(before);
  });

  it('nothing listening is unavailable', async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((r) => probe.close(() => r()));
    const { accessToken, expiryDate } = fake.issueAccessToken();
    const err = await rejection(
      client({ rootUrl: `http://127.0.0.1:${port}/`, accessToken, expiryDate }).freeBusy(
        '2026-03-31T00:00:00Z',
        '2026-04-01T00:00:00Z',
      ),
    );
    expect(err.kind).toBe('unavailable');
  });
});

describe('fake server answers like Google', () => {
  it('401 with the Google error envelope without a valid bearer token', async () => {
    const res = await fetch(`${fake.rootUrl}calendar/v3/freeBusy`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer made-up' },
      body: JSON.stringify({
        timeMin: '2026-03-31T00:00:00Z',
        timeMax: '2026-04-01T00:00:00Z',
        items: [{ id: 'primary' }],
      }),
    });
    expect(res.status).toBe(401);
    const body = (await res.json()) as { error: { code: number; status: string; errors: Array<{ reason: string }> } };
    expect(body.error.code).toBe(401);
    expect(body.error.status).toBe('UNAUTHENTICATED');
    expect(body.error.errors[0]?.reason).toBe('authError');
  });

  it('token endpoint: invalid_grant for an unknown refresh token, Bearer token otherwise', async () => {
    const post = (rt: string): Promise<Response> =>
      fetch(fake.tokenUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'refresh_token',
          refresh_token: rt,
          client_id: 'cid.apps',
          client_secret: 'csecret',
        }),
      });
    const bad = await post('rt-unknown');
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: 'invalid_grant' });
    const good = await post('rt-1');
    expect(await good.json()).toMatchObject({
      token_type: 'Bearer',
      expires_in: 3599,
      access_token: expect.stringMatching(/^ya29\./),
    });
  });
});
