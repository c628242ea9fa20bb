import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CallRecord } from '../src/store/call-record.js';
import { isPermanentStoreError, StoreError } from '../src/store/errors.js';
import { openStore, storeConfigFromEnv } from '../src/store/open-store.js';
import { SupabaseStore } from '../src/store/supabase-store.js';

// supabase-js pointed at a local HTTP server standing in for PostgREST: each test asserts the exact
// REST request the adapter makes and how it reads PostgREST's answer.

interface Seen {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  body: unknown;
}

interface Reply {
  status?: number;
  body?: unknown;
}

const KEY = 'test-service-role-key';
const seen: Seen[] = [];
let reply: (req: Seen) => Reply = () => ({ body: [] });
let server: Server;
let store: SupabaseStore;
let baseUrl: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const s: Seen = {
        method: req.method ?? '',
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        headers: req.headers,
        body: raw === '' ? undefined : JSON.parse(raw),
      };
      seen.push(s);
      const r = reply(s);
      res.writeHead(r.status ?? 200, { 'content-type': 'application/json' });
      res.end(r.body === undefined ? '' : JSON.stringify(r.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  store = new SupabaseStore({ url: baseUrl, serviceRoleKey: KEY, timeoutMs: 3000 });
});

afterAll(async () => {
  await store.close();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  seen.length = 0;
  reply = () => ({ body: [] });
});

const only = (): Seen => {
  expect(seen).toHaveLength(1);
  const s = seen[0];
  if (!s) throw new Error('no request');
  return s;
};

const expectAuth = (s: Seen) => {
  expect(s.headers.apikey).toBe(KEY);
  expect(s.headers.authorization).toBe(`Bearer ${KEY}`);
};

const merchantRow = {
  id: 'sunny',
  business_name: 'Sunny Side Dental',
  time_zone: 'America/New_York',
  provider: null,
  voice: 'marin',
  instructions: 'Be brief.',
  greeting: 'Hello',
  outbound_greeting: 'Hi',
  voicemail_template: 'This is {business}.',
  greeting_interruptible: true,
  slot_minutes: 30,
  business_hours: { '1': ['09:00-17:00'] },
  tools: ['takeMessage'],
  google_calendar_id: null,
  google_refresh_token: 'rt',
  google_access_token: null,
  google_token_expires_at: '2030-01-01T10:00:00+00:00',
  created_at: '2030-01-01T00:00:00+00:00',
  updated_at: '2030-01-01T00:00:00+00:00',
  phone_numbers: ['+15005550006'],
};

const CUSTOMER = '3f1c0a52-1111-4222-8333-444455556666';
const APPT = '9a1c0a52-1111-4222-8333-444455556666';
const appointmentRow = {
  id: APPT,
  merchant_id: 'sunny',
  customer_id: CUSTOMER,
  starts_at: '2030-03-05T14:00:00+00:00',
  ends_at: '2030-03-05T14:30:00+00:00',
  status: 'booked',
  calendar_event_id: null,
  notes: 'cleaning',
  created_by_call_sid: 'CA1',
  created_at: '2030-03-01T00:00:00+00:00',
  cancelled_at: null,
};

