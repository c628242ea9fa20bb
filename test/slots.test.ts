import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { DateTime } from 'luxon';
import {
  freeSlots,
  isWithinBusinessHours,
  parseLocalDateTime,
  resolveRequestedTime,
  SlotInputError,
  type SlotMerchant,
} from '../src/calendar/slots.js';

const weekdays = ['09:00-12:00', '13:00-17:00'];
const london: SlotMerchant = {
  timeZone: 'Europe/London',
  slotMinutes: 60,
  businessHours: { '1': weekdays, '2': weekdays, '3': weekdays, '4': weekdays, '5': weekdays, '6': ['10:00-14:00'] },
};
const newYork: SlotMerchant = { ...london, timeZone: 'America/New_York' };
const longAgo = new Date('2026-01-01T00:00:00Z');
const iso = (d: Date): string => d.toISOString();

describe('freeSlots: business hours', () => {
  it('offers slot-length slots inside each business range, none on closed days', () => {
    // Mon 9 Mar 2026 (GMT, so local = UTC) and Sun 8 Mar (closed).
    const slots = freeSlots({ merchant: london, fromDate: '2026-03-08', days: 2, busy: [], now: longAgo });
    expect(slots.map((s) => s.local)).toEqual([
      'Mon 9 Mar 09:00',
      'Mon 9 Mar 10:00',
      'Mon 9 Mar 11:00',
      'Mon 9 Mar 13:00',
      'Mon 9 Mar 14:00',
      'Mon 9 Mar 15:00',
      'Mon 9 Mar 16:00',
    ]);
    expect(iso(slots[0]!.start)).toBe('2026-03-09T09:00:00.000Z');
    expect(iso(slots[0]!.end)).toBe('2026-03-09T10:00:00.000Z');
    expect(slots.every((s) => s.end.getTime() - s.start.getTime() === 3_600_000)).toBe(true);
  });

  it('uses the merchant slot length and only whole slots that fit', () => {
    const m: SlotMerchant = { ...london, slotMinutes: 45, businessHours: { '1': ['09:00-11:00'] } };
    const slots = freeSlots({ merchant: m, fromDate: '2026-03-09', days: 1, busy: [], now: longAgo });
    expect(slots.map((s) => s.local)).toEqual(['Mon 9 Mar 09:00', 'Mon 9 Mar 09:45']);
  });

  it('drops slots that overlap busy time but keeps slots that only touch it', () => {
    const busy = [
      { start: new Date('2026-03-09T10:30:00Z'), end: new Date('2026-03-09T11:15:00Z') },
      { start: new Date('2026-03-09T13:00:00Z'), end: new Date('2026-03-09T14:00:00Z') },
    ];
    const slots = freeSlots({ merchant: london, fromDate: '2026-03-09', days: 1, busy, now: longAgo });
    expect(slots.map((s) => s.local)).toEqual([
      'Mon 9 Mar 09:00',
      'Mon 9 Mar 14:00',
      'Mon 9 Mar 15:00',
      'Mon 9 Mar 16:00',
    ]);
  });

  it('excludes slots in the past and inside the lead time', () => {
    const now = new Date('2026-03-09T10:30:00Z');
    const base = { merchant: london, fromDate: '2026-03-09', days: 1, busy: [], now };
    expect(freeSlots(base)[0]?.local).toBe('Mon 9 Mar 11:00');
    expect(freeSlots({ ...base, minLeadMinutes: 60 })[0]?.local).toBe('Mon 9 Mar 13:00');
  });

  it('rejects bad input with a readable error', () => {
    const base = { merchant: london, fromDate: '2026-03-09', days: 1, busy: [], now: longAgo };
    expect(() => freeSlots({ ...base, fromDate: '2026-02-30' })).toThrow(SlotInputError);
    expect(() => freeSlots({ ...base, days: 0 })).toThrow(/days/);
    expect(() => freeSlots({ ...base, merchant: { ...london, timeZone: 'Mars/Olympus' } })).toThrow(/time zone/);
    expect(() => freeSlots({ ...base, merchant: { ...london, businessHours: { '1': ['17:00-09:00'] } } })).toThrow(
      /business hours/,
    );
  });
});

