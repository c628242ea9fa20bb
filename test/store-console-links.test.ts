import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqlStore } from '../src/store/sql-store.js';
import { type Opened, storeVariants } from './support/sql-store-variants.js';
import { merchant } from './support/store-fixtures.js';

// The console's sign-in links in every SQL store.

for (const variant of storeVariants()) {
  describe(`store console links on ${variant.name}`, () => {
    let s: Opened;
    let a: SqlStore;

    beforeAll(async () => {
      s = await variant.open();
      a = s.a;
      await a.migrate();
      await a.upsertMerchant(merchant());
      await a.upsertMerchant(merchant({ id: 'shop', name: 'Shop', phoneNumbers: [] }));
    }, 60_000);

    afterAll(async () => {
      await s?.cleanup();
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
  });
}
