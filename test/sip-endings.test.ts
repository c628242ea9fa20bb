import { afterEach, describe, expect, it } from 'vitest';
import { WRAP_UP_NOTE } from '../src/call/prompts.js';
import { startSipHarness, until, type SipHarness } from './support/sip-relay-harness.js';

// Every way a SIP call ends, each recorded once: the assistant hangs up (over OpenAI's REST API), the
// sideband drops and is attached again (the call goes on), the sideband is lost for good (hung up,
// model_dropped), the maximum length, a drain; and a transfer by `refer`, recorded refer_sent.

let h: SipHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const always = Object.fromEntries(['1', '2', '3', '4', '5', '6', '7'].map((d) => [d, ['00:00-24:00']]));

function recordsOf(callId: string) {
  return h?.recorder.records.filter((r) => r.callSid === callId) ?? [];
}

async function onlyOnce(callId: string): Promise<void> {
  await new Promise((r) => setTimeout(r, 300));
  expect(recordsOf(callId)).toHaveLength(1);
}

describe('SIP call endings', () => {
  it('the assistant hangs up (endCall) once OpenAI has played the whole goodbye, over REST', async () => {
    h = await startSipHarness();
    const call = await h.listening();
    const session = call.session;
    if (!session) throw new Error('no session');
    session.onResponseCreate(() => ({ text: 'Thanks for calling, goodbye!', audioMs: 1500 }));
    const t0 = performance.now();
    await session.respond({
      text: 'Glad I could help.',
      audioMs: 200,
      functionCalls: [{ name: 'endCall', arguments: '{"reason":"done"}', callId: 'call_end' }],
    });
    await call.waitFor('ended', 10_000);
    const rec = await h.recorder.waitFor(call.callId);
    expect(rec.endReason).toBe('assistant_ended');
    expect(h.sip.requests.map((r) => r.op)).toEqual(['accept', 'hangup']);
    // The model generates faster than real time; the caller hears at real pace: 0.2 s, then 1.5 s of goodbye.
    expect((h.sip.requests.at(-1)?.at ?? 0) - t0).toBeGreaterThanOrEqual(1700);
    const output = session.received.find(
      (e) => e.type === 'conversation.item.create' && e.item.type === 'function_call_output',
    );
    expect(JSON.stringify(output)).toContain('call_end');
    await onlyOnce(call.callId);
  });

  it('a dropped sideband is attached again and the call goes on; the record notes it', async () => {
    h = await startSipHarness();
    const call = await h.listening();
    call.dropSideband();
    await until(() => call.sidebandsOpened === 2 && call.sidebandsAttached === 1, 5000, 'reattached');
    // Still controlled: a tool round trip works on the new socket.
    const session = call.session;
    if (!session) throw new Error('no session');
    await session.respond({
      text: 'One moment.',
      audioMs: 100,
      functionCalls: [{ name: 'endCall', arguments: '{}', callId: 'c2' }],
    });
    await call.waitFor('ended', 10_000);
    const rec = await h.recorder.waitFor(call.callId);
    expect(rec.endReason).toBe('assistant_ended');
    expect(rec.timeline.filter((e) => e.kind === 'reconnect')).toMatchObject([{ ok: true }]);
    await onlyOnce(call.callId);
  });

  it('a sideband lost for good: the call is hung up over REST and recorded model_dropped', async () => {
    h = await startSipHarness();
    const call = await h.listening();
    call.refuseSideband('forever');
    call.dropSideband();
    await call.waitFor('ended', 12_000);
    const rec = await h.recorder.waitFor(call.callId, 12_000);
    expect(rec.endReason).toBe('model_dropped');
    expect(h.sip.requests.map((r) => r.op)).toEqual(['accept', 'hangup']);
    expect(rec.timeline.filter((e) => e.kind === 'reconnect')).toMatchObject([{ ok: false }]);
    await onlyOnce(call.callId);
  }, 20_000);

  it('a sideband that never opens: the call is hung up over REST and recorded', async () => {
    h = await startSipHarness({ sim: { onSession: (_s, call) => call.refuseSideband('forever') } });
    const call = await h.dial();
    await call.waitFor('ended', 15_000);
    expect(call.sidebandsOpened).toBe(0);
    const rec = await h.recorder.waitFor(call.callId, 12_000);
    expect(rec.endReason).toBe('model_dropped');
    expect(h.sip.requests.map((r) => r.op)).toEqual(['accept', 'hangup']);
    await onlyOnce(call.callId);
  }, 20_000);

  it('leaves the voicemail when the relay’s own headers say a machine answered an outbound call', async () => {
    h = await startSipHarness();
    const call = await h.dial({
      headers: [
        { name: 'X-CallRelay-Direction', value: 'outbound' },
        { name: 'X-CallRelay-AnsweredBy', value: 'machine_end_beep' },
      ],
    });
    await call.waitFor('ended', 15_000);
    const rec = await h.recorder.waitFor(call.callId);
    expect(rec.endReason).toBe('voicemail_left');
    expect(rec.direction).toBe('outbound');
    const asked = call.session?.received.find((e) => e.type === 'response.create');
    expect(JSON.stringify(asked)).toContain('answering machine');
    expect(h.sip.requests.map((r) => r.op)).toEqual(['accept', 'hangup']);
  });

  it('at the maximum length the assistant wraps up, then the call is hung up', async () => {
    // Two seconds: the limit falls while OpenAI still plays the greeting to the caller, at real pace.
    h = await startSipHarness({ env: { MAX_CALL_SECONDS: '2' } });
    const call = await h.dial();
    await call.waitFor('ended', 15_000);
    const rec = await h.recorder.waitFor(call.callId);
    expect(rec.endReason).toBe('max_duration');
    // The model was told to wrap up, then asked for the goodbye.
    const note = call.session?.received.findIndex(
      (e) =>
        e.type === 'conversation.item.create' && JSON.stringify(e).includes(JSON.stringify(WRAP_UP_NOTE).slice(1, -1)),
    );
    expect(note).toBeGreaterThanOrEqual(0);
    expect(call.session?.received.slice(note).some((e) => e.type === 'response.create')).toBe(true);
    expect(h.sip.requests.at(-1)?.op).toBe('hangup');
    await onlyOnce(call.callId);
  }, 20_000);

  it('a drain refuses new SIP calls busy and wraps up the live one', async () => {
    h = await startSipHarness();
    const call = await h.listening();
    const drained = h.relay.server.drain(0);
    const late = await h.dial();
    await late.waitFor('rejected', 5000);
    expect(late.rejectStatus).toBe(486);
    await drained;
    const rec = await h.recorder.waitFor(call.callId);
    expect(rec.endReason).toBe('server_shutdown');
    expect(call.state).toBe('ended');
    await onlyOnce(call.callId);
  }, 30_000);

  it('transfers by refer to the person’s tel: URI, recorded refer_sent, and hangs nothing up after', async () => {
    h = await startSipHarness({
      merchant: {
        transferTargets: [{ name: 'Dr Patel', number: '+14155550111', handles: 'emergencies', hours: always }],
      },
    });
    const call = await h.listening();
    const session = call.session;
    if (!session) throw new Error('no session');
    session.onResponseCreate(() => ({ text: 'Putting you through to Dr Patel now.', audioMs: 1200 }));
    const t0 = performance.now();
    await session.respond({
      text: 'Let me get Dr Patel.',
      audioMs: 200,
      functionCalls: [
        { name: 'transferCall', arguments: '{"name":"Dr Patel","reason":"toothache since Monday"}', callId: 'c_t' },
      ],
    });
    await call.waitFor('referred', 10_000);
    expect(call.referTarget).toBe('tel:+14155550111');
    // The line before the transfer was heard in full first (0.2 s + 1.2 s at real pace).
    expect((h.sip.requests.at(-1)?.at ?? 0) - t0).toBeGreaterThanOrEqual(1400);
    const rec = await h.recorder.waitFor(call.callId);
    expect(rec.endReason).toBe('transferred');
    expect(rec.timeline.filter((e) => e.kind === 'transfer').map((e) => ('outcome' in e ? e.outcome : ''))).toEqual([
      'dialing',
      'refer_sent',
    ]);
    expect(h.sip.requests.map((r) => r.op)).toEqual(['accept', 'refer']);
    await onlyOnce(call.callId);
  });
});