describe('freeSlots: DST, merchant zone explicit, server zone irrelevant', () => {
  it('London spring forward (2026-03-29): 09:00 local on both sides', () => {
    const slots = freeSlots({ merchant: london, fromDate: '2026-03-27', days: 4, busy: [], now: longAgo });
    const nine = slots.filter((s) => s.local.endsWith(' 09:00'));
    expect(nine.map((s) => [s.local, iso(s.start)])).toEqual([
      ['Fri 27 Mar 09:00', '2026-03-27T09:00:00.000Z'], // GMT
      ['Mon 30 Mar 09:00', '2026-03-30T08:00:00.000Z'], // BST
    ]);
  });

  it('London fall back (2026-10-25): 09:00 local on both sides', () => {
    const slots = freeSlots({ merchant: london, fromDate: '2026-10-23', days: 4, busy: [], now: longAgo });
    const nine = slots.filter((s) => s.local.endsWith(' 09:00'));
    expect(nine.map((s) => [s.local, iso(s.start)])).toEqual([
      ['Fri 23 Oct 09:00', '2026-10-23T08:00:00.000Z'], // BST
      ['Mon 26 Oct 09:00', '2026-10-26T09:00:00.000Z'], // GMT
    ]);
  });

  it('New York changes (2026-03-08, 2026-11-01): 09:00 local on both sides', () => {
    const spring = freeSlots({ merchant: newYork, fromDate: '2026-03-06', days: 4, busy: [], now: longAgo });
    expect(spring.filter((s) => s.local.endsWith(' 09:00')).map((s) => iso(s.start))).toEqual([
      '2026-03-06T14:00:00.000Z', // EST
      '2026-03-09T13:00:00.000Z', // EDT
    ]);
    const fall = freeSlots({ merchant: newYork, fromDate: '2026-10-30', days: 4, busy: [], now: longAgo });
    expect(fall.filter((s) => s.local.endsWith(' 09:00')).map((s) => iso(s.start))).toEqual([
      '2026-10-30T13:00:00.000Z', // EDT
      '2026-11-02T14:00:00.000Z', // EST
    ]);
  });

  it('a night-time range skips the nonexistent hour and does not repeat the doubled one', () => {
    const night: SlotMerchant = { ...london, businessHours: { '7': ['00:00-04:00'] } };
    const spring = freeSlots({ merchant: night, fromDate: '2026-03-29', days: 1, busy: [], now: longAgo });
    expect(spring.map((s) => [s.local, iso(s.start)])).toEqual([
      ['Sun 29 Mar 00:00', '2026-03-29T00:00:00.000Z'],
      ['Sun 29 Mar 02:00', '2026-03-29T01:00:00.000Z'], // 01:00 never happens
      ['Sun 29 Mar 03:00', '2026-03-29T02:00:00.000Z'],
    ]);
    const fall = freeSlots({ merchant: night, fromDate: '2026-10-25', days: 1, busy: [], now: longAgo });
    expect(fall.map((s) => [s.local, iso(s.start)])).toEqual([
      ['Sun 25 Oct 00:00', '2026-10-24T23:00:00.000Z'],
      ['Sun 25 Oct 01:00', '2026-10-25T00:00:00.000Z'], // first 01:00 (BST)
      ['Sun 25 Oct 02:00', '2026-10-25T02:00:00.000Z'],
      ['Sun 25 Oct 03:00', '2026-10-25T03:00:00.000Z'],
    ]);
  });

  it('property: every slot is on the local grid, within hours, free and in the future', () => {
    const zones = ['Europe/London', 'America/New_York', 'Australia/Sydney', 'Asia/Kolkata', 'UTC'];
    fc.assert(
      fc.property(
        fc.constantFrom(...zones),
        fc.integer({ min: 0, max: 364 }),
        fc.constantFrom(30, 45, 60, 90),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 7 * 24 * 60 }), fc.integer({ min: 1, max: 300 })), {
          maxLength: 6,
        }),
        (zone, dayOffset, slotMinutes, busySpecs) => {
          const merchant: SlotMerchant = { ...london, timeZone: zone, slotMinutes };
          const from = DateTime.utc(2026, 1, 1).plus({ days: dayOffset });
          const base = from.toMillis();
          const busy = busySpecs.map(([at, len]) => ({
            start: new Date(base + at * 60_000),
            end: new Date(base + (at + len) * 60_000),
          }));
          const now = new Date(base + 36 * 3_600_000);
          const slots = freeSlots({ merchant, fromDate: from.toISODate() ?? '', days: 7, busy, now });
          const wrong: string[] = [];
          for (const s of slots) {
            const local = DateTime.fromJSDate(s.start, { zone });
            const minuteOfDay = local.hour * 60 + local.minute;
            const ranges = (merchant.businessHours[String(local.weekday)] ?? []).map((r) => {
              const [a = '', b = ''] = r.split('-');
              const toMin = (t: string): number => Number(t.slice(0, 2)) * 60 + Number(t.slice(3, 5));
              return [toMin(a), toMin(b)] as const;
            });
            const onGrid = ranges.some(
              ([a, b]) => minuteOfDay >= a && (minuteOfDay - a) % slotMinutes === 0 && minuteOfDay + slotMinutes <= b,
            );
            if (!onGrid || !isWithinBusinessHours(merchant, s.start, s.end)) wrong.push(`${s.local} outside hours`);
            if (s.start < now) wrong.push(`${s.local} in the past`);
            if (busy.some((b) => s.start < b.end && b.start < s.end)) wrong.push(`${s.local} overlaps busy`);
          }
          expect(wrong).toEqual([]);
        },
      ),
      { numRuns: 50 },
    );
  });
});

