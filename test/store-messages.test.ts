import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqlStore } from '../src/store/sql-store.js';
import { type Opened, storeVariants } from './support/sql-store-variants.js';
import { merchant } from './support/store-fixtures.js';

// Callers' messages in every SQL store: saved with their urgency, listed unread first, marked read.

for (const variant of storeVariants()) {
  describe(`store messages on ${variant.name}`, () => {
    let s: Opened;
    let a: SqlStore;

    beforeAll(async () => {
      s = await variant.open();
      a = s.a;
      await a.migrate();
      await a.upsertMerchant(merchant());
    }, 60_000);

    afterAll(async () => {
      await s?.cleanup();
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
  });
}
