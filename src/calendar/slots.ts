import { IANAZone } from 'luxon';
import type { Merchant } from '../merchants/merchant.js';

// Availability math in the merchant's wall-clock time. Every conversion names the zone, so the
// answer is the same whatever TZ the server runs in. A "09:00" slot is 09:00 on the merchant's
// clock on both sides of a DST change; local times skipped by a spring-forward do not exist (no
// slot, parse error) and times repeated by a fall-back mean their first occurrence.

export type SlotMerchant = Pick<Merchant, 'timeZone' | 'slotMinutes' | 'businessHours'>;

export interface Slot {
  start: Date;
  end: Date;
  /** Merchant-local label, e.g. "Tue 12 Mar 15:00". */
  local: string;
}

export interface FreeSlotsArgs {
  merchant: SlotMerchant;
  /** First merchant-local day, YYYY-MM-DD. */
  fromDate: string;
  /** How many consecutive local days (1–92). */
  days: number;
  /** Calendar free/busy plus appointments already held; any order, may overlap. */
  busy: ReadonlyArray<{ start: Date; end: Date }>;
  now: Date;
  /** Slots must start at least this far after `now`. Default 0. */
  minLeadMinutes?: number;
}

/** Bad input from a caller or a merchant's config; the message is fit to read back. */
export class SlotInputError extends Error {
  override readonly name = 'SlotInputError';
}

const MINUTE = 60_000;
const DAY = 86_400_000;
const WEEKDAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'];
const WEEKDAY_LABELS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
const MONTH_LABELS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

interface YMD {
  year: number;
  month: number;
  day: number;
}

export function freeSlots(args: FreeSlotsArgs): Slot[] {
  const { merchant, days, now } = args;
  const zone = zoneOf(merchant.timeZone);
  const slotMs = slotLength(merchant) * MINUTE;
  if (!Number.isInteger(days) || days < 1 || days > 92) throw new SlotInputError(`days must be 1..92, got ${days}`);
  const first = parseDate(args.fromDate);
  const earliest = now.getTime() + (args.minLeadMinutes ?? 0) * MINUTE;
  const busy = args.busy.map((b) => [b.start.getTime(), b.end.getTime()] as const).filter(([s, e]) => e > s);

  const seen = new Set<number>();
  const out: Slot[] = [];
  for (let i = 0; i < days; i++) {
    const date = addDays(first, i);
    const offsets = offsetsAround(date, zone);
    // Labels come from the wall time itself: Intl formatting per slot is slow (~0.3 ms).
    const prefix = dayLabel(date);
    for (const [from, to] of rangesFor(merchant, date)) {
      const limit = instantAt(date, to, zone, offsets);
      for (let t = from; t + slotMs / MINUTE <= to; t += slotMs / MINUTE) {
        const s = instantsAt(date, t, zone, offsets)[0];
        if (s === undefined) continue; // skipped by spring-forward
        const e = s + slotMs;
        if (e > limit || s < earliest || seen.has(s)) continue;
        if (busy.some(([bs, be]) => s < be && bs < e)) continue;
        seen.add(s);
        out.push({ start: new Date(s), end: new Date(e), local: `${prefix} ${clockText(t)}` });
      }
    }
  }
  return out.sort((a, b) => a.start.getTime() - b.start.getTime());
}

/**
 * Merchant-local date + time → instant. Throws SlotInputError for malformed input and for a time
 * the clocks skip ("02:30 on 2026-03-08 does not exist in America/New_York …"). A repeated
 * (fall-back) time resolves to its first occurrence.
 */
export function parseLocalDateTime(date: string, time: string, timeZone: string): Date {
  const zone = zoneOf(timeZone);
  const ymd = parseDate(date);
  const minutes = parseClock(time);
  if (minutes >= 1440) throw new SlotInputError(`time must be before 24:00, got ${time}`);
  const first = instantsAt(ymd, minutes, zone)[0];
  if (first === undefined) {
    throw new SlotInputError(
      `${time} on ${date} does not exist in ${timeZone}: the clocks go forward past it that night`,
    );
  }
  return new Date(first);
}

/** Whether [start, end) lies inside one business-hours range of the merchant's local day. */
export function isWithinBusinessHours(merchant: SlotMerchant, start: Date, end?: Date): boolean {
  const zone = zoneOf(merchant.timeZone);
  const s = start.getTime();
  const e = end ? end.getTime() : s + slotLength(merchant) * MINUTE;
  const date = localDate(s, zone);
  return rangesFor(merchant, date).some(
    ([from, to]) => s >= instantAt(date, from, zone) && e <= instantAt(date, to, zone),
  );
}

