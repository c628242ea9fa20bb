import { z } from 'zod';
import { date, nullableDate } from './row-dates.js';
import type { Appointment, AppointmentDetail, Customer } from './store.js';

// The rows of a booking: customers, appointments, and the appointment_details view joining the two.

const customerRow = z.object({
  id: z.string(),
  merchant_id: z.string(),
  phone: z.string(),
  name: z.string().nullable(),
  email: z.string().nullable(),
  notes: z.string().nullable(),
  created_at: date,
  updated_at: date,
});

export function toCustomer(row: unknown): Customer {
  const r = customerRow.parse(row);
  return {
    id: r.id,
    merchantId: r.merchant_id,
    phone: r.phone,
    name: r.name,
    email: r.email,
    notes: r.notes,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

const appointmentRow = z.object({
  id: z.string(),
  merchant_id: z.string(),
  customer_id: z.string(),
  starts_at: date,
  ends_at: date,
  status: z.enum(['booked', 'cancelled']),
  calendar_event_id: z.string().nullable(),
  notes: z.string().nullable(),
  created_by_call_sid: z.string().nullable(),
  created_at: date,
  cancelled_at: nullableDate,
});

export function toAppointment(row: unknown): Appointment {
  const r = appointmentRow.parse(row);
  return {
    id: r.id,
    merchantId: r.merchant_id,
    customerId: r.customer_id,
    startsAt: r.starts_at,
    endsAt: r.ends_at,
    status: r.status,
    calendarEventId: r.calendar_event_id,
    notes: r.notes,
    createdByCallSid: r.created_by_call_sid,
    createdAt: r.created_at,
    cancelledAt: r.cancelled_at,
  };
}

const customerOfAppointment = z.object({ customer_name: z.string().nullable(), customer_phone: z.string() });

/** A row of the appointment_details view. */
export function toAppointmentDetail(row: unknown): AppointmentDetail {
  const c = customerOfAppointment.parse(row);
  return { ...toAppointment(row), customerName: c.customer_name, customerPhone: c.customer_phone };
}
