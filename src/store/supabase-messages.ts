import type { SupabaseClient } from '@supabase/supabase-js';
import { StoreError } from './errors.js';
import { toMessage } from './message-rows.js';
import { isUuid, type Message, type NewMessage } from './store.js';
import { oneOf, rowsOf, unwrap } from './supabase-results.js';

// The Supabase store's message queries: a caller's message saved, listed unread first, marked read.

export async function saveMessage(db: SupabaseClient, m: NewMessage): Promise<Message> {
  const res = await db
    .from('messages')
    .insert({
      merchant_id: m.merchantId,
      caller_name: m.callerName ?? null,
      caller_phone: m.callerPhone ?? null,
      body: m.body,
      urgency: m.urgency ?? 'normal',
      call_sid: m.callSid ?? null,
    })
    .select('*')
    .single();
  const msg = oneOf(res, 'saveMessage', toMessage);
  if (!msg) throw new StoreError('supabase saveMessage returned no row', '', res.status);
  return msg;
}

export async function listMessages(db: SupabaseClient, merchantId: string, limit: number): Promise<Message[]> {
  const res = await db
    .from('messages')
    .select('*')
    .eq('merchant_id', merchantId)
    .order('read_at', { ascending: false, nullsFirst: true })
    .order('created_at', { ascending: false })
    .order('seq', { ascending: false })
    .limit(limit)
    .retry(false);
  // Unread first: PostgREST sorts nulls first, but read ones must then go newest first, not by read time.
  const all = rowsOf(res, 'listMessages').map(toMessage);
  return [...all.filter((m) => m.readAt === null), ...all.filter((m) => m.readAt !== null)];
}

export async function markMessageRead(db: SupabaseClient, merchantId: string, messageId: string): Promise<boolean> {
  if (!isUuid(messageId)) return false;
  const found = await db
    .from('messages')
    .select('id, read_at')
    .eq('merchant_id', merchantId)
    .eq('id', messageId)
    .retry(false)
    .maybeSingle();
  const row = unwrap(found, 'markMessageRead');
  if (row === null || row === undefined) return false;
  const res = await db
    .from('messages')
    .update({ read_at: new Date().toISOString() })
    .eq('merchant_id', merchantId)
    .eq('id', messageId)
    .is('read_at', null)
    .select('id');
  rowsOf(res, 'markMessageRead');
  return true;
}