/** "Tue 12 Mar 15:00" in the given zone; fixed English, whatever the server's locale. */
export function formatLocal(d: Date, timeZone: string): string {
  const wall = new Date(d.getTime() + zoneOf(timeZone).offset(d.getTime()) * MINUTE);
  const date: YMD = { year: wall.getUTCFullYear(), month: wall.getUTCMonth() + 1, day: wall.getUTCDate() };
  return `${dayLabel(date)} ${clockText(wall.getUTCHours() * 60 + wall.getUTCMinutes())}`;
}

function dayLabel(date: YMD): string {
  return `${WEEKDAY_LABELS[isoWeekday(date) - 1]} ${date.day} ${MONTH_LABELS[date.month - 1]}`;
}

export interface RequestedTime {
  /** Merchant-local YYYY-MM-DD and HH:MM that were settled on. */
  date: string;
  time: string;
  start: Date;
  end: Date;
  local: string;
  withinBusinessHours: boolean;
}

/**
 * What a caller said ("Tuesday" + "3") → a concrete start. `day`: YYYY-MM-DD, today, tomorrow or an
 * English weekday (the next one, today included while that time is still ahead). `time`: "15:00",
 * "3", "3pm", "3:30 p.m.", "noon". A bare 1–12 hour means whichever of am/pm falls in business
 * hours, else pm for 1–7 (nobody books a 3 a.m. haircut).
 */
export function resolveRequestedTime(args: {
  merchant: SlotMerchant;
  now: Date;
  day: string;
  time: string;
}): RequestedTime {
  const { merchant, now } = args;
  const zone = zoneOf(merchant.timeZone);
  const { hour, minute, meridiem } = parseSpokenTime(args.time);
  const todayYmd = localDate(now.getTime(), zone);
  const dayWord = args.day.trim().toLowerCase();

  let date: YMD;
  let weekdayMode = false;
  if (dayWord === 'today') date = todayYmd;
  else if (dayWord === 'tomorrow') date = addDays(todayYmd, 1);
  else if (/^\d{4}-\d{2}-\d{2}$/.test(dayWord)) date = parseDate(dayWord);
  else {
    const word = dayWord.replace(/^(next|this|on)\s+/, '').replace(/s$/, '');
    const idx = word.length >= 3 ? WEEKDAYS.findIndex((w) => w.startsWith(word)) : -1;
    if (idx < 0) throw new SlotInputError(`unrecognised day "${args.day}"`);
    date = addDays(todayYmd, (idx + 1 - isoWeekday(todayYmd) + 7) % 7);
    weekdayMode = true;
  }

  const build = (d: YMD, h: number): RequestedTime | undefined => {
    const ms = instantsAt(d, h * 60 + minute, zone)[0];
    if (ms === undefined) return undefined;
    const start = new Date(ms);
    const end = new Date(ms + slotLength(merchant) * MINUTE);
    return {
      date: ymdText(d),
      time: clockText(h * 60 + minute),
      start,
      end,
      local: formatLocal(start, merchant.timeZone),
      withinBusinessHours: isWithinBusinessHours(merchant, start, end),
    };
  };
  const pick = (d: YMD): RequestedTime | undefined => {
    if (meridiem) return build(d, meridiem === 'pm' ? (hour % 12) + 12 : hour % 12);
    if (hour === 0 || hour >= 12) return build(d, hour);
    const am = build(d, hour);
    const pm = build(d, hour + 12);
    const options = (hour < 8 ? [pm, am] : [am, pm]).filter((r): r is RequestedTime => !!r);
    return options.find((r) => r.withinBusinessHours) ?? options[0];
  };

  let result = pick(date);
  if (weekdayMode && result && result.start.getTime() < now.getTime()) result = pick(addDays(date, 7));
  if (!result) throw new SlotInputError(`${args.time} on ${ymdText(date)} does not exist in ${merchant.timeZone}`);
  return result;
}

