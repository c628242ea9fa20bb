import { describe, expect, it } from 'vitest';
import { expectAuth, useFakePostgrest } from './support/fake-postgrest.js';

// The Supabase store's merchant requests: profiles by number and id, the upsert_merchant RPC, token columns.

const api = useFakePostgrest();

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

describe('SupabaseStore merchants', () => {
  it('finds a merchant by number with one GET on merchant_profiles, array-contains filter', async () => {
    api.reply = () => ({ body: [merchantRow] });
    const m = await api.store.findMerchantByNumber('+15005550006');
    const s = api.only();
    expect(s.method).toBe('GET');
    expect(s.path).toBe('/rest/v1/merchant_profiles');
    expect(s.query).toEqual({ select: '*', phone_numbers: 'cs.{+15005550006}' });
    expect(s.headers['accept-profile']).toBe('public');
    expectAuth(s);
    expect(m).toMatchObject({ id: 'sunny', name: 'Sunny Side Dental', voice: 'marin', phoneNumbers: ['+15005550006'] });
    expect(m && 'provider' in m).toBe(false);
    expect(m?.googleTokens.expiresAt).toEqual(new Date('2030-01-01T10:00:00Z'));

    api.seen.length = 0;
    api.reply = () => ({ body: [] });
    expect(await api.store.findMerchantByNumber('+15005550099')).toBeNull();
    api.seen.length = 0;
    // Not E.164: never reaches the filter string.
    expect(await api.store.findMerchantByNumber('1,2}')).toBeNull();
    expect(api.seen).toHaveLength(0);
  });

  it('upserts a merchant through the upsert_merchant RPC, sending calendar keys only when given', async () => {
    api.reply = () => ({ body: [merchantRow] });
    await api.store.upsertMerchant({
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
    const s = api.only();
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
    api.reply = (req) => ({ body: [{ ...merchantRow, ...(req.body as { m: object }).m }] });
    const saved = await api.store.upsertMerchant({
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
    expect(api.only().body).toMatchObject({ m: { provider: 'openai', transport: 'sip' } });
    expect(saved).toMatchObject({ id: 'sunny', provider: 'openai', transport: 'sip' });

    api.seen.length = 0;
    api.reply = () => ({ body: [{ ...merchantRow, transport: 'sip' }] });
    expect((await api.store.findMerchantByNumber('+15005550006'))?.transport).toBe('sip');
    api.reply = () => ({ body: [{ ...merchantRow, transport: 'media-streams' }] });
    const plain = await api.store.getMerchant('sunny');
    expect(plain && 'transport' in plain).toBe(false);
  });

  it('updates only the given Google token columns', async () => {
    api.reply = () => ({ body: [{ id: 'sunny' }] });
    expect(
      await api.store.updateGoogleTokens('sunny', { accessToken: 'at-2', expiresAt: new Date('2030-01-01T11:00:00Z') }),
    ).toBe(true);
    const s = api.only();
    expect([s.method, s.path]).toEqual(['PATCH', '/rest/v1/merchants']);
    expect(s.query).toEqual({ id: 'eq.sunny', select: 'id' });
    expect(s.body).toEqual({
      google_access_token: 'at-2',
      google_token_expires_at: '2030-01-01T11:00:00.000Z',
      updated_at: expect.any(String),
    });
    api.reply = () => ({ body: [] });
    expect(await api.store.updateGoogleTokens('nobody', { accessToken: 'x' })).toBe(false);
  });
});
