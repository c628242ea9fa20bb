import { z } from 'zod';
import { date, nullableDate } from './row-dates.js';
import type { Message } from './store.js';

// A messages row: what a caller asked to pass on, read or not yet.

const messageRow = z.object({
  id: z.string(),
  merchant_id: z.string(),
  caller_name: z.string().nullable(),
  caller_phone: z.string().nullable(),
  body: z.string(),
  urgency: z.enum(['low', 'normal', 'urgent']),
  call_sid: z.string().nullable(),
  created_at: date,
  read_at: nullableDate.optional().transform((v) => v ?? null),
});

export function toMessage(row: unknown): Message {
  const r = messageRow.parse(row);
  return {
    id: r.id,
    merchantId: r.merchant_id,
    callerName: r.caller_name,
    callerPhone: r.caller_phone,
    body: r.body,
    urgency: r.urgency,
    callSid: r.call_sid,
    createdAt: r.created_at,
    readAt: r.read_at,
  };
}
