import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { dtmfNote } from '../src/call/prompts.js';
import type { FakeModelSession } from '../src/sim/model/model-server.js';
import type { SimSipCall } from '../src/sim/openai-sip/sip-server.js';
import { MEMORY, openPglite } from '../src/store/pglite-db.js';
import { SqlStore } from '../src/store/sql-store.js';
import { createToolExecutor, toolSpecsFor } from '../src/tools/registry.js';
import { BUSINESS, CALLER, startSipHarness, until, type SipHarness } from './support/sip-relay-harness.js';
import { addMerchant, body, keepOpen, type OutputBody } from './support/tools-harness.js';

// Whole SIP calls: OpenAI (imitated) offers a call by webhook, the relay accepts it with the
// merchant's session and runs the same call chart over the sideband socket; the audio never reaches
// the relay. Each ending is recorded once.

// The relay's call-record outbox lives in DATA_DIR; keep it out of the repository's data/.
const dataDir = mkdtempSync(join(tmpdir(), 'callrelay-sip-'));
process.env.DATA_DIR = dataDir;
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

let h: SipHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const NOW = new Date('2026-03-26T10:00:00Z'); // Thu 26 Mar, 10:00 in London

/** The model calls `name` over the sideband; resolves with the function_call_output the relay sends back. */
async function roundTrip(session: FakeModelSession, name: string, args: unknown): Promise<OutputBody> {
  const callId = `call_${name}_${Date.now()}`;
  await session.respond({
    text: 'One moment.',
    audioMs: 100,
    functionCalls: [{ name, arguments: JSON.stringify(args), callId }],
  });
  const ev = await session.waitFor(
    'conversation.item.create',
    (e) => e.item.type === 'function_call_output' && e.item.call_id === callId,
    8000,
  );
  if (ev.item.type !== 'function_call_output') throw new Error('not a function_call_output');
  const at = session.received.indexOf(ev);
  await until(
    () =>
      session.received.slice(at).some((e) => e.type === 'response.create') && session.activeResponseId === undefined,
    5000,
    'the answer after the tool',
  );
  return body(ev.item.output);
}

function sessionOf(call: SimSipCall): FakeModelSession {
  if (!call.session) throw new Error('no session');
  return call.session;
}

