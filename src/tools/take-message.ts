import { z } from 'zod';
import { answer, defineTool } from './tool.js';
import { phoneField, phoneFor, textField } from './validate.js';

// A message for the business: who called, how to reach them, what about, and how urgent.

export const takeMessage = defineTool({
  name: 'takeMessage',
  description:
    "Leave a message for the business's staff. Ask for the caller's name and what the message is; ask how " +
    'urgent only if it is unclear.',
  schema: z.object({
    message: textField('message', {
      max: 2000,
      ask: 'ask the caller what the message is',
      description: 'The message, in the caller’s words, briefly.',
    }),
    name: textField('name', { max: 120, ask: "ask the caller's name", description: "The caller's name." }).optional(),
    phone: phoneField,
    urgency: z
      .enum(['low', 'normal', 'urgent'], { error: 'urgency must be one of low, normal, urgent' })
      .optional()
      .describe('low, normal (default) or urgent (the caller needs a reply today).'),
  }),
  failure: "I wasn't able to save the message just now.",
  async run(args, env) {
    const phone = phoneFor(args.phone, env);
    const urgency = args.urgency ?? 'normal';
    const saved = await env.store.saveMessage({
      merchantId: env.merchant.id,
      callerName: args.name ?? null,
      callerPhone: phone,
      body: args.message,
      urgency,
      callSid: env.callSid,
    });
    if (urgency === 'urgent') {
      await env.notify({
        kind: 'urgent_message',
        callSid: env.callSid,
        messageId: saved.id,
        callerName: args.name ?? null,
        callerPhone: phone,
        message: args.message,
      });
    }
    const reach = phone ? '' : ' There is no number to call back on: ask for one if the caller wants a call back.';
    return answer({
      saved: true,
      messageId: saved.id,
      urgency,
      phone,
      message: `Message saved for the team (${urgency}).${reach}`,
    });
  },
});
