import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FILLER_INSTRUCTIONS } from '../src/call/prompts.js';
import type { Merchant } from '../src/merchants/merchant.js';
import { FakeGoogleServer } from '../src/sim/google/google-server.js';
import type { FakeModelSession } from '../src/sim/model/model-server.js';
import type { Store } from '../src/store/store.js';
import { createCalendarFor, type CalendarFor } from '../src/tools/calendar-for.js';
import { createToolExecutor, toolSpecsFor } from '../src/tools/registry.js';
import { startHarness, until, type Harness } from './support/relay-harness.js';
import {
  addMerchant,
  body,
  eventually,
  fnCall,
  keepOpen,
  locals,
  storeVariants,
  type OpenedStore,
  type OutputBody,
} from './support/tools-harness.js';

// Each receptionist tool through a whole simulated phone call: the real relay between a simulated
// Twilio caller and the scripted fake model, the tools installed on a real database. The fake model
// issues the function call; the test reads the function_call_output the relay sends back and the
// rows the tool wrote.

const NOW = new Date('2026-03-26T10:00:00Z'); // Thu 26 Mar, 10:00 in London
const CALLER = '+14155550100'; // what the harness's caller dials from

// The relay's call-record outbox lives in DATA_DIR; keep it out of the repository's data/.
const dataDir = mkdtempSync(join(tmpdir(), 'callrelay-tools-'));
process.env.DATA_DIR = dataDir;

