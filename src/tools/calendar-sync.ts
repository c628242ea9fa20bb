import { isCalendarError } from '../calendar/calendar.js';
import type { Appointment } from '../store/store.js';
import type { ToolEnv } from './tool.js';

// Mirroring committed bookings into the merchant's Google Calendar. These run after the database
// write, so they never take the tool's deadline signal: the answer to the model may be given up,
// but the calendar should still match the appointment book (the client has its own timeout).
// A failure is logged and reported, never undoes the booking or the cancellation.

/** `not_updated`: a calendar is connected but the change could not be written to it. */
export type CalendarSync = 'updated' | 'not_updated' | 'not_connected';

export async function syncNewBooking(
  env: ToolEnv,
  a: Appointment,
  who: { name: string; phone: string; notes?: string | undefined },
): Promise<CalendarSync> {
  try {
    const cal = await env.calendar();
    if (!cal) return 'not_connected';
    const { eventId } = await cal.insertEvent({
      summary: `${who.name} (booked by phone)`,
      description: [who.notes, `Booked by the phone receptionist (call ${env.callSid}).`]
        .filter((l): l is string => !!l)
        .join('\n'),
      start: a.startsAt,
      end: a.endsAt,
      timeZone: env.merchant.timeZone,
      attendeePhone: who.phone,
    });
    await env.store.setAppointmentCalendarEvent(a.id, eventId);
    return 'updated';
  } catch (err) {
    env.log.error(
      { appointmentId: a.id, ...failure(err) },
      'booking stored but the calendar event could not be created',
    );
    return 'not_updated';
  }
}

/** Deletes the appointment's event; one that Google already lost or deleted (404/410) counts as done. */
export async function syncCancellation(env: ToolEnv, a: Appointment): Promise<CalendarSync | 'no_event'> {
  if (!a.calendarEventId) return 'no_event';
  try {
    const cal = await env.calendar();
    if (!cal) return 'not_connected';
    await cal.deleteEvent(a.calendarEventId);
    return 'updated';
  } catch (err) {
    if (isCalendarError(err) && err.kind === 'not_found') return 'updated';
    env.log.error(
      { appointmentId: a.id, ...failure(err) },
      'appointment cancelled but the calendar event could not be deleted',
    );
    return 'not_updated';
  }
}

function failure(err: unknown): { kind: string; err: string } {
  return { kind: isCalendarError(err) ? err.kind : 'error', err: err instanceof Error ? err.message : String(err) };
}
