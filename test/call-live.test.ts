import { afterEach, describe, expect, it } from 'vitest';
import { speechLike } from '../src/audio/speechlike.js';
import { FakeLiveServer, type FakeLiveSession } from '../src/sim/live/live-server.js';
import { SimCaller } from '../src/sim/twilio/caller.js';
import type { ToolSpec } from '../src/tools/tool.js';
import { startHarness, sleep, until, type Harness } from './support/relay-harness.js';

// A whole call on OpenAI GPT-Live (PROVIDER=openai-live) against the fake Live server: the session
// starts the Live way, the caller is greeted, talks over an answer (the model stops itself; the relay
// clears what Twilio still holds and never sends a cancel or a truncate), presses a key that makes
// the model call a tool through its delegated backend, and the call is recorded once.

let h: Harness | undefined;
let live: FakeLiveServer | undefined;
afterEach(async () => {
  await h?.close();
  await live?.close();
  h = undefined;
  live = undefined;
});

const LOOKUP: ToolSpec = {
  name: 'lookupCustomer',
  description: "Looks up the caller's bookings.",
  parameters: { type: 'object', properties: {}, additionalProperties: false },
};

const RELAY_ONLY = ['response.cancel', 'conversation.item.truncate', 'conversation.item.create', 'session.update'];

async function liveCall(
  env: Record<string, string> = {},
  params: Record<string, string> = {},
): Promise<{ caller: SimCaller; model: FakeLiveSession; state: () => string }> {
  // Twice real time: the relay gets ahead of the caller, so Twilio holds audio a barge-in must clear.
  live = await FakeLiveServer.start({ apiKey: 'sk-test', realtimeFactor: 2, agent: { toolCallOnDigits: true } });
  h = await startHarness({
    env: { PROVIDER: 'openai-live', OPENAI_LIVE_URL: live.url, ...env },
    overrides: {
      toolSpecs: () => [LOOKUP],
      runTool: async (call) => ({ callId: call.callId, ok: true, output: '{"found":true,"name":"Ada"}' }),
    },
  });
  const caller = await SimCaller.connect({
    url: h.url,
    customParameters: { merchantId: h.merchant.id, callerPhone: '+14155550100', direction: 'inbound', ...params },
  });
  const model = await live.nextSession(5000);
  return { caller, model, state: () => h?.states.get(caller.callSid)?.at(-1) ?? '' };
}

describe('GPT-Live (openai-live)', () => {
  it('greets, yields to the caller, answers keys with a tool, and records the call', async () => {
    const { caller, model, state } = await liveCall();
    // session.start first, the model in it (not in the URL), Twilio's format both ways, tools delegated.
    const start = await model.waitFor('session.start');
    expect(model.received[0]?.type).toBe('session.start');
    expect(start.raw.session).toMatchObject({
      model: 'gpt-live-1',
      audio: { format: { type: 'audio/pcmu', rate: 8000 } },
      delegation: { type: 'responses', responses: { model: 'gpt-5.5' } },
    });
    expect(model.tools.map((t) => t.name)).toContain('lookupCustomer');
    expect(live?.rejectedUpgrades).toBe(0);

    // The greeting: asked for as instructions; the model decides to say it.
    await until(() => caller.heardBytes > 8 * 500, 8000, 'the greeting to be heard');
    await until(() => state() === 'session.listening', 10_000, 'listening after the greeting');

    // The caller asks something; the model answers; the caller talks over the answer.
    await caller.say(speechLike({ ms: 900, seed: 3 }));
    await until(() => state().startsWith('session.speaking'), 8000, 'the answer');
    await sleep(700);
    const clearsBefore = caller.clearsAt.length;
    await caller.say(speechLike({ ms: 1500, seed: 4 }));
    await until(() => caller.clearsAt.length > clearsBefore, 8000, 'Twilio cleared after the model stopped');
    expect(model.said.some((l) => l.yielded)).toBe(true);
    await until(() => state() === 'session.listening', 10_000, 'listening after the barge-in');

    // Keypad: the model calls a tool through its backend; the output goes back, the model speaks it.
    await sleep(1500);
    caller.sendDtmf('1');
    await model.waitFor('response.item.create', 10_000);
    const output = model.received.find((e) => e.type === 'response.item.create');
    expect(output?.raw.item).toMatchObject({ type: 'function_call_output', output: '{"found":true,"name":"Ada"}' });
    await model.waitFor('response.create', 3000);
    await until(() => model.said.some((l) => /checked that for you/.test(l.text)), 5000, 'the tool result said');
    await until(() => state() === 'session.listening', 10_000, 'listening after the tool');

    await caller.hangUp();
    const rec = await h!.recorder.waitFor(caller.callSid, 5000);
    expect(rec.provider).toBe('openai-live');
    expect(rec.model).toBe('gpt-live-1');
    expect(rec.endReason).toBe('caller_hung_up');
    expect(rec.stats.bargeIns).toBeGreaterThanOrEqual(1);
    expect(rec.usage.audioSeconds).toBeGreaterThan(0);
    const texts = rec.transcript.map((e) => `${e.role}: ${e.text}`);
    expect(texts.some((t) => t.startsWith('assistant:'))).toBe(true);
    // The answer talked over is kept as far as the caller heard it.
    expect(rec.transcript.some((e) => e.role === 'assistant' && e.interrupted)).toBe(true);
    expect(texts.some((t) => t.includes('keypad: 1'))).toBe(true);
    expect(texts.some((t) => t.startsWith('tool: lookupCustomer'))).toBe(true);
    // The relay never tried to steer the model's speech: Live has no such commands.
    expect(model.received.filter((e) => RELAY_ONLY.includes(e.type))).toEqual([]);
    expect(model.errors).toEqual([]);
  }, 60_000);

  it('leaves the voicemail message when a machine answered, then hangs up', async () => {
    const { caller, model, state } = await liveCall({}, { answeredBy: 'machine_end_beep', direction: 'outbound' });
    await model.waitFor('session.instructions.append');
    await until(() => caller.state === 'closed', 15_000, 'the relay to hang up');
    const rec = await h!.recorder.waitFor(caller.callSid, 5000);
    expect(rec.endReason).toBe('voicemail_left');
    expect(caller.heardBytes).toBeGreaterThan(0);
    expect(h!.states.get(caller.callSid)).toContain('voicemail.producing');
    expect(state()).toBe('teardown');
  }, 30_000);

  it("at the maximum length lets the answer in progress finish (it is the model's), then wraps up", async () => {
    const { caller, model } = await liveCall({ MAX_CALL_SECONDS: '2' });
    await until(() => caller.state === 'closed', 25_000, 'the call to end');
    const rec = await h!.recorder.waitFor(caller.callSid, 5000);
    expect(rec.endReason).toBe('max_duration');
    const states = h!.states.get(caller.callSid) ?? [];
    // The greeting still playing at 2 s was neither cut nor cleared: the relay waited for the floor.
    expect(states).toContain('wrappingUp.waitingFloor');
    expect(states).not.toContain('wrappingUp.cutting');
    expect(caller.clearsAt).toEqual([]);
    expect(model.said[0]?.yielded).toBe(false);
    const wrap = model.received.filter((e) => e.type === 'session.instructions.append');
    expect(wrap.some((e) => JSON.stringify(e.raw).includes('maximum length'))).toBe(true);
  }, 40_000);
});
