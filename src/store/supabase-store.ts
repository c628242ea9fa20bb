import { createClient, type SupabaseClient, type WebSocketLikeConstructor } from '@supabase/supabase-js';
import WebSocket from 'ws';
import type { CallRecord } from './call-record.js';
import type { CallRecordingInfo, RecordingUpdate } from './call-recording.js';
import { StoreError } from './errors.js';
import { recordingToJson, toCallRecording } from './rows.js';
import {
  CALL_LIST_COLUMNS,
  callRecordToRow,
  merchantToJson,
  toAppointment,
  toAppointmentDetail,
  toCallListItem,
  toCallRecord,
  toConsoleLink,
  toCustomer,
  toMerchant,
  toMessage,
  tokenColumns,
} from './rows.js';
import {
  isE164,
  isUuid,
  type Appointment,
  type AppointmentDetail,
  type BookingRequest,
  type BookingResult,
  type CallListItem,
  type CallQuery,
  type ConsoleLink,
  type Customer,
  type CustomerPatch,
  type GoogleTokenSet,
  type MerchantInput,
  type MerchantRecord,
  type Message,
  type NewMessage,
  type Store,
} from './store.js';

// The Store over Supabase's REST API (PostgREST) with the service-role key. PostgREST cannot run
// DDL, so the schema comes from supabase/migrations/ (`supabase db push`); migrate() only checks it
// is there. Multi-statement operations go through the SQL functions of the same migrations (RPC),
// which is where the database arbitrates concurrent bookings.

export interface SupabaseStoreOptions {
  url: string;
  /** Service-role key (bypasses row-level security). Secret: never log it. */
  serviceRoleKey: string;
  /** Per-request deadline. Default 10000. */
  timeoutMs?: number;
}

/** What a supabase-js query resolves to, as far as this adapter reads it. */
interface RestResult {
  data: unknown;
  error: { message: string; code?: string } | null;
  status: number;
}

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

/**
 * A value inside a PostgREST `or=(…)` filter: double-quoted, with `"` and `\` escaped, so commas,
 * dots and parentheses the user typed stay part of the value. `*` is PostgREST's like wildcard.
 */