describe('a SIP call', () => {
  it('is accepted with the merchant session, greeted over the sideband, recorded on hang-up', async () => {
    h = await startSipHarness();
    const call = await h.listening();
    expect(call.webhookStatus).toBe(200);
    const body = call.acceptBody;
    expect(body?.type).toBe('realtime');
    expect(body?.instructions).toBe(h.merchant.instructions);
    expect(body?.audio?.output?.voice).toBe(h.merchant.voice ?? 'marin');
    expect(JSON.stringify(body)).not.toContain('audio/pcmu');
    expect(body?.audio?.input?.turn_detection).toMatchObject({ type: 'server_vad', interrupt_response: true });
    expect((body?.tools ?? []).map((t) => ('name' in t ? t.name : ''))).toContain('endCall');
    const greet = call.session?.received.find((e) => e.type === 'response.create');
    expect(JSON.stringify(greet)).toContain('Hello from the SIP line.');
    call.hangUp();
    const rec = await h.recorder.waitFor(call.callId);
    expect(rec.endReason).toBe('caller_hung_up');
    expect(rec.callerPhone).toBe(CALLER);
    expect(rec.calledNumber).toBe(BUSINESS);
    expect(rec.provider).toBe('openai');
    expect(rec.stats.framesIn).toBe(0);
    expect(h.sip.requests.map((r) => r.op)).toEqual(['accept']);
    await new Promise((r) => setTimeout(r, 200));
    expect(h.recorder.records.filter((r) => r.callSid === call.callId)).toHaveLength(1);
  });

  it('runs the receptionist tools with the same executor, on the real database', async () => {
    const db = await openPglite(MEMORY);
    const store = new SqlStore(db);
    await store.migrate();
    const m = await addMerchant(store, {
      phoneNumbers: [BUSINESS],
      transport: 'sip',
      tools: ['lookupCustomer', 'checkAvailability', 'createBooking', 'takeMessage'],
    });
    const runTool = createToolExecutor({ store, calendarFor: async () => null, now: () => NOW });
    h = await startSipHarness({ merchant: m, overrides: { store: keepOpen(store), runTool, toolSpecs: toolSpecsFor } });
    const call = await h.listening();
    const session = sessionOf(call);
    expect(session.view.tools.map((t) => t.name)).toEqual([
      'lookupCustomer',
      'checkAvailability',
      'createBooking',
      'takeMessage',
      'endCall',
    ]);
    expect(await roundTrip(session, 'checkAvailability', { day: 'tomorrow', time: '3pm' })).toMatchObject({
      requested: { local: 'Fri 27 Mar 15:00', free: true },
    });
    const booked = await roundTrip(session, 'createBooking', {
      date: '2026-03-30',
      time: '09:00',
      name: 'Grace Hopper',
    });
    expect(booked).toMatchObject({ booked: true, local: 'Mon 30 Mar 09:00' });
    const rows = await store.listAppointments(m.id, new Date('2026-03-30T00:00:00Z'), new Date('2026-03-31T00:00:00Z'));
    expect(rows).toMatchObject([{ createdByCallSid: call.callId }]);
    expect(await roundTrip(session, 'lookupCustomer', {})).toMatchObject({
      found: true,
      name: 'Grace Hopper',
      phone: CALLER,
    });
    expect(await roundTrip(session, 'takeMessage', { message: 'Call me back', urgency: 'urgent' })).toMatchObject({
      saved: true,
      phone: CALLER,
    });
    call.hangUp();
    const rec = await h.recorder.waitFor(call.callId);
    expect(rec.timeline.filter((e) => e.kind === 'tool').map((e) => ('name' in e ? e.name : ''))).toEqual([
      'checkAvailability',
      'createBooking',
      'lookupCustomer',
      'takeMessage',
    ]);
    await store.close();
  });

  it('keeps the transcript in order from the sideband: greeting, the caller, the answer', async () => {
    h = await startSipHarness({ sim: { mode: 'agent', realtimeFactor: 8 } });
    const call = await h.dial();
    await call.waitFor('accepted', 5000);
    await until(() => call.heard.length >= 1, 10_000, 'the greeting heard');
    await call.say('What are your opening hours?');
    await until(() => call.heard.length >= 2, 15_000, 'an answer heard');
    await until(() => h?.states.get(call.callId)?.at(-1) === 'session.listening', 10_000, 'listening again');
    call.hangUp();
    const rec = await h.recorder.waitFor(call.callId);
    const turns = rec.transcript.filter((t) => t.role !== 'system' && t.role !== 'tool');
    expect(turns.map((t) => t.role)).toEqual(['assistant', 'caller', 'assistant']);
    expect(turns[1]?.text).toBe('What are your opening hours?');
    expect(turns[0]?.text).toBe(call.heard[0]);
    expect(turns[2]?.text).toBe(call.heard[1]);
  }, 30_000);

  it('hears the caller’s keypad on the sideband and tells the model, as on Media Streams', async () => {
    h = await startSipHarness();
    const call = await h.listening();
    call.pressDigit('4');
    call.pressDigit('2');
    const note = await sessionOf(call).waitFor(
      'conversation.item.create',
      (e) => e.item.type === 'message' && JSON.stringify(e).includes(dtmfNote('42')),
      5000,
    );
    expect(note.item.type === 'message' && note.item.role).toBe('user');
    call.hangUp();
    const rec = await h.recorder.waitFor(call.callId);
    expect(rec.transcript.map((t) => t.text)).toContain('[keypad: 42]');
  });

  it('leaves barge-in to OpenAI: the chart counts it, and no cancel or truncate is sent', async () => {
    h = await startSipHarness({ sim: { mode: 'agent', realtimeFactor: 1 } });
    const call = await h.dial();
    await call.waitFor('accepted', 5000);
    const session = sessionOf(call);
    await until(() => h?.states.get(call.callId)?.at(-1) === 'session.greeting.producing', 5000, 'greeting');
    await until(() => session.activeResponseId !== undefined, 5000, 'the greeting being said');
    await call.say('Sorry, can I just ask something?');
    await until(() => h?.states.get(call.callId)?.includes('session.bargeIn') ?? false, 10_000, 'the barge-in');
    call.hangUp();
    const rec = await h.recorder.waitFor(call.callId);
    expect(rec.stats.bargeIns).toBeGreaterThanOrEqual(1);
    expect(
      session.received.filter((e) => e.type === 'response.cancel' || e.type === 'conversation.item.truncate'),
    ).toEqual([]);
  }, 30_000);
});
