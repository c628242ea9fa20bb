import type { SupabaseClient } from '@supabase/supabase-js';
import { StoreError } from './errors.js';

// PostgREST cannot run DDL, so the Supabase store's migrate() only checks the schema that
// supabase/migrations/ (`supabase db push`) should have made is there.

const TABLES = [
  'merchants',
  'merchant_numbers',
  'merchant_profiles',
  'customers',
  'appointments',
  'messages',
  'calls',
  'call_recordings',
  'console_links',
  'appointment_details',
] as const;

/** Checks every table and view of the schema answers; the migrations themselves run through the Supabase CLI. */
export async function checkSupabaseSchema(db: SupabaseClient): Promise<void> {
  const results = await Promise.all(
    TABLES.map(async (t) => ({ t, res: await db.from(t).select('*').limit(0).retry(false) })),
  );
  const missing = results.filter((r) => r.res.error !== null);
  if (missing.length === 0) return;
  const first = missing[0];
  const detail = first?.res.error ? `${first.res.error.code ?? ''} ${first.res.error.message}`.trim() : '';
  throw new StoreError(
    `Supabase schema is not ready (${missing.map((m) => m.t).join(', ')}: ${detail}). Apply ` +
      `supabase/migrations with \`supabase db push\`.`,
    first?.res.error?.code ?? '',
    first?.res.status ?? 0,
  );
}
