import type { SupabaseClient } from '@supabase/supabase-js';
import { toAppointment, toAppointmentDetail, toCustomer } from './booking-rows.js';
import { StoreError } from './errors.js';
import {
  isUuid,
  type Appointment,
  type AppointmentDetail,
  type BookingRequest,
  type BookingResult,
  type Customer,
  type CustomerPatch,
} from './store.js';
import { oneOf, rowsOf, unwrap } from './supabase-results.js';

// The Supabase store's booking queries: customers and appointments. Finding-or-creating a customer
// and booking go through the SQL functions (RPC), where the database arbitrates concurrent calls.

export async function findOrCreateCustomer(
  db: SupabaseClient,
  merchantId: string,
  phone: string,
  name?: string | null,
): Promise<Customer> {
  const res = await db.rpc('find_or_create_customer', {
    p_merchant_id: merchantId,
    p_phone: phone,
    p_name: name ?? null,
  });
  const row = rowsOf(res, 'find_or_create_customer')[0];
  if (row === undefined) throw new StoreError('supabase find_or_create_customer returned no row', '', res.status);
  return toCustomer(row);
}

export async function findCustomerByPhone(
  db: SupabaseClient,
  merchantId: string,
  phone: string,
): Promise<Customer | null> {
  const res = await db
    .from('customers')
    .select('*')
    .eq('merchant_id', merchantId)
    .eq('phone', phone)
    .retry(false)
    .maybeSingle();
  return oneOf(res, 'findCustomerByPhone', toCustomer);
}

export async function updateCustomer(
  db: SupabaseClient,
  merchantId: string,
  customerId: string,
  patch: CustomerPatch,
): Promise<Customer | null> {
  if (!isUuid(customerId)) return null;
  const cols: Record<string, string | null> = {};
  for (const k of ['name', 'email', 'notes'] as const) {
    const v = patch[k];
    if (v !== undefined) cols[k] = v;
  }
  if (Object.keys(cols).length === 0) {
    const res = await db
      .from('customers')
      .select('*')
      .eq('merchant_id', merchantId)
      .eq('id', customerId)
      .retry(false)
      .maybeSingle();
    return oneOf(res, 'updateCustomer', toCustomer);
  }
  const res = await db
    .from('customers')
    .update({ ...cols, updated_at: new Date().toISOString() })
    .eq('merchant_id', merchantId)
    .eq('id', customerId)
    .select('*')
    .maybeSingle();
  return oneOf(res, 'updateCustomer', toCustomer);
}

export async function bookAppointment(db: SupabaseClient, req: BookingRequest): Promise<BookingResult> {
  const res = await db.rpc('book_appointment', {
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

export async function getAppointment(
  db: SupabaseClient,
  merchantId: string,
  appointmentId: string,
): Promise<Appointment | null> {
  if (!isUuid(appointmentId)) return null;
  const res = await db
    .from('appointments')
    .select('*')
    .eq('merchant_id', merchantId)
    .eq('id', appointmentId)
    .retry(false)
    .maybeSingle();
  return oneOf(res, 'getAppointment', toAppointment);
}

export async function setAppointmentCalendarEvent(
  db: SupabaseClient,
  appointmentId: string,
  eventId: string | null,
): Promise<void> {
  if (!isUuid(appointmentId)) return;
  const res = await db.from('appointments').update({ calendar_event_id: eventId }).eq('id', appointmentId);
  unwrap(res, 'setAppointmentCalendarEvent');
}

export async function listAppointments(
  db: SupabaseClient,
  merchantId: string,
  from: Date,
  to: Date,
): Promise<Appointment[]> {
  const res = await db
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

export async function findAppointmentsForCustomerOn(
  db: SupabaseClient,
  merchantId: string,
  customerId: string,
  dayStart: Date,
  dayEnd: Date,
): Promise<Appointment[]> {
  if (!isUuid(customerId)) return [];
  const res = await db
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

export async function cancelAppointment(
  db: SupabaseClient,
  merchantId: string,
  appointmentId: string,
): Promise<Appointment | null> {
  if (!isUuid(appointmentId)) return null;
  const res = await db
    .from('appointments')
    .update({ status: 'cancelled', cancelled_at: new Date().toISOString() })
    .eq('merchant_id', merchantId)
    .eq('id', appointmentId)
    .eq('status', 'booked')
    .select('*')
    .maybeSingle();
  return oneOf(res, 'cancelAppointment', toAppointment);
}

export async function listUpcomingAppointments(
  db: SupabaseClient,
  merchantId: string,
  from: Date,
  limit: number,
): Promise<AppointmentDetail[]> {
  const res = await db
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
