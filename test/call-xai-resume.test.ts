import { afterEach, describe, expect, it } from 'vitest';
import type { FakeModelSession } from '../src/sim/model/model-server.js';
import type { SimCaller } from '../src/sim/twilio/caller.js';
import { startHarness, sleep, until, type Harness } from './support/relay-harness.js';

// On xAI a dropped model socket resumes the same conversation (session.resumption + conversation_id):
// nothing is seeded, the caller's next turn is answered from the conversation xAI kept. A resumption
// the provider refuses falls back to a fresh session seeded with the conversation, as on OpenAI.

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const state = (c: SimCaller) => h?.states.get(c.callSid)?.at(-1) ?? '';
/** System messages the relay wrote into a session: the seed of a fresh one, never a resumed one's. */
const seeds = (s: FakeModelSession) =>
  s.received.filter((e) => e.type === 'conversation.item.create' && JSON.stringify(e).includes('"role":"system"'));

/** One caller turn answered by `session`: the caller asks, the model answers, the caller hears it. */
async function turn(caller: SimCaller, session: FakeModelSession, asked: string, answer: string): Promise<void> {
  session.onResponseCreate(() => ({ text: answer, audioMs: 300 }));
  const heardBefore = caller.heardBytes;
  session.speechStarted();
  session.userTranscript(session.speechStopped(), asked);
  await until(() => caller.heardBytes - heardBefore >= 8 * 250, 5000, `"${answer}" heard`);
  await until(() => state(caller) === 'session.listening', 5000, 'listening after the answer');
}

/** A call on xAI with one turn done, then its model socket dropped; returns the next session. */
async function dropAfterOneTurn() {
  h = await startHarness({ dialect: 'xai' });
  const { caller, model } = await h.call();
  await until(() => state(caller) === 'session.listening', 8000, 'listening');
  await turn(caller, model, 'When do you open tomorrow?', 'We open at nine tomorrow.');
  const first = model.resumable?.conversationId;
  const next = h.model.nextSession(3000);
  model.drop();
  return { harness: h, caller, model, first, next };
}

