import { z } from 'zod';
import type { Appointment } from '../store/store.js';
import { freeSlots, type RequestedTime } from '../calendar/slots.js';
import { availability, slotsNear, slotViews, type Availability } from './availability.js';
import { syncNewBooking } from './calendar-sync.js';
import { requestedTime, timeView } from './local-time.js';
import { answer, defineTool, refusal, type ToolEnv, type ToolResult } from './tool.js';
import { InvalidArguments, dayDescription, phoneField, phoneFor, textField, timeDescription } from './validate.js';

// Books one slot. Order matters: the database insert is the commitment (its exclusion constraint
// settles races between calls), the Google Calendar event follows it. A booking that reached the
// database stands whatever happens after, a calendar failure or the caller hanging up included.

export const createBooking = defineTool({
  name: 'createBooking',
  description:
    "Book an appointment. Use a date and time from checkAvailability and the caller's name (ask for it if " +
    "you don't know it). Read the booked time back to the caller.",
  schema: z.object({
    date: textField('date', {
      max: 40,
      ask: 'ask the caller which day',
      description: `Day of the appointment: ${dayDescription}`,
    }),
    time: textField('time', {
      max: 20,
      ask: 'ask the caller what time',
      description: `Start time. ${timeDescription}`,
    }),
    name: textField('name', { max: 120, ask: "ask the caller's name", description: "The caller's name." }).optional(),
    phone: phoneField,
    notes: textField('notes', {
      max: 500,
      ask: 'leave notes out if there are none',
      description: 'What the appointment is for, if the caller said.',
    }).optional(),
  }),
  failure:
    "I wasn't able to complete the booking. It may or may not have gone through: check with lookupCustomer " +
    'before booking again.',
  async run(args, env) {
    const { merchant, now } = env;
    const tz = merchant.timeZone;
    const phone = phoneFor(args.phone, env);
    if (!phone)
      throw new InvalidArguments(
        "phone is required: the caller's number is hidden, so ask them for a number to reach them on",
      );
    if (!args.name) {
      const known = await env.store.findCustomerByPhone(merchant.id, phone);
      if (!known?.name) throw new InvalidArguments("name is required for a new customer: ask the caller's name");
    }
    const req = requestedTime({ merchant, now, dayField: 'date', day: args.date, time: args.time });
    if (req.start.getTime() <= now.getTime()) {
      return refusal('in_the_past', `${req.local} has already passed. Ask for a later time.`, {
        requested: timeView(req.start, tz),
      });
    }
    const day = await availability(env, req.date, 1);
    if (!day.slots.some((s) => s.start.getTime() === req.start.getTime())) return notFree(env, req, day);

    const customer = await env.store.findOrCreateCustomer(merchant.id, phone, args.name ?? null);
    // Past the deadline nobody is waiting for this answer and the slot check may be stale: do not
    // start a booking the caller was told might have failed. One that has started is kept.
    if (env.signal.aborted) {
      env.log.warn('deadline passed before the booking was written; not booked');
      return refusal('timeout', 'Not booked: it took too long.');
    }
    const booked = await env.store.bookAppointment({
      merchantId: merchant.id,
      customerId: customer.id,
      startsAt: req.start,
      endsAt: req.end,
      notes: args.notes ?? null,
      callSid: env.callSid,
    });
    if (!booked.ok) {
      // Another call got there first; offer what is left (the check above did not see it yet).
      const others = await slotsNear(env, req.date, { target: req.start, exclude: req.start, known: day });
      return refusal(
        'slot_taken',
        `${req.local} was just taken by someone else. Offer the caller one of these instead.`,
        {
          alternatives: slotViews(others.slots, tz),
        },
      );
    }
    const name = customer.name ?? args.name ?? null;
    const calendar = await syncNewBooking(env, booked.appointment, {
      name: name ?? 'Customer',
      phone,
      notes: args.notes,
    });
    await env.notify({
      kind: 'booking',
      callSid: env.callSid,
      appointmentId: booked.appointment.id,
      callerName: name,
      callerPhone: phone,
      when: timeView(booked.appointment.startsAt, tz).local,
      notes: args.notes ?? null,
    });
    return answer(bookedBody(booked.appointment, name, calendar, tz));
  },
});

async function notFree(env: ToolEnv, req: RequestedTime, day: Availability): Promise<ToolResult> {
  const { merchant, now } = env;
  const { start, local, date } = req;
  const near = await slotsNear(env, date, { target: start, known: day });
  const alternatives = slotViews(near.slots, merchant.timeZone);
  const offer = alternatives.length
    ? ' Offer the caller one of the alternatives.'
    : ' Nothing is free in the next two weeks.';
  if (!req.withinBusinessHours)
    return refusal('outside_business_hours', `${local} is outside opening hours.${offer}`, { alternatives });
  // On the slot grid but busy, or between slots (15:10 when slots start on the half hour).
  const onGrid = freeSlots({ merchant, fromDate: date, days: 1, busy: [], now }).some(
    (s) => s.start.getTime() === start.getTime(),
  );
  if (!onGrid)
    return refusal('not_a_slot', `Appointments start at fixed times and ${local} is not one of them.${offer}`, {
      alternatives,
    });
  return refusal('slot_taken', `${local} is already booked.${offer}`, { alternatives });
}

function bookedBody(a: Appointment, name: string | null, calendar: string, tz: string): Record<string, unknown> {
  const when = timeView(a.startsAt, tz);
  const note =
    calendar === 'updated'
      ? ''
      : calendar === 'not_connected'
        ? ' (The business has no calendar connected; the booking is kept in the appointment book.)'
        : " (The booking is made, but the business's calendar could not be updated; staff will see it in " +
          'the appointment book.)';
  return {
    booked: true,
    appointmentId: a.id,
    ...when,
    end: a.endsAt.toISOString(),
    name,
    calendar,
    message: `Booked${name ? ` for ${name}` : ''} on ${when.local}. Read the time back to the caller.${note}`,
  };
}