describe('parseLocalDateTime', () => {
  it('turns merchant-local wall time into the right instant either side of a change', () => {
    expect(iso(parseLocalDateTime('2026-03-27', '15:00', 'Europe/London'))).toBe('2026-03-27T15:00:00.000Z');
    expect(iso(parseLocalDateTime('2026-03-31', '15:00', 'Europe/London'))).toBe('2026-03-31T14:00:00.000Z');
    expect(iso(parseLocalDateTime('2026-03-09', '09:00', 'America/New_York'))).toBe('2026-03-09T13:00:00.000Z');
  });

  it('says a skipped time does not exist (NY 02:30 on 2026-03-08, London 01:30 on 2026-03-29)', () => {
    expect(() => parseLocalDateTime('2026-03-08', '02:30', 'America/New_York')).toThrow(/does not exist/);
    expect(() => parseLocalDateTime('2026-03-29', '01:30', 'Europe/London')).toThrow(/does not exist/);
    // London jumps 01:00→02:00, so 02:30 is real there (BST).
    expect(iso(parseLocalDateTime('2026-03-29', '02:30', 'Europe/London'))).toBe('2026-03-29T01:30:00.000Z');
  });

  it('resolves a repeated fall-back time to its first occurrence', () => {
    expect(iso(parseLocalDateTime('2026-11-01', '01:30', 'America/New_York'))).toBe('2026-11-01T05:30:00.000Z');
    expect(iso(parseLocalDateTime('2026-10-25', '01:30', 'Europe/London'))).toBe('2026-10-25T00:30:00.000Z');
  });

  it('rejects malformed input clearly', () => {
    expect(() => parseLocalDateTime('2026-13-01', '09:00', 'Europe/London')).toThrow(/YYYY-MM-DD/);
    expect(() => parseLocalDateTime('2026-03-09', '25:00', 'Europe/London')).toThrow(/HH:MM/);
    expect(() => parseLocalDateTime('2026-03-09', '9am', 'Europe/London')).toThrow(/HH:MM/);
    expect(() => parseLocalDateTime('2026-03-09', '09:00', 'Nowhere/Special')).toThrow(/time zone/);
  });
});

