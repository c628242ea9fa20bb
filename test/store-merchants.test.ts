import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StoreMerchantDirectory } from '../src/store/merchant-directory.js';
import { seedIfEmpty } from '../src/store/seed.js';
import type { SqlStore } from '../src/store/sql-store.js';
import { type Opened, storeVariants } from './support/sql-store-variants.js';
import { at, merchant } from './support/store-fixtures.js';

// Merchants in every SQL store: the demo seed into an empty store, every field by id and by number,
// numbers moving between merchants, transport, Google tokens and the calendar the tools book into.

for (const variant of storeVariants()) {
  describe(`store merchants on ${variant.name}`, () => {
    let s: Opened;
    let a: SqlStore;

    beforeAll(async () => {
      s = await variant.open();
      a = s.a;
      await a.migrate();
    }, 60_000);

    afterAll(async () => {
      await s?.cleanup();
    });

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

    it('sets and clears the calendar the tools book into', async () => {
      await a.upsertMerchant(merchant({ id: 'shop', name: 'Shop', phoneNumbers: [] }));
      expect(await a.setGoogleCalendarId('shop', 'shop@group.calendar.google.com')).toBe(true);
      expect((await a.getMerchant('shop'))?.googleCalendarId).toBe('shop@group.calendar.google.com');
      expect(await a.setGoogleCalendarId('shop', null)).toBe(true);
      expect((await a.getMerchant('shop'))?.googleCalendarId).toBeNull();
      expect(await a.setGoogleCalendarId('nobody', 'x')).toBe(false);
    });
  });
}
