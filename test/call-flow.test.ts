import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, sleep, until, type Harness } from './support/relay-harness.js';

// Whole calls through the real relay: simulated Twilio caller ⇄ relay ⇄ fake realtime model.

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('a whole call', () => {
  it('greets, answers the caller, keeps the transcript in order and records the call once on hang-up', async () => {
    h = await startHarness();
    const { caller, model } = await h.call();
    // The assistant speaks first: the relay configures the session and asks for the greeting.
    const update = await model.waitFor('session.update');
    expect(update.session).toMatchObject({
      type: 'realtime',
      audio: { input: { format: { type: 'audio/pcmu' } }, output: { format: { type: 'audio/pcmu' } } },
    });
    const greet = await model.waitFor('response.create');
    expect(JSON.stringify(greet)).toContain('Hello from the test line.');
    await until(() => caller.heardBytes > 8 * 300, 5000, 'the greeting to be heard');
    await until(
      () => h!.states.get(caller.callSid)?.includes('session.listening') ?? false,
      8000,
      'listening after the greeting',
    );

    // Caller turn: caller audio reaches the model untouched, the model answers.
    await caller.say(Buffer.alloc(1600, 0x55));
    // The caller's words arrive at the model byte for byte (mu-law passes untouched).
    await until(
      () => model.appendedAudio().includes(Buffer.alloc(1600, 0x55)),
      3000,
      'caller audio at the model, unchanged',
    );
    model.onResponseCreate(() => ({ text: 'We open at nine tomorrow.', audioMs: 600 }));
    const heardBefore = caller.heardBytes;
    model.speechStarted();
    const userItem = model.speechStopped(); // server VAD commits the turn and answers
    await model.waitFor('response.create', undefined, 100).catch(() => undefined);
    // Caller transcription arrives after the answer started: order must still be caller, then assistant.
    await sleep(50);
    model.userTranscript(userItem, 'When do you open tomorrow?');
    await until(() => caller.heardBytes >= heardBefore + 8 * 600, 5000, 'the answer to be heard');
    await until(() => h!.states.get(caller.callSid)?.at(-1) === 'session.listening', 3000, 'listening again');

    await caller.hangUp();
    const rec = await h.recorder.waitFor(caller.callSid);
    expect(rec.endReason).toBe('caller_hung_up');
    expect(rec.transcript.map((e) => e.role)).toEqual(['assistant', 'caller', 'assistant']);
    expect(rec.transcript[1]?.text).toBe('When do you open tomorrow?');
    expect(rec.transcript[2]?.text).toBe('We open at nine tomorrow.');
    expect(rec.stats.modelConnectMs).not.toBeNull();
    // The record's timeline: the chart's path as bands, the two answers heard in full, then the end.
    const states = rec.timeline.flatMap((e) => (e.kind === 'state' ? [e.state] : []));
    expect(states.slice(0, 3)).toEqual(['connecting', 'session.greeting.producing', 'session.greeting.draining']);
    expect(states).toContain('session.speaking.producing');
    expect(rec.timeline.filter((e) => e.kind === 'heard')).toHaveLength(2);
    expect(rec.timeline.at(-1)).toMatchObject({ kind: 'end', reason: 'caller_hung_up' });
    const times = rec.timeline.map((e) => e.atMs);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(rec.durationMs).toBeGreaterThan(0);
    await sleep(100);
    expect(h.recorder.records.filter((r) => r.callSid === caller.callSid)).toHaveLength(1);
    expect(h.relay.server.calls.size).toBe(0);
    await until(() => !model.isOpen, 2000, 'the model socket to close');
    expect(caller.protocolErrorCount).toBe(0);
  });
});
