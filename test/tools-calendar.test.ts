import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ToolExecutor } from '../src/tools/tool.js';
import { ConfigError } from '../src/config.js';
import type { Merchant } from '../src/merchants/merchant.js';
import { FakeGoogleServer } from '../src/sim/google/google-server.js';
import type { Store } from '../src/store/store.js';
import { createCalendarFor, googleConfigFromEnv, type GoogleConfig } from '../src/tools/calendar-for.js';
import { createToolExecutor } from '../src/tools/registry.js';
import {
  addMerchant,
  body,
  eventually,
  fnCall,
  locals,
  storeVariants,
  type OpenedStore,
} from './support/tools-harness.js';

// The tools with a Google Calendar behind them (the local fake Google, reached by the real
// googleapis client): events follow bookings and cancellations, the merchant's own events block
// slots, refreshed tokens are stored, and Google failing never loses a booking.

const NOW = new Date('2026-03-26T10:00:00Z'); // Thu 26 Mar, 10:00 in London
const CALLER = '+14155550100';

describe.each(storeVariants())('calendar-backed tools on $name', (variant) => {
  let db: OpenedStore;
  let store: Store;
  let fake: FakeGoogleServer;
  let google: GoogleConfig;
  let run: ToolExecutor;
  let m: Merchant;

  beforeAll(async () => {
    db = await variant.open();
    store = db.store;
  });
  afterAll(async () => {
    await db?.cleanup();
  });
  beforeEach(async () => {
    fake = await FakeGoogleServer.start({ clients: { 'cid.apps': 'csecret' }, refreshTokens: ['rt-1'] });
    google = { clientId: 'cid.apps', clientSecret: 'csecret', apiRootUrl: fake.rootUrl, tokenUrl: fake.tokenUrl };
    run = createToolExecutor({
      store,
      calendarFor: createCalendarFor({ store, google, timeoutMs: 3000 }),
      now: () => NOW,
    });
    m = await addMerchant(store, {}, { tokens: { refreshToken: 'rt-1' } });
  });
  afterEach(async () => {
    await fake.close();
  });

  const ctx = (merchant: Merchant = m) => ({ merchant, callSid: 'CA-cal', callerPhone: CALLER });
  const appointments = () =>
    store.listAppointments(m.id, new Date('2026-03-01T00:00:00Z'), new Date('2026-05-01T00:00:00Z'));
  const requests = (part: string) => fake.requests.filter((r) => `${r.method} ${r.path}`.includes(part));

  it('puts a booking in the calendar in local time, keeps the event id, and stores the refreshed token', async () => {
    const avail = body(await run(fnCall('checkAvailability', { day: 'monday', time: '9' }), ctx()));
    expect(avail).toMatchObject({ requested: { local: 'Mon 30 Mar 09:00', free: true } });
    const out = await run(
      fnCall('createBooking', { date: '2026-03-30', time: '09:00', name: 'Jo March', notes: 'filling' }),
      ctx(),
    );
    expect(body(out)).toMatchObject({ booked: true, calendar: 'updated', local: 'Mon 30 Mar 09:00' });

    const [appt] = await appointments();
    const events = fake.events('primary');
    expect(events).toHaveLength(1);
    const ev = events[0];
    expect(appt?.calendarEventId).toBe(ev?.id);
    expect(ev?.start).toEqual({ dateTime: '2026-03-30T09:00:00+01:00', timeZone: 'Europe/London' });
    expect(ev?.end).toEqual({ dateTime: '2026-03-30T09:30:00+01:00', timeZone: 'Europe/London' });
    expect(ev?.summary).toContain('Jo March');
    expect(ev?.description).toContain('filling');
    expect(ev?.extendedProperties?.private?.attendeePhone).toBe(CALLER);

    // One refresh for both tools (the client is cached), written back to the merchant.
    expect(requests('POST /token')).toHaveLength(1);
    const rec = await eventually(
      async () => {
        const r = await store.getMerchant(m.id);
        return r?.googleTokens.accessToken ? r : undefined;
      },
      3000,
      'stored access token',
    );
    expect(rec.googleTokens.accessToken).toMatch(/^ya29\.fake-/);
    expect(rec.googleTokens.expiresAt?.getTime()).toBeGreaterThan(Date.now() + 60_000);
    expect(rec.googleTokens.refreshToken).toBe('rt-1');
  });

  it("keeps the merchant's own calendar events free of bookings", async () => {
    fake.addEvent('primary', new Date('2026-03-27T10:00:00Z'), new Date('2026-03-27T11:00:00Z'), 'Staff training');
    const avail = body(await run(fnCall('checkAvailability', { day: 'friday', time: '10:00' }), ctx()));
    expect(avail).toMatchObject({ requested: { free: false } });
    const slots = locals(avail, 'slots');
    expect(slots).not.toContain('Fri 27 Mar 10:00');
    expect(slots).not.toContain('Fri 27 Mar 10:30');
    expect(slots).toContain('Fri 27 Mar 11:00');
    const out = await run(fnCall('createBooking', { date: '2026-03-27', time: '10:30', name: 'Kit' }), ctx());
    expect(body(out)).toMatchObject({ error: 'slot_taken' });
    expect(await appointments()).toHaveLength(0);
  });

  it('uses the calendar the merchant chose', async () => {
    const shop = 'shop@group.calendar.google.com';
    fake.addCalendar(shop);
    const other = await addMerchant(store, {}, { calendarId: shop, tokens: { refreshToken: 'rt-1' } });
    expect(
      body(await run(fnCall('createBooking', { date: '2026-03-27', time: '12:00', name: 'Lu' }), ctx(other))),
    ).toMatchObject({ calendar: 'updated' });
    expect(fake.events(shop)).toHaveLength(1);
    expect(fake.events('primary')).toHaveLength(0);
  });

  it('keeps the booking when Google fails (503) and tells the model the calendar was not updated', async () => {
    fake.failNext('POST /calendar/v3/calendars/primary/events', 503, 5);
    const out = await run(fnCall('createBooking', { date: '2026-03-27', time: '14:00', name: 'Mo' }), ctx());
    expect(out.ok).toBe(true);
    const b = body(out);
    expect(b).toMatchObject({ booked: true, calendar: 'not_updated' });
    expect(b.message).toContain('could not be updated');
    const rows = await appointments();
    expect(rows.map((a) => [a.startsAt.toISOString(), a.calendarEventId])).toEqual([
      ['2026-03-27T14:00:00.000Z', null],
    ]);
    expect(fake.events('primary')).toHaveLength(0);
  });

  it('still answers and books when the merchant revoked access, without the calendar', async () => {
    fake.revokeRefreshToken('rt-1');
    const avail = body(await run(fnCall('checkAvailability', { day: 'friday' }), ctx()));
    expect(locals(avail, 'slots')[0]).toBe('Fri 27 Mar 09:00');
    expect(avail.message).toContain('could not be fully checked');
    expect(
      body(await run(fnCall('createBooking', { date: '2026-03-27', time: '09:00', name: 'Ned' }), ctx())),
    ).toMatchObject({ booked: true, calendar: 'not_updated' });
    expect(await appointments()).toHaveLength(1);
  });

  it('deletes the calendar event when the booking is cancelled', async () => {
    await run(fnCall('createBooking', { date: '2026-03-31', time: '15:00', name: 'Oz' }), ctx());
    const [appt] = await appointments();
    expect(fake.events('primary').map((e) => e.status)).toEqual(['confirmed']);
    const out = body(await run(fnCall('cancelBooking', { date: '2026-03-31' }), ctx()));
    expect(out).toMatchObject({ cancelled: true, calendar: 'updated', local: 'Tue 31 Mar 15:00' });
    expect(fake.events('primary').map((e) => [e.id, e.status])).toEqual([[appt?.calendarEventId, 'cancelled']]);
    expect(await appointments()).toHaveLength(0);
    expect((await store.getAppointment(m.id, appt?.id ?? ''))?.status).toBe('cancelled');
  });

  it('counts an event Google already deleted (410) as gone, and a failing delete still cancels', async () => {
    await run(fnCall('createBooking', { date: '2026-03-31', time: '09:00', name: 'Pia' }), ctx());
    await run(fnCall('createBooking', { date: '2026-04-01', time: '09:00' }), ctx());
    fake.failNext('DELETE', 410, 1);
    expect(body(await run(fnCall('cancelBooking', { date: '2026-03-31' }), ctx()))).toMatchObject({
      cancelled: true,
      calendar: 'updated',
    });
    fake.failNext('DELETE', 503, 5);
    const failing = body(await run(fnCall('cancelBooking', { date: '2026-04-01' }), ctx()));
    expect(failing).toMatchObject({ cancelled: true, calendar: 'not_updated' });
    expect(failing.message).toContain('could not be updated');
    expect(await appointments()).toHaveLength(0);
  });

  it('has no calendar without client credentials or a refresh token, and rebuilds after a reconnect', async () => {
    const noCreds = createCalendarFor({ store, google: { ...google, clientId: null, clientSecret: null } });
    expect(await noCreds(m)).toBeNull();
    const plain = await addMerchant(store);
    const calendarFor = createCalendarFor({ store, google, cacheMs: 0 });
    expect(await calendarFor(plain)).toBeNull();
    const first = await calendarFor(m);
    expect(first).not.toBeNull();
    expect(await calendarFor(m)).toBe(first); // same tokens: the same client
    fake.addRefreshToken('rt-2');
    await store.updateGoogleTokens(m.id, { refreshToken: 'rt-2', accessToken: null, expiresAt: null });
    const second = await calendarFor(m);
    expect(second).not.toBe(first);
    await second?.freeBusy('2026-03-27T00:00:00Z', '2026-03-28T00:00:00Z');
    expect(requests('POST /token').at(-1)?.body).toMatchObject({ refresh_token: 'rt-2' });
  });
});

describe('googleConfigFromEnv', () => {
  it('reads the client and URLs, and names a bad URL', () => {
    expect(googleConfigFromEnv({})).toEqual({
      clientId: null,
      clientSecret: null,
      apiRootUrl: 'https://www.googleapis.com/',
      tokenUrl: 'https://oauth2.googleapis.com/token',
    });
    expect(
      googleConfigFromEnv({
        GOOGLE_CLIENT_ID: ' id ',
        GOOGLE_CLIENT_SECRET: 's',
        GOOGLE_API_ROOT_URL: 'http://127.0.0.1:9/',
        GOOGLE_OAUTH_TOKEN_URL: 'http://127.0.0.1:9/token',
      }),
    ).toEqual({
      clientId: 'id',
      clientSecret: 's',
      apiRootUrl: 'http://127.0.0.1:9/',
      tokenUrl: 'http://127.0.0.1:9/token',
    });
    expect(() => googleConfigFromEnv({ GOOGLE_API_ROOT_URL: 'googleapis.com' })).toThrow(ConfigError);
    expect(() => googleConfigFromEnv({ GOOGLE_OAUTH_TOKEN_URL: 'ftp://x/token' })).toThrow(/GOOGLE_OAUTH_TOKEN_URL/);
  });
});
