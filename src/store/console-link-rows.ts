import { z } from 'zod';
import { date, nullableDate } from './row-dates.js';
import type { ConsoleLink } from './store.js';

// A console_links row: a merchant's sign-in link to the console (the token's hash stays in the database).

const consoleLinkRow = z.object({
  id: z.string(),
  merchant_id: z.string(),
  created_at: date,
  expires_at: date,
  revoked_at: nullableDate,
});

export function toConsoleLink(row: unknown): ConsoleLink {
  const r = consoleLinkRow.parse(row);
  return {
    id: r.id,
    merchantId: r.merchant_id,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    revokedAt: r.revoked_at,
  };
}
