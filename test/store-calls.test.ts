import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqlStore } from '../src/store/sql-store.js';
import { type Opened, storeVariants } from './support/sql-store-variants.js';
import { callRecord } from './support/store-fixtures.js';

// Call records in every SQL store: written once per call sid, and the console's call search.

for (const variant of storeVariants()) {
  describe(`store calls on ${variant.name}`, () => {
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
  });
}
