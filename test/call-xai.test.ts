import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, until, type Harness } from './support/relay-harness.js';

// The same call over xAI Grok Voice: its session shape, its handshake order, its keep-alives, and
// its missing truncate support must not change what the caller experiences.

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('xAI Grok Voice', () => {
  it('configures the session the xAI way and holds caller audio until session.updated', async () => {
    h = await startHarness({ dialect: 'xai', model: { pingIntervalMs: 50 } });
    const { caller, model } = await h.call();
    const update = await model.waitFor('session.update', undefined, 3000);
    expect(update.session).toMatchObject({
      voice: 'ara',
      turn_detection: { type: 'server_vad' },
      audio: { input: { format: { type: 'audio/pcmu' } }, output: { format: { type: 'audio/pcmu' } } },
    });
    expect(update.session).not.toHaveProperty('type');
    // Grok Voice 3 reads formats only in the nested shape (the flat ones are ignored: the caller would
    // hear static), and the model only from the URL.
    for (const flat of ['input_audio_format', 'output_audio_format', 'model'])
      expect(update.session).not.toHaveProperty(flat);
    expect(model.model).toBe('grok-voice-latest');
    expect(model.requestHeaders.authorization).toBe('Bearer xai-test');
    expect(model.requestHeaders.authorization).not.toContain('sk-test');
    await until(() => h!.states.get(caller.callSid)?.at(-1) === 'session.listening', 8000, 'listening');
    expect(model.appendsBeforeSessionUpdated).toBe(0);
    expect(model.appendedBytes).toBeGreaterThan(0);
    await caller.hangUp();
    const rec = await h.recorder.waitFor(caller.callSid);
    expect(rec.provider).toBe('xai');
    expect(rec.model).toBe('grok-voice-latest');
  });

  it('ignores a second end of a response that already ended (response.cancelled, then response.done)', async () => {
    h = await startHarness({ dialect: 'xai' });
    const { caller, model } = await h.call();
    await until(() => h!.states.get(caller.callSid)?.at(-1) === 'session.listening', 8000, 'listening');
    const first = model.respond({ text: 'One.', audioMs: 200 });
    const firstId = model.activeResponseId;
    expect(firstId).toMatch(/^resp_/);
    await first;
    await until(() => h!.states.get(caller.callSid)?.at(-1) === 'session.listening', 3000, 'listening again');
    const heardBefore = caller.heardBytes;
    const second = model.respond({ text: 'A longer second answer.', audioMs: 2000, realtimeFactor: 1 });
    await until(() => h!.states.get(caller.callSid)?.at(-1) === 'session.speaking.producing', 3000, 'speaking');
    const seen = h.states.get(caller.callSid)?.length ?? 0;
    // A late end of the first response, in both spellings, while the second one is being produced.
    model.sendRaw({ type: 'response.cancelled', response: { id: firstId } });
    model.sendRaw({
      type: 'response.done',
      event_id: 'ev_late',
      response: { id: firstId, status: 'completed', output: [] },
    });
    await second;
    await until(
      () => h!.states.get(caller.callSid)?.at(-1) === 'session.listening',
      5000,
      'listening after the second answer',
    );
    // The second answer ran to its own end: it was never taken for finished early, and the caller
    // heard all of it (a premature end would close the gate on the rest).
    expect(h.states.get(caller.callSid)?.slice(seen - 1)).toEqual([
      'session.speaking.producing',
      'session.speaking.draining',
      'session.listening',
    ]);
    expect(caller.heardBytes - heardBefore).toBeGreaterThanOrEqual(8 * 2000);
  });

  it('survives an unsupported truncate during barge-in and keeps the call going', async () => {
    h = await startHarness({ dialect: 'xai' });
    const { caller, model } = await h.call();
    model.onResponseCreate(() => ({ text: 'Hi.', audioMs: 200 }));
    await until(() => h!.states.get(caller.callSid)?.at(-1) === 'session.listening', 8000, 'listening');
    const heardBefore = caller.heardBytes;
    const answering = model.respond({ text: 'A long answer about opening hours.', audioMs: 3000, realtimeFactor: 1.5 });
    await until(() => caller.heardBytes - heardBefore > 8 * 600, 5000, 'playing');
    model.speechStarted();
    await until(() => caller.clearsAt.length === 1, 1000, 'clear');
    await model.waitFor('conversation.item.truncate', undefined, 1000);
    await answering;
    await until(() => model.errors.some((e) => /truncat/i.test(e.message)), 1000, 'xAI refusing truncate');
    // Still a working call afterwards.
    const heard = caller.heardBytes;
    model.onResponseCreate(() => ({ text: 'Yes?', audioMs: 300 }));
    model.speechStopped();
    await until(() => caller.heardBytes >= heard + 8 * 300, 3000, 'the next answer');
    expect(caller.state).toBe('open');
  });
});

describe('xAI Grok Voice: a function call announced twice', () => {
  it('runs the tool once when conversation.item.added for the function call arrives twice', async () => {
    let runs = 0;
    h = await startHarness({
      dialect: 'xai',
      overrides: {
        runTool: async (call) => {
          runs++;
          return { callId: call.callId, ok: true, output: '{"found":false}' };
        },
      },
    });
    const { caller, model } = await h.call();
    const state = () => h?.states.get(caller.callSid)?.at(-1) ?? '';
    await until(() => state() === 'session.listening', 8000, 'listening');
    const item = {
      id: 'item_fc_dup',
      object: 'realtime.item',
      type: 'function_call',
      status: 'completed',
      call_id: 'call_dup',
      name: 'lookupCustomer',
      arguments: '{}',
    };
    // The relay reads function calls from response.done; the duplicate announcement must not matter.
    for (let i = 0; i < 2; i++) model.sendRaw({ type: 'conversation.item.added', previous_item_id: null, item });
    await model.respond({
      text: 'Let me check.',
      audioMs: 200,
      functionCalls: [{ name: 'lookupCustomer', arguments: '{}' }],
    });
    await until(() => runs > 0, 5000, 'the tool to run');
    await until(() => state() === 'session.listening', 8000, 'listening again');
    expect(runs).toBe(1);
  }, 20_000);
});
