import { z } from 'zod';
import type { Appointment } from '../store/store.js';
import { syncCancellation } from './calendar-sync.js';
import { dayLabel, dayRange, requestedTime, resolveDay, timeView } from './local-time.js';
import { answer, defineTool, refusal } from './tool.js';
import { InvalidArguments, dayDescription, phoneField, phoneFor, textField, timeDescription } from './validate.js';

// Cancels the caller's appointment on a day: found by their phone number and the merchant-local
// date, narrowed by time when there are several. The database change is the cancellation; the
// calendar event is deleted after it.

export const cancelBooking = defineTool({
  name: 'cancelBooking',
  description:
    "Cancel the caller's appointment on a given day. Ask which day; if they have more than one that day, " +
    'ask which time. Confirm with the caller before cancelling.',
  schema: z.object({
    date: textField('date', {
      max: 40,
      ask: 'ask the caller which day the appointment is',
      description: `Day of the appointment: ${dayDescription}`,
    }),
    time: textField('time', {
      max: 20,
      ask: 'leave time out unless the caller has several appointments that day',
      description: `Start time, only needed when there are several that day. ${timeDescription}`,
    }).optional(),
    phone: phoneField,
  }),
  failure: "I wasn't able to cancel the appointment just now.",
  async run(args, env) {
    const { merchant, now } = env;
    const tz = merchant.timeZone;
    const phone = phoneFor(args.phone, env);
    if (!phone)
      throw new InvalidArguments(
        "phone is required: the caller's number is hidden, so ask for the number the booking is under",
      );
    const date = resolveDay('date', args.date, now, tz);
    const target = args.time
      ? requestedTime({ merchant, now, dayField: 'date', day: date, time: args.time }).start
      : undefined;

    const customer = await env.store.findCustomerByPhone(merchant.id, phone);
    if (!customer)
      return refusal(
        'not_found',
        'There are no bookings under this phone number. Ask whether it was booked under another number.',
      );
    const { start, end } = dayRange(date, tz);
    const onDay = (await env.store.findAppointmentsForCustomerOn(merchant.id, customer.id, start, end)).filter(
      (a) => a.startsAt > now,
    );
    const list = (as: Appointment[]) => as.map((a) => timeView(a.startsAt, tz));
    if (onDay.length === 0)
      return refusal('not_found', `There is no upcoming appointment on ${dayLabel(date)} for this number.`);

    let chosen: Appointment | undefined;
    if (target) {
      chosen = onDay.find((a) => a.startsAt.getTime() === target.getTime());
      if (!chosen) {
        return refusal(
          'not_found',
          `There is no appointment at that time on ${dayLabel(date)}. Appointments that day: ${list(onDay)
            .map((v) => v.local)
            .join(', ')}.`,
          { appointments: list(onDay) },
        );
      }
    } else if (onDay.length > 1) {
      return refusal(
        'ambiguous',
        `There are ${onDay.length} appointments on ${dayLabel(date)}. Ask the caller which time to cancel.`,
        { appointments: list(onDay) },
      );
    } else {
      chosen = onDay[0];
    }
    if (!chosen) return refusal('not_found', `There is no upcoming appointment on ${dayLabel(date)} for this number.`);

    const cancelled = await env.store.cancelAppointment(merchant.id, chosen.id);
    if (!cancelled) return refusal('not_found', 'That appointment was already cancelled.');
    const calendar = await syncCancellation(env, cancelled);
    const when = timeView(cancelled.startsAt, tz);
    await env.notify({
      kind: 'cancellation',
      callSid: env.callSid,
      appointmentId: cancelled.id,
      callerName: customer.name,
      callerPhone: phone,
      when: when.local,
    });
    const note =
      calendar === 'not_updated'
        ? " (Cancelled, but the business's calendar could not be updated; staff will see it in the appointment book.)"
        : '';
    return answer({
      cancelled: true,
      appointmentId: cancelled.id,
      ...when,
      calendar,
      message: `Cancelled the appointment on ${when.local}.${note}`,
    });
  },
});
