import type { SupabaseClient } from '@supabase/supabase-js';
import { StoreError } from './errors.js';
import { merchantToJson, tokenColumns, toMerchant } from './merchant-rows.js';
import { isE164, type GoogleTokenSet, type MerchantInput, type MerchantRecord } from './store.js';
import { oneOf, rowsOf } from './supabase-results.js';

// The Supabase store's merchant queries: profiles read from merchant_profiles, written through the
// upsert_merchant RPC, calendar settings patched on merchants.

export async function upsertMerchant(db: SupabaseClient, m: MerchantInput): Promise<MerchantRecord> {
  const res = await db.rpc('upsert_merchant', { m: merchantToJson(m) });
  const row = rowsOf(res, 'upsert_merchant')[0];
  if (row === undefined) throw new StoreError(`supabase upsert_merchant returned no row for ${m.id}`, '', res.status);
  return toMerchant(row);
}

export async function getMerchant(db: SupabaseClient, id: string): Promise<MerchantRecord | null> {
  const res = await db.from('merchant_profiles').select('*').eq('id', id).retry(false).maybeSingle();
  return oneOf(res, 'getMerchant', toMerchant);
}

export async function findMerchantByNumber(db: SupabaseClient, e164: string): Promise<MerchantRecord | null> {
  // Validated first: the number is spliced into an array literal in the query string.
  if (!isE164(e164)) return null;
  const res = await db
    .from('merchant_profiles')
    .select('*')
    .contains('phone_numbers', [e164])
    .retry(false)
    .maybeSingle();
  return oneOf(res, 'findMerchantByNumber', toMerchant);
}

export async function listMerchants(db: SupabaseClient): Promise<MerchantRecord[]> {
  const res = await db.from('merchant_profiles').select('*').order('id').retry(false);
  return rowsOf(res, 'listMerchants').map(toMerchant);
}

export async function deleteMerchant(db: SupabaseClient, id: string): Promise<boolean> {
  const res = await db.from('merchants').delete().eq('id', id).select('id');
  return rowsOf(res, 'deleteMerchant').length > 0;
}

export async function updateGoogleTokens(
  db: SupabaseClient,
  merchantId: string,
  tokens: Partial<GoogleTokenSet>,
): Promise<boolean> {
  const cols = tokenColumns(tokens);
  if (Object.keys(cols).length === 0) return (await getMerchant(db, merchantId)) !== null;
  const res = await db
    .from('merchants')
    .update({ ...cols, updated_at: new Date().toISOString() })
    .eq('id', merchantId)
    .select('id');
  return rowsOf(res, 'updateGoogleTokens').length > 0;
}

export async function setGoogleCalendarId(
  db: SupabaseClient,
  merchantId: string,
  calendarId: string | null,
): Promise<boolean> {
  const res = await db
    .from('merchants')
    .update({ google_calendar_id: calendarId, updated_at: new Date().toISOString() })
    .eq('id', merchantId)
    .select('id');
  return rowsOf(res, 'setGoogleCalendarId').length > 0;
}
