import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, until, type Harness } from './support/relay-harness.js';

// The receptionist ends calls well: the assistant hangs up after a goodbye the caller heard in full
// (and not if the caller talks over it), a silent caller is asked once and then said goodbye to, and
// a call the relay must end always ends with a goodbye, even while a long answer is still playing.
// Whole calls: real relay, simulated Twilio caller, fake realtime model.

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const listening = (callSid: string) => () => h?.states.get(callSid)?.at(-1) === 'session.listening';

describe('the receptionist ends calls well', () => {
  it('hangs up itself (endCall) once the goodbye has been heard in full', async () => {
    h = await startHarness();
    const { caller, model } = await h.call();
    await until(listening(caller.callSid), 8000, 'listening after the greeting');
    const update = await model.waitFor('session.update');
    expect(JSON.stringify(update)).toContain('"name":"endCall"');
    model.onResponseCreate(() => ({ text: 'Thanks for calling, goodbye!', audioMs: 1200 }));
    const heardBefore = caller.heardBytes;
    await model.respond({
      text: 'Glad I could help.',
      audioMs: 300,
      functionCalls: [{ name: 'endCall', arguments: '{"reason":"caller is done"}', callId: 'call_end' }],
    });
    const closed = await caller.waitForClose(15_000);
    // The goodbye (1.2 s) and the line before it (0.3 s) were heard before the line closed.
    expect(caller.heardBytes - heardBefore).toBeGreaterThanOrEqual(8 * 1500 - 160);
    expect(closed.code).toBe(1000);
    const rec = await h.recorder.waitFor(caller.callSid);
    expect(rec.endReason).toBe('assistant_ended');
    expect(h.states.get(caller.callSid)).toContain('session.ending.draining');
    expect(rec.transcript.at(-1)?.text).toBe('Thanks for calling, goodbye!');
  });

  it('keeps the call when the caller talks over the goodbye', async () => {
    h = await startHarness();
    const { caller, model } = await h.call();
    await until(listening(caller.callSid), 8000, 'listening after the greeting');
    model.onResponseCreate(() => ({ text: 'Goodbye then, take care and have a lovely day.', audioMs: 3000 }));
    void model.respond({
      text: 'Alright.',
      audioMs: 200,
      functionCalls: [{ name: 'endCall', arguments: '{}', callId: 'call_end' }],
    });
    await until(() => h?.states.get(caller.callSid)?.includes('session.ending.producing') ?? false, 5000, 'goodbye');
    await until(() => caller.heardBytes > 8 * 700, 5000, 'some of the goodbye heard');
    model.speechStarted(); // "Oh wait, one more thing"
    await until(listening(caller.callSid), 5000, 'the call goes on');
    expect(caller.state).toBe('open');
    expect(caller.clearsAt.length).toBeGreaterThanOrEqual(1);
    await caller.hangUp();
    const rec = await h.recorder.waitFor(caller.callSid);
    expect(rec.endReason).toBe('caller_hung_up');
  });

  it('asks a silent caller once whether they are there, then says goodbye and ends the call', async () => {
    h = await startHarness({ env: { SILENCE_REPROMPT_SECONDS: '2' } });
    const { caller, model } = await h.call();
    await until(listening(caller.callSid), 8000, 'listening after the greeting');
    model.onResponseCreate(() => ({ text: 'Are you still there?', audioMs: 400 }));
    const prompt = await model.waitFor('response.create', (e) => JSON.stringify(e).includes('still there'), 4000);
    expect(prompt).toBeDefined();
    model.onResponseCreate(() => ({ text: 'It seems you have gone. Goodbye!', audioMs: 600 }));
    const heardBefore = caller.heardBytes;
    await caller.waitForClose(15_000);
    const goodbyeNote = model.received.find(
      (e) => e.type === 'conversation.item.create' && JSON.stringify(e).includes('has not said anything'),
    );
    expect(goodbyeNote).toBeDefined();
    // The re-prompt and the goodbye were both heard.
    expect(caller.heardBytes - heardBefore).toBeGreaterThanOrEqual(8 * 1000 - 160);
    const rec = await h.recorder.waitFor(caller.callSid);
    expect(rec.endReason).toBe('caller_silent');
  });

  it('a caller who is talking is not silent', async () => {
    h = await startHarness({ env: { SILENCE_REPROMPT_SECONDS: '2' } });
    const { caller, model } = await h.call();
    await until(listening(caller.callSid), 8000, 'listening after the greeting');
    model.speechStarted(); // a long story, longer than the silence limit
    await new Promise((r) => setTimeout(r, 3000));
    expect(model.received.some((e) => JSON.stringify(e).includes('still there'))).toBe(false);
    expect(caller.state).toBe('open');
    await caller.hangUp();
  });

  it('cuts an answer that never ends at the maximum length, so the goodbye is heard', async () => {
    h = await startHarness({ env: { MAX_CALL_SECONDS: '5' } });
    const { caller, model } = await h.call();
    await until(listening(caller.callSid), 8000, 'listening after the greeting');
    // An answer of ten minutes, sent at real pace: it would never finish before the 20 s limit.
    void model.respond({ text: 'Let me tell you everything about our practice.', audioMs: 600_000, realtimeFactor: 1 });
    await until(() => h?.states.get(caller.callSid)?.includes('wrappingUp.waitingTurn') ?? false, 5000, 'wrap-up');
    const wrapStarted = performance.now();
    model.onResponseCreate(() => ({ text: 'I am sorry, I have to end the call now. Goodbye!', audioMs: 900 }));
    await until(() => caller.clearsAt.length > 0, 8000, 'the long answer cut');
    const heardAtCut = caller.heardBytes;
    const closed = await caller.waitForClose(15_000);
    expect(closed.at - wrapStarted).toBeLessThan(15_000);
    // The goodbye was heard in full after the cut.
    expect(caller.heardBytes - heardAtCut).toBeGreaterThanOrEqual(8 * 900 - 160);
    expect(model.received.some((e) => e.type === 'response.cancel')).toBe(true);
    const rec = await h.recorder.waitFor(caller.callSid);
    expect(rec.endReason).toBe('max_duration');
    expect(h.states.get(caller.callSid)).toContain('wrappingUp.cutting');
  });
});
