import { DateTime } from 'luxon';
import {
  formatLocal,
  resolveRequestedTime,
  SlotInputError,
  type RequestedTime,
  type SlotMerchant,
} from '../calendar/slots.js';
import { InvalidArguments } from './validate.js';

// Days and times as the caller means them: in the merchant's zone, whatever zone the server runs in.
// slots.ts resolves "Tuesday at 3"; this adds the day-only case ("anything on Tuesday?") and the
// shape a time takes in a tool's answer.

const WEEKDAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'];

export const DAY_HINT = 'must be YYYY-MM-DD (for example 2026-03-31), "today", "tomorrow" or a weekday name';

/**
 * "2026-03-31" | "today" | "tomorrow" | "tuesday" (the next one, today included) → the merchant-local
 * YYYY-MM-DD. Same vocabulary as resolveRequestedTime.
 */
export function resolveDay(field: string, text: string, now: Date, timeZone: string): string {
  const today = DateTime.fromJSDate(now, { zone: timeZone }).startOf('day');
  const word = text.trim().toLowerCase();
  if (word === 'today') return isoDate(today);
  if (word === 'tomorrow') return isoDate(today.plus({ days: 1 }));
  if (/^\d{4}-\d{2}-\d{2}$/.test(word)) {
    const d = DateTime.fromISO(word, { zone: timeZone });
    if (d.isValid && d.toISODate() === word) return word;
    throw new InvalidArguments(`${field} ${word} is not a real date; it ${DAY_HINT}`);
  }
  const name = word.replace(/^(next|this|on)\s+/, '').replace(/s$/, '');
  const idx = name.length >= 3 ? WEEKDAYS.findIndex((w) => w.startsWith(name)) : -1;
  if (idx < 0) throw new InvalidArguments(`${field} "${text}" ${DAY_HINT}`);
  return isoDate(today.plus({ days: (idx + 1 - today.weekday + 7) % 7 }));
}

/**
 * Day + time as said → the concrete start (slots.ts rules: a weekday whose time has passed today
 * means next week, a bare "3" picks am/pm by business hours). Errors name the field at fault.
 */
export function requestedTime(args: {
  merchant: SlotMerchant;
  now: Date;
  dayField: string;
  day: string;
  time: string;
}): RequestedTime {
  resolveDay(args.dayField, args.day, args.now, args.merchant.timeZone);
  try {
    return resolveRequestedTime({ merchant: args.merchant, now: args.now, day: args.day, time: args.time });
  } catch (err) {
    // About what the caller said: the model asks again. Anything else (a merchant's broken
    // business hours) is the tool failing, not the caller.
    if (!(err instanceof SlotInputError)) throw err;
    if (err.message.startsWith('unrecognised time'))
      throw new InvalidArguments(`time: ${err.message}; use 24-hour HH:MM like "15:00"`);
    if (/^unrecognised day|^date must be|does not exist in /.test(err.message)) throw new InvalidArguments(err.message);
    throw err;
  }
}

/** [start, end) of a merchant-local day as instants (23 or 25 hours long on a clock-change day). */
export function dayRange(date: string, timeZone: string, days = 1): { start: Date; end: Date } {
  const start = DateTime.fromISO(date, { zone: timeZone }).startOf('day');
  return { start: start.toJSDate(), end: start.plus({ days }).toJSDate() };
}

/** "Tue 31 Mar": a local date as read to the caller (fixed English, like formatLocal). */
export function dayLabel(date: string): string {
  return DateTime.fromISO(date, { zone: 'UTC', locale: 'en-GB' }).toFormat('ccc d LLL');
}

/** The merchant-local date at an instant. */
export function localDate(at: Date, timeZone: string): string {
  return isoDate(DateTime.fromJSDate(at, { zone: timeZone }));
}

export function addDays(date: string, days: number): string {
  return isoDate(DateTime.fromISO(date, { zone: 'UTC' }).plus({ days }));
}

/** How a time appears in a tool answer: the phrase to read back plus the exact values to reuse. */
export interface TimeView {
  /** Merchant-local YYYY-MM-DD and HH:MM, ready to pass back to createBooking / cancelBooking. */
  date: string;
  time: string;
  /** "Tue 31 Mar 15:00": what to read to the caller. */
  local: string;
  /** The instant, ISO 8601 UTC. */
  start: string;
}

export function timeView(start: Date, timeZone: string): TimeView {
  const dt = DateTime.fromJSDate(start, { zone: timeZone });
  return {
    date: isoDate(dt),
    time: dt.toFormat('HH:mm'),
    local: formatLocal(start, timeZone),
    start: start.toISOString(),
  };
}

function isoDate(d: DateTime): string {
  return d.toFormat('yyyy-MM-dd');
}