let h: Harness | undefined;
let fake: FakeGoogleServer | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
  await fake?.close();
  fake = undefined;
});
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe.each(storeVariants())('tools in a call, on $name', (variant) => {
  let db: OpenedStore;
  let store: Store;
  beforeAll(async () => {
    db = await variant.open();
    store = db.store;
  });
  afterAll(async () => {
    await db?.cleanup();
  });

  const noCalendar: CalendarFor = async () => null;

  /** A call to `merchant` with the tools installed, in the listening state. */
  async function listening(merchant: Merchant, calendarFor: CalendarFor = noCalendar, toolStore: Store = store) {
    const runTool = createToolExecutor({ store: toolStore, calendarFor, now: () => NOW });
    h = await startHarness({ merchant, overrides: { store: keepOpen(store), runTool, toolSpecs: toolSpecsFor } });
    const harness = h;
    const call = await harness.call();
    call.model.onResponseCreate(() => ({ text: 'OK.', audioMs: 200 }));
    await until(() => harness.states.get(call.caller.callSid)?.at(-1) === 'session.listening', 8000, 'listening');
    return call;
  }

  /** The model calls `name`; resolves with the function_call_output the relay sends back. */
  /** `lead`: what the model says before its call (none: a model without preambles). */
  async function roundTrip(
    model: FakeModelSession,
    name: string,
    args: unknown,
    lead: string | null = 'One moment.',
  ): Promise<OutputBody> {
    const callId = `call_${name}_${Date.now()}`;
    const text = typeof args === 'string' ? args : JSON.stringify(args);
    const functionCalls = [{ name, arguments: text, callId }];
    await model.respond(lead === null ? { functionCalls } : { text: lead, audioMs: 200, functionCalls });
    const ev = await model.waitFor(
      'conversation.item.create',
      (e) => e.item.type === 'function_call_output' && e.item.call_id === callId,
      8000,
    );
    if (ev.item.type !== 'function_call_output') throw new Error('not a function_call_output');
    // Let the response the relay asks for after the output play out, so the next turn can start.
    const at = model.received.indexOf(ev);
    await until(
      () => model.received.slice(at).some((e) => e.type === 'response.create') && model.activeResponseId === undefined,
      5000,
      'the answer after the tool',
    );
    return body(ev.item.output);
  }

  it(
    "declares the merchant's tools with their schemas and answers lookupCustomer with the caller's " + 'bookings',
    async () => {
      const m = await addMerchant(store, { tools: ['lookupCustomer', 'checkAvailability', 'createBooking'] });
      const direct = createToolExecutor({ store, calendarFor: noCalendar, now: () => NOW });
      await direct(fnCall('createBooking', { date: '2026-03-30', time: '09:00', name: 'Ada' }), {
        merchant: m,
        callSid: 'CA-earlier',
        callerPhone: CALLER,
      });
      const { caller, model } = await listening(m);
      // The merchant's tools, then endCall, which every merchant has (no transfer targets: no transferCall).
      expect(model.view.tools.map((t) => t.name)).toEqual([
        'lookupCustomer',
        'checkAvailability',
        'createBooking',
        'endCall',
      ]);
      expect(model.view.tools[2]?.parameters).toMatchObject({ type: 'object', required: ['date', 'time'] });

      const out = await roundTrip(model, 'lookupCustomer', {});
      expect(out).toMatchObject({ found: true, name: 'Ada', phone: CALLER });
      expect(locals(out, 'upcoming')).toEqual(['Mon 30 Mar 09:00']);
      // A tool this merchant does not offer is refused, not run.
      expect(await roundTrip(model, 'takeMessage', { message: 'hi' })).toMatchObject({ error: 'unknown_tool' });
      await caller.hangUp();
    },
  );

  it('answers checkAvailability with free slots in the merchant zone', async () => {
    const m = await addMerchant(store);
    const { caller, model } = await listening(m);
    const out = await roundTrip(model, 'checkAvailability', { day: 'tomorrow', time: '3pm' });
    expect(out).toMatchObject({
      day: '2026-03-27',
      requested: { local: 'Fri 27 Mar 15:00', start: '2026-03-27T15:00:00.000Z', free: true },
    });
    expect(locals(out, 'slots')).toHaveLength(5);
    await caller.hangUp();
  });

  it('books through createBooking: the output reads the time back and the row carries the call', async () => {
    const m = await addMerchant(store);
    const { caller, model } = await listening(m);
    const out = await roundTrip(model, 'createBooking', { date: '2026-03-30', time: '09:00', name: 'Grace Hopper' });
    expect(out).toMatchObject({
      booked: true,
      local: 'Mon 30 Mar 09:00',
      start: '2026-03-30T08:00:00.000Z',
      calendar: 'not_connected',
    });
    const rows = await store.listAppointments(m.id, new Date('2026-03-30T00:00:00Z'), new Date('2026-03-31T00:00:00Z'));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ createdByCallSid: caller.callSid, startsAt: new Date('2026-03-30T08:00:00Z') });
    expect((await store.findCustomerByPhone(m.id, CALLER))?.name).toBe('Grace Hopper');
    await caller.hangUp();
  });

  it('cancels through cancelBooking and deletes the Google Calendar event', async () => {
    fake = await FakeGoogleServer.start({ refreshTokens: ['rt-call'] });
    const google = { clientId: 'cid', clientSecret: 'secret', apiRootUrl: fake.rootUrl, tokenUrl: fake.tokenUrl };
    const m = await addMerchant(store, {}, { tokens: { refreshToken: 'rt-call' } });
    const calendarFor = createCalendarFor({ store, google });
    const direct = createToolExecutor({ store, calendarFor, now: () => NOW });
    const made = body(
      await direct(fnCall('createBooking', { date: '2026-03-31', time: '10:00', name: 'Ola' }), {
        merchant: m,
        callSid: 'CA-earlier',
        callerPhone: CALLER,
      }),
    );
    expect(made).toMatchObject({ booked: true, calendar: 'updated' });
    expect(fake.events().map((e) => e.status)).toEqual(['confirmed']);

    const { caller, model } = await listening(m, calendarFor);
    const out = await roundTrip(model, 'cancelBooking', { date: 'tuesday' });
    expect(out).toMatchObject({ cancelled: true, local: 'Tue 31 Mar 10:00', calendar: 'updated' });
    expect(fake.events().map((e) => e.status)).toEqual(['cancelled']);
    expect((await store.getAppointment(m.id, String(made.appointmentId)))?.status).toBe('cancelled');
    await caller.hangUp();
  });

  it('stores a message through takeMessage with the caller number and urgency', async () => {
    const m = await addMerchant(store);
    const { caller, model } = await listening(m);
    const out = await roundTrip(model, 'takeMessage', {
      message: 'Can Dr Patel call me back?',
      name: 'Quinn',
      urgency: 'urgent',
    });
    expect(out).toMatchObject({ saved: true, urgency: 'urgent', phone: CALLER });
    const rows = await db.query(
      'select caller_name, caller_phone, body, urgency, call_sid from messages where merchant_id = $1',
      [m.id],
    );
    expect(rows).toEqual([
      {
        caller_name: 'Quinn',
        caller_phone: CALLER,
        body: 'Can Dr Patel call me back?',
        urgency: 'urgent',
        call_sid: caller.callSid,
      },
    ]);
    await caller.hangUp();
  });

  it('hands invalid arguments back as an explanation the model can act on, and books nothing', async () => {
    const m = await addMerchant(store);
    const { caller, model } = await listening(m);
    const bad = await roundTrip(model, 'createBooking', { date: '31/03/2026', time: '15:00', name: 'Rae' });
    expect(bad.error).toBe('invalid_arguments');
    expect(bad.message).toContain('date');
    expect(bad.message).toContain('YYYY-MM-DD');
    const broken = await roundTrip(model, 'createBooking', '{"date": "2026-03-31", "time":');
    expect(broken).toMatchObject({ error: 'invalid_arguments' });
    expect(broken.message).toContain('not valid JSON');
    expect(
      await store.listAppointments(m.id, new Date('2026-03-01T00:00:00Z'), new Date('2026-05-01T00:00:00Z')),
    ).toHaveLength(0);
    await caller.hangUp();
  });

  it('keeps a booking that lands after the caller hung up', async () => {
    const m = await addMerchant(store);
    const slow = new Proxy(store, {
      get(target, prop) {
        const v: unknown = Reflect.get(target, prop, target);
        if (prop === 'bookAppointment') {
          return async (...args: Parameters<Store['bookAppointment']>) => {
            await new Promise((r) => setTimeout(r, 800));
            return target.bookAppointment(...args);
          };
        }
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
    const { caller, model } = await listening(m, noCalendar, slow);
    await model.respond({
      text: 'Booking that now.',
      audioMs: 200,
      functionCalls: [
        { name: 'createBooking', arguments: JSON.stringify({ date: '2026-04-02', time: '11:30', name: 'Sam' }) },
      ],
    });
    // Hang up once the tool is running (a hang-up that beats response.done to the relay runs no tool).
    await until(
      () => h?.states.get(caller.callSid)?.some((st) => st.includes('toolPending')) ?? false,
      5000,
      'the tool to start',
    );
    await caller.hangUp();
    const rec = await h?.recorder.waitFor(caller.callSid);
    expect(rec?.endReason).toBe('caller_hung_up');
    const range = [new Date('2026-04-02T00:00:00Z'), new Date('2026-04-03T00:00:00Z')] as const;
    const rows = await eventually(
      async () => {
        const r = await store.listAppointments(m.id, ...range);
        return r.length ? r : undefined;
      },
      5000,
      'the booking after the hang-up',
    );
    expect(rows.map((a) => [a.startsAt.toISOString(), a.createdByCallSid])).toEqual([
      ['2026-04-02T10:30:00.000Z', caller.callSid],
    ]);
  });

  it('speaks a filler while a slow tool (2 s) runs after a silent call, before its output goes back', async () => {
    fake = await FakeGoogleServer.start({ refreshTokens: ['rt-slow'], delayMs: 2000 });
    const token = fake.issueAccessToken();
    const google = { clientId: 'cid', clientSecret: 'secret', apiRootUrl: fake.rootUrl, tokenUrl: fake.tokenUrl };
    const m = await addMerchant(
      store,
      {},
      { tokens: { refreshToken: 'rt-slow', accessToken: token.accessToken, expiresAt: new Date(token.expiryDate) } },
    );
    const { caller, model } = await listening(m, createCalendarFor({ store, google }));
    const out = await roundTrip(model, 'checkAvailability', { day: 'friday', time: '11:00' }, null);
    expect(out).toMatchObject({ requested: { local: 'Fri 27 Mar 11:00', free: true } });
    expect(out.message).not.toContain('could not be fully checked'); // the slow calendar was read, not skipped
    const filler = model.received.findIndex(
      (e) => e.type === 'response.create' && e.response?.instructions === FILLER_INSTRUCTIONS,
    );
    const output = model.received.findIndex(
      (e) => e.type === 'conversation.item.create' && e.item.type === 'function_call_output',
    );
    expect(filler).toBeGreaterThan(-1);
    expect(filler).toBeLessThan(output);
    await caller.hangUp();
  });
});
