import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, sleep, until, type Harness } from './support/relay-harness.js';
import { SimCaller } from '../src/sim/twilio/caller.js';

// Every way a call can end leaves exactly one record with the right reason, and the caller hears
// something sensible on the way out.

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('how calls end', () => {
  it('leaves the merchant voicemail message when a machine answered, then hangs up', async () => {
    h = await startHarness({ merchant: { voicemailTemplate: 'Hi, this is {business}. Please call us back.' } });
    const { caller, model } = await h.call({
      customParameters: {
        merchantId: 'demo',
        answeredBy: 'machine_end_beep',
        direction: 'outbound',
        callerPhone: '+14155550100',
      },
    });
    const create = await model.waitFor('response.create', undefined, 3000);
    expect(JSON.stringify(create)).toContain('Hi, this is Sunny Side Dental. Please call us back.');
    await until(() => caller.state === 'closed', 8000, 'the relay to hang up');
    expect(caller.heardBytes).toBeGreaterThan(0);
    const rec = await h.recorder.waitFor(caller.callSid);
    expect(rec.endReason).toBe('voicemail_left');
    expect(rec.answeredBy).toBe('machine_end_beep');
    expect(h.states.get(caller.callSid)).toContain('voicemail.producing');
    expect(h.states.get(caller.callSid)).not.toContain('session.greeting.producing');
  });

  it("opens a recorded call with the merchant's recording notice, then the greeting", async () => {
    h = await startHarness({ merchant: { recording: { notice: 'This call is recorded for quality' } } });
    const { model } = await h.call();
    const create = await model.waitFor('response.create', undefined, 3000);
    expect(JSON.stringify(create)).toContain('This call is recorded for quality. Hello from the test line.');
  });

  it('uses the outbound opening line on outbound calls', async () => {
    h = await startHarness({ merchant: { outboundGreeting: 'Hello, this is the practice calling you back.' } });
    const { model } = await h.call({
      customParameters: { merchantId: 'demo', direction: 'outbound', callerPhone: '+14155550100' },
    });
    const create = await model.waitFor('response.create', undefined, 3000);
    expect(JSON.stringify(create)).toContain('Hello, this is the practice calling you back.');
  });

  it('apologises with the shipped clip and hangs up about 3 s after the model drops mid-call for good', async () => {
    h = await startHarness();
    const { caller, model } = await h.call();
    await until(() => h!.states.get(caller.callSid)?.at(-1) === 'session.listening', 8000, 'listening');
    const heardBefore = caller.heardBytes;
    // Refused outright (401) so the reconnect gives up at once (test/call-reconnect.test.ts covers retrying).
    h.model.refuseUpgrades(401);
    model.drop();
    const dropAt = performance.now();
    await until(() => caller.state === 'closed', 6000, 'the relay to hang up');
    const closedAfter = (caller.closeInfo?.at ?? performance.now()) - dropAt;
    expect(closedAfter).toBeGreaterThan(2500);
    expect(closedAfter).toBeLessThan(4500);
    // The apology clip (about 2.8 s of speech) was heard.
    expect(caller.heardBytes - heardBefore).toBeGreaterThan(8 * 2000);
    const rec = await h.recorder.waitFor(caller.callSid);
    expect(rec.endReason).toBe('model_dropped');
    expect(rec.transcript.some((e) => e.role === 'system')).toBe(true);
  });

  it('asks the assistant to wrap up at the maximum call length, then ends the call', async () => {
    h = await startHarness({ env: { MAX_CALL_SECONDS: '2' } });
    const { caller, model } = await h.call();
    model.onResponseCreate(() => ({ text: 'Goodbye.', audioMs: 300 }));
    await until(() => caller.state === 'closed', 8000, 'the call to end');
    const wrap = model.received.find(
      (e) => e.type === 'conversation.item.create' && JSON.stringify(e).includes('maximum length'),
    );
    expect(wrap).toBeDefined();
    const rec = await h.recorder.waitFor(caller.callSid);
    expect(rec.endReason).toBe('max_duration');
    expect(rec.durationMs).toBeGreaterThanOrEqual(2000);
    expect(h.states.get(caller.callSid)).toContain('wrappingUp.producing');
  });

  it('gives up on a model that never answers: apology, hang-up, record', async () => {
    // Accepts TCP but never completes the WebSocket handshake.
    const sockets: net.Socket[] = [];
    const silent = net.createServer((s) => sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as net.AddressInfo).port;
    h = await startHarness({
      env: { OPENAI_REALTIME_URL: `ws://127.0.0.1:${port}/v1/realtime`, MODEL_CONNECT_TIMEOUT_MS: '300' },
    });
    const caller = await SimCaller.connect({ url: h.url, customParameters: { merchantId: 'demo' } });
    await until(() => caller.state === 'closed', 6000, 'hang-up');
    expect(caller.heardBytes).toBeGreaterThan(8 * 1000);
    const rec = await h.recorder.waitFor(caller.callSid);
    expect(rec.endReason).toBe('model_connect_timeout');
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => silent.close(() => r()));
  });

  it('records a call whose Twilio socket dropped without stop', async () => {
    h = await startHarness();
    const { caller, model } = await h.call();
    await model.waitFor('response.create', undefined, 3000);
    await caller.drop();
    const rec = await h.recorder.waitFor(caller.callSid);
    expect(rec.endReason).toBe('twilio_closed');
    await until(() => !model.isOpen, 2000, 'the model socket to close');
    expect(h.relay.server.calls.size).toBe(0);
  });

  it('holds caller audio while the model session is being set up, and delivers it in order', async () => {
    h = await startHarness();
    const { caller, model } = await h.call();
    // Everything the caller sent since the stream started arrives, in order, none before session.updated.
    await sleep(400);
    expect(model.appendsBeforeSessionUpdated).toBe(0);
    await until(() => model.appendedBytes >= caller.framesSent * 160 - 160 * 3, 2000, 'all caller audio');
  });
});
