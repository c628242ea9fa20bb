import type { SupabaseClient } from '@supabase/supabase-js';
import { toConsoleLink } from './console-link-rows.js';
import { StoreError } from './errors.js';
import { isUuid, type ConsoleLink } from './store.js';
import { oneOf, rowsOf } from './supabase-results.js';

// The Supabase store's console sign-in links: created by token hash, found, revoked per merchant.

export async function createConsoleLink(
  db: SupabaseClient,
  merchantId: string,
  tokenHash: string,
  expiresAt: Date,
): Promise<ConsoleLink> {
  const res = await db
    .from('console_links')
    .insert({ merchant_id: merchantId, token_hash: tokenHash, expires_at: expiresAt.toISOString() })
    .select('*')
    .single();
  const link = oneOf(res, 'createConsoleLink', toConsoleLink);
  if (!link) throw new StoreError('supabase createConsoleLink returned no row', '', res.status);
  return link;
}

export async function findConsoleLink(db: SupabaseClient, tokenHash: string): Promise<ConsoleLink | null> {
  const res = await db.from('console_links').select('*').eq('token_hash', tokenHash).retry(false).maybeSingle();
  return oneOf(res, 'findConsoleLink', toConsoleLink);
}

export async function getConsoleLink(db: SupabaseClient, id: string): Promise<ConsoleLink | null> {
  if (!isUuid(id)) return null;
  const res = await db.from('console_links').select('*').eq('id', id).retry(false).maybeSingle();
  return oneOf(res, 'getConsoleLink', toConsoleLink);
}

export async function revokeConsoleLinks(db: SupabaseClient, merchantId: string): Promise<number> {
  const res = await db
    .from('console_links')
    .update({ revoked_at: new Date().toISOString() })
    .eq('merchant_id', merchantId)
    .is('revoked_at', null)
    .select('id');
  return rowsOf(res, 'revokeConsoleLinks').length;
}
