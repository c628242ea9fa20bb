import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallRecord } from '../src/store/call-record.js';
import { loadMigrations } from '../src/store/migrations.js';
import { openPg } from '../src/store/pg-db.js';
import { MEMORY, openPglite } from '../src/store/pglite-db.js';
import { SqlStore } from '../src/store/sql-store.js';
import { StoreMerchantDirectory } from '../src/store/merchant-directory.js';
import { seedIfEmpty } from '../src/store/seed.js';
import type { MerchantInput } from '../src/store/store.js';

// One suite, every SQL adapter: embedded PGlite always, the Postgres server when DATABASE_URL is set
// (.ci/run sets it). The server variant works in a schema of its own, dropped afterwards.

interface Opened {
  /** Two stores on the same database (PGlite: the same instance twice; server: two pools). */
  a: SqlStore;
  b: SqlStore;
  cleanup(): Promise<void>;
}

interface Variant {
  name: string;
  /** The database has Supabase's API roles, so the migration's Supabase branch (RLS, grants) runs. */
  supabaseRoles: boolean;
  open(): Promise<Opened>;
}

// The embedded variant impersonates a Supabase database (its roles and `extensions` schema) so the
// migration's Supabase-only statements run somewhere in every test run; the plain path runs on the
// server variant here and on a fresh on-disk PGlite in merchant-cli.test.ts.
const variants: Variant[] = [
  {
    name: 'PGlite (memory, Supabase roles present)',
    supabaseRoles: true,
    async open() {
      const db = await openPglite(MEMORY);
      await db.exec('create role anon; create role authenticated; create role service_role; create schema extensions;');
      const store = new SqlStore(db);
      return { a: store, b: store, cleanup: () => store.close() };
    },
  },
];

const databaseUrl = process.env.DATABASE_URL;
if (databaseUrl) {
  variants.push({
    name: 'Postgres server',
    supabaseRoles: false,
    async open() {
      const schema = `callrelay_test_${randomBytes(6).toString('hex')}`;
      const admin = new pg.Client({ connectionString: databaseUrl });
      await admin.connect();
      // The extension goes to public once, so dropping a test schema never takes it along.
      await admin.query('create extension if not exists btree_gist with schema public');
      await admin.query(`create schema ${schema}`);
      const url = new URL(databaseUrl);
      url.searchParams.set('options', `-c search_path=${schema},public`);
      const a = new SqlStore(openPg({ connectionString: url.toString(), max: 12 }));
      const b = new SqlStore(openPg({ connectionString: url.toString(), max: 4 }));
      return {
        a,
        b,
        async cleanup() {
          await a.close();
          await b.close();
          await admin.query(`drop schema ${schema} cascade`);
          await admin.end();
        },
      };
    },
  });
} else {
  console.log(
    'store.test: Postgres-server variant not run: DATABASE_URL is not set (.ci/run sets it to a local server)',
  );
}

const merchant = (over: Partial<MerchantInput> = {}): MerchantInput => ({
  id: 'sunny',
  name: 'Sunny Side Dental',
  timeZone: 'America/New_York',
  phoneNumbers: ['+15005550006'],
  instructions: 'Be brief.',
  greeting: 'Thanks for calling Sunny Side Dental.',
  outboundGreeting: 'Hello from Sunny Side Dental.',
  voicemailTemplate: 'This is {business}, please call back.',
  greetingInterruptible: false,
  slotMinutes: 30,
  businessHours: { '1': ['09:00-12:00', '13:00-17:00'], '5': ['09:00-15:00'] },
  tools: ['lookupCustomer', 'createBooking'],
  ...over,
});

const at = (iso: string): Date => new Date(iso);

