import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, until, type Harness } from './support/relay-harness.js';
import type { SimCaller } from '../src/sim/twilio/caller.js';

// A merchant option the provider refuses at run time (`unknown_parameter` / `invalid_value` naming a
// session field) must not cost the caller the call: the session is sent again without that option
// and the call goes on with the provider's default for it.

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const state = (c: SimCaller) => h?.states.get(c.callSid)?.at(-1) ?? '';

describe('a session option the provider refuses', () => {
  for (const code of ['unknown_parameter', 'invalid_value'] as const) {
    it(`${code} on session.reasoning.effort: the session goes again without it; the caller is greeted`, async () => {
      h = await startHarness({
        merchant: { realtime: { reasoningEffort: 'high', noiseReduction: 'far_field' } },
        model: { refuseSessionFields: { 'session.reasoning.effort': code } },
      });
      const { caller, model } = await h.call();
      const first = await model.waitFor('session.update', undefined, 3000);
      expect(first.session).toMatchObject({ reasoning: { effort: 'high' } });
      await until(() => model.errors.some((e) => e.param === 'session.reasoning.effort'), 3000, 'the refusal');
      const second = await model.waitFor('session.update', (e) => e !== first, 3000);
      // Only the refused option is gone: the merchant's other choices stay.
      expect(second.session).not.toHaveProperty('reasoning');
      expect(second.session).toMatchObject({ audio: { input: { noise_reduction: { type: 'far_field' } } } });
      await until(() => caller.heardBytes > 8 * 300, 5000, 'the greeting to be heard');
      await until(() => state(caller) === 'session.listening', 8000, 'listening');
      expect(model.appendsBeforeSessionUpdated).toBe(0);

      // A later socket of the same call (here after a drop) does not offer the option again.
      const next = h.model.nextSession(3000);
      model.drop();
      const replacement = await next;
      const update = await replacement.waitFor('session.update', undefined, 3000);
      expect(update.session).not.toHaveProperty('reasoning');
      await until(() => replacement.received.some((e) => e.type === 'conversation.item.create'), 3000, 'seeded');
      expect(replacement.errors).toEqual([]);

      await caller.hangUp();
      const rec = await h.recorder.waitFor(caller.callSid, 3000);
      expect(rec.endReason).toBe('caller_hung_up');
      expect(h.states.get(caller.callSid)).not.toContain('apologizing');
    }, 20_000);
  }

  it('a refused field the relay needs is not dropped: the call apologises as before', async () => {
    h = await startHarness({
      env: { MODEL_CONNECT_TIMEOUT_MS: '1500' },
      model: { refuseSessionFields: { 'session.audio.input.format': 'invalid_value' } },
    });
    const { caller, model } = await h.call();
    await until(() => model.errors.length > 0, 3000, 'the refusal');
    await until(() => state(caller) === 'apologizing', 5000, 'the apology');
    expect(model.received.filter((e) => e.type === 'session.update')).toHaveLength(1);
  }, 20_000);
});
