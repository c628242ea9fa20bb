import { afterEach, describe, expect, it } from 'vitest';
import { FILLER_INSTRUCTIONS } from '../src/call/prompts.js';
import { startHarness, sleep, until, type Harness } from './support/relay-harness.js';
import type { SimCaller } from '../src/sim/twilio/caller.js';
import type { FakeModelSession } from '../src/sim/model/model-server.js';

// While a slow tool works the caller must not sit in silence, and must not hear the same "one moment"
// twice: a model that already said something before its function call (gpt-realtime-2's preamble)
// gets no filler from the relay; a model that called the tool without a word gets the filler.

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const state = (c: SimCaller) => h?.states.get(c.callSid)?.at(-1) ?? '';
const fillers = (m: FakeModelSession) =>
  m.received.filter((e) => e.type === 'response.create' && e.response?.instructions === FILLER_INSTRUCTIONS);
const outputAt = (m: FakeModelSession) =>
  m.received.findIndex((e) => e.type === 'conversation.item.create' && e.item.type === 'function_call_output');

async function slowToolCall(preamble: string | undefined): Promise<{ caller: SimCaller; model: FakeModelSession }> {
  h = await startHarness({
    overrides: {
      runTool: async (call) => {
        await sleep(2200);
        return { callId: call.callId, ok: true, output: '{"free":true}' };
      },
    },
  });
  const { caller, model } = await h.call();
  await until(() => state(caller) === 'session.listening', 8000, 'listening');
  const functionCalls = [{ name: 'checkAvailability', arguments: '{"day":"friday"}' }];
  await model.respond(preamble ? { text: preamble, audioMs: 400, functionCalls } : { functionCalls });
  await until(() => outputAt(model) >= 0, 6000, 'the tool output');
  await until(() => state(caller) === 'session.listening', 8000, 'listening after the answer');
  return { caller, model };
}

describe('a slow tool', () => {
  it('after a preamble: no filler; the caller hears the preamble, then the answer', async () => {
    const { caller, model } = await slowToolCall('Let me look at Friday for you.');
    expect(fillers(model)).toEqual([]);
    // The answer to the output was asked for once, and nothing else was asked while the tool ran.
    expect(model.received.slice(outputAt(model)).filter((e) => e.type === 'response.create')).toHaveLength(1);
    await caller.hangUp();
    const rec = await h!.recorder.waitFor(caller.callSid, 3000);
    expect(rec.transcript.filter((e) => e.role === 'assistant').map((e) => e.text)).toContain(
      'Let me look at Friday for you.',
    );
  }, 20_000);

  it('without a word before the call: the filler, before the output goes back', async () => {
    const { caller, model } = await slowToolCall(undefined);
    const filler = fillers(model)[0];
    expect(filler).toBeDefined();
    expect(model.received.indexOf(filler!)).toBeLessThan(outputAt(model));
    expect(fillers(model)).toHaveLength(1);
    await caller.hangUp();
  }, 20_000);
});
