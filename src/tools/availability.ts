import { isCalendarError } from '../calendar/calendar.js';
import { freeSlots, type Slot } from '../calendar/slots.js';
import { addDays, dayRange, timeView, type TimeView } from './local-time.js';
import type { ToolEnv } from './tool.js';

// Free slots as the receptionist sees them: the merchant's slot grid inside business hours, minus
// what the database already holds and (when connected) what the merchant's Google Calendar says is
// busy. A calendar that cannot be reached does not stop the answer: the database still decides who
// gets a slot, so its own bookings are always respected.

/** `unavailable`: a calendar is connected but could not be read just now. */
export type CalendarCheck = 'checked' | 'not_connected' | 'unavailable';

export interface Availability {
  slots: Slot[];
  calendar: CalendarCheck;
}

/** How far ahead to look when the asked-for day is full. */
const LOOKAHEAD_DAYS = 14;

export async function availability(env: ToolEnv, fromDate: string, days: number): Promise<Availability> {
  const { merchant } = env;
  const range = dayRange(fromDate, merchant.timeZone, days);
  const [appointments, cal] = await Promise.all([
    env.store.listAppointments(merchant.id, range.start, range.end),
    calendarBusy(env, range.start, range.end),
  ]);
  const busy = [...appointments.map((a) => ({ start: a.startsAt, end: a.endsAt })), ...cal.busy];
  return { slots: freeSlots({ merchant, fromDate, days, busy, now: env.now }), calendar: cal.state };
}

/**
 * Up to `limit` free slots on `date` nearest to `target` (or the day's first ones); when the day has
 * none, the first free ones of the following two weeks. `sameDay` says which it is. `known`: the
 * day's availability when the caller already has it.
 */
export async function slotsNear(
  env: ToolEnv,
  date: string,
  opts: { target?: Date; exclude?: Date; limit?: number; known?: Availability } = {},
): Promise<{ slots: Slot[]; sameDay: boolean; calendar: CalendarCheck }> {
  const limit = opts.limit ?? 5;
  const keep = (s: Slot): boolean => s.start.getTime() !== opts.exclude?.getTime();
  const day = opts.known ?? (await availability(env, date, 1));
  const onDay = day.slots.filter(keep);
  if (onDay.length > 0) return { slots: nearest(onDay, opts.target, limit), sameDay: true, calendar: day.calendar };
  const later = await availability(env, addDays(date, 1), LOOKAHEAD_DAYS);
  const calendar = day.calendar === 'checked' ? later.calendar : day.calendar;
  return { slots: later.slots.filter(keep).slice(0, limit), sameDay: false, calendar };
}

/** The `limit` slots closest to `target`, in time order; without a target, the first ones. */
export function nearest(slots: Slot[], target: Date | undefined, limit: number): Slot[] {
  if (!target) return slots.slice(0, limit);
  const t = target.getTime();
  return [...slots]
    .sort(
      (a, b) =>
        Math.abs(a.start.getTime() - t) - Math.abs(b.start.getTime() - t) || a.start.getTime() - b.start.getTime(),
    )
    .slice(0, limit)
    .sort((a, b) => a.start.getTime() - b.start.getTime());
}

export function slotViews(slots: Slot[], timeZone: string): TimeView[] {
  return slots.map((s) => timeView(s.start, timeZone));
}

async function calendarBusy(
  env: ToolEnv,
  from: Date,
  to: Date,
): Promise<{ state: CalendarCheck; busy: Array<{ start: Date; end: Date }> }> {
  try {
    const cal = await env.calendar();
    if (!cal) return { state: 'not_connected', busy: [] };
    return { state: 'checked', busy: await cal.freeBusy(from.toISOString(), to.toISOString(), { signal: env.signal }) };
  } catch (err) {
    const kind = isCalendarError(err) ? err.kind : 'error';
    env.log.warn(
      { kind, err: err instanceof Error ? err.message : String(err) },
      'calendar free/busy unavailable; using bookings only',
    );
    return { state: 'unavailable', busy: [] };
  }
}