describe('SupabaseStore REST requests', () => {
  it('finds a merchant by number with one GET on merchant_profiles, array-contains filter', async () => {
    reply = () => ({ body: [merchantRow] });
    const m = await store.findMerchantByNumber('+15005550006');
    const s = only();
    expect(s.method).toBe('GET');
    expect(s.path).toBe('/rest/v1/merchant_profiles');
    expect(s.query).toEqual({ select: '*', phone_numbers: 'cs.{+15005550006}' });
    expect(s.headers['accept-profile']).toBe('public');
    expectAuth(s);
    expect(m).toMatchObject({ id: 'sunny', name: 'Sunny Side Dental', voice: 'marin', phoneNumbers: ['+15005550006'] });
    expect(m && 'provider' in m).toBe(false);
    expect(m?.googleTokens.expiresAt).toEqual(new Date('2030-01-01T10:00:00Z'));

    seen.length = 0;
    reply = () => ({ body: [] });
    expect(await store.findMerchantByNumber('+15005550099')).toBeNull();
    seen.length = 0;
    // Not E.164: never reaches the filter string.
    expect(await store.findMerchantByNumber('1,2}')).toBeNull();
    expect(seen).toHaveLength(0);
  });

  it('upserts a merchant through the upsert_merchant RPC, sending calendar keys only when given', async () => {
    reply = () => ({ body: [merchantRow] });
    await store.upsertMerchant({
      id: 'sunny',
      name: 'Sunny Side Dental',
      timeZone: 'America/New_York',
      phoneNumbers: ['+15005550006', '+15005550006'],
      instructions: 'Be brief.',
      greeting: 'Hello',
      outboundGreeting: 'Hi',
      voicemailTemplate: 'This is {business}.',
      greetingInterruptible: true,
      slotMinutes: 30,
      businessHours: { '1': ['09:00-17:00'] },
      tools: ['takeMessage'],
      voice: 'marin',
    });
    const s = only();
    expect(s.method).toBe('POST');
    expect(s.path).toBe('/rest/v1/rpc/upsert_merchant');
    expect(s.headers['content-type']).toBe('application/json');
    expectAuth(s);
    expect(s.body).toEqual({
      m: {
        id: 'sunny',
        business_name: 'Sunny Side Dental',
        time_zone: 'America/New_York',
        phone_numbers: ['+15005550006'],
        provider: null,
        voice: 'marin',
        instructions: 'Be brief.',
        greeting: 'Hello',
        outbound_greeting: 'Hi',
        voicemail_template: 'This is {business}.',
        greeting_interruptible: true,
        slot_minutes: 30,
        business_hours: { '1': ['09:00-17:00'] },
        tools: ['takeMessage'],
        transfer_targets: [],
        owner_sms_number: null,
        owner_sms_show_caller: false,
        webhook_url: null,
        webhook_secret: null,
        recording_notice: null,
        realtime_options: null,
        transport: 'media-streams',
      },
    });
  });

  it('round-trips a sip merchant: sent and read back as sip; a media-streams row reads as the default', async () => {
    reply = (req) => ({ body: [{ ...merchantRow, ...(req.body as { m: object }).m }] });
    const saved = await store.upsertMerchant({
      id: 'sunny',
      name: 'Sunny Side Dental',
      timeZone: 'America/New_York',
      phoneNumbers: ['+15005550006'],
      provider: 'openai',
      transport: 'sip',
      instructions: 'Be brief.',
      greeting: 'Hello',
      outboundGreeting: 'Hi',
      voicemailTemplate: 'This is {business}.',
      greetingInterruptible: true,
      slotMinutes: 30,
      businessHours: { '1': ['09:00-17:00'] },
      tools: ['takeMessage'],
    });
    expect(only().body).toMatchObject({ m: { provider: 'openai', transport: 'sip' } });
    expect(saved).toMatchObject({ id: 'sunny', provider: 'openai', transport: 'sip' });

    seen.length = 0;
    reply = () => ({ body: [{ ...merchantRow, transport: 'sip' }] });
    expect((await store.findMerchantByNumber('+15005550006'))?.transport).toBe('sip');
    reply = () => ({ body: [{ ...merchantRow, transport: 'media-streams' }] });
    const plain = await store.getMerchant('sunny');
    expect(plain && 'transport' in plain).toBe(false);
  });

  it('books through the book_appointment RPC: a row means booked, an empty array means slot taken', async () => {
    const req = {
      merchantId: 'sunny',
      customerId: CUSTOMER,
      startsAt: new Date('2030-03-05T14:00:00Z'),
      endsAt: new Date('2030-03-05T14:30:00Z'),
      notes: 'cleaning',
      callSid: 'CA1',
    };
    reply = () => ({ body: [appointmentRow] });
    const ok = await store.bookAppointment(req);
    const s = only();
    expect(s.method).toBe('POST');
    expect(s.path).toBe('/rest/v1/rpc/book_appointment');
    expect(s.body).toEqual({
      p_merchant_id: 'sunny',
      p_customer_id: CUSTOMER,
      p_starts_at: '2030-03-05T14:00:00.000Z',
      p_ends_at: '2030-03-05T14:30:00.000Z',
      p_notes: 'cleaning',
      p_call_sid: 'CA1',
    });
    expectAuth(s);
    expect(ok).toEqual({
      ok: true,
      appointment: expect.objectContaining({ id: APPT, startsAt: new Date('2030-03-05T14:00:00Z'), status: 'booked' }),
    });

    reply = () => ({ body: [] });
    expect(await store.bookAppointment(req)).toEqual({ ok: false, reason: 'slot_taken' });
  });

  it('finds or creates a customer through its RPC', async () => {
    reply = () => ({
      body: [
        {
          id: CUSTOMER,
          merchant_id: 'sunny',
          phone: '+14155550123',
          name: 'Ada',
          email: null,
          notes: null,
          created_at: '2030-01-01T00:00:00Z',
          updated_at: '2030-01-01T00:00:00Z',
        },
      ],
    });
    const c = await store.findOrCreateCustomer('sunny', '+14155550123', 'Ada');
    const s = only();
    expect([s.method, s.path]).toEqual(['POST', '/rest/v1/rpc/find_or_create_customer']);
    expect(s.body).toEqual({ p_merchant_id: 'sunny', p_phone: '+14155550123', p_name: 'Ada' });
    expect(c).toMatchObject({ id: CUSTOMER, name: 'Ada', createdAt: new Date('2030-01-01T00:00:00Z') });
  });

  it('lists booked appointments overlapping a window with range filters, ordered by start', async () => {
    reply = () => ({ body: [appointmentRow] });
    const list = await store.listAppointments(
      'sunny',
      new Date('2030-03-05T00:00:00Z'),
      new Date('2030-03-06T00:00:00Z'),
    );
    const s = only();
    expect([s.method, s.path]).toEqual(['GET', '/rest/v1/appointments']);
    expect(s.query).toEqual({
      select: '*',
      merchant_id: 'eq.sunny',
      status: 'eq.booked',
      starts_at: 'lt.2030-03-06T00:00:00.000Z',
      ends_at: 'gt.2030-03-05T00:00:00.000Z',
      order: 'starts_at.asc',
    });
    expect(list.map((a) => a.id)).toEqual([APPT]);
  });

  it('cancels with a PATCH scoped to merchant, id and booked status, returning the row', async () => {
    reply = (r) => ({
      body: [
        { ...appointmentRow, status: 'cancelled', cancelled_at: (r.body as { cancelled_at: string }).cancelled_at },
      ],
    });
    const a = await store.cancelAppointment('sunny', APPT);
    const s = only();
    expect([s.method, s.path]).toEqual(['PATCH', '/rest/v1/appointments']);
    expect(s.query).toEqual({ merchant_id: 'eq.sunny', id: `eq.${APPT}`, status: 'eq.booked', select: '*' });
    expect(s.headers.prefer).toBe('return=representation');
    expect(s.body).toEqual({ status: 'cancelled', cancelled_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
    expect(a?.status).toBe('cancelled');

    seen.length = 0;
    reply = () => ({ body: [] });
    expect(await store.cancelAppointment('sunny', APPT)).toBeNull();
    seen.length = 0;
    expect(await store.cancelAppointment('sunny', 'next tuesday')).toBeNull();
    expect(seen).toHaveLength(0);
  });

  it('updates only the given Google token columns', async () => {
    reply = () => ({ body: [{ id: 'sunny' }] });
    expect(
      await store.updateGoogleTokens('sunny', { accessToken: 'at-2', expiresAt: new Date('2030-01-01T11:00:00Z') }),
    ).toBe(true);
    const s = only();
    expect([s.method, s.path]).toEqual(['PATCH', '/rest/v1/merchants']);
    expect(s.query).toEqual({ id: 'eq.sunny', select: 'id' });
    expect(s.body).toEqual({
      google_access_token: 'at-2',
      google_token_expires_at: '2030-01-01T11:00:00.000Z',
      updated_at: expect.any(String),
    });
    reply = () => ({ body: [] });
    expect(await store.updateGoogleTokens('nobody', { accessToken: 'x' })).toBe(false);
  });

  it('saves a call record as an upsert on call_sid (merge-duplicates), so a replay updates the same row', async () => {
    reply = () => ({ status: 201 });
    const rec: CallRecord = {
      callSid: 'CA9',
      streamSid: 'MZ9',
      merchantId: 'sunny',
      callerPhone: '+14155550123',
      calledNumber: '+15005550006',
      direction: 'inbound',
      answeredBy: null,
      startedAt: new Date('2030-01-01T10:00:00Z'),
      endedAt: new Date('2030-01-01T10:01:00Z'),
      durationMs: 60_000,
      endReason: 'caller_hung_up',
      provider: 'openai',
      model: 'gpt-realtime',
      usage: { totalTokens: 5 },
      stats: {},
      transcript: [{ role: 'caller', text: 'hi', atMs: 1 }],
      transcriptText: 'Caller: hi',
      timeline: [{ atMs: 0, kind: 'state', state: 'connecting' }],
      toolCalls: [],
    };
    await store.saveCallRecord(rec);
    const s = only();
    expect([s.method, s.path]).toEqual(['POST', '/rest/v1/calls']);
    expect(s.query).toEqual({ on_conflict: 'call_sid' });
    expect(s.headers.prefer).toBe('resolution=merge-duplicates');
    expectAuth(s);
    expect(s.body).toEqual({
      call_sid: 'CA9',
      stream_sid: 'MZ9',
      merchant_id: 'sunny',
      caller_phone: '+14155550123',
      called_number: '+15005550006',
      direction: 'inbound',
      answered_by: null,
      started_at: '2030-01-01T10:00:00.000Z',
      ended_at: '2030-01-01T10:01:00.000Z',
      duration_ms: 60_000,
      end_reason: 'caller_hung_up',
      provider: 'openai',
      model: 'gpt-realtime',
      usage: { totalTokens: 5 },
      stats: {},
      transcript: [{ role: 'caller', text: 'hi', atMs: 1 }],
      transcript_text: 'Caller: hi',
      timeline: [{ atMs: 0, kind: 'state', state: 'connecting' }],
      tool_calls: [],
    });
  });

  it('saves a message and reads it back from the single-object response', async () => {
    reply = (r) => ({ body: { id: APPT, created_at: '2030-01-01T00:00:00Z', ...(r.body as object) } });
    const m = await store.saveMessage({ merchantId: 'sunny', callerName: 'Cy', body: 'Call me', urgency: 'urgent' });
    const s = only();
    expect([s.method, s.path]).toEqual(['POST', '/rest/v1/messages']);
    expect(s.query).toEqual({ select: '*' });
    expect(s.headers.accept).toBe('application/vnd.pgrst.object+json');
    expect(s.body).toEqual({
      merchant_id: 'sunny',
      caller_name: 'Cy',
      caller_phone: null,
      body: 'Call me',
      urgency: 'urgent',
      call_sid: null,
    });
    expect(m).toMatchObject({ callerName: 'Cy', urgency: 'urgent' });
  });

  it('turns PostgREST errors into StoreErrors that tell a bad record from an outage', async () => {
    reply = () => ({
      status: 400,
      body: {
        code: '23514',
        message: 'new row for relation "calls" violates check constraint',
        details: null,
        hint: null,
      },
    });
    const bad = await store.getCallRecord('CA1').catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(StoreError);
    expect(bad).toMatchObject({ code: '23514', status: 400 });
    expect(isPermanentStoreError(bad)).toBe(true);

    reply = () => ({ status: 503, body: { code: 'PGRST000', message: 'Could not connect with the database' } });
    const down = await store.saveMessage({ merchantId: 'sunny', body: 'x' }).catch((e: unknown) => e);
    expect(down).toMatchObject({ code: 'PGRST000', status: 503 });
    expect(isPermanentStoreError(down)).toBe(false);
  });

  it('reports an unreachable Supabase as a transient error', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const gone = new SupabaseStore({ url: `http://127.0.0.1:${port}`, serviceRoleKey: KEY, timeoutMs: 2000 });
    const err = await gone
      .saveCallRecord({
        callSid: 'CA-x',
        streamSid: null,
        merchantId: null,
        callerPhone: null,
        calledNumber: null,
        direction: 'inbound',
        answeredBy: null,
        startedAt: new Date(),
        endedAt: null,
        durationMs: null,
        endReason: null,
        provider: null,
        model: null,
        usage: {},
        stats: {},
        transcript: [],
        transcriptText: '',
        timeline: [],
        toolCalls: [],
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect(err).toMatchObject({ status: 0 });
    expect(isPermanentStoreError(err)).toBe(false);
  });

  it('migrate() probes every table and names the missing ones with the CLI fix', async () => {
    await store.migrate();
    expect(seen.map((s) => `${s.method} ${s.path}?${new URLSearchParams(s.query).toString()}`).sort()).toEqual(
      [
        'appointment_details',
        'appointments',
        'call_recordings',
        'calls',
        'console_links',
        'customers',
        'merchant_numbers',
        'merchant_profiles',
        'merchants',
        'messages',
      ].map((t) => `GET /rest/v1/${t}?select=*&limit=0`),
    );
    reply = (r) =>
      r.path === '/rest/v1/calls'
        ? {
            status: 404,
            body: { code: 'PGRST205', message: "Could not find the table 'public.calls' in the schema cache" },
          }
        : { body: [] };
    await expect(store.migrate()).rejects.toThrow(/calls.*PGRST205.*supabase db push/);
  });
});

describe('openStore', () => {
  it('picks DATABASE_URL over Supabase, and Supabase over embedded PGlite', async () => {
    await expect(
      openStore({
        databaseUrl: 'postgres://postgres@127.0.0.1:1/none',
        supabaseUrl: baseUrl,
        supabaseKey: KEY,
        dataDir: '/proc/not-writable',
      }),
    ).rejects.toThrow(/ECONNREFUSED/);
    expect(seen).toHaveLength(0);
    const s = await openStore({ supabaseUrl: baseUrl, supabaseKey: KEY, dataDir: '/proc/not-writable' });
    expect(s.kind).toBe('supabase');
    expect(seen.filter((r) => r.query.limit === '0')).toHaveLength(10); // migrate() checked the schema
    await s.close();
  });

  it('refuses half a Supabase configuration instead of silently falling back', async () => {
    await expect(openStore({ supabaseUrl: baseUrl })).rejects.toThrow(/SUPABASE_SERVICE_ROLE_KEY/);
  });

  it('reads the documented environment variables, ignoring empty ones', () => {
    expect(
      storeConfigFromEnv({
        DATA_DIR: '/srv/data',
        DATABASE_URL: ' ',
        SUPABASE_URL: 'https://x.supabase.co',
        SUPABASE_SERVICE_ROLE_KEY: 'k',
      }),
    ).toEqual({
      dataDir: '/srv/data',
      supabaseUrl: 'https://x.supabase.co',
      supabaseKey: 'k',
    });
  });
});

describe('SupabaseStore call recordings', () => {
  const row = {
    recording_sid: `RE${'a'.repeat(32)}`,
    call_sid: `CA${'1'.repeat(32)}`,
    status: 'completed',
    channels: 2,
    duration_seconds: 42,
    url: 'https://api.twilio.com/x',
    error_code: null,
    started_at: '2031-01-01T10:00:00+00:00',
    updated_at: '2031-01-01T10:01:00+00:00',
  };

  it('saves a recording through the save_call_recording RPC and reads the newest one of a call', async () => {
    reply = () => ({ body: [row] });
    const saved = await store.saveCallRecording({
      sid: row.recording_sid,
      callSid: row.call_sid,
      status: 'completed',
      durationSeconds: 42,
    });
    const s = only();
    expect(s.method).toBe('POST');
    expect(s.path).toBe('/rest/v1/rpc/save_call_recording');
    expectAuth(s);
    expect(s.body).toEqual({
      r: {
        recording_sid: row.recording_sid,
        call_sid: row.call_sid,
        status: 'completed',
        channels: null,
        duration_seconds: 42,
        url: null,
        error_code: null,
        started_at: null,
      },
    });
    expect(saved).toMatchObject({ sid: row.recording_sid, status: 'completed', durationSeconds: 42 });

    seen.length = 0;
    const got = await store.getCallRecording(row.call_sid);
    const g = only();
    expect(g.method).toBe('GET');
    expect(g.path).toBe('/rest/v1/call_recordings');
    expect(g.query).toMatchObject({ call_sid: `eq.${row.call_sid}`, limit: '1' });
    expect(got?.startedAt).toEqual(new Date('2031-01-01T10:00:00Z'));
  });
});

describe('SupabaseStore console reads', () => {
  it("searches calls with the text quoted inside or=(…), so commas and parentheses stay the user's", async () => {
    reply = () => ({
      body: [
        {
          call_sid: 'CA1',
          merchant_id: 'sunny',
          caller_phone: '+14155550123',
          direction: 'inbound',
          started_at: '2030-01-01T10:00:00Z',
          duration_ms: 1000,
          end_reason: 'caller_hung_up',
        },
      ],
    });
    const got = await store.listCalls({ merchantId: 'sunny', text: 'a,b) "x"', direction: 'inbound', limit: 51 });
    const s = only();
    expect([s.method, s.path]).toEqual(['GET', '/rest/v1/calls']);
    expect(s.query).toMatchObject({
      select: 'call_sid,merchant_id,caller_phone,direction,started_at,duration_ms,end_reason',
      merchant_id: 'eq.sunny',
      direction: 'eq.inbound',
      limit: '51',
      or: `(${['call_sid', 'caller_phone', 'transcript_text'].map((c) => `${c}.ilike."*a,b) \\"x\\"*"`).join(',')})`,
    });
    expect(got[0]).toMatchObject({ callSid: 'CA1', durationMs: 1000, startedAt: new Date('2030-01-01T10:00:00Z') });
  });

  it("lists messages unread first and marks one read only when it is this merchant's", async () => {
    const row = (id: string, read: string | null) => ({
      id,
      merchant_id: 'sunny',
      caller_name: null,
      caller_phone: null,
      body: id,
      urgency: 'normal',
      call_sid: null,
      created_at: '2030-01-01T00:00:00Z',
      read_at: read,
    });
    reply = () => ({ body: [row('m-read', '2030-01-02T00:00:00Z'), row('m-new', null)] });
    expect((await store.listMessages('sunny', 10)).map((m) => m.body)).toEqual(['m-new', 'm-read']);
    seen.length = 0;
    reply = (r) => (r.method === 'GET' ? { body: null } : { body: [] });
    expect(await store.markMessageRead('sunny', APPT)).toBe(false);
    expect(seen.map((r) => r.method)).toEqual(['GET']);
    expect(seen[0]?.query).toMatchObject({ merchant_id: 'eq.sunny', id: `eq.${APPT}` });
  });
});
