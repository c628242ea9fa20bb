import type { SupabaseClient } from '@supabase/supabase-js';
import type { CallRecord } from './call-record.js';
import type { CallRecordingInfo, RecordingUpdate } from './call-recording.js';
import type {
  Appointment,
  AppointmentDetail,
  BookingRequest,
  BookingResult,
  CallListItem,
  CallQuery,
  ConsoleLink,
  Customer,
  CustomerPatch,
  GoogleTokenSet,
  MerchantInput,
  MerchantRecord,
  Message,
  NewMessage,
  Store,
} from './store.js';
import * as bookings from './supabase-bookings.js';
import * as calls from './supabase-calls.js';
import { createSupabaseClient, type SupabaseStoreOptions } from './supabase-client.js';
import * as consoleLinks from './supabase-console-links.js';
import * as merchants from './supabase-merchants.js';
import * as messages from './supabase-messages.js';
import { checkSupabaseSchema } from './supabase-schema-check.js';

// The Store over Supabase's REST API (PostgREST) with the service-role key. PostgREST cannot run
// DDL, so the schema comes from supabase/migrations/ (`supabase db push`); migrate() only checks it
// is there. Multi-statement operations go through the SQL functions of the same migrations (RPC),
// which is where the database arbitrates concurrent bookings. The queries live with their tables
// (supabase-merchants.ts, supabase-bookings.ts, …); this class holds the client and hands it over.

export type { SupabaseStoreOptions } from './supabase-client.js';

export class SupabaseStore implements Store {
  readonly kind = 'supabase' as const;
  private readonly db: SupabaseClient;

  constructor(opts: SupabaseStoreOptions) {
    this.db = createSupabaseClient(opts);
  }

  /** Checks every table and view of the schema answers; the migrations themselves run through the Supabase CLI. */
  async migrate(): Promise<void> {
    return checkSupabaseSchema(this.db);
  }

  async close(): Promise<void> {
    // Nothing is held open: PostgREST calls are plain HTTP requests and realtime is never subscribed.
  }

  // ---- merchants

  async upsertMerchant(m: MerchantInput): Promise<MerchantRecord> {
    return merchants.upsertMerchant(this.db, m);
  }

  async getMerchant(id: string): Promise<MerchantRecord | null> {
    return merchants.getMerchant(this.db, id);
  }

  async findMerchantByNumber(e164: string): Promise<MerchantRecord | null> {
    return merchants.findMerchantByNumber(this.db, e164);
  }

  async listMerchants(): Promise<MerchantRecord[]> {
    return merchants.listMerchants(this.db);
  }

  async deleteMerchant(id: string): Promise<boolean> {
    return merchants.deleteMerchant(this.db, id);
  }

  async updateGoogleTokens(merchantId: string, tokens: Partial<GoogleTokenSet>): Promise<boolean> {
    return merchants.updateGoogleTokens(this.db, merchantId, tokens);
  }

  async setGoogleCalendarId(merchantId: string, calendarId: string | null): Promise<boolean> {
    return merchants.setGoogleCalendarId(this.db, merchantId, calendarId);
  }

  // ---- customers and appointments

  async findOrCreateCustomer(merchantId: string, phone: string, name?: string | null): Promise<Customer> {
    return bookings.findOrCreateCustomer(this.db, merchantId, phone, name);
  }

  async findCustomerByPhone(merchantId: string, phone: string): Promise<Customer | null> {
    return bookings.findCustomerByPhone(this.db, merchantId, phone);
  }

  async updateCustomer(merchantId: string, customerId: string, patch: CustomerPatch): Promise<Customer | null> {
    return bookings.updateCustomer(this.db, merchantId, customerId, patch);
  }

  async bookAppointment(req: BookingRequest): Promise<BookingResult> {
    return bookings.bookAppointment(this.db, req);
  }

  async getAppointment(merchantId: string, appointmentId: string): Promise<Appointment | null> {
    return bookings.getAppointment(this.db, merchantId, appointmentId);
  }

  async setAppointmentCalendarEvent(appointmentId: string, eventId: string | null): Promise<void> {
    return bookings.setAppointmentCalendarEvent(this.db, appointmentId, eventId);
  }

  async listAppointments(merchantId: string, from: Date, to: Date): Promise<Appointment[]> {
    return bookings.listAppointments(this.db, merchantId, from, to);
  }

  async findAppointmentsForCustomerOn(
    merchantId: string,
    customerId: string,
    dayStart: Date,
    dayEnd: Date,
  ): Promise<Appointment[]> {
    return bookings.findAppointmentsForCustomerOn(this.db, merchantId, customerId, dayStart, dayEnd);
  }

  async cancelAppointment(merchantId: string, appointmentId: string): Promise<Appointment | null> {
    return bookings.cancelAppointment(this.db, merchantId, appointmentId);
  }

  async listUpcomingAppointments(merchantId: string, from: Date, limit: number): Promise<AppointmentDetail[]> {
    return bookings.listUpcomingAppointments(this.db, merchantId, from, limit);
  }

  // ---- messages

  async saveMessage(m: NewMessage): Promise<Message> {
    return messages.saveMessage(this.db, m);
  }

  async listMessages(merchantId: string, limit: number): Promise<Message[]> {
    return messages.listMessages(this.db, merchantId, limit);
  }

  async markMessageRead(merchantId: string, messageId: string): Promise<boolean> {
    return messages.markMessageRead(this.db, merchantId, messageId);
  }

  // ---- console sign-in links

  async createConsoleLink(merchantId: string, tokenHash: string, expiresAt: Date): Promise<ConsoleLink> {
    return consoleLinks.createConsoleLink(this.db, merchantId, tokenHash, expiresAt);
  }

  async findConsoleLink(tokenHash: string): Promise<ConsoleLink | null> {
    return consoleLinks.findConsoleLink(this.db, tokenHash);
  }

  async getConsoleLink(id: string): Promise<ConsoleLink | null> {
    return consoleLinks.getConsoleLink(this.db, id);
  }

  async revokeConsoleLinks(merchantId: string): Promise<number> {
    return consoleLinks.revokeConsoleLinks(this.db, merchantId);
  }

  // ---- calls

  async saveCallRecord(record: CallRecord): Promise<void> {
    return calls.saveCallRecord(this.db, record);
  }

  async getCallRecord(callSid: string): Promise<CallRecord | null> {
    return calls.getCallRecord(this.db, callSid);
  }

  async saveCallRecording(update: RecordingUpdate): Promise<CallRecordingInfo> {
    return calls.saveCallRecording(this.db, update);
  }

  async getCallRecording(callSid: string): Promise<CallRecordingInfo | null> {
    return calls.getCallRecording(this.db, callSid);
  }

  async listCalls(q: CallQuery): Promise<CallListItem[]> {
    return calls.listCalls(this.db, q);
  }
}
