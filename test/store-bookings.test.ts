import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqlStore } from '../src/store/sql-store.js';
import { type Opened, storeVariants } from './support/sql-store-variants.js';
import { at, merchant } from './support/store-fixtures.js';

// Customers and appointments in every SQL store: racing calls from one number, racing bookings of one
// slot, overlaps, cancelling, and the console's upcoming list.

for (const variant of storeVariants()) {
  describe(`store bookings on ${variant.name}`, () => {
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
  });
}
