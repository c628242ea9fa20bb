import { loadConfig } from '../src/config.js';
import { loadEdgeConfig } from '../src/http/edge-config.js';
import { startHarness, sleep, until } from '../test/support/relay-harness.js';

// The figure in docs/reliability.md: N simulated calls (loopback, fake model, the real relay), each
// with its model socket dropped once at a random point (greeting, mid-answer, during a tool,
// listening), abruptly or with a close frame. Counts the calls that went on (a new session, no
// apology, the caller hung up normally), the longest silence a caller heard from the drop until the
// call was listening again with nothing left to play, and that every call left exactly one record.
// On xai the dropped session is resumed (session.resumption); `resumed` counts the calls that were.
// Usage: npx tsx scripts/model-drop-reliability.ts [calls=200] [seed=1] [openai|xai]

const calls = Number(process.argv[2] ?? 200);
let seed = Number(process.argv[3] ?? 1);
const dialect = process.argv[4] === 'xai' ? 'xai' : 'openai';
/** Deterministic, so a run can be repeated (mulberry32). */
function random(): number {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

type Phase = 'greeting' | 'speaking' | 'tool' | 'listening';
const phases: Phase[] = ['greeting', 'speaking', 'tool', 'listening'];

// As in test/faults.test.ts: Twilio's user agent and the default edge. The edge allows an address
// 10 WebSocket upgrades a minute, so calls run in batches of 9, each batch on a relay of its own.
const TWILIO_UA = { 'User-Agent': 'TwilioProxy/1.1' };
const edge = loadEdgeConfig({}, loadConfig({ PORT: '0', PUBLIC_HOST: 'relay.test' }));
const BATCH = 9;
const harness = () =>
  startHarness({
    dialect,
    overrides: {
      edge,
      runTool: async (call) => {
        await sleep(800);
        return { callId: call.callId, ok: true, output: '{"found":false}' };
      },
    },
  });
type Harness = Awaited<ReturnType<typeof harness>>;

interface Outcome {
  phase: Phase;
  at: string;
  continued: boolean;
  resumed: boolean;
  silenceMs: number;
  endReason: string;
}

async function one(h: Harness): Promise<Outcome> {
  const phase = phases[Math.floor(random() * phases.length)] ?? 'speaking';
  const delayMs = Math.floor(random() * 1500);
  const abrupt = random() < 0.5;
  const { caller, model } = await h.call({ headers: TWILIO_UA });
  const states = () => h.states.get(caller.callSid) ?? [];
  const state = () => states().at(-1) ?? '';
  if (phase === 'greeting') await model.waitFor('response.create', undefined, 3000);
  else await until(() => state() === 'session.listening', 8000, 'listening');
  if (phase === 'speaking') void model.respond({ text: 'A long answer.', audioMs: 4000 }).catch(() => undefined);
  if (phase === 'tool')
    void model
      .respond({ text: 'Let me check.', audioMs: 300, functionCalls: [{ name: 'lookupCustomer', arguments: '{}' }] })
      .catch(() => undefined);
  await sleep(delayMs);
  const at = state();
  const seen = states().length;
  if (abrupt) model.drop();
  else model.drop(1011, 'internal error');
  const dropAt = performance.now();
  const reconnected = () =>
    h.sessions
      .get(caller.callSid)
      ?.timeline.entries()
      .some((e) => e.kind === 'reconnect') ?? false;
  // Back to listening with nothing left to play, or over.
  await until(
    () => caller.state === 'closed' || (reconnected() && states().length > seen && state() === 'session.listening'),
    15_000,
    'the call to settle',
  ).catch(() => undefined);
  const settledAt = performance.now();
  await until(() => caller.state === 'closed' || caller.queuedPlaybackBytes === 0, 10_000, 'playback').catch(
    () => undefined,
  );
  // Only where an answer was owed (not a drop while listening), and only until the call listened again:
  // later quiet is the conversation's own (the silence re-prompt comes after 8 s of it).
  let silenceMs = 0;
  let heardUntil = dropAt;
  for (const s of at === 'session.listening' ? [] : caller.heardSegments) {
    if (s.endAt <= dropAt || s.startAt > settledAt) continue;
    silenceMs = Math.max(silenceMs, s.startAt - heardUntil);
    heardUntil = Math.max(heardUntil, s.endAt);
  }
  if (caller.state !== 'closed') await caller.hangUp().catch(() => undefined);
  const rec = await h.recorder.waitFor(caller.callSid, 10_000);
  const continued = rec.endReason === 'caller_hung_up' && !states().includes('apologizing');
  const resumed = rec.timeline.some((e) => e.kind === 'reconnect' && e.resumed === true);
  return { phase, at, continued, resumed, silenceMs: Math.round(silenceMs), endReason: rec.endReason };
}

const outcomes: Outcome[] = [];
let records = 0;
let duplicated = 0;
for (let done = 0; done < calls; done += BATCH) {
  const h = await harness();
  const n = Math.min(BATCH, calls - done);
  outcomes.push(...(await Promise.all(Array.from({ length: n }, () => one(h)))));
  await sleep(1000); // a tool finishing after its call ended must not add a record
  records += h.recorder.records.length;
  const perCall = new Map<string, number>();
  for (const r of h.recorder.records) perCall.set(r.callSid, (perCall.get(r.callSid) ?? 0) + 1);
  duplicated += [...perCall.values()].filter((k) => k > 1).length;
  await h.close();
}
const continued = outcomes.filter((o) => o.continued);
const silences = continued.map((o) => o.silenceMs).sort((a, b) => a - b);
const byPhase = Object.fromEntries(
  phases.map((p) => {
    const of = outcomes.filter((o) => o.phase === p);
    return [p, `${of.filter((o) => o.continued).length}/${of.length}`];
  }),
);
const endReasons: Record<string, number> = {};
for (const o of outcomes) endReasons[o.endReason] = (endReasons[o.endReason] ?? 0) + 1;
const pick = (q: number) => silences[Math.min(silences.length - 1, Math.floor(silences.length * q))];
console.log(
  JSON.stringify(
    {
      calls,
      dialect,
      continued: continued.length,
      resumed: outcomes.filter((o) => o.resumed).length,
      byPhase,
      endReasons,
      silenceMs: { median: pick(0.5), p95: pick(0.95), max: silences.at(-1) },
      records,
      duplicatedRecords: duplicated,
      notContinued: outcomes.filter((o) => !o.continued).map((o) => `${o.phase}@${o.at}: ${o.endReason}`),
    },
    null,
    2,
  ),
);