function parseSpokenTime(text: string): { hour: number; minute: number; meridiem?: 'am' | 'pm' } {
  const t = text.trim().toLowerCase().replace(/\./g, '');
  if (t === 'noon' || t === 'midday') return { hour: 12, minute: 0, meridiem: 'pm' };
  const m = /^(\d{1,2})(?::(\d{2}))?\s*(am|pm|o'?clock)?$/.exec(t);
  const hour = Number(m?.[1]);
  const minute = Number(m?.[2] ?? 0);
  if (!m || hour > 23 || minute > 59) throw new SlotInputError(`unrecognised time "${text}"`);
  const mer = m[3];
  if (mer === 'am' || mer === 'pm') {
    if (hour < 1 || hour > 12) throw new SlotInputError(`unrecognised time "${text}"`);
    return { hour, minute, meridiem: mer };
  }
  return { hour, minute };
}

/** Business-hours ranges of a local date, as minutes from local midnight. */
function rangesFor(merchant: SlotMerchant, date: YMD): Array<[number, number]> {
  return (merchant.businessHours[String(isoWeekday(date))] ?? []).map((r) => {
    const m = /^\s*(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})\s*$/.exec(r);
    const from = m?.[1] ? parseClock(m[1]) : NaN;
    const to = m?.[2] ? parseClock(m[2]) : NaN;
    if (!(from < to))
      throw new SlotInputError(`business hours range "${r}" is not "HH:MM-HH:MM" with start before end`);
    return [from, to];
  });
}

/**
 * The zone's UTC offsets (minutes) around a local date: one normally, two on a change day. The
 * window (a day before to two after) brackets every instant whose wall time falls on that date.
 */
function offsetsAround(date: YMD, zone: IANAZone): number[] {
  const midnight = Date.UTC(date.year, date.month - 1, date.day);
  return [...new Set([zone.offset(midnight - DAY), zone.offset(midnight + 2 * DAY)])];
}

/**
 * Every instant at which the zone's clocks show this wall time: one normally, two in a fall-back
 * hour (earlier first), none in a spring-forward gap.
 */
function instantsAt(date: YMD, minutes: number, zone: IANAZone, offsets = offsetsAround(date, zone)): number[] {
  const wall = Date.UTC(date.year, date.month - 1, date.day, 0, minutes);
  if (offsets.length === 1) return [wall - (offsets[0] ?? 0) * MINUTE];
  const out: number[] = [];
  for (const off of offsets) {
    const ms = wall - off * MINUTE;
    if (zone.offset(ms) === off) out.push(ms);
  }
  return out.sort((a, b) => a - b);
}

/** Like instantsAt, but a wall time in a gap maps to where the clocks land after the jump. */
function instantAt(date: YMD, minutes: number, zone: IANAZone, offsets = offsetsAround(date, zone)): number {
  const wall = Date.UTC(date.year, date.month - 1, date.day, 0, minutes);
  return instantsAt(date, minutes, zone, offsets)[0] ?? wall - (offsets[0] ?? 0) * MINUTE;
}

/** The zone's calendar date at an instant. */
function localDate(ms: number, zone: IANAZone): YMD {
  const d = new Date(ms + zone.offset(ms) * MINUTE);
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}

function isoWeekday(date: YMD): number {
  return new Date(Date.UTC(date.year, date.month - 1, date.day)).getUTCDay() || 7;
}

function zoneOf(timeZone: string): IANAZone {
  if (!IANAZone.isValidZone(timeZone)) throw new SlotInputError(`unknown time zone "${timeZone}"`);
  return IANAZone.create(timeZone);
}

function slotLength(merchant: SlotMerchant): number {
  const n = merchant.slotMinutes;
  if (!Number.isInteger(n) || n < 5 || n > 1440) throw new SlotInputError(`slotMinutes must be 5..1440, got ${n}`);
  return n;
}

function parseDate(text: string): YMD {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  const ymd: YMD = { year: Number(m?.[1]), month: Number(m?.[2]), day: Number(m?.[3]) };
  // Date.UTC rolls 30 Feb over to March; a real date survives the round trip.
  if (!m || ymdText(addDays(ymd, 0)) !== text)
    throw new SlotInputError(`date must be a real YYYY-MM-DD, got "${text}"`);
  return ymd;
}

/** "HH:MM" → minutes from midnight; "24:00" allowed as a range end. */
function parseClock(text: string): number {
  const m = /^(\d{1,2}):(\d{2})$/.exec(text.trim());
  const h = Number(m?.[1]);
  const min = Number(m?.[2]);
  if (!m || h > 24 || min > 59 || (h === 24 && min !== 0))
    throw new SlotInputError(`time must be HH:MM, got "${text}"`);
  return h * 60 + min;
}

function addDays(d: YMD, n: number): YMD {
  const dt = new Date(Date.UTC(d.year, d.month - 1, d.day + n));
  return { year: dt.getUTCFullYear(), month: dt.getUTCMonth() + 1, day: dt.getUTCDate() };
}

function ymdText(d: YMD): string {
  return `${d.year}-${pad(d.month)}-${pad(d.day)}`;
}

function clockText(minutes: number): string {
  return `${pad(Math.floor(minutes / 60))}:${pad(minutes % 60)}`;
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}
