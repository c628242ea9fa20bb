import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, sleep, until, type Harness } from './support/relay-harness.js';
import type { SimCaller } from '../src/sim/twilio/caller.js';
import type { FakeModelSession } from '../src/sim/model/model-server.js';

// A model socket that drops mid-call is replaced (src/providers/reconnecting-connection.ts): the new
// session hears the conversation so far, a cut-off answer is finished, and the caller hears a pause
// instead of the apology. Only a reconnect that fails within its bound ends the call.

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const state = (c: SimCaller) => h?.states.get(c.callSid)?.at(-1) ?? '';

/** The longest silence the caller heard between `from` and `to` (audio already queued plays first). */
function longestSilence(caller: SimCaller, from: number, to: number): number {
  let longest = 0;
  let heardUntil = from;
  for (const s of caller.heardSegments) {
    if (s.endAt <= from || s.startAt >= to) continue;
    longest = Math.max(longest, s.startAt - heardUntil);
    heardUntil = Math.max(heardUntil, s.endAt);
  }
  return longest;
}

for (const dialect of ['openai', 'xai'] as const) {
  describe(`a dropped model socket (${dialect})`, () => {
    it('mid-response: a new session seeded with the conversation finishes the answer; no apology', async () => {
      h = await startHarness({ dialect });
      // xAI resumes the conversation instead (call-xai-resume.test.ts); refused, it seeds as OpenAI does.
      if (dialect === 'xai') h.model.refuseResumption('fresh');
      const { caller, model } = await h.call();
      await until(() => state(caller) === 'session.listening', 8000, 'listening');
      const long = 'Our opening hours are nine to five on weekdays and ten to two on Saturdays, closed Sundays.';
      void model.respond({ text: long, audioMs: 4000 }).catch(() => undefined);
      await until(() => state(caller).startsWith('session.speaking'), 3000, 'speaking');
      await sleep(150);
      const next = h.model.nextSession(3000);
      model.drop();
      const dropAt = performance.now();
      const replacement: FakeModelSession = await next;
      // Seeded with what was said, then asked to finish the cut-off answer.
      const seed = await replacement.waitFor('conversation.item.create', undefined, 3000);
      expect(JSON.stringify(seed)).toContain('Hello! How can I help you today?');
      const create = await replacement.waitFor('response.create', undefined, 3000);
      expect(JSON.stringify(create)).toContain('cut off');
      const seen = h.states.get(caller.callSid)?.length ?? 0;
      const again = () => h?.states.get(caller.callSid)?.slice(seen) ?? [];
      await until(() => again().includes('session.listening'), 8000, 'the answer finished and heard');
      expect(again().some((s) => s.startsWith('session.speaking'))).toBe(true);
      expect(longestSilence(caller, dropAt, performance.now())).toBeLessThan(1000);
      await caller.hangUp();
      const rec = await h.recorder.waitFor(caller.callSid, 3000);
      expect(rec.endReason).toBe('caller_hung_up');
      expect(rec.timeline.filter((e) => e.kind === 'reconnect')).toEqual([
        expect.objectContaining({ kind: 'reconnect', ok: true, attempts: 1 }),
      ]);
      expect(h.states.get(caller.callSid)).not.toContain('apologizing');
    }, 20_000);
  });
}

describe('the session cap', () => {
  it('a session that expires (session_expired) continues in a new one seeded with the conversation', async () => {
    h = await startHarness({ model: { maxSessionMs: 3000 } });
    const { caller, model } = await h.call();
    await until(() => state(caller) === 'session.listening', 8000, 'listening');
    // A caller turn before the cap: both sides of it must reach the next session.
    model.onResponseCreate(() => ({ text: 'We open at nine tomorrow.', audioMs: 300 }));
    model.speechStarted();
    const turn = model.speechStopped();
    model.userTranscript(turn, 'When do you open tomorrow?');
    await until(() => h!.states.get(caller.callSid)?.slice(-3).includes('session.speaking.draining') ?? false, 3000);
    const replacement = await h.model.nextSession(5000);
    const seed = await replacement.waitFor('conversation.item.create', undefined, 3000);
    expect(JSON.stringify(seed)).toContain('Hello! How can I help you today?');
    expect(JSON.stringify(seed)).toContain('Caller: When do you open tomorrow?');
    expect(JSON.stringify(seed)).toContain('Assistant: We open at nine tomorrow.');
    // The new session is not asked to greet again, nor to speak at all: the caller speaks next.
    expect(replacement.received.some((e) => e.type === 'response.create')).toBe(false);
    expect(model.isOpen).toBe(false);
    await until(() => state(caller) === 'session.listening', 3000, 'still listening');
    await caller.hangUp();
    const rec = await h.recorder.waitFor(caller.callSid, 3000);
    expect(rec.endReason).toBe('caller_hung_up');
    expect(rec.timeline.some((e) => e.kind === 'reconnect' && e.ok)).toBe(true);
    expect(h.states.get(caller.callSid)).not.toContain('apologizing');
  }, 20_000);
});

describe('a dropped model socket that cannot be replaced', () => {
  it('retries within the bound, then apologises and ends with model_dropped', async () => {
    h = await startHarness();
    const { caller, model } = await h.call();
    await until(() => state(caller) === 'session.listening', 8000, 'listening');
    h.model.refuseUpgrades(503);
    const dropAt = performance.now();
    model.drop(1011, 'internal error');
    await until(() => state(caller) === 'apologizing', 8000, 'apology');
    const gap = performance.now() - dropAt;
    expect(gap).toBeGreaterThan(4500);
    expect(gap).toBeLessThan(6500);
    expect(h.model.rejectedUpgrades).toBeGreaterThan(2);
    const rec = await h.recorder.waitFor(caller.callSid, 8000);
    expect(rec.endReason).toBe('model_dropped');
    expect(rec.timeline.find((e) => e.kind === 'reconnect')).toMatchObject({ ok: false });
  }, 20_000);

  it('a tool that finishes after the drop: its result reaches the new session as text', async () => {
    h = await startHarness({
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
    const replacement = await next;
    await replacement.waitFor('conversation.item.create', (e) => JSON.stringify(e).includes('Ada'), 4000);
    expect(replacement.received.some((e) => JSON.stringify(e).includes('function_call_output'))).toBe(false);
    await replacement.waitFor('response.create', undefined, 3000);
    await until(() => state(caller) === 'session.listening', 8000, 'listening again');
  }, 20_000);
});
