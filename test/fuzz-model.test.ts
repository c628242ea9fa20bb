import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { loadConfig } from '../src/config.js';
import { loadEdgeConfig } from '../src/http/edge-config.js';
import { startHarness, sleep, until, type Harness } from './support/relay-harness.js';
import type { FakeModelSession } from '../src/sim/model/model-server.js';

// Issue 7: the model socket is untrusted input too. Each run dials one call, lets the fake model
// send a random mix of malformed JSON, unknown events, deltas for unknown items/responses,
// non-base64 deltas, function calls with broken arguments, response.done without response.created,
// huge messages and binary frames, then checks that the call is still up, that the caller still
// hears a valid response afterwards, and that hanging up leaves exactly one record.

const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2_147_483_647);
const RUNS = Number(process.env.FUZZ_RUNS ?? 15);

type Msg = string | object | Buffer;
interface Ids {
  responseId: string;
  itemId: string;
}
type MsgGen = (ids: Ids) => Msg;

const weird = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.nat(), { maxLength: 3 }),
  fc.object({ maxDepth: 1, maxKeys: 3 }),
);
const someId = fc.oneof(fc.constantFrom('live', 'unknown', ''), weird);
const id = (v: unknown, live: string): unknown =>
  v === 'live' ? live : v === 'unknown' ? `resp_${'x'.repeat(12)}` : v;
const b64 = fc.uint8Array({ minLength: 1, maxLength: 1600 }).map((b) => Buffer.from(b).toString('base64'));
const delta = fc.oneof(
  { weight: 4, arbitrary: b64 },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '"}{',
      'not base64!',
      '\\"',
      '====',
      'AA\nAA',
      '{"event":"clear"}',
      'to',
      'A',
      'AAAAA',
      'AAA==',
    ),
  },
  { weight: 1, arbitrary: weird },
  { weight: 1, arbitrary: fc.integer({ min: 100_000, max: 400_000 }).map((n) => 'A'.repeat(n - (n % 4))) },
);
const audioType = fc.constantFrom('response.output_audio.delta', 'response.audio.delta');

// Fatal error codes end a call by design (apology + model_error), so the fuzz keeps to the others.
const FATAL = new Set([
  'session_expired',
  'invalid_api_key',
  'beta_api_shape_disabled',
  'insufficient_quota',
  'model_not_found',
]);