describe('xAI session resumption after a dropped model socket', () => {
  it('resumes the same conversation: nothing seeded, the next turn answered, the record says resumed', async () => {
    const { harness, caller, model, first, next } = await dropAfterOneTurn();
    const update = await model.waitFor('session.update', undefined, 100);
    expect(update.session).toMatchObject({ resumption: { enabled: true } });
    expect(first).toMatch(/^conv_/);
    const resumed = await next;
    expect(harness.model.resumption.asked).toEqual([{ conversationId: first, outcome: 'resume' }]);
    await resumed.waitFor('session.update', undefined, 3000);
    expect(resumed.resumable?.conversationId).toBe(first);
    // The conversation xAI kept is the one the next answer comes from; the caller is not greeted again.
    await turn(caller, resumed, 'Do you take cards?', 'Yes, we take cards.');
    const said = JSON.stringify(resumed.items);
    expect(said).toContain('We open at nine tomorrow.');
    expect(said).toContain('Yes, we take cards.');
    expect(seeds(resumed)).toEqual([]);
    expect(harness.model.sessions).toHaveLength(2);
    await caller.hangUp();
    const rec = await harness.recorder.waitFor(caller.callSid, 3000);
    expect(rec.endReason).toBe('caller_hung_up');
    expect(rec.timeline.filter((e) => e.kind === 'reconnect')).toEqual([
      expect.objectContaining({ ok: true, resumed: true, attempts: 1 }),
    ]);
    expect(harness.states.get(caller.callSid)).not.toContain('apologizing');
  }, 20_000);

  it('mid-answer: the resumed session finishes the cut-off answer, without a seed', async () => {
    h = await startHarness({ dialect: 'xai' });
    const { caller, model } = await h.call();
    await until(() => state(caller) === 'session.listening', 8000, 'listening');
    const long = 'Our opening hours are nine to five on weekdays and ten to two on Saturdays, closed Sundays.';
    void model.respond({ text: long, audioMs: 4000 }).catch(() => undefined);
    await until(() => state(caller).startsWith('session.speaking'), 3000, 'speaking');
    await sleep(150);
    const next = h.model.nextSession(3000);
    model.drop();
    const resumed = await next;
    const create = await resumed.waitFor('response.create', undefined, 3000);
    expect(JSON.stringify(create)).toContain('cut off');
    const seen = h.states.get(caller.callSid)?.length ?? 0;
    await until(() => h!.states.get(caller.callSid)?.slice(seen).includes('session.listening') ?? false, 8000);
    expect(seeds(resumed)).toEqual([]);
    await caller.hangUp();
    const rec = await h.recorder.waitFor(caller.callSid, 3000);
    expect(rec.timeline.filter((e) => e.kind === 'reconnect')).toEqual([
      expect.objectContaining({ ok: true, resumed: true }),
    ]);
  }, 20_000);

  it("a tool that finishes after the drop: its output reaches the resumed session as the call's output", async () => {
    h = await startHarness({
      dialect: 'xai',
      overrides: {
        runTool: async (call) => {
          await sleep(600);
          return { callId: call.callId, ok: true, output: '{"found":true,"name":"Ada"}' };
        },
      },
    });
    const { caller, model } = await h.call();
    await until(() => state(caller) === 'session.listening', 8000, 'listening');
    void model
      .respond({ text: 'Let me check.', audioMs: 200, functionCalls: [{ name: 'lookupCustomer', arguments: '{}' }] })
      .catch(() => undefined);
    await until(() => state(caller).startsWith('session.toolPending'), 3000, 'tool pending');
    const next = h.model.nextSession(3000);
    model.drop();
    const resumed = await next;
    // The resumed conversation still holds the function call, so its call_id is answered as such.
    const output = await resumed.waitFor('conversation.item.create', (e) => JSON.stringify(e).includes('Ada'), 4000);
    expect(output.item).toMatchObject({ type: 'function_call_output' });
    expect(seeds(resumed)).toEqual([]);
    expect(resumed.errors).toEqual([]);
    await resumed.waitFor('response.create', undefined, 3000);
    await until(() => state(caller) === 'session.listening', 8000, 'listening again');
  }, 20_000);

  it('refused by an error naming the resumption: falls back to a fresh session seeded with it', async () => {
    h = await startHarness({
      dialect: 'xai',
      model: {
        // The first resumed socket answers with an error about the conversation before its session is ready.
        onSession: (s) => {
          if (h?.model.resumption.asked.length === 1 && h.model.sessions.length === 2)
            s.error('conversation_not_found', 'Session resumption failed: conversation not found');
        },
      },
    });
    const { caller, model } = await h.call();
    await until(() => state(caller) === 'session.listening', 8000, 'listening');
    await turn(caller, model, 'When do you open tomorrow?', 'We open at nine tomorrow.');
    const next = h.model.nextSession(3000);
    model.drop();
    const refusing = await next;
    const fresh = await h.model.nextSession(3000);
    expect(refusing.isOpen).toBe(false);
    const seed = await fresh.waitFor('conversation.item.create', undefined, 3000);
    expect(JSON.stringify(seed)).toContain('Caller: When do you open tomorrow?');
    await turn(caller, fresh, 'Do you take cards?', 'Yes, we take cards.');
    await caller.hangUp();
    const rec = await h.recorder.waitFor(caller.callSid, 3000);
    expect(rec.endReason).toBe('caller_hung_up');
    expect(rec.timeline.filter((e) => e.kind === 'reconnect')).toEqual([
      expect.objectContaining({ ok: true, resumed: false, attempts: 2 }),
    ]);
  }, 20_000);

  for (const refusal of ['upgrade', 'fresh'] as const) {
    const how = refusal === 'upgrade' ? 'the upgrade answered 404' : 'a new conversation under another id';
    it(`refused (${how}): falls back to a fresh session seeded with the conversation`, async () => {
      h = await startHarness({ dialect: 'xai' });
      h.model.refuseResumption(refusal);
      const { caller, model } = await h.call();
      await until(() => state(caller) === 'session.listening', 8000, 'listening');
      await turn(caller, model, 'When do you open tomorrow?', 'We open at nine tomorrow.');
      const first = model.resumable?.conversationId;
      const next = h.model.nextSession(3000);
      model.drop();
      const fresh = await next;
      expect(h.model.resumption.asked).toEqual([
        { conversationId: first, outcome: refusal === 'upgrade' ? 'notFound' : 'fresh' },
      ]);
      const seed = await fresh.waitFor('conversation.item.create', undefined, 3000);
      expect(fresh.resumable?.conversationId).toMatch(/^conv_/);
      expect(fresh.resumable?.conversationId).not.toBe(first);
      expect(JSON.stringify(seed)).toContain('Caller: When do you open tomorrow?');
      expect(JSON.stringify(seed)).toContain('Assistant: We open at nine tomorrow.');
      await turn(caller, fresh, 'Do you take cards?', 'Yes, we take cards.');
      await caller.hangUp();
      const rec = await h.recorder.waitFor(caller.callSid, 3000);
      expect(rec.endReason).toBe('caller_hung_up');
      expect(rec.timeline.filter((e) => e.kind === 'reconnect')).toEqual([
        expect.objectContaining({ ok: true, resumed: false, attempts: refusal === 'upgrade' ? 2 : 1 }),
      ]);
      expect(h.states.get(caller.callSid)).not.toContain('apologizing');
    }, 20_000);
  }
});