const callRecord = (over: Partial<CallRecord> = {}): CallRecord => ({
  callSid: 'CA0001',
  streamSid: 'MZ0001',
  merchantId: 'sunny',
  callerPhone: '+14155550123',
  calledNumber: '+15005550006',
  direction: 'inbound',
  answeredBy: null,
  startedAt: at('2030-03-04T15:00:00.000Z'),
  endedAt: at('2030-03-04T15:02:03.500Z'),
  durationMs: 123_500,
  endReason: 'caller_hung_up',
  provider: 'openai',
  model: 'gpt-realtime',
  usage: { inputTokens: 1200, outputTokens: 340, totalTokens: 1540 },
  stats: { bargeIns: 1, framesIn: 6175 },
  transcript: [
    { role: 'assistant', text: 'Thanks for calling Sunny Side Dental, how can I…', atMs: 200, interrupted: true },
    { role: 'caller', text: 'Hi, I need a cleaning on Tuesday.', atMs: 2100 },
    { role: 'tool', text: 'checkAvailability → 3 slots', atMs: 4000 },
  ],
  transcriptText:
    'Assistant: Thanks for calling… [interrupted]\nCaller: Hi, I need a cleaning on Tuesday.\nTool: ' +
    'checkAvailability → 3 slots',
  timeline: [
    { atMs: 0, kind: 'state', state: 'connecting' },
    { atMs: 1500, kind: 'bargeIn' },
    { atMs: 3800, kind: 'tool', name: 'checkAvailability', ms: 210, ok: true },
  ],
  toolCalls: [
    {
      name: 'checkAvailability',
      atMs: 3800,
      ms: 210,
      ok: true,
      arguments: '{"date":"2030-03-05"}',
      output: '{"slots":["09:00","09:30","10:00"]}',
    },
  ],
  ...over,
});

