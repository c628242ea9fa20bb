import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startHarness, sleep, until, type Harness } from './support/relay-harness.js';

// What the caller (or a broken Twilio peer) sends: keypad digits, tool requests, and bad frames
// that must be dropped without hurting this call or any other.

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function listening(harness: Harness) {
  const call = await harness.call();
  call.model.onResponseCreate(() => ({ text: 'OK.', audioMs: 200 }));
  await until(() => harness.states.get(call.caller.callSid)?.at(-1) === 'session.listening', 8000, 'listening');
  return call;
}

describe('caller input', () => {
  it('turns keypad digits into one user text item and a response', async () => {
    h = await startHarness();
    const { caller, model } = await listening(h);
    caller.sendDtmf('4');
    caller.sendDtmf('2');
    const item = await model.waitFor('conversation.item.create', (e) => JSON.stringify(e).includes('keypad'), 3000);
    expect(JSON.stringify(item)).toContain('4 2');
    expect(item.item).toMatchObject({ type: 'message', role: 'user' });
    await model.waitFor('response.create', undefined, 1000);
    await caller.hangUp();
    const rec = await h.recorder.waitFor(caller.callSid);
    expect(rec.transcript.some((e) => e.text.includes('keypad: 42'))).toBe(true);
  });

  it('answers a tool call it cannot run with an error output and one response.create', async () => {
    h = await startHarness();
    const { caller, model } = await listening(h);
    const creates = () => model.received.filter((e) => e.type === 'response.create').length;
    const before = creates();
    await model.respond({
      text: 'Let me check.',
      audioMs: 200,
      functionCalls: [{ name: 'lookupCustomer', arguments: '{"phone":"+14155550100"}' }],
    });
    const out = await model.waitFor('conversation.item.create', (e) => e.item.type === 'function_call_output', 3000);
    expect(JSON.stringify(out)).toContain('unknown_tool');
    await until(() => creates() === before + 1, 2000, 'one response.create after the outputs');
    await sleep(100);
    expect(creates()).toBe(before + 1);
    await caller.hangUp();
  });
});

describe('bad input from Twilio', () => {
  it('drops bad frames, logs them, and the call goes on (audio still flows both ways)', async () => {
    h = await startHarness();
    const { caller, model } = await listening(h);
    const other = await listening(h);
    const otherHeard = other.caller.heardBytes;
    caller.sendRaw('this is not json');
    caller.sendRaw(Buffer.from([1, 2, 3]));
    caller.sendRaw(
      JSON.stringify({ event: 'media', streamSid: caller.streamSid, media: { payload: 'A'.repeat(100 * 1024) } }),
    );
    caller.sendRaw(JSON.stringify({ event: 'teleport', streamSid: caller.streamSid }));
    caller.sendRaw(
      JSON.stringify({
        event: 'media',
        streamSid: 'MZwrong',
        sequenceNumber: '9',
        media: { track: 'inbound', chunk: '1', timestamp: '0', payload: '//8=' },
      }),
    );
    caller.sendRaw(
      JSON.stringify({
        event: 'media',
        streamSid: caller.streamSid,
        sequenceNumber: '9',
        media: { track: 'inbound', chunk: '1', timestamp: '0', payload: '"}{bad' },
      }),
    );
    caller.sendRaw(
      JSON.stringify({
        event: 'start',
        sequenceNumber: '1',
        streamSid: caller.streamSid,
        start: { streamSid: caller.streamSid, callSid: 'CAother', customParameters: {} },
      }),
    );
    // The call is still alive: caller audio reaches the model and the model's answer reaches the caller.
    const appended = model.appendedBytes;
    await until(() => model.appendedBytes > appended + 1600, 2000, 'caller audio still flowing');
    const heard = caller.heardBytes;
    await model.respond({ text: 'Still here.', audioMs: 400 });
    await until(() => caller.heardBytes >= heard + 8 * 400, 3000, 'model audio still flowing');
    expect(caller.state).toBe('open');
    // The other call was not affected.
    await other.model.respond({ text: 'Hello other.', audioMs: 200 });
    await until(() => other.caller.heardBytes >= otherHeard + 8 * 200, 3000, 'the other call');
    await caller.hangUp();
    const rec = await h.recorder.waitFor(caller.callSid);
    expect(rec.stats.badTwilioMessages).toBeGreaterThanOrEqual(6);
    expect(rec.endReason).toBe('caller_hung_up');
  });

  it('drops media before start and keeps the socket open for the real start', async () => {
    h = await startHarness();
    const ws = new WebSocket(h.url);
    await new Promise<void>((r) => ws.once('open', () => r()));
    ws.send(
      JSON.stringify({
        event: 'media',
        streamSid: 'MZ1',
        sequenceNumber: '1',
        media: { track: 'inbound', chunk: '1', timestamp: '0', payload: '//8=' },
      }),
    );
    ws.send(JSON.stringify({ event: 'connected', protocol: 'Call', version: '1.0.0' }));
    const next = h.model.nextSession(3000);
    ws.send(
      JSON.stringify({
        event: 'start',
        sequenceNumber: '1',
        streamSid: 'MZ1',
        start: {
          accountSid: 'AC1',
          streamSid: 'MZ1',
          callSid: 'CA-before-start',
          tracks: ['inbound'],
          mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
          customParameters: { merchantId: 'demo' },
        },
      }),
    );
    const model = await next;
    await model.waitFor('session.update', undefined, 2000);
    ws.send(
      JSON.stringify({
        event: 'stop',
        sequenceNumber: '2',
        streamSid: 'MZ1',
        stop: { accountSid: 'AC1', callSid: 'CA-before-start' },
      }),
    );
    const rec = await h.recorder.waitFor('CA-before-start');
    expect(rec.endReason).toBe('caller_hung_up');
    ws.close();
  });

  it('closes a socket only beyond the transport limit (1 MiB), and the server keeps serving', async () => {
    h = await startHarness();
    const ws = new WebSocket(h.url);
    await new Promise<void>((r) => ws.once('open', () => r()));
    const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
    ws.send('x'.repeat(2 * 1024 * 1024));
    // uWebSockets.js cuts the connection (1006 on the client, 1009 per RFC): either way it is closed.
    expect([1006, 1009]).toContain(await closed);
    const res = await fetch(`http://127.0.0.1:${h.relay.port}/health`);
    expect(await res.json()).toEqual({ status: 'ok', calls: 0 });
  });
});
