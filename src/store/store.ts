import type { Merchant } from '../merchants/merchant.js';
import type { CallRecord } from './call-record.js';
import type { CallRecordingInfo, RecordingUpdate } from './call-recording.js';

// What the relay persists, independent of where: embedded PGlite, a Postgres server, or Supabase's
// REST API. All three share one schema (migrations/*.sql) and behave the same; the adapters differ
// only in transport.

export type StoreKind = 'pglite' | 'postgres' | 'supabase';

/** OAuth tokens of the merchant's Google Calendar. Secrets: never log them. */
export interface GoogleTokenSet {
  refreshToken: string | null;
  accessToken: string | null;
  expiresAt: Date | null;
}

/** A merchant as stored: the call core's Merchant plus its calendar connection. */
export interface MerchantRecord extends Merchant {
  googleCalendarId: string | null;
  googleTokens: GoogleTokenSet;
}

/**
 * What upsertMerchant writes. For the calendar fields, `undefined` keeps the stored value and `null`
 * clears it, so re-applying a merchant file never wipes tokens obtained through OAuth.
 */
export interface MerchantInput extends Merchant {
  googleCalendarId?: string | null;
  googleTokens?: Partial<GoogleTokenSet>;
}

export interface Customer {
  id: string;
  merchantId: string;
  /** E.164. */
  phone: string;
  name: string | null;
  email: string | null;
  notes: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface CustomerPatch {
  name?: string | null;
  email?: string | null;
  notes?: string | null;
}

export type AppointmentStatus = 'booked' | 'cancelled';

export interface Appointment {
  id: string;
  merchantId: string;
  customerId: string;
  startsAt: Date;
  endsAt: Date;
  status: AppointmentStatus;
  calendarEventId: string | null;
  notes: string | null;
  createdByCallSid: string | null;
  createdAt: Date;
  cancelledAt: Date | null;
}

export interface BookingRequest {
  merchantId: string;
  customerId: string;
  startsAt: Date;
  endsAt: Date;
  notes?: string | null;
  callSid?: string | null;
}

/** `slot_taken`: an overlapping booked appointment of the same merchant already exists. */
export type BookingResult = { ok: true; appointment: Appointment } | { ok: false; reason: 'slot_taken' };

export type Urgency = 'low' | 'normal' | 'urgent';

export interface NewMessage {
  merchantId: string;
  callerName?: string | null;
  callerPhone?: string | null;
  body: string;
  urgency?: Urgency;
  callSid?: string | null;
}

export interface Message {
  id: string;
  merchantId: string;
  callerName: string | null;
  callerPhone: string | null;
  body: string;
  urgency: Urgency;
  callSid: string | null;
  createdAt: Date;
  /** When the owner marked it read in the console; null while unread. */
  readAt: Date | null;
}

/** An appointment with the customer who holds it, as the console lists it. */
export interface AppointmentDetail extends Appointment {
  customerName: string | null;
  customerPhone: string;
}

/** A search of the call list; every field narrows it. */
export interface CallQuery {
  merchantId?: string;
  /** Part of the call sid, the caller's number or the transcript (case-insensitive). */
  text?: string;
  /** Calls that started in [from, to). */
  from?: Date;
  to?: Date;
  endReason?: string;
  direction?: 'inbound' | 'outbound';
  /** Calls that started before this (the next page). */
  before?: Date;
  limit: number;
}

/** One line of the call list: the record without its transcript. */
export interface CallListItem {
  callSid: string;
  merchantId: string | null;
  callerPhone: string | null;
  direction: 'inbound' | 'outbound';
  startedAt: Date;
  durationMs: number | null;
  endReason: string | null;
}

/** A merchant owner's console sign-in link; the secret itself is never stored. */
export interface ConsoleLink {
  id: string;
  merchantId: string;
  createdAt: Date;
  expiresAt: Date;
  revokedAt: Date | null;
}

export interface Store {
  readonly kind: StoreKind;
  /** Applies pending migrations (SQL adapters) or checks the schema is there (Supabase). Idempotent. */
  migrate(): Promise<void>;
  close(): Promise<void>;