for (const variant of variants) {
  describe(`store on ${variant.name}`, () => {
    let s: Opened;
    let a: SqlStore;

    beforeAll(async () => {
      s = await variant.open();
      a = s.a;
    }, 60_000);

    afterAll(async () => {
      await s?.cleanup();
    });

    it(
      'applies each migration exactly once when two instances migrate at the same time, and again is a ' + 'no-op',
      async () => {
        const files = await loadMigrations();
        const [x, y] = await Promise.all([s.a.applyMigrations(), s.b.applyMigrations()]);
        expect([...x, ...y].sort()).toEqual(files.map((f) => f.version));
        expect(await a.applyMigrations()).toEqual([]);
        await a.migrate();
        const rows = await a.db.query('select version, name from schema_migrations order by version');
        expect(rows).toEqual(files.map((f) => ({ version: f.version, name: f.name })));
      },
    );

    it('seeds the demo merchant with all five tools into an empty store, and only then', async () => {
      const demo = await seedIfEmpty(a);
      expect(demo).toMatchObject({
        id: 'demo',
        name: 'Sunny Side Dental',
        phoneNumbers: ['+15005550006'],
        slotMinutes: 30,
      });
      expect(demo?.tools).toEqual([
        'lookupCustomer',
        'checkAvailability',
        'createBooking',
        'cancelBooking',
        'takeMessage',
      ]);
      expect(await seedIfEmpty(a)).toBeNull();
      await a.db.query("delete from merchants where id = 'demo'");
      expect(await a.findMerchantByNumber('+15005550006')).toBeNull();
    });

    it('stores a merchant with every field and finds it by id and by dialled number', async () => {
      const saved = await a.upsertMerchant(
        merchant({ provider: 'xai', voice: 'Ara', googleCalendarId: 'cal@example.com' }),
      );
      expect(saved).toMatchObject({
        id: 'sunny',
        name: 'Sunny Side Dental',
        provider: 'xai',
        voice: 'Ara',
        greetingInterruptible: false,
      });
      const byId = await a.getMerchant('sunny');
      expect(byId).toEqual(saved);
      expect(byId?.businessHours).toEqual({ '1': ['09:00-12:00', '13:00-17:00'], '5': ['09:00-15:00'] });
      expect(byId?.googleCalendarId).toBe('cal@example.com');
      expect((await a.findMerchantByNumber('+15005550006'))?.id).toBe('sunny');
      expect(await a.findMerchantByNumber('+15005550099')).toBeNull();
      expect(await a.findMerchantByNumber('not a number')).toBeNull();
      // psql readers see the same thing under the documented column names.
      const [row] = await a.db.query("select business_name, time_zone, tools from merchants where id = 'sunny'");
      expect(row).toEqual({
        business_name: 'Sunny Side Dental',
        time_zone: 'America/New_York',
        tools: ['lookupCustomer', 'createBooking'],
      });
    });

    it('serves the call core as a MerchantDirectory, without the calendar secrets', async () => {
      await a.updateGoogleTokens('sunny', { refreshToken: 'secret-rt' });
      const dir = new StoreMerchantDirectory(a, 'sunny');
      const m = await dir.byNumber('+15005550006');
      expect(m).toMatchObject({ id: 'sunny', timeZone: 'America/New_York' });
      expect(JSON.stringify(m)).not.toContain('secret-rt');
      expect(m && 'googleTokens' in m).toBe(false);
      expect(await dir.byNumber('+15005550098')).toBeUndefined();
      expect((await dir.fallback())?.id).toBe('sunny');
      expect(await new StoreMerchantDirectory(a).fallback()).toBeUndefined();
      expect(await dir.byId('nobody')).toBeUndefined();
    });

    it('moves numbers on re-upsert and refuses a number that rings another merchant', async () => {
      await a.upsertMerchant(merchant({ phoneNumbers: ['+15005550006', '+15005550007'] }));
      await a.upsertMerchant(merchant({ phoneNumbers: ['+15005550007'] }));
      expect(await a.findMerchantByNumber('+15005550006')).toBeNull();
      await expect(
        a.upsertMerchant(merchant({ id: 'other', name: 'Other', phoneNumbers: ['+15005550007'] })),
      ).rejects.toThrow(/already belongs to merchant sunny/);
      expect(await a.getMerchant('other')).toBeNull();
      await a.upsertMerchant(merchant({ phoneNumbers: ['+15005550006'], provider: undefined, voice: undefined }));
      const m = await a.getMerchant('sunny');
      expect(m?.phoneNumbers).toEqual(['+15005550006']);
      expect(m && 'provider' in m).toBe(false);
      expect((await a.listMerchants()).map((x) => x.id)).toEqual(['sunny']);
    });

    it('keeps a sip merchant on sip, and a merchant without transport on media-streams (0006)', async () => {
      const sip = await a.upsertMerchant(merchant({ provider: 'openai', transport: 'sip' }));
      expect(sip).toMatchObject({ provider: 'openai', transport: 'sip' });
      expect((await s.b.findMerchantByNumber('+15005550006'))?.transport).toBe('sip');
      expect(await s.b.getMerchant('sunny')).toEqual(sip);
      const back = await a.upsertMerchant(merchant());
      expect(back && 'transport' in back).toBe(false);
      expect(await a.db.query("select transport from merchants where id = 'sunny'")).toEqual([
        { transport: 'media-streams' },
      ]);
      await expect(a.db.query("update merchants set transport = 'webrtc' where id = 'sunny'")).rejects.toThrow(
        /merchants_transport_check/,
      );
      // The widened provider check: the third provider is storable, anything else still is not.
      await a.db.query("update merchants set provider = 'openai-live' where id = 'sunny'");
      await expect(a.db.query("update merchants set provider = 'gemini' where id = 'sunny'")).rejects.toThrow(
        /merchants_provider_check/,
      );
      await a.upsertMerchant(merchant());
    });

    it('keeps Google tokens across a merchant re-upsert and updates only the token fields given', async () => {
      const expiry = at('2030-01-01T10:00:00.000Z');
      expect(
        await a.updateGoogleTokens('sunny', { refreshToken: 'rt-1', accessToken: 'at-1', expiresAt: expiry }),
      ).toBe(true);
      await a.upsertMerchant(merchant());
      expect((await a.getMerchant('sunny'))?.googleTokens).toEqual({
        refreshToken: 'rt-1',
        accessToken: 'at-1',
        expiresAt: expiry,
      });
      await a.updateGoogleTokens('sunny', { accessToken: 'at-2', expiresAt: null });
      expect((await a.getMerchant('sunny'))?.googleTokens).toEqual({
        refreshToken: 'rt-1',
        accessToken: 'at-2',
        expiresAt: null,
      });
      expect(await a.updateGoogleTokens('nobody', { accessToken: 'x' })).toBe(false);
    });

    it('creates one customer when 20 calls from the same number race, and fills a missing name only', async () => {
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          s[i % 2 ? 'a' : 'b'].findOrCreateCustomer('sunny', '+14155550123', i === 7 ? 'Ada' : null),
        ),
      );
      expect(new Set(results.map((c) => c.id)).size).toBe(1);
      const [count] = await a.db.query("select count(*)::int as n from customers where phone = '+14155550123'");
      expect(count).toEqual({ n: 1 });
      const again = await a.findOrCreateCustomer('sunny', '+14155550123', 'Someone Else');
      expect(again.name).toBe('Ada');
      expect((await a.findCustomerByPhone('sunny', '+14155550123'))?.id).toBe(again.id);
      expect(await a.findCustomerByPhone('sunny', '+14155550999')).toBeNull();
      const patched = await a.updateCustomer('sunny', again.id, {
        email: 'ada@example.com',
        notes: 'prefers mornings',
      });
      expect(patched).toMatchObject({ name: 'Ada', email: 'ada@example.com', notes: 'prefers mornings' });
      expect(await a.updateCustomer('other', again.id, { name: 'x' })).toBeNull();
    });

    it('gives a contested slot to exactly one of 20 concurrent bookings', async () => {
      const c = await a.findOrCreateCustomer('sunny', '+14155550123');
      const startsAt = at('2030-03-05T14:00:00Z');
      const endsAt = at('2030-03-05T14:30:00Z');
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          s[i % 2 ? 'a' : 'b'].bookAppointment({
            merchantId: 'sunny',
            customerId: c.id,
            startsAt,
            endsAt,
            callSid: `CA-race-${i}`,
          }),
        ),
      );
      const won = results.filter((r) => r.ok);
      expect(won).toHaveLength(1);
      expect(results.filter((r) => !r.ok && r.reason === 'slot_taken')).toHaveLength(19);
      const [count] = await a.db.query(
        "select count(*)::int as n from appointments where status = 'booked' and starts_at = $1",
        [startsAt.toISOString()],
      );
      expect(count).toEqual({ n: 1 });
    });

    it('refuses overlapping bookings, allows adjacent ones, and frees a slot on cancel', async () => {
      const c = await a.findOrCreateCustomer('sunny', '+14155550124', 'Bo');
      const book = (from: string, to: string) =>
        a.bookAppointment({
          merchantId: 'sunny',
          customerId: c.id,
          startsAt: at(from),
          endsAt: at(to),
          notes: 'cleaning',
          callSid: 'CA-b',
        });
      expect(await book('2030-03-05T14:15:00Z', '2030-03-05T14:45:00Z')).toEqual({ ok: false, reason: 'slot_taken' });
      const next = await book('2030-03-05T14:30:00Z', '2030-03-05T15:00:00Z');
      expect(next.ok).toBe(true);
      if (!next.ok) return;
      expect(next.appointment).toMatchObject({
        merchantId: 'sunny',
        customerId: c.id,
        status: 'booked',
        notes: 'cleaning',
        createdByCallSid: 'CA-b',
      });
      await a.setAppointmentCalendarEvent(next.appointment.id, 'gcal-123');
      expect((await a.getAppointment('sunny', next.appointment.id))?.calendarEventId).toBe('gcal-123');

      const list = await a.listAppointments('sunny', at('2030-03-05T00:00:00Z'), at('2030-03-06T00:00:00Z'));
      expect(list.map((x) => x.startsAt.toISOString())).toEqual([
        '2030-03-05T14:00:00.000Z',
        '2030-03-05T14:30:00.000Z',
      ]);
      const mine = await a.findAppointmentsForCustomerOn(
        'sunny',
        c.id,
        at('2030-03-05T00:00:00Z'),
        at('2030-03-06T00:00:00Z'),
      );
      expect(mine.map((x) => x.id)).toEqual([next.appointment.id]);

      expect(await a.cancelAppointment('other', next.appointment.id)).toBeNull();
      const cancelled = await a.cancelAppointment('sunny', next.appointment.id);
      expect(cancelled?.status).toBe('cancelled');
      expect(cancelled?.cancelledAt).toBeInstanceOf(Date);
      expect(await a.cancelAppointment('sunny', next.appointment.id)).toBeNull();
      expect(await a.listAppointments('sunny', at('2030-03-05T14:30:00Z'), at('2030-03-05T15:00:00Z'))).toEqual([]);
      expect((await book('2030-03-05T14:30:00Z', '2030-03-05T15:00:00Z')).ok).toBe(true);
      // Ids come from the model: a malformed one is simply not found.
      expect(await a.getAppointment('sunny', 'tomorrow at 3')).toBeNull();
      expect(await a.cancelAppointment('sunny', 'tomorrow at 3')).toBeNull();
    });

    it('saves a message with its urgency', async () => {
      const m = await a.saveMessage({
        merchantId: 'sunny',
        callerName: 'Cy',
        callerPhone: '+14155550125',
        body: 'Call me back',
        urgency: 'urgent',
        callSid: 'CA9',
      });
      expect(m).toMatchObject({
        merchantId: 'sunny',
        callerName: 'Cy',
        body: 'Call me back',
        urgency: 'urgent',
        callSid: 'CA9',
      });
      expect((await a.saveMessage({ merchantId: 'sunny', body: 'hello' })).urgency).toBe('normal');
      await expect(a.saveMessage({ merchantId: 'sunny', body: '' })).rejects.toThrow();
    });

    it('writes a call record once per call sid: a second write updates the same row', async () => {
      const first = callRecord({ endedAt: null, durationMs: null, endReason: null });
      await a.saveCallRecord(first);
      await Promise.all([a.saveCallRecord(callRecord()), s.b.saveCallRecord(callRecord())]);
      const got = await a.getCallRecord('CA0001');
      const { createdAt, ...rest } = got ?? callRecord();
      expect(rest).toEqual(callRecord());
      expect(createdAt).toBeInstanceOf(Date);
      const [count] = await a.db.query("select count(*)::int as n from calls where call_sid = 'CA0001'");
      expect(count).toEqual({ n: 1 });
      const [row] = await a.db.query(
        "select transcript_text, transcript->0->>'interrupted' as i from calls where call_sid = 'CA0001'",
      );
      expect(row).toEqual({ transcript_text: callRecord().transcriptText, i: 'true' });
      expect(await a.getCallRecord('CA-none')).toBeNull();
    });

    it('lists messages unread first, newest first, and keeps one marked read', async () => {
      await a.upsertMerchant(merchant({ id: 'shop', name: 'Shop', phoneNumbers: [] }));
      const ids: string[] = [];
      for (const body of ['first', 'second', 'third']) ids.push((await a.saveMessage({ merchantId: 'shop', body })).id);
      expect((await a.listMessages('shop', 10)).map((m) => m.body)).toEqual(['third', 'second', 'first']);
      expect(await a.markMessageRead('shop', ids[2] ?? '')).toBe(true);
      const listed = await a.listMessages('shop', 10);
      expect(listed.map((m) => [m.body, m.readAt !== null])).toEqual([
        ['second', false],
        ['first', false],
        ['third', true],
      ]);
      // Another merchant's message, an unknown id and a malformed one: nothing marked.
      expect(await a.markMessageRead('sunny', ids[0] ?? '')).toBe(false);
      expect(await a.markMessageRead('shop', '00000000-0000-4000-8000-000000000000')).toBe(false);
      expect(await a.markMessageRead('shop', 'not-a-uuid')).toBe(false);
      expect((await a.listMessages('shop', 10)).filter((m) => m.readAt !== null)).toHaveLength(1);
    });

    it('lists upcoming appointments soonest first with their customers, not cancelled or past ones', async () => {
      const c = await a.findOrCreateCustomer('shop', '+14155550177', 'Ada');
      const base = Date.parse('2031-06-01T15:00:00Z');
      const slot = (h: number) => ({
        startsAt: new Date(base + h * 3600_000),
        endsAt: new Date(base + (h + 1) * 3600_000),
      });
      await a.bookAppointment({ merchantId: 'shop', customerId: c.id, ...slot(3) });
      await a.bookAppointment({ merchantId: 'shop', customerId: c.id, ...slot(-5) });
      const gone = await a.bookAppointment({ merchantId: 'shop', customerId: c.id, ...slot(1) });
      if (gone.ok) await a.cancelAppointment('shop', gone.appointment.id);
      await a.bookAppointment({ merchantId: 'shop', customerId: c.id, ...slot(2) });
      const up = await a.listUpcomingAppointments('shop', new Date(base), 10);
      expect(up.map((x) => [x.startsAt.toISOString(), x.customerName, x.customerPhone])).toEqual([
        ['2031-06-01T17:00:00.000Z', 'Ada', '+14155550177'],
        ['2031-06-01T18:00:00.000Z', 'Ada', '+14155550177'],
      ]);
      expect(await a.listUpcomingAppointments('sunny', new Date(base), 10)).toEqual([]);
    });

    it('searches the call list by text, merchant, day, end reason and direction, newest first', async () => {
      const t = (min: number) => new Date(Date.parse('2032-01-10T12:00:00Z') + min * 60_000);
      await a.saveCallRecord(
        callRecord({ callSid: 'CA-s1', merchantId: 'shop', startedAt: t(0), transcriptText: 'Caller: 50% off_peak?' }),
      );
      await a.saveCallRecord(
        callRecord({
          callSid: 'CA-s2',
          merchantId: 'shop',
          startedAt: t(10),
          direction: 'outbound',
          endReason: 'voicemail_left',
        }),
      );
      await a.saveCallRecord(
        callRecord({ callSid: 'CA-s3', merchantId: 'sunny', startedAt: t(20), callerPhone: '+14155559999' }),
      );
      const sids = async (q: Partial<Parameters<typeof a.listCalls>[0]>) =>
        (await a.listCalls({ limit: 50, from: t(-1), to: t(60), ...q })).map((c) => c.callSid);
      expect(await sids({})).toEqual(['CA-s3', 'CA-s2', 'CA-s1']);
      expect(await sids({ merchantId: 'shop' })).toEqual(['CA-s2', 'CA-s1']);
      expect(await sids({ text: '50% off_' })).toEqual(['CA-s1']);
      expect(await sids({ text: '5%' })).toEqual([]);
      expect(await sids({ text: '9999' })).toEqual(['CA-s3']);
      expect(await sids({ endReason: 'voicemail_left' })).toEqual(['CA-s2']);
      expect(await sids({ direction: 'outbound' })).toEqual(['CA-s2']);
      expect(await sids({ before: t(20), limit: 1 })).toEqual(['CA-s2']);
      const [item] = await a.listCalls({ limit: 1, text: 'CA-s3' });
      expect(item).toEqual({
        callSid: 'CA-s3',
        merchantId: 'sunny',
        callerPhone: '+14155559999',
        direction: 'inbound',
        startedAt: t(20),
        durationMs: 123_500,
        endReason: 'caller_hung_up',
      });
    });

    it('keeps console sign-in links by hash, finds them, and revokes every live one of a merchant', async () => {
      const hash = (c: string) => c.repeat(64);
      const exp = new Date(Date.now() + 86_400_000);
      const l1 = await a.createConsoleLink('shop', hash('a'), exp);
      await a.createConsoleLink('shop', hash('b'), exp);
      await a.createConsoleLink('sunny', hash('c'), exp);
      expect(l1).toMatchObject({ merchantId: 'shop', revokedAt: null });
      expect((await a.findConsoleLink(hash('a')))?.id).toBe(l1.id);
      expect((await a.getConsoleLink(l1.id))?.merchantId).toBe('shop');
      expect(await a.getConsoleLink('not-a-uuid')).toBeNull();
      expect(await a.findConsoleLink(hash('d'))).toBeNull();
      await expect(a.createConsoleLink('shop', 'not-a-hash', exp)).rejects.toThrow();
      expect(await a.revokeConsoleLinks('shop')).toBe(2);
      expect(await a.revokeConsoleLinks('shop')).toBe(0);
      expect((await a.findConsoleLink(hash('a')))?.revokedAt).toBeInstanceOf(Date);
      expect((await a.findConsoleLink(hash('c')))?.revokedAt).toBeNull();
    });

    it('sets and clears the calendar the tools book into', async () => {
      expect(await a.setGoogleCalendarId('shop', 'shop@group.calendar.google.com')).toBe(true);
      expect((await a.getMerchant('shop'))?.googleCalendarId).toBe('shop@group.calendar.google.com');
      expect(await a.setGoogleCalendarId('shop', null)).toBe(true);
      expect((await a.getMerchant('shop'))?.googleCalendarId).toBeNull();
      expect(await a.setGoogleCalendarId('nobody', 'x')).toBe(false);
    });

    if (variant.supabaseRoles) {
      it('keeps the Supabase anon role out of every table and function, even with table grants', async () => {
        const cust = await a.findOrCreateCustomer('sunny', '+14155550126');
        // Supabase grants anon table privileges by default; only RLS and the revokes stand in the way.
        await a.db.exec(
          'grant usage on schema public to anon; grant select, insert on all tables in schema public to anon;',
        );
        const asAnon = (sql: string, params: unknown[] = []) =>
          a.db.withSession((sess) =>
            sess.transaction(async (tx) => {
              await tx.exec('set local role anon');
              return tx.query(sql, params);
            }),
          );
        expect(
          await asAnon(
            'select (select count(*) from calls)::int as calls, (select count(*) from ' +
              'merchant_profiles)::int as merchants, (select count(*) from customers)::int as customers',
          ),
        ).toEqual([{ calls: 0, merchants: 0, customers: 0 }]);
        await expect(
          asAnon(
            "select * from book_appointment('sunny', $1::uuid, now() + interval '400 days', now() + " +
              "interval '401 days')",
            [cust.id],
          ),
        ).rejects.toThrow(/permission denied for function book_appointment/);
        await expect(asAnon("insert into messages (merchant_id, body) values ('sunny', 'spam')")).rejects.toThrow(
          /row-level security/,
        );
        expect((await a.db.query('select count(*)::int as n from calls'))[0]).toEqual({ n: 4 });
        const [ext] = await a.db.query(
          'select n.nspname from pg_extension e join pg_namespace n on n.oid = e.extnamespace where ' +
            "e.extname = 'btree_gist'",
        );
        expect(ext).toEqual({ nspname: 'extensions' });
      });
    }
  });
}
