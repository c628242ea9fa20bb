import { describe, expect, it } from 'vitest';
import { expectAuth, useFakePostgrest } from './support/fake-postgrest.js';

// The Supabase store's booking requests: the find_or_create_customer and book_appointment RPCs, the
// appointment list's range filters, cancelling.

const api = useFakePostgrest();

const CUSTOMER = '3f1c0a52-1111-4222-8333-444455556666';
const APPT = '9a1c0a52-1111-4222-8333-444455556666';
const appointmentRow = {
  id: APPT,
  merchant_id: 'sunny',
  customer_id: CUSTOMER,
  starts_at: '2030-03-05T14:00:00+00:00',
  ends_at: '2030-03-05T14:30:00+00:00',
  status: 'booked',
  calendar_event_id: null,
  notes: 'cleaning',
  created_by_call_sid: 'CA1',
  created_at: '2030-03-01T00:00:00+00:00',
  cancelled_at: null,
};

describe('SupabaseStore bookings', () => {
  it('books through the book_appointment RPC: a row means booked, an empty array means slot taken', async () => {
    const req = {
      merchantId: 'sunny',
      customerId: CUSTOMER,
      startsAt: new Date('2030-03-05T14:00:00Z'),
      endsAt: new Date('2030-03-05T14:30:00Z'),
      notes: 'cleaning',
      callSid: 'CA1',
    };
    api.reply = () => ({ body: [appointmentRow] });
    const ok = await api.store.bookAppointment(req);
    const s = api.only();
    expect(s.method).toBe('POST');
    expect(s.path).toBe('/rest/v1/rpc/book_appointment');
    expect(s.body).toEqual({
      p_merchant_id: 'sunny',
      p_customer_id: CUSTOMER,
      p_starts_at: '2030-03-05T14:00:00.000Z',
      p_ends_at: '2030-03-05T14:30:00.000Z',
      p_notes: 'cleaning',
      p_call_sid: 'CA1',
    });
    expectAuth(s);
    expect(ok).toEqual({
      ok: true,
      appointment: expect.objectContaining({ id: APPT, startsAt: new Date('2030-03-05T14:00:00Z'), status: 'booked' }),
    });

    api.reply = () => ({ body: [] });
    expect(await api.store.bookAppointment(req)).toEqual({ ok: false, reason: 'slot_taken' });
  });

  it('finds or creates a customer through its RPC', async () => {
    api.reply = () => ({
      body: [
        {
          id: CUSTOMER,
          merchant_id: 'sunny',
          phone: '+14155550123',
          name: 'Ada',
          email: null,
          notes: null,
          created_at: '2030-01-01T00:00:00Z',
          updated_at: '2030-01-01T00:00:00Z',
        },
      ],
    });
    const c = await api.store.findOrCreateCustomer('sunny', '+14155550123', 'Ada');
    const s = api.only();
    expect([s.method, s.path]).toEqual(['POST', '/rest/v1/rpc/find_or_create_customer']);
    expect(s.body).toEqual({ p_merchant_id: 'sunny', p_phone: '+14155550123', p_name: 'Ada' });
    expect(c).toMatchObject({ id: CUSTOMER, name: 'Ada', createdAt: new Date('2030-01-01T00:00:00Z') });
  });

  it('lists booked appointments overlapping a window with range filters, ordered by start', async () => {
    api.reply = () => ({ body: [appointmentRow] });
    const list = await api.store.listAppointments(
      'sunny',
      new Date('2030-03-05T00:00:00Z'),
      new Date('2030-03-06T00:00:00Z'),
    );
    const s = api.only();
    expect([s.method, s.path]).toEqual(['GET', '/rest/v1/appointments']);
    expect(s.query).toEqual({
      select: '*',
      merchant_id: 'eq.sunny',
      status: 'eq.booked',
      starts_at: 'lt.2030-03-06T00:00:00.000Z',
      ends_at: 'gt.2030-03-05T00:00:00.000Z',
      order: 'starts_at.asc',
    });
    expect(list.map((a) => a.id)).toEqual([APPT]);
  });

  it('cancels with a PATCH scoped to merchant, id and booked status, returning the row', async () => {
    api.reply = (r) => ({
      body: [
        { ...appointmentRow, status: 'cancelled', cancelled_at: (r.body as { cancelled_at: string }).cancelled_at },
      ],
    });
    const a = await api.store.cancelAppointment('sunny', APPT);
    const s = api.only();
    expect([s.method, s.path]).toEqual(['PATCH', '/rest/v1/appointments']);
    expect(s.query).toEqual({ merchant_id: 'eq.sunny', id: `eq.${APPT}`, status: 'eq.booked', select: '*' });
    expect(s.headers.prefer).toBe('return=representation');
    expect(s.body).toEqual({ status: 'cancelled', cancelled_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
    expect(a?.status).toBe('cancelled');

    api.seen.length = 0;
    api.reply = () => ({ body: [] });
    expect(await api.store.cancelAppointment('sunny', APPT)).toBeNull();
    api.seen.length = 0;
    expect(await api.store.cancelAppointment('sunny', 'next tuesday')).toBeNull();
    expect(api.seen).toHaveLength(0);
  });
});
