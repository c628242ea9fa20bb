import { z } from 'zod';
import { slotsNear, slotViews, type CalendarCheck } from './availability.js';
import { dayLabel, localDate, requestedTime, resolveDay, timeView } from './local-time.js';
import { answer, defineTool } from './tool.js';
import { dayDescription, textField, timeDescription } from './validate.js';

// "Anything on Tuesday at 3?": free slots of the merchant's length, nearest the asked-for time, in
// the merchant's zone. The answer carries both the phrase to read out and the exact date/time to
// pass to createBooking.

export const checkAvailability = defineTool({
  name: 'checkAvailability',
  description:
    'Find free appointment times on a day, nearest the time the caller wants. Ask which day (and roughly ' +
    'what time) first. Read back at most three options.',
  schema: z.object({
    day: textField('day', {
      max: 40,
      ask: 'ask the caller which day they would like',
      description: `The day the caller wants: ${dayDescription}`,
    }),
    time: textField('time', {
      max: 20,
      ask: 'leave time out if the caller has no preference',
      description: `Preferred time, if the caller said one. ${timeDescription}`,
    }).optional(),
  }),
  failure: "I wasn't able to check the diary just now.",
  async run(args, env) {
    const { merchant, now } = env;
    const tz = merchant.timeZone;
    const today = localDate(now, tz);
    const req = args.time
      ? requestedTime({ merchant, now, dayField: 'day', day: args.day, time: args.time })
      : undefined;
    const date = req?.date ?? resolveDay('day', args.day, now, tz);
    if (date < today) {
      return answer({
        day: date,
        today,
        slots: [],
        message: `${dayLabel(date)} has already passed; today is ${dayLabel(today)}. Ask for another day.`,
      });
    }
    const found = await slotsNear(env, date, req ? { target: req.start } : {});
    const slots = slotViews(found.slots, tz);
    const free =
      req !== undefined && found.sameDay && found.slots.some((s) => s.start.getTime() === req.start.getTime());
    const list = slots.map((s) => s.local).join(', ');
    let message: string;
    if (req && free) message = `${req.local} is free.`;
    else if (req)
      message = `${req.local} is not available${req.withinBusinessHours ? '' : ' (outside opening hours)'}.`;
    else message = '';
    if (slots.length === 0) message += ` Nothing is free on ${dayLabel(date)} or in the two weeks after it.`;
    else if (!found.sameDay) message += ` Nothing is free on ${dayLabel(date)}. The next free times are: ${list}.`;
    else if (!free) message += ` Free times${req ? ' nearest that' : ` on ${dayLabel(date)}`}: ${list}.`;
    message += calendarNote(found.calendar);
    return answer({
      day: date,
      today,
      ...(req ? { requested: { ...timeView(req.start, tz), free, withinBusinessHours: req.withinBusinessHours } } : {}),
      slots,
      message: message.trim(),
    });
  },
});

function calendarNote(c: CalendarCheck): string {
  return c === 'unavailable'
    ? ' (The diary could not be fully checked just now: a time is only confirmed once booked.)'
    : '';
}
