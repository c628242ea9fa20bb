import { describe, expect, it } from 'vitest';
import { StoreMerchantDirectory } from '../src/store/merchant-directory.js';
import type { MerchantRecord } from '../src/store/store.js';
import { demoMerchant } from '../src/merchants/demo-merchant.js';

// A database outage must not stop calls: the directory answers with the merchants it read before.

const record: MerchantRecord = {
  ...demoMerchant,
  googleCalendarId: null,
  googleTokens: { refreshToken: 'secret', accessToken: null, expiresAt: null },
};

function flakyStore() {
  const state = { down: false, reads: 0 };
  const fail = () => {
    throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
  };
  return {
    state,
    store: {
      getMerchant: async (id: string) => {
        if (state.down) return fail();
        state.reads++;
        return id === record.id ? record : null;
      },
      findMerchantByNumber: async (n: string) => {
        if (state.down) return fail();
        state.reads++;
        return record.phoneNumbers.includes(n) ? record : null;
      },
      listMerchants: async () => (state.down ? fail() : [record]),
    },
  };
}

describe('StoreMerchantDirectory during a database outage', () => {
  it('serves merchants read before (preloaded at start), by id, number and fallback, without secrets', async () => {
    const { state, store } = flakyStore();
    const dir = new StoreMerchantDirectory(store, 'demo');
    await dir.preload();
    state.down = true;
    expect((await dir.byId('demo'))?.name).toBe('Sunny Side Dental');
    expect((await dir.byNumber('+15005550006'))?.id).toBe('demo');
    expect((await dir.fallback())?.id).toBe('demo');
    expect(JSON.stringify(await dir.byId('demo'))).not.toContain('secret');
  });

  it('still fails for a merchant it never saw, and reads the store again once it is back', async () => {
    const { state, store } = flakyStore();
    const dir = new StoreMerchantDirectory(store);
    state.down = true;
    await expect(dir.byId('demo')).rejects.toThrow(/ECONNREFUSED/);
    state.down = false;
    expect((await dir.byId('demo'))?.id).toBe('demo');
    expect(state.reads).toBe(1);
  });

  it(
    'sends a number or id it never saw to the fallback merchant while the store is down (only when it has ' + 'one)',
    async () => {
      const { state, store } = flakyStore();
      const dir = new StoreMerchantDirectory(store, 'demo');
      await dir.preload();
      state.down = true;
      expect(await dir.byNumber('+14155550199')).toBeUndefined();
      expect(await dir.byId('new-merchant')).toBeUndefined();
      expect((await dir.fallback())?.id).toBe('demo');
      const noFallback = new StoreMerchantDirectory(store);
      await expect(noFallback.byNumber('+14155550199')).rejects.toThrow(/ECONNREFUSED/);
    },
  );
});