const events: fc.Arbitrary<MsgGen> = fc.oneof(
  // Malformed and unknown.
  fc.string({ unit: 'binary', maxLength: 200 }).map((s) => () => s),
  fc
    .constantFrom(
      '{',
      '{"type":',
      'null',
      '[]',
      '"str"',
      '{"type":null}',
      '{"type":{"a":1}}',
      '{"type":"response.done","response":',
    )
    .map((s) => () => s),
  fc.jsonValue({ maxDepth: 3 }).map((v) => () => JSON.stringify(v) ?? 'null'),
  fc
    .record({
      type: fc.oneof(
        fc.string({ maxLength: 30 }),
        fc.constantFrom('session.unknown', 'response.weird', 'rate_limits.updated', '__proto__', 'constructor'),
      ),
      extra: weird,
    })
    .map((o) => () => o),
  // Audio deltas: unknown items/responses, non-base64, huge.
  fc.record({ t: audioType, r: someId, i: someId, d: delta }).map(({ t, r, i, d }) => (x: Ids) => ({
    type: t,
    response_id: id(r, x.responseId),
    item_id: id(i, x.itemId),
    delta: d,
  })),
  // Responses out of order: done without created, created twice, done for unknown ids, odd statuses.
  fc
    .record({
      r: someId,
      status: fc.oneof(fc.constantFrom('completed', 'cancelled', 'failed', 'incomplete'), weird),
      usage: fc.oneof(weird, fc.constant({ input_tokens: -5, output_tokens: 1e308, total_tokens: 'x' })),
    })
    .map(({ r, status, usage }) => (x: Ids) => ({
      type: 'response.done',
      response: { id: id(r, x.responseId), status, usage, output: [] },
    })),
  someId.map((r) => (x: Ids) => ({
    type: 'response.created',
    response: { id: id(r, x.responseId), status: 'in_progress' },
  })),
  fc.constantFrom('response.done', 'response.created').map((t) => () => ({ type: t, response: 'not an object' })),
  // Function calls with broken arguments, empty names, duplicate or weird call ids, in response.done…
  fc
    .record({
      calls: fc.array(
        fc.record({
          call_id: fc.oneof(fc.constantFrom('call_1', 'call_1', ''), fc.string({ maxLength: 10 })),
          name: fc.oneof(fc.constantFrom('lookupCustomer', '', 'rm -rf /'), fc.string({ maxLength: 20 })),
          arguments: fc.oneof(fc.constantFrom('{bad', '', 'null', '[]', '{"phone":'), fc.json({ maxDepth: 2 })),
        }),
        { maxLength: 5 },
      ),
      status: fc.constantFrom('completed', 'completed', 'cancelled'),
    })
    .map(({ calls, status }) => (x: Ids) => ({
      type: 'response.done',
      response: { id: x.responseId, status, output: calls.map((c) => ({ type: 'function_call', ...c })) },
    })),
  // …and as streamed argument events.
  fc
    .record({
      a: fc.oneof(fc.constantFrom('{bad', '\u0000'), fc.string({ maxLength: 50 })),
      n: fc.string({ maxLength: 10 }),
    })
    .map(({ a, n }) => (x: Ids) => ({
      type: 'response.function_call_arguments.done',
      response_id: x.responseId,
      call_id: 'call_z',
      name: n,
      arguments: a,
    })),
  // Caller-side events at odd times (barge-ins with nothing playing, commits without items).
  fc
    .constantFrom(
      'input_audio_buffer.speech_started',
      'input_audio_buffer.speech_stopped',
      'input_audio_buffer.committed',
    )
    .map((t) => () => ({ type: t, item_id: 'item_x', audio_start_ms: -1 })),
  // Transcripts and items for unknown ids.
  fc.record({ i: someId, text: weird }).map(({ i, text }) => (x: Ids) => ({
    type: 'response.output_audio_transcript.delta',
    item_id: id(i, x.itemId),
    delta: text,
  })),
  fc.record({ i: someId, text: weird }).map(({ i, text }) => (x: Ids) => ({
    type: 'conversation.item.input_audio_transcription.completed',
    item_id: id(i, x.itemId),
    transcript: text,
  })),
  fc.record({ i: someId }).map(({ i }) => (x: Ids) => ({
    type: 'response.output_item.added',
    response_id: x.responseId,
    item: { type: 'message', id: id(i, x.itemId) },
  })),
  fc.record({ i: someId, ms: weird }).map(({ i, ms }) => (x: Ids) => ({
    type: 'conversation.item.truncated',
    item_id: id(i, x.itemId),
    audio_end_ms: ms,
  })),
  // Session events again, errors that are not fatal, pings.
  fc
    .constantFrom('session.updated', 'session.created', 'conversation.created', 'ping')
    .map((t) => () => ({ type: t, session: { id: 'sess_x' } })),
  fc
    .record({
      code: fc.oneof(
        fc.constantFrom('rate_limit_exceeded', 'response_cancel_not_active', 'invalid_value', 'server_error'),
        fc.string({ maxLength: 20 }),
      ),
      message: fc.string({ maxLength: 60 }),
    })
    .filter(({ code }) => !FATAL.has(code))
    .map(({ code, message }) => () => ({ type: 'error', error: { type: 'invalid_request_error', code, message } })),
  // Huge messages and binary frames.
  fc
    .integer({ min: 500_000, max: 3_000_000 })
    .map(
      (n) => () =>
        JSON.stringify({ type: 'response.output_audio_transcript.delta', item_id: 'i', delta: 'z'.repeat(n) }),
    ),
  fc.uint8Array({ maxLength: 2000 }).map((b) => () => Buffer.from(b)),
);

/** Text as text frames, a Buffer as a binary frame. */
function send(session: FakeModelSession, msg: Msg): void {
  session.sendRaw(msg);
}

const tracked: unknown[] = [];
const onRejection = (reason: unknown) => tracked.push(reason);

const FUZZ_TOKEN = 'twilio-auth-token-for-the-model-fuzz-01';
const STREAM_SIGNATURE = twilio.getExpectedTwilioSignature(FUZZ_TOKEN, 'wss://relay.test/media-stream', {});

let h: Harness;
beforeAll(async () => {
  process.on('unhandledRejection', onRejection);
  // Signed like Twilio: only a verified signature lifts the 10-upgrades-a-minute limit per address.
  const edge = loadEdgeConfig({ TWILIO_AUTH_TOKEN: FUZZ_TOKEN }, loadConfig({ PORT: '0', PUBLIC_HOST: 'relay.test' }));
  // Short answers (greeting included) keep a run to a few hundred milliseconds.
  const short = (session: FakeModelSession) => session.onResponseCreate(() => ({ text: 'Okay.', audioMs: 100 }));
  h = await startHarness({ overrides: { edge }, model: { realtimeFactor: 20, onSession: short } });
});
afterAll(async () => {
  await h?.close();
  process.off('unhandledRejection', onRejection);
});