function orValue(v: string): string {
  return `"${v.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

/**
 * Never connected (the store does not subscribe), but supabase-js builds its realtime client eagerly
 * and Node 20 has no global WebSocket. ws is runtime-compatible; only its event typings differ from
 * the DOM ones supabase-js declares, hence the cast.
 */
const realtimeTransport = WebSocket as unknown as WebSocketLikeConstructor;

function unwrap(res: RestResult, what: string): unknown {
  if (res.error) throw new StoreError(`supabase ${what}: ${res.error.message}`, res.error.code ?? '', res.status);
  return res.data;
}

function rowsOf(res: RestResult, what: string): unknown[] {
  const data = unwrap(res, what);
  if (data === null) return [];
  if (!Array.isArray(data)) throw new StoreError(`supabase ${what}: expected an array`, '', res.status);
  return data;
}

function oneOf<T>(res: RestResult, what: string, map: (row: unknown) => T): T | null {
  const data = unwrap(res, what);
  return data === null || data === undefined ? null : map(data);
}

export class SupabaseStore implements Store {
  readonly kind = 'supabase' as const;
  private readonly db: SupabaseClient;

  constructor(opts: SupabaseStoreOptions) {
    const timeoutMs = opts.timeoutMs ?? 10_000;
    // supabase-js sets no deadline of its own; a hung request would hold the caller's tool call.
    const timedFetch: typeof fetch = (input, init) =>
      fetch(input, { ...init, signal: init?.signal ?? AbortSignal.timeout(timeoutMs) });
    this.db = createClient(opts.url, opts.serviceRoleKey, {
      auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
      global: { fetch: timedFetch },
      realtime: { transport: realtimeTransport },
    });
  }

  /** Checks every table and view of the schema answers; the migrations themselves run through the Supabase CLI. */
  async migrate(): Promise<void> {
    const results = await Promise.all(
      TABLES.map(async (t) => ({ t, res: await this.db.from(t).select('*').limit(0).retry(false) })),
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

  async close(): Promise<void> {
    // Nothing is held open: PostgREST calls are plain HTTP requests and realtime is never subscribed.
  }

  // ---- merchants

  async upsertMerchant(m: MerchantInput): Promise<MerchantRecord> {
    const res = await this.db.rpc('upsert_merchant', { m: merchantToJson(m) });
    const row = rowsOf(res, 'upsert_merchant')[0];
    if (row === undefined) throw new StoreError(`supabase upsert_merchant returned no row for ${m.id}`, '', res.status);
    return toMerchant(row);
  }

  async getMerchant(id: string): Promise<MerchantRecord | null> {
    const res = await this.db.from('merchant_profiles').select('*').eq('id', id).retry(false).maybeSingle();
    return oneOf(res, 'getMerchant', toMerchant);
  }

  async findMerchantByNumber(e164: string): Promise<MerchantRecord | null> {
    // Validated first: the number is spliced into an array literal in the query string.
    if (!isE164(e164)) return null;
    const res = await this.db
      .from('merchant_profiles')
      .select('*')
      .contains('phone_numbers', [e164])
      .retry(false)
      .maybeSingle();
    return oneOf(res, 'findMerchantByNumber', toMerchant);
  }

  async listMerchants(): Promise<MerchantRecord[]> {
    const res = await this.db.from('merchant_profiles').select('*').order('id').retry(false);
    return rowsOf(res, 'listMerchants').map(toMerchant);
  }

  async deleteMerchant(id: string): Promise<boolean> {
    const res = await this.db.from('merchants').delete().eq('id', id).select('id');
    return rowsOf(res, 'deleteMerchant').length > 0;
  }

  async updateGoogleTokens(merchantId: string, tokens: Partial<GoogleTokenSet>): Promise<boolean> {
    const cols = tokenColumns(tokens);
    if (Object.keys(cols).length === 0) return (await this.getMerchant(merchantId)) !== null;
    const res = await this.db
      .from('merchants')
      .update({ ...cols, updated_at: new Date().toISOString() })
      .eq('id', merchantId)
      .select('id');
    return rowsOf(res, 'updateGoogleTokens').length > 0;
  }

  // ---- customers

  async findOrCreateCustomer(merchantId: string, phone: string, name?: string | null): Promise<Customer> {
    const res = await this.db.rpc('find_or_create_customer', {
      p_merchant_id: merchantId,
      p_phone: phone,
      p_name: name ?? null,
    });
    const row = rowsOf(res, 'find_or_create_customer')[0];
    if (row === undefined) throw new StoreError('supabase find_or_create_customer returned no row', '', res.status);
    return toCustomer(row);
  }

  async findCustomerByPhone(merchantId: string, phone: string): Promise<Customer | null> {
    const res = await this.db
      .from('customers')
      .select('*')
      .eq('merchant_id', merchantId)
      .eq('phone', phone)
      .retry(false)
      .maybeSingle();
    return oneOf(res, 'findCustomerByPhone', toCustomer);
  }

  async updateCustomer(merchantId: string, customerId: string, patch: CustomerPatch): Promise<Customer | null> {
    if (!isUuid(customerId)) return null;
    const cols: Record<string, string | null> = {};
    for (const k of ['name', 'email', 'notes'] as const) {
      const v = patch[k];
      if (v !== undefined) cols[k] = v;
    }
    if (Object.keys(cols).length === 0) {
      const res = await this.db
        .from('customers')
        .select('*')
        .eq('merchant_id', merchantId)
        .eq('id', customerId)
        .retry(false)
        .maybeSingle();
      return oneOf(res, 'updateCustomer', toCustomer);
    }
    const res = await this.db
      .from('customers')
      .update({ ...cols, updated_at: new Date().toISOString() })
      .eq('merchant_id', merchantId)
      .eq('id', customerId)
      .select('*')
      .maybeSingle();
    return oneOf(res, 'updateCustomer', toCustomer);
  }

  // ---- appointments

  async bookAppointment(req: BookingRequest): Promise<BookingResult> {
    const res = await this.db.rpc('book_appointment', {
      p_merchant_id: req.merchantId,
      p_customer_id: req.customerId,
      p_starts_at: req.startsAt.toISOString(),
      p_ends_at: req.endsAt.toISOString(),
      p_notes: req.notes ?? null,
      p_call_sid: req.callSid ?? null,
    });
    const row = rowsOf(res, 'book_appointment')[0];
    return row === undefined ? { ok: false, reason: 'slot_taken' } : { ok: true, appointment: toAppointment(row) };
  }

  async getAppointment(merchantId: string, appointmentId: string): Promise<Appointment | null> {
    if (!isUuid(appointmentId)) return null;
    const res = await this.db
      .from('appointments')
      .select('*')
      .eq('merchant_id', merchantId)
      .eq('id', appointmentId)
      .retry(false)
      .maybeSingle();
    return oneOf(res, 'getAppointment', toAppointment);
  }

  async setAppointmentCalendarEvent(appointmentId: string, eventId: string | null): Promise<void> {
    if (!isUuid(appointmentId)) return;
    const res = await this.db.from('appointments').update({ calendar_event_id: eventId }).eq('id', appointmentId);
    unwrap(res, 'setAppointmentCalendarEvent');
  }

  async listAppointments(merchantId: string, from: Date, to: Date): Promise<Appointment[]> {
    const res = await this.db
      .from('appointments')
      .select('*')
      .eq('merchant_id', merchantId)
      .eq('status', 'booked')
      .lt('starts_at', to.toISOString())
      .gt('ends_at', from.toISOString())
      .order('starts_at')
      .retry(false);
    return rowsOf(res, 'listAppointments').map(toAppointment);
  }

  async findAppointmentsForCustomerOn(
    merchantId: string,
    customerId: string,
    dayStart: Date,
    dayEnd: Date,
  ): Promise<Appointment[]> {
    if (!isUuid(customerId)) return [];
    const res = await this.db
      .from('appointments')
      .select('*')
      .eq('merchant_id', merchantId)
      .eq('customer_id', customerId)
      .eq('status', 'booked')
      .gte('starts_at', dayStart.toISOString())
      .lt('starts_at', dayEnd.toISOString())
      .order('starts_at')
      .retry(false);
    return rowsOf(res, 'findAppointmentsForCustomerOn').map(toAppointment);
  }

  async cancelAppointment(merchantId: string, appointmentId: string): Promise<Appointment | null> {
    if (!isUuid(appointmentId)) return null;
    const res = await this.db
      .from('appointments')
      .update({ status: 'cancelled', cancelled_at: new Date().toISOString() })
      .eq('merchant_id', merchantId)
      .eq('id', appointmentId)
      .eq('status', 'booked')
      .select('*')
      .maybeSingle();
    return oneOf(res, 'cancelAppointment', toAppointment);
  }

  // ---- messages

  async saveMessage(m: NewMessage): Promise<Message> {
    const res = await this.db
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

  async listMessages(merchantId: string, limit: number): Promise<Message[]> {
    const res = await this.db
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

  async markMessageRead(merchantId: string, messageId: string): Promise<boolean> {
    if (!isUuid(messageId)) return false;
    const found = await this.db
      .from('messages')
      .select('id, read_at')
      .eq('merchant_id', merchantId)
      .eq('id', messageId)
      .retry(false)
      .maybeSingle();
    const row = unwrap(found, 'markMessageRead');
    if (row === null || row === undefined) return false;
    const res = await this.db
      .from('messages')
      .update({ read_at: new Date().toISOString() })
      .eq('merchant_id', merchantId)
      .eq('id', messageId)
      .is('read_at', null)
      .select('id');
    rowsOf(res, 'markMessageRead');
    return true;
  }

  async listUpcomingAppointments(merchantId: string, from: Date, limit: number): Promise<AppointmentDetail[]> {
    const res = await this.db
      .from('appointment_details')
      .select('*')
      .eq('merchant_id', merchantId)
      .eq('status', 'booked')
      .gt('ends_at', from.toISOString())
      .order('starts_at')
      .limit(limit)
      .retry(false);
    return rowsOf(res, 'listUpcomingAppointments').map(toAppointmentDetail);
  }

  async setGoogleCalendarId(merchantId: string, calendarId: string | null): Promise<boolean> {
    const res = await this.db
      .from('merchants')
      .update({ google_calendar_id: calendarId, updated_at: new Date().toISOString() })
      .eq('id', merchantId)
      .select('id');
    return rowsOf(res, 'setGoogleCalendarId').length > 0;
  }

  // ---- console sign-in links

  async createConsoleLink(merchantId: string, tokenHash: string, expiresAt: Date): Promise<ConsoleLink> {
    const res = await this.db
      .from('console_links')
      .insert({ merchant_id: merchantId, token_hash: tokenHash, expires_at: expiresAt.toISOString() })
      .select('*')
      .single();
    const link = oneOf(res, 'createConsoleLink', toConsoleLink);
    if (!link) throw new StoreError('supabase createConsoleLink returned no row', '', res.status);
    return link;
  }

  async findConsoleLink(tokenHash: string): Promise<ConsoleLink | null> {
    const res = await this.db.from('console_links').select('*').eq('token_hash', tokenHash).retry(false).maybeSingle();
    return oneOf(res, 'findConsoleLink', toConsoleLink);
  }

  async getConsoleLink(id: string): Promise<ConsoleLink | null> {
    if (!isUuid(id)) return null;
    const res = await this.db.from('console_links').select('*').eq('id', id).retry(false).maybeSingle();
    return oneOf(res, 'getConsoleLink', toConsoleLink);
  }

  async revokeConsoleLinks(merchantId: string): Promise<number> {
    const res = await this.db
      .from('console_links')
      .update({ revoked_at: new Date().toISOString() })
      .eq('merchant_id', merchantId)
      .is('revoked_at', null)
      .select('id');
    return rowsOf(res, 'revokeConsoleLinks').length;
  }

  // ---- calls

  async saveCallRecord(record: CallRecord): Promise<void> {
    // on_conflict + merge-duplicates is PostgREST's INSERT … ON CONFLICT (call_sid) DO UPDATE.
    const res = await this.db.from('calls').upsert(callRecordToRow(record), { onConflict: 'call_sid' });
    unwrap(res, 'saveCallRecord');
  }

  async getCallRecord(callSid: string): Promise<CallRecord | null> {
    const res = await this.db.from('calls').select('*').eq('call_sid', callSid).retry(false).maybeSingle();
    const record = oneOf(res, 'getCallRecord', toCallRecord);
    const recording = record ? await this.getCallRecording(callSid) : null;
    if (record && recording) record.recording = recording;
    return record;
  }

  async saveCallRecording(update: RecordingUpdate): Promise<CallRecordingInfo> {
    const res = await this.db.rpc('save_call_recording', { r: recordingToJson(update) });
    const row = rowsOf(res, 'save_call_recording')[0];
    if (row === undefined) throw new StoreError(`supabase save_call_recording returned no row`, '', res.status);
    return toCallRecording(row);
  }

  async getCallRecording(callSid: string): Promise<CallRecordingInfo | null> {
    const res = await this.db
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

  async listCalls(q: CallQuery): Promise<CallListItem[]> {
    let query = this.db.from('calls').select(CALL_LIST_COLUMNS.join(','));
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
}