  /** Throws when one of the numbers already rings another merchant. */
  upsertMerchant(m: MerchantInput): Promise<MerchantRecord>;
  getMerchant(id: string): Promise<MerchantRecord | null>;
  findMerchantByNumber(e164: string): Promise<MerchantRecord | null>;
  listMerchants(): Promise<MerchantRecord[]>;
  /** Deletes the merchant and, by the schema's cascades, its numbers, customers, calls and bookings. False if none. */
  deleteMerchant(id: string): Promise<boolean>;
  /**
   * Writes only the keys present (a refresh that did not rotate the refresh token keeps it). False if
   * no such merchant.
   */
  updateGoogleTokens(merchantId: string, tokens: Partial<GoogleTokenSet>): Promise<boolean>;

  /** Race-safe: concurrent calls for one number return the same customer. Fills a missing name, keeps a known one. */
  findOrCreateCustomer(merchantId: string, phone: string, name?: string | null): Promise<Customer>;
  findCustomerByPhone(merchantId: string, phone: string): Promise<Customer | null>;
  updateCustomer(merchantId: string, customerId: string, patch: CustomerPatch): Promise<Customer | null>;

  /** The database constraint decides between concurrent bookings of overlapping slots. */
  bookAppointment(req: BookingRequest): Promise<BookingResult>;
  getAppointment(merchantId: string, appointmentId: string): Promise<Appointment | null>;
  setAppointmentCalendarEvent(appointmentId: string, eventId: string | null): Promise<void>;
  /** Booked appointments overlapping [from, to), by start time. */
  listAppointments(merchantId: string, from: Date, to: Date): Promise<Appointment[]>;
  /** Booked appointments of one customer starting in [dayStart, dayEnd), by start time. */
  findAppointmentsForCustomerOn(
    merchantId: string,
    customerId: string,
    dayStart: Date,
    dayEnd: Date,
  ): Promise<Appointment[]>;
  /** Null when there is no such booked appointment of this merchant (unknown id, or already cancelled). */
  cancelAppointment(merchantId: string, appointmentId: string): Promise<Appointment | null>;

  saveMessage(m: NewMessage): Promise<Message>;
  /** Unread first, then newest first. */
  listMessages(merchantId: string, limit: number): Promise<Message[]>;
  /** False when this merchant has no such message. Marking twice keeps the first time. */
  markMessageRead(merchantId: string, messageId: string): Promise<boolean>;
  /** Booked appointments ending after `from`, soonest first, with their customers. */
  listUpcomingAppointments(merchantId: string, from: Date, limit: number): Promise<AppointmentDetail[]>;
  /** The calendar the tools book into; null clears it. False if no such merchant. */
  setGoogleCalendarId(merchantId: string, calendarId: string | null): Promise<boolean>;

  /** `tokenHash`: SHA-256 hex of the link's secret. */
  createConsoleLink(merchantId: string, tokenHash: string, expiresAt: Date): Promise<ConsoleLink>;
  /** The link with this hash, expired or revoked ones included (the caller decides). */
  findConsoleLink(tokenHash: string): Promise<ConsoleLink | null>;
  /** The link with this id (a session opened by it checks it is still good); null for a malformed id. */
  getConsoleLink(id: string): Promise<ConsoleLink | null>;
  /** Revokes every live link of the merchant; returns how many. */
  revokeConsoleLinks(merchantId: string): Promise<number>;

  /** Idempotent on callSid: writing the same call again updates the one row, never adds a second. */
  saveCallRecord(record: CallRecord): Promise<void>;
  getCallRecord(callSid: string): Promise<CallRecord | null>;
  /** Inserts or moves a recording forward (a status never goes back); returns it as stored. */
  saveCallRecording(update: RecordingUpdate): Promise<CallRecordingInfo>;
  /** The call's latest recording, whether or not the call's own row exists yet. */
  getCallRecording(callSid: string): Promise<CallRecordingInfo | null>;
  /** Newest first. */
  listCalls(query: CallQuery): Promise<CallListItem[]>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Ids handed in by the model are untrusted; a malformed one is "not found", not a database error. */
export function isUuid(s: string): boolean {
  return UUID.test(s);
}

const E164 = /^\+[1-9][0-9]{6,14}$/;
export function isE164(s: string): boolean {
  return E164.test(s);
}
