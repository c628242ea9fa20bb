import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ToolExecutor } from '../src/tools/tool.js';
import type { Merchant } from '../src/merchants/merchant.js';
import type { Store } from '../src/store/store.js';
import { createToolExecutor } from '../src/tools/registry.js';
import {
  addMerchant,
  body,
  eventually,
  fnCall,
  locals,
  sleep,
  storeVariants,
  type OpenedStore,
} from './support/tools-harness.js';

// The booking tools against a real database (PGlite, and the Postgres server when DATABASE_URL is
// set): local-time handling across the London clock change, refusals with alternatives, the
// double-booking race settled by the database, and deadlines that give up the answer but never the
// booking. The process runs in a zone that is neither UTC nor the merchant's, so nothing may lean
// on the server's local time.
process.env.TZ = 'America/Los_Angeles';

/** Thursday 26 March 2026, 10:00 in London (GMT; the clocks go forward on Sunday the 29th). */
const NOW = new Date('2026-03-26T10:00:00Z');
const CALLER = '+14155550100';

describe.each(storeVariants())('booking tools on $name', (variant) => {
  let db: OpenedStore;
  let store: Store;
  beforeAll(async () => {
    db = await variant.open();
    store = db.store;
  });
  afterAll(async () => {
    await db?.cleanup();
  });

  const executor = (opts: { now?: Date; timeoutMs?: number; store?: Store } = {}): ToolExecutor =>
    createToolExecutor({
      store: opts.store ?? store,
      calendarFor: async () => null,
      now: () => opts.now ?? NOW,
      timeoutMs: opts.timeoutMs ?? 8000,
    });
  const ctx = (merchant: Merchant, callerPhone: string | undefined = CALLER, callSid = 'CA-test') => ({
    merchant,
    callSid,
    callerPhone,
  });
  const booked = (m: Merchant) =>
    store.listAppointments(m.id, new Date('2026-03-01T00:00:00Z'), new Date('2026-05-01T00:00:00Z'));

  it('books 09:00 London as 08:00Z after the clock change and 09:00Z before it, and stores who booked', async () => {
    const m = await addMerchant(store);
    const run = executor();
    const after = body(
      await run(
        fnCall('createBooking', { date: '2026-03-30', time: '09:00', name: 'Ada Lovelace', notes: 'check-up' }),
        ctx(m, CALLER, 'CA-ada'),
      ),
    );
    expect(after).toMatchObject({
      booked: true,
      local: 'Mon 30 Mar 09:00',
      date: '2026-03-30',
      time: '09:00',
      start: '2026-03-30T08:00:00.000Z',
      calendar: 'not_connected',
    });
    expect(after.message).toContain('Mon 30 Mar 09:00');
    expect(after.message).toContain('no calendar connected');
    // A known caller need not give the name again; "9am" is the same clock time.
    const before = body(await run(fnCall('createBooking', { date: '2026-03-27', time: '9am' }), ctx(m)));
    expect(before).toMatchObject({
      booked: true,
      local: 'Fri 27 Mar 09:00',
      start: '2026-03-27T09:00:00.000Z',
      name: 'Ada Lovelace',
    });

    const rows = await booked(m);
    expect(rows.map((a) => [a.startsAt.toISOString(), a.endsAt.toISOString()])).toEqual([
      ['2026-03-27T09:00:00.000Z', '2026-03-27T09:30:00.000Z'],
      ['2026-03-30T08:00:00.000Z', '2026-03-30T08:30:00.000Z'],
    ]);
    expect(rows[1]).toMatchObject({
      createdByCallSid: 'CA-ada',
      notes: 'check-up',
      status: 'booked',
      calendarEventId: null,
    });
    const customer = await store.findCustomerByPhone(m.id, CALLER);
    expect(customer?.name).toBe('Ada Lovelace');
    expect(rows.every((a) => a.customerId === customer?.id)).toBe(true);
  });

  it('takes "tomorrow" in the merchant zone when the UTC date is a day behind or ahead', async () => {
    // 23:30Z on Mon 30 Mar is 00:30 on Tue 31 Mar in London: tomorrow is Wed 1 Apr.
    const london = await addMerchant(store);
    const late = executor({ now: new Date('2026-03-30T23:30:00Z') });
    const avail = body(await late(fnCall('checkAvailability', { day: 'tomorrow' }), ctx(london)));
    expect(avail).toMatchObject({ day: '2026-04-01', today: '2026-03-31' });
    expect(locals(avail, 'slots')[0]).toBe('Wed 1 Apr 09:00');
    const b = body(await late(fnCall('createBooking', { date: 'tomorrow', time: '10:00', name: 'Bo' }), ctx(london)));
    expect(b).toMatchObject({ booked: true, start: '2026-04-01T09:00:00.000Z', local: 'Wed 1 Apr 10:00' });

    // 03:00Z on Fri 27 Mar is still Thursday evening in Los Angeles: tomorrow is Friday the 27th.
    const la = await addMerchant(store, { timeZone: 'America/Los_Angeles' });
    const evening = executor({ now: new Date('2026-03-27T03:00:00Z') });
    const slots = body(await evening(fnCall('checkAvailability', { day: 'tomorrow', time: '9' }), ctx(la)));
    expect(slots).toMatchObject({
      day: '2026-03-27',
      requested: { local: 'Fri 27 Mar 09:00', start: '2026-03-27T16:00:00.000Z', free: true },
    });
  });

  it('offers the free slots nearest the asked time, without the ones already booked', async () => {
    const m = await addMerchant(store);
    const run = executor();
    expect(
      body(
        await run(fnCall('createBooking', { date: '2026-03-27', time: '15:00', name: 'Cy' }), ctx(m, '+14155550111')),
      ).booked,
    ).toBe(true);
    const avail = body(await run(fnCall('checkAvailability', { day: 'friday', time: '3pm' }), ctx(m)));
    expect(avail).toMatchObject({ day: '2026-03-27', requested: { local: 'Fri 27 Mar 15:00', free: false } });
    expect(locals(avail, 'slots')).toEqual([
      'Fri 27 Mar 13:30',
      'Fri 27 Mar 14:00',
      'Fri 27 Mar 14:30',
      'Fri 27 Mar 15:30',
      'Fri 27 Mar 16:00',
    ]);
    expect(avail.message).toContain('is not available');
    // A free time is confirmed as such.
    const free = body(await run(fnCall('checkAvailability', { day: '2026-03-27', time: '14:30' }), ctx(m)));
    expect(free).toMatchObject({ requested: { free: true } });
    expect(free.message).toBe('Fri 27 Mar 14:30 is free.');
  });

  it('points a weekend or a past day at the next days that have room', async () => {
    const m = await addMerchant(store);
    const run = executor();
    const sat = body(await run(fnCall('checkAvailability', { day: 'saturday' }), ctx(m)));
    expect(sat.message).toContain('Nothing is free on Sat 28 Mar');
    expect(locals(sat, 'slots').slice(0, 2)).toEqual(['Mon 30 Mar 09:00', 'Mon 30 Mar 09:30']);
    const past = body(await run(fnCall('checkAvailability', { day: '2026-03-20' }), ctx(m)));
    expect(past.message).toContain('has already passed; today is Thu 26 Mar');
    // Today: only what is still ahead (it is 10:00 in London).
    const today = body(await run(fnCall('checkAvailability', { day: 'today' }), ctx(m)));
    expect(locals(today, 'slots')[0]).toBe('Thu 26 Mar 10:00');
  });

  it('refuses times it cannot book and says why, with alternatives', async () => {
    const m = await addMerchant(store);
    const run = executor();
    const out = async (args: Record<string, string>) => {
      const o = await run(fnCall('createBooking', { name: 'Di', ...args }), ctx(m));
      expect(o.ok).toBe(false);
      return body(o);
    };
    const saturday = await out({ date: '2026-03-28', time: '10:00' });
    expect(saturday.error).toBe('outside_business_hours');
    expect(locals(saturday, 'alternatives')[0]).toBe('Mon 30 Mar 09:00');
    expect((await out({ date: '2026-03-27', time: '18:00' })).error).toBe('outside_business_hours');
    const between = await out({ date: '2026-03-27', time: '15:10' });
    expect(between.error).toBe('not_a_slot');
    expect(locals(between, 'alternatives')).toContain('Fri 27 Mar 15:00');
    expect((await out({ date: '2026-03-26', time: '09:00' })).error).toBe('in_the_past');
    // 01:30 on the night the clocks go forward does not exist in London.
    const gap = await out({ date: '2026-03-29', time: '1:30am' });
    expect(gap.error).toBe('invalid_arguments');
    expect(gap.message).toContain('does not exist');
    expect(await booked(m)).toHaveLength(0);
  });

  it('lets the database settle a race: of four calls booking one slot at once, exactly one gets it', async () => {
    const m = await addMerchant(store);
    // Hold every booking until all four have passed the availability check, then let them hit the
    // database together, so the exclusion constraint (not the pre-check) decides.
    const n = 4;
    let arrived = 0;
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const racing = new Proxy(store, {
      get(target, prop) {
        const v: unknown = Reflect.get(target, prop, target);
        if (prop === 'bookAppointment') {
          return async (...args: Parameters<Store['bookAppointment']>) => {
            if (++arrived === n) release();
            await gate;
            return target.bookAppointment(...args);
          };
        }
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
    const run = executor({ store: racing });
    const outs = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        run(
          fnCall('createBooking', { date: '2026-03-31', time: '11:00', name: `Caller ${i}` }),
          ctx(m, `+1415555020${i}`, `CA-race-${i}`),
        ),
      ),
    );
    expect(arrived).toBe(n);
    const bodies = outs.map((o) => body(o));
    expect(outs.filter((o) => o.ok)).toHaveLength(1);
    const losers = bodies.filter((b) => b.error === 'slot_taken');
    expect(losers).toHaveLength(n - 1);
    for (const l of losers) {
      expect(l.message).toContain('just taken');
      const alts = locals(l, 'alternatives');
      expect(alts.length).toBeGreaterThan(0);
      expect(alts).not.toContain('Tue 31 Mar 11:00');
      expect(alts).toContain('Tue 31 Mar 11:30');
    }
    const rows = await booked(m);
    expect(rows).toHaveLength(1);
    expect(rows[0]?.startsAt.toISOString()).toBe('2026-03-31T10:00:00.000Z');
    // The next caller sees the slot as taken before touching the database.
    const late = body(
      await run(fnCall('createBooking', { date: '2026-03-31', time: '11:00', name: 'Late' }), ctx(m, '+14155550299')),
    );
    expect(late.error).toBe('slot_taken');
  });

  it('gives up the answer at the deadline but keeps a booking that was under way', async () => {
    const m = await addMerchant(store);
    const slow = new Proxy(store, {
      get(target, prop) {
        const v: unknown = Reflect.get(target, prop, target);
        if (prop === 'bookAppointment') {
          return async (...args: Parameters<Store['bookAppointment']>) => {
            await sleep(900);
            return target.bookAppointment(...args);
          };
        }
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
    const run = executor({ store: slow, timeoutMs: 200 });
    const out = await run(fnCall('createBooking', { date: '2026-03-30', time: '13:00', name: 'Eve' }), ctx(m));
    expect(out.ok).toBe(false);
    const b = body(out);
    expect(b.error).toBe('timeout');
    expect(b.message).toMatch(/^I wasn't able to complete the booking\. It may or may not have gone through/);
    expect(await booked(m)).toHaveLength(0); // the answer came first…
    const rows = await eventually(
      async () => ((await booked(m)).length ? booked(m) : undefined),
      5000,
      'the late booking',
    );
    expect(rows[0]?.startsAt.toISOString()).toBe('2026-03-30T12:00:00.000Z'); // …and the booking still landed
  });

  it('does not start a booking once the deadline has passed before it', async () => {
    const m = await addMerchant(store);
    const slowCheck = new Proxy(store, {
      get(target, prop) {
        const v: unknown = Reflect.get(target, prop, target);
        if (prop === 'listAppointments') {
          return async (...args: Parameters<Store['listAppointments']>) => {
            await sleep(500);
            return target.listAppointments(...args);
          };
        }
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
    const out = body(
      await executor({ store: slowCheck, timeoutMs: 100 })(
        fnCall('createBooking', { date: '2026-03-30', time: '14:00', name: 'Flo' }),
        ctx(m),
      ),
    );
    expect(out.error).toBe('timeout');
    await sleep(900);
    expect(await booked(m)).toHaveLength(0);
  });

  it('cancels by day, asks which one when there are several, and says when there is none', async () => {
    const m = await addMerchant(store);
    const run = executor();
    for (const time of ['09:00', '11:00']) {
      expect(body(await run(fnCall('createBooking', { date: '2026-03-31', time, name: 'Gus' }), ctx(m))).booked).toBe(
        true,
      );
    }
    const which = await run(fnCall('cancelBooking', { date: 'tuesday' }), ctx(m));
    expect(which.ok).toBe(false);
    expect(body(which)).toMatchObject({ error: 'ambiguous' });
    expect(locals(body(which), 'appointments')).toEqual(['Tue 31 Mar 09:00', 'Tue 31 Mar 11:00']);
    const done = body(await run(fnCall('cancelBooking', { date: '2026-03-31', time: '11am' }), ctx(m)));
    expect(done).toMatchObject({ cancelled: true, local: 'Tue 31 Mar 11:00', calendar: 'no_event' });
    const left = await booked(m);
    expect(left.map((a) => a.startsAt.toISOString())).toEqual(['2026-03-31T08:00:00.000Z']);
    // One left that day: no time needed.
    expect(body(await run(fnCall('cancelBooking', { date: '2026-03-31' }), ctx(m)))).toMatchObject({
      cancelled: true,
      local: 'Tue 31 Mar 09:00',
    });
    expect(await booked(m)).toHaveLength(0);
    const none = body(await run(fnCall('cancelBooking', { date: '2026-03-31' }), ctx(m)));
    expect(none).toMatchObject({ error: 'not_found' });
    expect(none.message).toContain('no upcoming appointment on Tue 31 Mar');
    expect(body(await run(fnCall('cancelBooking', { date: '2026-03-31' }), ctx(m, '+14155550999'))).message).toContain(
      'no bookings under this phone number',
    );
  });

  it('looks a caller up with upcoming appointments in local time, or says they are new', async () => {
    const m = await addMerchant(store);
    const run = executor();
    const unknown = body(await run(fnCall('lookupCustomer', {}), ctx(m)));
    expect(unknown).toMatchObject({ found: false, phone: CALLER });
    await run(fnCall('createBooking', { date: '2026-04-02', time: '16:30', name: 'Hal' }), ctx(m));
    await run(fnCall('createBooking', { date: '2026-03-27', time: '09:30' }), ctx(m));
    const known = body(await run(fnCall('lookupCustomer', { phone: '(415) 555-0100' }), ctx(m, undefined)));
    expect(known).toMatchObject({ found: true, name: 'Hal', phone: CALLER });
    expect(locals(known, 'upcoming')).toEqual(['Fri 27 Mar 09:30', 'Thu 2 Apr 16:30']);
    // A day later the Friday appointment is history.
    const later = body(await executor({ now: new Date('2026-03-28T12:00:00Z') })(fnCall('lookupCustomer', {}), ctx(m)));
    expect(locals(later, 'upcoming')).toEqual(['Thu 2 Apr 16:30']);
  });

  it('takes a message with name, number, urgency and the call it came from', async () => {
    const m = await addMerchant(store);
    const run = executor();
    const out = body(
      await run(
        fnCall('takeMessage', { message: 'Please call me about my crown.', name: 'Ivy', urgency: 'urgent' }),
        ctx(m, CALLER, 'CA-msg'),
      ),
    );
    expect(out).toMatchObject({ saved: true, urgency: 'urgent', phone: CALLER });
    const hidden = body(await run(fnCall('takeMessage', { message: 'Running late.' }), ctx(m, 'anonymous', 'CA-anon')));
    expect(hidden).toMatchObject({ saved: true, urgency: 'normal', phone: null });
    expect(hidden.message).toContain('no number to call back on');
    const rows = await db.query(
      'select caller_name, caller_phone, body, urgency, call_sid from messages where merchant_id = $1 order ' +
        'by created_at',
      [m.id],
    );
    expect(rows).toEqual([
      {
        caller_name: 'Ivy',
        caller_phone: CALLER,
        body: 'Please call me about my crown.',
        urgency: 'urgent',
        call_sid: 'CA-msg',
      },
      { caller_name: null, caller_phone: null, body: 'Running late.', urgency: 'normal', call_sid: 'CA-anon' },
    ]);
  });
});
