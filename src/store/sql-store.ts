import type { CallRecord } from './call-record.js';
import type { CallRecordingInfo, RecordingUpdate } from './call-recording.js';
import { loadMigrations, runMigrations, type Migration } from './migrations.js';
import {
  CALL_COLUMNS,
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
import { recordingToJson, toCallRecording } from './rows.js';
import type { SqlDatabase } from './sql.js';
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

// The Store over SQL, shared by PGlite and the Postgres server. Operations where concurrency matters
// (merchant + numbers, find-or-create customer, booking) call the SQL functions from the migrations,
// the very ones the Supabase adapter reaches over REST, so every adapter has the same semantics.

export interface SqlStoreOptions {
  /** Default: the repository's migrations/ folder. */
  migrationsDir?: string;
}

const JSONB_COLUMNS: ReadonlySet<string> = new Set(['usage', 'stats', 'transcript', 'timeline', 'tool_calls']);

const CALL_INSERT = (() => {
  const cols = CALL_COLUMNS.join(', ');
  const vals = CALL_COLUMNS.map((c, i) => (JSONB_COLUMNS.has(c) ? `$${i + 1}::jsonb` : `$${i + 1}`)).join(', ');
  const set = CALL_COLUMNS.filter((c) => c !== 'call_sid')
    .map((c) => `${c} = excluded.${c}`)
    .join(', ');
  return `insert into calls (${cols}) values (${vals}) on conflict (call_sid) do update set ${set}`;
})();

export class SqlStore implements Store {
  private migrations: Migration[] | null = null;

  constructor(
    readonly db: SqlDatabase,
    private readonly opts: SqlStoreOptions = {},
  ) {}

  get kind(): 'pglite' | 'postgres' {
    return this.db.kind;
  }

  async migrate(): Promise<void> {
    await this.applyMigrations();
  }

  /** Versions applied by this call (empty when the schema was already current). */
  async applyMigrations(): Promise<string[]> {
    this.migrations ??= await loadMigrations(this.opts.migrationsDir);
    return runMigrations(this.db, this.migrations);
  }

  close(): Promise<void> {
    return this.db.close();
  }

  private async one<T>(text: string, params: readonly unknown[], map: (row: unknown) => T): Promise<T | null> {
    const rows = await this.db.query(text, params);
    return rows[0] === undefined ? null : map(rows[0]);
  }

  // ---- merchants

  async upsertMerchant(m: MerchantInput): Promise<MerchantRecord> {
    const rec = await this.one(
      'select * from upsert_merchant($1::jsonb)',
      [JSON.stringify(merchantToJson(m))],
      toMerchant,
    );
    if (!rec) throw new Error(`upsert_merchant returned no row for ${m.id}`);
    return rec;
  }

  getMerchant(id: string): Promise<MerchantRecord | null> {
    return this.one('select * from merchant_profiles where id = $1', [id], toMerchant);
  }

  async findMerchantByNumber(e164: string): Promise<MerchantRecord | null> {
    if (!isE164(e164)) return null;
    return this.one(
      'select p.* from merchant_profiles p join merchant_numbers n on n.merchant_id = p.id where n.number = $1',
      [e164],
      toMerchant,
    );
  }

  async listMerchants(): Promise<MerchantRecord[]> {
    return (await this.db.query('select * from merchant_profiles order by id')).map(toMerchant);
  }

  async deleteMerchant(id: string): Promise<boolean> {
    return (await this.db.query('delete from merchants where id = $1 returning id', [id])).length > 0;
  }

  async updateGoogleTokens(merchantId: string, tokens: Partial<GoogleTokenSet>): Promise<boolean> {
    const cols = Object.entries(tokenColumns(tokens));
    if (cols.length === 0) return (await this.getMerchant(merchantId)) !== null;
    const set = cols.map(([c], i) => `${c} = $${i + 2}`).join(', ');
    const rows = await this.db.query(`update merchants set ${set}, updated_at = now() where id = $1 returning id`, [
      merchantId,
      ...cols.map(([, v]) => v),
    ]);
    return rows.length > 0;
  }

  // ---- customers

  async findOrCreateCustomer(merchantId: string, phone: string, name?: string | null): Promise<Customer> {
    const c = await this.one(
      'select * from find_or_create_customer($1, $2, $3)',
      [merchantId, phone, name ?? null],
      toCustomer,
    );
    if (!c) throw new Error('find_or_create_customer returned no row');
    return c;
  }

  findCustomerByPhone(merchantId: string, phone: string): Promise<Customer | null> {
    return this.one('select * from customers where merchant_id = $1 and phone = $2', [merchantId, phone], toCustomer);
  }

  async updateCustomer(merchantId: string, customerId: string, patch: CustomerPatch): Promise<Customer | null> {
    if (!isUuid(customerId)) return null;
    const cols = (['name', 'email', 'notes'] as const).filter((k) => patch[k] !== undefined);
    const set = cols.map((c, i) => `${c} = $${i + 3}`).join(', ');
    const sql = cols.length
      ? `update customers set ${set}, updated_at = now() where merchant_id = $1 and id = $2 returning *`
      : 'select * from customers where merchant_id = $1 and id = $2';
    return this.one(sql, [merchantId, customerId, ...cols.map((c) => patch[c] ?? null)], toCustomer);
  }

  // ---- appointments

  async bookAppointment(req: BookingRequest): Promise<BookingResult> {
    const a = await this.one(
      'select * from book_appointment($1, $2::uuid, $3::timestamptz, $4::timestamptz, $5, $6)',
      [
        req.merchantId,
        req.customerId,
        req.startsAt.toISOString(),
        req.endsAt.toISOString(),
        req.notes ?? null,
        req.callSid ?? null,
      ],
      toAppointment,
    );
    return a ? { ok: true, appointment: a } : { ok: false, reason: 'slot_taken' };
  }

  async getAppointment(merchantId: string, appointmentId: string): Promise<Appointment | null> {
    if (!isUuid(appointmentId)) return null;
    return this.one(
      'select * from appointments where merchant_id = $1 and id = $2',
      [merchantId, appointmentId],
      toAppointment,
    );
  }

  async setAppointmentCalendarEvent(appointmentId: string, eventId: string | null): Promise<void> {
    if (!isUuid(appointmentId)) return;
    await this.db.query('update appointments set calendar_event_id = $2 where id = $1', [appointmentId, eventId]);
  }

  async listAppointments(merchantId: string, from: Date, to: Date): Promise<Appointment[]> {
    const rows = await this.db.query(
      `select * from appointments
       where merchant_id = $1 and status = 'booked' and starts_at < $3::timestamptz and ends_at > $2::timestamptz
       order by starts_at`,
      [merchantId, from.toISOString(), to.toISOString()],
    );
    return rows.map(toAppointment);
  }

  async findAppointmentsForCustomerOn(
    merchantId: string,
    customerId: string,
    dayStart: Date,
    dayEnd: Date,
  ): Promise<Appointment[]> {
    if (!isUuid(customerId)) return [];
    const rows = await this.db.query(
      `select * from appointments
       where merchant_id = $1 and customer_id = $2 and status = 'booked'
         and starts_at >= $3::timestamptz and starts_at < $4::timestamptz
       order by starts_at`,
      [merchantId, customerId, dayStart.toISOString(), dayEnd.toISOString()],
    );
    return rows.map(toAppointment);
  }

  async cancelAppointment(merchantId: string, appointmentId: string): Promise<Appointment | null> {
    if (!isUuid(appointmentId)) return null;
    return this.one(
      `update appointments set status = 'cancelled', cancelled_at = now()
       where merchant_id = $1 and id = $2 and status = 'booked' returning *`,
      [merchantId, appointmentId],
      toAppointment,
    );
  }

  // ---- messages

  async saveMessage(m: NewMessage): Promise<Message> {
    const msg = await this.one(
      `insert into messages (merchant_id, caller_name, caller_phone, body, urgency, call_sid)
       values ($1, $2, $3, $4, $5, $6) returning *`,
      [m.merchantId, m.callerName ?? null, m.callerPhone ?? null, m.body, m.urgency ?? 'normal', m.callSid ?? null],
      toMessage,
    );
    if (!msg) throw new Error('insert into messages returned no row');
    return msg;
  }

  async listMessages(merchantId: string, limit: number): Promise<Message[]> {
    const rows = await this.db.query(
      `select * from messages where merchant_id = $1
       order by (read_at is null) desc, created_at desc, seq desc limit $2`,
      [merchantId, limit],
    );
    return rows.map(toMessage);
  }

  async markMessageRead(merchantId: string, messageId: string): Promise<boolean> {
    if (!isUuid(messageId)) return false;
    const rows = await this.db.query(
      'update messages set read_at = coalesce(read_at, now()) where merchant_id = $1 and id = $2 returning id',
      [merchantId, messageId],
    );
    return rows.length > 0;
  }

  async listUpcomingAppointments(merchantId: string, from: Date, limit: number): Promise<AppointmentDetail[]> {
    const rows = await this.db.query(
      `select * from appointment_details
       where merchant_id = $1 and status = 'booked' and ends_at > $2::timestamptz
       order by starts_at limit $3`,
      [merchantId, from.toISOString(), limit],
    );
    return rows.map(toAppointmentDetail);
  }

  async setGoogleCalendarId(merchantId: string, calendarId: string | null): Promise<boolean> {
    const rows = await this.db.query(
      'update merchants set google_calendar_id = $2, updated_at = now() where id = $1 returning id',
      [merchantId, calendarId],
    );
    return rows.length > 0;
  }

  // ---- console sign-in links

  async createConsoleLink(merchantId: string, tokenHash: string, expiresAt: Date): Promise<ConsoleLink> {
    const link = await this.one(
      'insert into console_links (merchant_id, token_hash, expires_at) values ($1, $2, $3::timestamptz) returning *',
      [merchantId, tokenHash, expiresAt.toISOString()],
      toConsoleLink,
    );
    if (!link) throw new Error('insert into console_links returned no row');
    return link;
  }

  findConsoleLink(tokenHash: string): Promise<ConsoleLink | null> {
    return this.one('select * from console_links where token_hash = $1', [tokenHash], toConsoleLink);
  }

  async getConsoleLink(id: string): Promise<ConsoleLink | null> {
    if (!isUuid(id)) return null;
    return this.one('select * from console_links where id = $1', [id], toConsoleLink);
  }

  async revokeConsoleLinks(merchantId: string): Promise<number> {
    const rows = await this.db.query(
      'update console_links set revoked_at = now() where merchant_id = $1 and revoked_at is null returning id',
      [merchantId],
    );
    return rows.length;
  }

  // ---- calls

  async saveCallRecord(record: CallRecord): Promise<void> {
    const row = callRecordToRow(record);
    const params = CALL_COLUMNS.map((c) => {
      const v = row[c];
      return JSONB_COLUMNS.has(c) ? JSON.stringify(v) : v;
    });
    await this.db.query(CALL_INSERT, params);
  }

  async getCallRecord(callSid: string): Promise<CallRecord | null> {
    const record = await this.one('select * from calls where call_sid = $1', [callSid], toCallRecord);
    const recording = record ? await this.getCallRecording(callSid) : null;
    if (record && recording) record.recording = recording;
    return record;
  }

  async saveCallRecording(update: RecordingUpdate): Promise<CallRecordingInfo> {
    const rec = await this.one(
      'select * from save_call_recording($1::jsonb)',
      [JSON.stringify(recordingToJson(update))],
      toCallRecording,
    );
    if (!rec) throw new Error(`save_call_recording returned no row for ${update.sid}`);
    return rec;
  }

  getCallRecording(callSid: string): Promise<CallRecordingInfo | null> {
    return this.one(
      'select * from call_recordings where call_sid = $1 order by started_at desc nulls last, updated_at desc limit 1',
      [callSid],
      toCallRecording,
    );
  }

  async listCalls(q: CallQuery): Promise<CallListItem[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (clause: (p: string) => string, value: unknown): void => {
      params.push(value);
      where.push(clause(`$${params.length}`));
    };
    if (q.merchantId !== undefined) add((p) => `merchant_id = ${p}`, q.merchantId);
    if (q.text !== undefined) {
      // A literal search: the user's % and _ match themselves.
      const like = `%${q.text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      add((p) => `(call_sid ilike ${p} or caller_phone ilike ${p} or transcript_text ilike ${p})`, like);
    }
    if (q.from !== undefined) add((p) => `started_at >= ${p}::timestamptz`, q.from.toISOString());
    if (q.to !== undefined) add((p) => `started_at < ${p}::timestamptz`, q.to.toISOString());
    if (q.before !== undefined) add((p) => `started_at < ${p}::timestamptz`, q.before.toISOString());
    if (q.endReason !== undefined) add((p) => `end_reason = ${p}`, q.endReason);
    if (q.direction !== undefined) add((p) => `direction = ${p}`, q.direction);
    params.push(q.limit);
    const sql =
      `select ${CALL_LIST_COLUMNS.join(', ')} from calls` +
      (where.length ? ` where ${where.join(' and ')}` : '') +
      ` order by started_at desc, call_sid limit $${params.length}`;
    return (await this.db.query(sql, params)).map(toCallListItem);
  }
}
