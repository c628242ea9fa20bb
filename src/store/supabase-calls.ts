import type { SupabaseClient } from '@supabase/supabase-js';
import type { CallRecord } from './call-record.js';
import type { CallRecordingInfo, RecordingUpdate } from './call-recording.js';
import { recordingToJson, toCallRecording } from './call-recording-rows.js';
import { CALL_LIST_COLUMNS, callRecordToRow, toCallListItem, toCallRecord } from './call-rows.js';
import { StoreError } from './errors.js';
import type { CallListItem, CallQuery } from './store.js';
import { oneOf, rowsOf, unwrap } from './supabase-results.js';

// The Supabase store's call queries: the record written once per call sid, read back with its
// newest recording, and the console's call list searched.

/**
 * A value inside a PostgREST `or=(…)` filter: double-quoted, with `"` and `\` escaped, so commas,
 * dots and parentheses the user typed stay part of the value. `*` is PostgREST's like wildcard.
 */
function orValue(v: string): string {
  return `"${v.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

export async function saveCallRecord(db: SupabaseClient, record: CallRecord): Promise<void> {
  // on_conflict + merge-duplicates is PostgREST's INSERT … ON CONFLICT (call_sid) DO UPDATE.
  const res = await db.from('calls').upsert(callRecordToRow(record), { onConflict: 'call_sid' });
  unwrap(res, 'saveCallRecord');
}

export async function getCallRecord(db: SupabaseClient, callSid: string): Promise<CallRecord | null> {
  const res = await db.from('calls').select('*').eq('call_sid', callSid).retry(false).maybeSingle();
  const record = oneOf(res, 'getCallRecord', toCallRecord);
  const recording = record ? await getCallRecording(db, callSid) : null;
  if (record && recording) record.recording = recording;
  return record;
}

export async function saveCallRecording(db: SupabaseClient, update: RecordingUpdate): Promise<CallRecordingInfo> {
  const res = await db.rpc('save_call_recording', { r: recordingToJson(update) });
  const row = rowsOf(res, 'save_call_recording')[0];
  if (row === undefined) throw new StoreError(`supabase save_call_recording returned no row`, '', res.status);
  return toCallRecording(row);
}

export async function getCallRecording(db: SupabaseClient, callSid: string): Promise<CallRecordingInfo | null> {
  const res = await db
    .from('call_recordings')
    .select('*')
    .eq('call_sid', callSid)
    .order('started_at', { ascending: false, nullsFirst: false })
    .order('updated_at', { ascending: false })
    .limit(1)
    .retry(false);
  const row = rowsOf(res, 'getCallRecording')[0];
  return row === undefined ? null : toCallRecording(row);
}

export async function listCalls(db: SupabaseClient, q: CallQuery): Promise<CallListItem[]> {
  let query = db.from('calls').select(CALL_LIST_COLUMNS.join(','));
  if (q.merchantId !== undefined) query = query.eq('merchant_id', q.merchantId);
  if (q.text !== undefined) {
    // PostgREST's ilike wildcard is `*`; the user's own `*`, `%` and `_` are dropped rather than matched.
    const like = orValue(`*${q.text.replace(/[*%_]/g, '')}*`);
    query = query.or(`call_sid.ilike.${like},caller_phone.ilike.${like},transcript_text.ilike.${like}`);
  }
  if (q.from !== undefined) query = query.gte('started_at', q.from.toISOString());
  if (q.to !== undefined) query = query.lt('started_at', q.to.toISOString());
  if (q.before !== undefined) query = query.lt('started_at', q.before.toISOString());
  if (q.endReason !== undefined) query = query.eq('end_reason', q.endReason);
  if (q.direction !== undefined) query = query.eq('direction', q.direction);
  const res = await query.order('started_at', { ascending: false }).order('call_sid').limit(q.limit).retry(false);
  return rowsOf(res, 'listCalls').map(toCallListItem);
}