describe('fuzzing the model socket', () => {
  it('a call survives whatever the model sends: it still reaches the caller, and leaves one record', async () => {
    console.log(`fuzz-model: seed ${SEED} (FUZZ_SEED=${SEED} reproduces this run)`);
    let sent = 0;
    let retries = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(events, { minLength: 30, maxLength: 120 }), fc.boolean(), async (gens, midResponse) => {
        // Twilio's User-Agent: the per-IP upgrade limit (10/min) is for non-Twilio clients.
        const { caller, model } = await h.call({ headers: { 'X-Twilio-Signature': STREAM_SIGNATURE } });
        await until(() => h.states.get(caller.callSid)?.at(-1) === 'session.listening', 5000, 'listening');
        // Half the runs start in the middle of a real response, so deltas and done events race it.
        const live = midResponse
          ? model
              .respond({ text: 'A longer answer that is still playing.', audioMs: 800, realtimeFactor: 2 })
              .catch(() => undefined)
          : undefined;
        await sleep(20);
        const ids = {
          responseId: model.activeResponseId ?? 'resp_none',
          itemId: model.items.at(-1)?.id ?? 'item_none',
        };
        for (const g of gens) {
          send(model, g(ids));
          sent++;
        }
        await sleep(50);
        await live;
        // The call is up and the relay still answers for it.
        expect(caller.state).toBe('open');
        expect(h.relay.server.calls.has(caller.callSid)).toBe(true);
        expect(model.isOpen).toBe(true);
        // A valid response after all that is heard in full. A barge-in in the junk may have marked
        // the next requested response as already cancelled, so the model gets a second chance.
        let heard = false;
        for (let attempt = 0; attempt < 3 && !heard; attempt++) {
          if (attempt > 0) retries++;
          await until(() => model.activeResponseId === undefined, 3000, 'model idle');
          const before = caller.heardBytes + caller.queuedPlaybackBytes;
          await model.respond({ text: 'This one is valid.', audioMs: 400 });
          heard = await caller
            .waitFor((c) => c.heardBytes + c.queuedPlaybackBytes >= before + 8 * 400, 1500, 'valid response')
            .then(
              () => true,
              () => false,
            );
        }
        expect(heard).toBe(true);
        // Nothing the relay sent would be refused by Twilio (e.g. a delta "to" that passes a base64 alphabet check).
        expect(caller.protocolErrors).toEqual([]);
        await caller.hangUp();
        const rec = await h.recorder.waitFor(caller.callSid, 3000);
        expect(rec.endReason).toBe('caller_hung_up');
        await sleep(30);
        expect(h.recorder.records.filter((r) => r.callSid === caller.callSid)).toHaveLength(1);
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: true },
    );
    console.log(
      `fuzz-model: ${sent} model messages over ${RUNS} calls; ${retries} valid responses needed a second try`,
    );
    expect(sent).toBeGreaterThan(RUNS * 30);
    expect(tracked).toEqual([]);
  }, 90_000);

  // BUG (found by the log scan in security.test.ts, pinned here): a response that starts while the
  // greeting is still playing (greeting.draining: server VAD answered the caller talking over the end
  // of a non-interruptible greeting) and ends with a function call is ignored: greeting.draining has
  // no model.responseCreated transition, so its response.done hits only the machine-level handler, the
  // tool never runs, no function_call_output is sent, and the model waits for one forever.
  // Fixed in machines/call.machine.ts: greeting.draining now takes model.responseCreated to
  // speaking.producing, as speaking.draining does.
  it('runs a tool call whose response started while the greeting was still playing', async () => {
    const { caller, model } = await h.call({ headers: { 'X-Twilio-Signature': STREAM_SIGNATURE } });
    model.onResponseCreate(() => ({ text: 'Hello there, welcome to the line.', audioMs: 1500 }));
    await model.waitFor('response.create', undefined, 3000);
    await until(() => model.activeResponseId === undefined, 5000, 'greeting sent');
    // The relay reads response.done a moment after the fake sent it.
    await until(() => h.states.get(caller.callSid)?.at(-1) === 'session.greeting.draining', 3000, 'greeting draining');
    await model.respond({
      text: 'Let me look that up.',
      audioMs: 100,
      functionCalls: [{ name: 'lookupCustomer', arguments: '{}' }],
    });
    try {
      await model.waitFor('conversation.item.create', (e) => e.item.type === 'function_call_output', 4000);
    } finally {
      await caller.hangUp();
    }
  });
});
