import { z } from 'zod';
import { timeView } from './local-time.js';
import { answer, defineTool } from './tool.js';
import { InvalidArguments, phoneField, phoneFor } from './validate.js';

// "Do you have me on file?": the customer behind a phone number (the caller's own by default), with
// their upcoming appointments in the merchant's local time.

const UPCOMING_DAYS = 366;
const MAX_UPCOMING = 5;

export const lookupCustomer = defineTool({
  name: 'lookupCustomer',
  description:
    "Look up the caller's customer record: their name and upcoming appointments. It uses the number they " +
    'are calling from; only when that number is hidden, ask for it and pass it as phone.',
  schema: z.object({ phone: phoneField }),
  failure: "I wasn't able to look up the customer record just now.",
  async run(args, env) {
    // Privacy: a caller whose number we know only learns about that number's records; anyone could
    // otherwise read out another person's name and appointments by saying their number.
    const phone = env.callerPhone ?? phoneFor(args.phone, env);
    if (!phone) throw new InvalidArguments("phone is required: the caller's number is hidden, so ask them for it");
    const customer = await env.store.findCustomerByPhone(env.merchant.id, phone);
    if (!customer) {
      return answer({
        found: false,
        phone,
        message: 'No customer with this phone number yet: this is probably a new customer.',
      });
    }
    const from = env.now;
    const to = new Date(from.getTime() + UPCOMING_DAYS * 86_400_000);
    const appts = await env.store.findAppointmentsForCustomerOn(env.merchant.id, customer.id, from, to);
    const upcoming = appts
      .slice(0, MAX_UPCOMING)
      .map((a) => ({ appointmentId: a.id, ...timeView(a.startsAt, env.merchant.timeZone) }));
    const who = customer.name ?? 'a customer with no name on file';
    return answer({
      found: true,
      name: customer.name,
      phone,
      upcoming,
      message:
        upcoming.length === 0
          ? `Found ${who}, with no upcoming appointments.`
          : `Found ${who}. Upcoming: ${upcoming.map((u) => u.local).join(', ')}.`,
    });
  },
});
