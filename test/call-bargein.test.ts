import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, sleep, until, type Harness } from './support/relay-harness.js';

// Barge-in as the caller experiences it: the assistant's audio stops, the model is told how much
// was heard, and nothing of the cancelled response reaches the caller afterwards.

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function inConversation(opts: Parameters<typeof startHarness>[0] = {}) {
  h = await startHarness(opts);
  const call = await h.call();
  call.model.onResponseCreate(() => ({ text: 'Hi.', audioMs: 200 }));
  await until(
    () => h!.states.get(call.caller.callSid)?.at(-1) === 'session.listening',
    8000,
    'listening after the greeting',
  );
  return call;
}

describe('barge-in', () => {
  it(
    'stops what the caller hears, cancels, truncates at the heard point, ignores stale marks and late ' + 'audio',
    async () => {
      const { caller, model } = await inConversation();
      const heardBefore = caller.heardBytes;
      // A long answer, still being generated when the caller talks (a bit faster than real time).
      const text =
        'Our opening hours are nine to five on weekdays and ten to two on Saturdays, and we are closed on Sundays.';
      const answering = model.respond({ text, audioMs: 4000, realtimeFactor: 1.5 });
      await until(() => caller.heardBytes - heardBefore >= 8 * 1200, 5000, '1.2 s of the answer to be heard');
      const marksBefore = caller.marksEchoed.length;

      model.speechStarted();
      await until(() => caller.clearsAt.length === 1, 1000, 'Twilio clear');
      const heardAtClear = caller.heardBytes - heardBefore;
      const cancel = await model.waitFor('response.cancel', undefined, 1000);
      expect(cancel.type).toBe('response.cancel');
      const trunc = await model.waitFor('conversation.item.truncate', undefined, 1000);
      const heardMs = heardAtClear / 8;
      // The truncate point is what the caller actually heard (within a playback frame or two).
      expect(Math.abs(trunc.audio_end_ms - heardMs)).toBeLessThanOrEqual(60);
      expect(trunc.audio_end_ms).toBeLessThan(4000);
      const result = await answering;
      expect(result.status).toBe('cancelled');

      // Late audio of the cancelled response (a delta already in flight) never plays.
      const itemId = result.itemIds[0] ?? 'item_x';
      model.sendRaw({
        type: 'response.output_audio.delta',
        response_id: result.responseId,
        item_id: itemId,
        output_index: 0,
        content_index: 0,
        delta: Buffer.alloc(1600, 0x10).toString('base64'),
      });
      await sleep(300);
      expect(caller.heardBytes - heardBefore).toBeLessThanOrEqual(heardAtClear + 160);
      // Cleared marks came back at once and were stale: the chart did not go on as if playback drained.
      expect(caller.marksEchoed.slice(marksBefore).some((m) => m.cleared)).toBe(true);
      const states = h!.states.get(caller.callSid) ?? [];
      expect(states.slice(-2)).toEqual(['session.bargeIn', 'session.listening']);

      // The transcript keeps only what was heard, marked as interrupted.
      await caller.hangUp();
      const rec = await h!.recorder.waitFor(caller.callSid);
      const interrupted = rec.transcript.find((e) => e.interrupted);
      expect(interrupted?.role).toBe('assistant');
      expect(interrupted!.text.length).toBeLessThan(text.length);
      expect(rec.stats.bargeIns).toBe(1);
      expect(rec.stats.lateDeltasDropped).toBeGreaterThanOrEqual(1);
    },
  );

  it('after the model finished, only stops playback and truncates (nothing to cancel)', async () => {
    const { caller, model } = await inConversation();
    const heardBefore = caller.heardBytes;
    // Generated 4x faster than real time: the model is done long before the caller has heard it all.
    await model.respond({ text: 'We are open nine to five.', audioMs: 3000, realtimeFactor: 4 });
    await until(() => h!.states.get(caller.callSid)?.at(-1) === 'session.speaking.draining', 2000, 'draining');
    await until(() => caller.heardBytes - heardBefore >= 8 * 1000, 5000, '1 s heard');
    model.speechStarted();
    await until(() => caller.clearsAt.length === 1, 1000, 'clear');
    const trunc = await model.waitFor('conversation.item.truncate', undefined, 1000);
    expect(Math.abs(trunc.audio_end_ms - (caller.heardBytes - heardBefore) / 8)).toBeLessThanOrEqual(60);
    await sleep(100);
    expect(model.received.some((e) => e.type === 'response.cancel')).toBe(false);
    expect(model.errors).toHaveLength(0);
  });

  it('reacts to speech_started within a few milliseconds', async () => {
    const { caller, model } = await inConversation();
    const answering = model.respond({ text: 'A long answer to interrupt.', audioMs: 3000, realtimeFactor: 4 });
    await until(() => caller.heardBytes > 8 * 800, 5000, 'audio playing');
    model.speechStarted();
    await until(() => caller.clearsAt.length === 1, 1000, 'clear');
    await answering;
    const session = h!.sessions.get(caller.callSid)!;
    // Measured inside the relay: from the speech_started frame being handled to `clear` written.
    expect(session.bargeInReactionMs).toHaveLength(1);
    expect(session.bargeInReactionMs[0]).toBeLessThan(50);
  });

  it('lets the caller talk over a non-interruptible greeting without stopping it', async () => {
    h = await startHarness({ merchant: { greetingInterruptible: false } });
    const { caller, model } = await h.call();
    model.onResponseCreate(() => ({
      text: 'Welcome to the practice, please listen to the following.',
      audioMs: 1500,
      realtimeFactor: 4,
    }));
    await until(() => caller.heardBytes > 8 * 300, 5000, 'greeting playing');
    model.speechStarted();
    await sleep(200);
    expect(caller.clearsAt).toHaveLength(0);
    expect(model.received.some((e) => e.type === 'response.cancel')).toBe(false);
    await until(() => caller.heardBytes >= 8 * 1500, 5000, 'the whole greeting');
  });

  it('stops an interruptible greeting', async () => {
    h = await startHarness({ merchant: { greetingInterruptible: true } });
    const { caller, model } = await h.call();
    model.onResponseCreate(() => ({
      text: 'Welcome to the practice, please listen to the following.',
      audioMs: 3000,
      realtimeFactor: 4,
    }));
    await until(() => caller.heardBytes > 8 * 300, 5000, 'greeting playing');
    model.speechStarted();
    await until(() => caller.clearsAt.length === 1, 1000, 'clear');
    await sleep(200);
    expect(caller.heardBytes).toBeLessThan(8 * 1500);
  });
});