describe('isWithinBusinessHours', () => {
  it('checks the whole appointment against one local range', () => {
    const at = (d: string, t: string): Date => parseLocalDateTime(d, t, 'Europe/London');
    expect(isWithinBusinessHours(london, at('2026-03-31', '16:00'))).toBe(true); // ends 17:00
    expect(isWithinBusinessHours(london, at('2026-03-31', '16:30'))).toBe(false); // runs past close
    expect(isWithinBusinessHours(london, at('2026-03-31', '12:30'))).toBe(false); // lunch
    expect(isWithinBusinessHours(london, at('2026-03-29', '10:00'))).toBe(false); // Sunday
    expect(isWithinBusinessHours(london, at('2026-03-31', '09:00'), at('2026-03-31', '09:30'))).toBe(true);
  });
});

describe('resolveRequestedTime: what the caller said', () => {
  it('"Tuesday at 3" on a Friday before the clocks change → 15:00 BST next Tuesday', () => {
    const now = new Date('2026-03-27T10:00:00Z'); // Fri 27 Mar, GMT
    const r = resolveRequestedTime({ merchant: london, now, day: 'Tuesday', time: '3' });
    expect(r).toMatchObject({
      date: '2026-03-31',
      time: '15:00',
      local: 'Tue 31 Mar 15:00',
      withinBusinessHours: true,
    });
    expect(iso(r.start)).toBe('2026-03-31T14:00:00.000Z');
    // And it is one of the slots checkAvailability would offer.
    const slots = freeSlots({ merchant: london, fromDate: r.date, days: 1, busy: [], now });
    expect(slots.some((s) => s.start.getTime() === r.start.getTime())).toBe(true);
  });

  it('reads am/pm, 24h and noon, and keeps a morning hour in the morning', () => {
    const now = new Date('2026-03-27T10:00:00Z');
    const t = (day: string, time: string): string => {
      const r = resolveRequestedTime({ merchant: london, now, day, time });
      return `${r.date} ${r.time}`;
    };
    expect(t('tue', '9')).toBe('2026-03-31 09:00');
    expect(t('tuesday', '3pm')).toBe('2026-03-31 15:00');
    expect(t('Tuesday', '3:30 p.m.')).toBe('2026-03-31 15:30');
    expect(t('tomorrow', '11')).toBe('2026-03-28 11:00');
    expect(t('2026-04-01', '15:00')).toBe('2026-04-01 15:00');
    expect(t('wednesday', 'noon')).toBe('2026-04-01 12:00');
    expect(resolveRequestedTime({ merchant: london, now, day: 'tuesday', time: '3am' }).withinBusinessHours).toBe(
      false,
    );
  });

  it('a weekday that is today but already past means next week', () => {
    const now = new Date('2026-03-10T16:00:00Z'); // Tue 10 Mar, 16:00 GMT
    expect(resolveRequestedTime({ merchant: london, now, day: 'Tuesday', time: '3' }).date).toBe('2026-03-17');
    expect(resolveRequestedTime({ merchant: london, now, day: 'Tuesday', time: '4:30pm' }).date).toBe('2026-03-10');
  });

  it('refuses what it cannot read', () => {
    const now = new Date('2026-03-27T10:00:00Z');
    expect(() => resolveRequestedTime({ merchant: london, now, day: 'someday', time: '3' })).toThrow(/day/);
    expect(() => resolveRequestedTime({ merchant: london, now, day: 'tuesday', time: 'half three' })).toThrow(/time/);
    expect(() => resolveRequestedTime({ merchant: newYork, now, day: '2026-03-08', time: '2:30am' })).toThrow(
      /does not exist/,
    );
  });
});
