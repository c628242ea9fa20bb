import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { loadConfig } from '../src/config.js';
import { loadEdgeConfig } from '../src/http/edge-config.js';
import { startHarness, sleep, until, type Harness } from './support/relay-harness.js';
import type { SimCaller } from '../src/sim/twilio/caller.js';
import type { FakeModelSession } from '../src/sim/model/model-server.js';

// Issue 7, "proving it holds": random and mutated Twilio Media Streams traffic against a live relay
// (uWS server, call actors, fake model on loopback), with one healthy call running alongside.
// ≥ 100,000 frames: valid shapes with wrong types, missing fields, huge strings, invalid base64,
// binary frames, frames over the 64 KiB drop limit and over the 1 MiB transport limit, events out of
// order, duplicate start/stop, foreign and hijacking streamSid/callSid. What must hold: no crash and
// no unhandled rejection, the healthy call keeps hearing audio at its pace, and every call that
// started leaves exactly one record. Reproduce a run with FUZZ_SEED=<seed printed below>.

const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2_147_483_647);
const CONNECTIONS = 210;
const MIN_FRAMES = 100_000;
/** Frames per burst and the pause after it, per connection: about 10k frames/s in all. */
const BURST = 50;
const PAUSE_MS = 10;

interface Ctx {
  streamSid: string;
  callSid: string;
  healthyStreamSid: string;
  healthyCallSid: string;
}
type Frame = string | Buffer;
type FrameGen = (c: Ctx) => Frame;

const weird = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.nat(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 4 }), fc.string({ maxLength: 4 }), { maxKeys: 3 }),
);
type SidMode = 'own' | 'wrong' | 'healthy' | 'missing' | { weird: unknown };
const sidMode: fc.Arbitrary<SidMode> = fc.oneof(
  { weight: 8, arbitrary: fc.constant<SidMode>('own') },
  { weight: 1, arbitrary: fc.constantFrom<SidMode>('wrong', 'healthy', 'missing') },
  { weight: 1, arbitrary: weird.map((w): SidMode => ({ weird: w })) },
);
function sid(mode: SidMode, own: string, healthy: string): unknown {
  if (mode === 'own') return own;
  if (mode === 'wrong') return `MZ${'f'.repeat(32)}`;
  if (mode === 'healthy') return healthy;
  if (mode === 'missing') return undefined;
  return mode.weird;
}
const b64 = fc.uint8Array({ maxLength: 320 }).map((b) => Buffer.from(b).toString('base64'));
const badB64 = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 60 }),
  fc.constantFrom('"}{bad', '====', 'AAA=A', '\\u0000', '//8=\n', 'a"b', '<script>', '%%%'),
);
const huge = fc.integer({ min: 20_000, max: 70_000 }); // straddles the 64 KiB drop limit
const payload = fc.oneof(
  { weight: 120, arbitrary: b64.map((s) => (): unknown => s) },
  { weight: 30, arbitrary: badB64.map((s) => (): unknown => s) },
  { weight: 20, arbitrary: weird.map((w) => (): unknown => w) },
  { weight: 1, arbitrary: huge.map((n) => (): unknown => 'A'.repeat(n)) },
);

const media: fc.Arbitrary<FrameGen> = fc
  .record({
    s: sidMode,
    p: payload,
    track: fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom('inbound', 'inbound_track') },
      { weight: 1, arbitrary: weird },
    ),
    drop: fc.constantFrom('', '', '', 'media', 'event', 'payload'),
  })
  .map(({ s, p, track, drop }) => (c: Ctx) => {
    const m: Record<string, unknown> = { track, chunk: '1', timestamp: '20', payload: p() };
    if (drop === 'payload') delete m.payload;
    const o: Record<string, unknown> = {
      event: 'media',
      sequenceNumber: '2',
      streamSid: sid(s, c.streamSid, c.healthyStreamSid),
      media: drop === 'media' ? 'nope' : m,
    };
    if (drop === 'event') delete o.event;
    return JSON.stringify(o);
  });

const markName = fc.oneof(
  { weight: 10, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
  {
    weight: 10,
    arbitrary: fc.constantFrom('0:end:1', '0:end:2', '0:0:100', '1:0:5', 'apology', 'NaN:end:1', ':::', '0:99:1e308'),
  },
  { weight: 1, arbitrary: huge.map((n) => 'm'.repeat(n)) },
  { weight: 5, arbitrary: weird },
);
const mark: fc.Arbitrary<FrameGen> = fc.record({ s: sidMode, name: markName }).map(
  ({ s, name }) =>
    (c: Ctx) =>
      JSON.stringify({
        event: 'mark',
        sequenceNumber: '3',
        streamSid: sid(s, c.streamSid, c.healthyStreamSid),
        mark: { name },
      }),
);
const dtmf: fc.Arbitrary<FrameGen> = fc
  .record({
    s: sidMode,
    digit: fc.oneof(fc.constantFrom('1', '#', 'A', '*', '10', ''), fc.string({ maxLength: 3 }), weird),
  })
  .map(
    ({ s, digit }) =>
      (c: Ctx) =>
        JSON.stringify({
          event: 'dtmf',
          streamSid: sid(s, c.streamSid, c.healthyStreamSid),
          dtmf: { track: 'inbound_track', digit },
        }),
  );
// A stop for this very stream ends the call, so it is rare mid-script (most stops carry another sid).
const stopSid: fc.Arbitrary<SidMode> = fc.oneof(
  { weight: 1, arbitrary: fc.constant<SidMode>('own') },
  { weight: 60, arbitrary: sidMode.filter((m) => m !== 'own') },
);
const stop: fc.Arbitrary<FrameGen> = stopSid.map(
  (s) => (c: Ctx) =>
    JSON.stringify({
      event: 'stop',
      sequenceNumber: '9',
      streamSid: sid(s, c.streamSid, c.healthyStreamSid),
      stop: { accountSid: 'AC1', callSid: c.callSid },
    }),
);

type StartMode = 'own' | 'hijack' | 'other' | 'weird';
const params = fc.oneof(
  { weight: 6, arbitrary: fc.constant<unknown>({ merchantId: 'demo', callerPhone: '+14155550100' }) },
  { weight: 1, arbitrary: fc.dictionary(fc.string({ maxLength: 8 }), weird, { maxKeys: 4 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom<unknown>(
      { merchantId: 'nope' },
      { merchantId: 'x'.repeat(30_000) },
      'params',
      [1, 2],
      null,
      { direction: 'outbound', answeredBy: 'machine_end_beep' },
    ),
  },
);
function startFrame(mode: StartMode, p: unknown, c: Ctx, rawProto: boolean): string {
  const callSid =
    mode === 'own' ? c.callSid : mode === 'hijack' ? c.healthyCallSid : mode === 'other' ? `${c.callSid}-2` : 42;
  const body = JSON.stringify({
    event: 'start',
    sequenceNumber: '1',
    streamSid: c.streamSid,
    start: {
      accountSid: 'AC1',
      streamSid: c.streamSid,
      callSid,
      tracks: ['inbound'],
      mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
      customParameters: p,
    },
  });
  // Keys JSON.parse turns into own properties named __proto__ / constructor.
  return rawProto
    ? body.replace(
        '"customParameters":',
        '"customParameters":{"__proto__":{"polluted":"yes"},"constructor":"x"},"ignored":',
      )
    : body;
}
const start: fc.Arbitrary<FrameGen> = fc
  .record({ m: fc.constantFrom<StartMode>('own', 'own', 'hijack', 'other', 'weird'), p: params, proto: fc.boolean() })
  .map(
    ({ m, p, proto }) =>
      (c: Ctx) =>
        startFrame(m, p, c, proto),
  );

// Large frames are rare (as in an attack they would be a small share of frames), so 100k frames
// stay affordable on a shared 2-core box; a run still sends a few hundred of them.
const misc: fc.Arbitrary<FrameGen> = fc.oneof(
  { weight: 30, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => () => JSON.stringify(v) ?? 'null') },
  { weight: 30, arbitrary: fc.string({ unit: 'binary', maxLength: 120 }).map((s) => () => s) },
  {
    weight: 30,
    arbitrary: fc.record({ event: weird, streamSid: fc.string({ maxLength: 8 }) }).map((o) => () => JSON.stringify(o)),
  },
  {
    weight: 30,
    arbitrary: fc
      .constantFrom('teleport', 'connected', 'clear', '__proto__', 'constructor')
      .map((e) => (c: Ctx) => JSON.stringify({ event: e, streamSid: c.streamSid, protocol: 'Call' })),
  },
  { weight: 30, arbitrary: fc.uint8Array({ maxLength: 1_500 }).map((b) => () => Buffer.from(b)) },
  // Deep nesting is the costliest input per byte (JSON.parse of 60 KB of '[' takes ~5 ms vs 0.07 ms for a
  // 60 KB media frame), so it is the rarest.
  { weight: 1, arbitrary: fc.integer({ min: 1_000, max: 30_000 }).map((n) => () => '['.repeat(n) + ']'.repeat(n)) },
  { weight: 1, arbitrary: fc.integer({ min: 1_000, max: 30_000 }).map((n) => () => '{"a":'.repeat(n)) },
  {
    weight: 3,
    arbitrary: fc.integer({ min: 65_537, max: 200_000 }).map((n) => () => `{"event":"media","pad":"${'x'.repeat(n)}"}`),
  },
);
const frame: fc.Arbitrary<FrameGen> = fc.oneof(
  { weight: 10, arbitrary: media },
  { weight: 2, arbitrary: mark },
  { weight: 1, arbitrary: dtmf },
  { weight: 1, arbitrary: stop },
  { weight: 1, arbitrary: start },
  { weight: 3, arbitrary: misc },
);
type Ending = 'stop' | 'close' | 'drop' | 'linger' | 'transport-limit';
interface Script {
  frames: FrameGen[];
  startAt: number | null;
  ending: Ending;
}
const script: fc.Arbitrary<Script> = fc.record({
  frames: fc.array(frame, { minLength: 600, maxLength: 1_200 }),
  startAt: fc.option(fc.nat({ max: 30 }), { freq: 6 }),
  ending: fc.constantFrom<Ending>('stop', 'close', 'drop', 'linger', 'stop', 'transport-limit'),
});

const tracked: unknown[] = [];
const onRejection = (reason: unknown) => tracked.push(reason);
const onException = (err: unknown) => tracked.push(err);

// The healthy call's audio is stamped with a sequence number as the model sends it, so the time each
// frame spends crossing the relay (model socket → relay → Twilio socket) is measured, frame by frame.
const stamps = {
  session: undefined as FakeModelSession | undefined,
  seq: 0,
  sentAt: new Map<number, number>(),
  latency: [] as number[],
  measuring: false,
};
function stamp(bytes: Buffer, session: FakeModelSession): void {
  if (session !== stamps.session || bytes.length < 4) return;
  bytes.writeUInt32BE(++stamps.seq, 0);
  stamps.sentAt.set(stamps.seq, performance.now());
}
function received(b64: string, at: number): void {
  const seq = Buffer.from(b64.slice(0, 8), 'base64').readUInt32BE(0);
  const sent = stamps.sentAt.get(seq);
  if (sent === undefined) return;
  stamps.sentAt.delete(seq);
  if (stamps.measuring) stamps.latency.push(at - sent);
}

const FUZZ_TOKEN = 'twilio-auth-token-for-the-fuzz-test-01';
const STREAM_SIGNATURE = twilio.getExpectedTwilioSignature(FUZZ_TOKEN, 'wss://relay.test/media-stream', {});

let h: Harness;
beforeAll(async () => {
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  // Memory rate limits: with REDIS_URL set (CI) the harness would share 127.0.0.1's buckets with other test files.
  // Signed like Twilio: only a verified signature lifts the 10-upgrades-a-minute limit per address.
  const edge = loadEdgeConfig({ TWILIO_AUTH_TOKEN: FUZZ_TOKEN }, loadConfig({ PORT: '0', PUBLIC_HOST: 'relay.test' }));
  // Fuzzed calls get a short greeting: the fake model synthesising seconds of speech for 180 calls
  // would be load of the test double, not of the relay.
  const short = (session: FakeModelSession) => session.onResponseCreate(() => ({ text: 'Hi.', audioMs: 200 }));
  h = await startHarness({ overrides: { edge }, model: { beforeSendDelta: stamp, onSession: short } });
});
afterAll(async () => {
  await h?.close();
  process.off('unhandledRejection', onRejection);
  process.off('uncaughtException', onException);
});

// The attacker runs on its own thread (as it would be another machine): its JSON building and ws
// masking must not count against the relay's event loop, which also hosts the healthy call.
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const WebSocket = require(workerData.ws);
const open = [];
async function drive(url, c) {
  const headers = { 'User-Agent': 'TwilioProxy/1.1', 'X-Twilio-Signature': workerData.signature };
  const ws = new WebSocket(url, { headers, perMessageDeflate: false });
  // Only closes the relay started count: terminate() and close() report codes of our own.
  let closedBy = null;
  let ours = false;
  ws.on('close', (code) => { if (!ours) closedBy = code; });
  ws.on('error', () => undefined);
  const opened = await new Promise((resolve) => {
    ws.once('open', () => resolve(true));
    ws.once('unexpected-response', () => resolve(false));
  });
  if (!opened) return { sent: 0, closedBy: -1, oversizeSent: false };
  let sent = 0;
  for (let i = 0; i < c.frames.length && closedBy === null; i += workerData.burst) {
    for (const f of c.frames.slice(i, i + workerData.burst)) {
      if (ws.readyState !== WebSocket.OPEN) break;
      ws.send(f, { binary: typeof f !== 'string' });
      sent++;
    }
    await new Promise((r) => setTimeout(r, workerData.pauseMs));
  }
  let oversizeSent = false;
  if (ws.readyState === WebSocket.OPEN) {
    ours = c.ending !== 'transport-limit' && c.ending !== 'linger';
    if (c.ending === 'stop') ws.send(c.stop);
    if (c.ending === 'stop' || c.ending === 'close') ws.close(1000);
    if (c.ending === 'drop') ws.terminate();
    if (c.ending === 'transport-limit') {
      oversizeSent = true;
      ws.send('x'.repeat(1024 * 1024 + 10));
      sent++;
    }
    if (c.ending === 'linger' || c.ending === 'transport-limit') open.push(ws);
  }
  // Let the relay's answer (a close, if any) arrive before reporting; past 1 MiB it must come.
  const wait = oversizeSent ? 3000 : 20;
  await new Promise((r) => {
    const t = setTimeout(r, wait);
    ws.once('close', () => { clearTimeout(t); setTimeout(r, 5); });
  });
  return { sent, closedBy, oversizeSent };
}
parentPort.on('message', async (m) => {
  if (m.type === 'batch') parentPort.postMessage(await Promise.all(m.conns.map((c) => drive(m.url, c))));
  if (m.type === 'closeAll') {
    for (const ws of open) if (ws.readyState === WebSocket.OPEN) ws.close(1000);
    parentPort.postMessage([]);
  }
});
`;

interface Conn {
  frames: Frame[];
  ending: Ending;
  stop: string;
}
interface ConnResult {
  sent: number;
  closedBy: number | null;
  oversizeSent: boolean;
}

function materialize(n: number, s: Script, healthy: SimCaller): Conn {
  const c: Ctx = {
    streamSid: `MZfuzz${SEED}-${n}`,
    callSid: `CAfuzz${SEED}-${n}`,
    healthyStreamSid: healthy.streamSid,
    healthyCallSid: healthy.callSid,
  };
  const gens = s.frames.slice();
  if (s.startAt !== null)
    gens.splice(Math.min(s.startAt, gens.length), 0, (x) =>
      startFrame('own', { merchantId: 'demo', callerPhone: '+14155550100' }, x, false),
    );
  const stop = JSON.stringify({
    event: 'stop',
    sequenceNumber: '99',
    streamSid: c.streamSid,
    stop: { accountSid: 'AC1', callSid: c.callSid },
  });
  return { frames: gens.map((g) => g(c)), ending: s.ending, stop };
}

function attacker(): { run(msg: object): Promise<ConnResult[]>; stop(): Promise<number> } {
  const w = new Worker(WORKER, {
    eval: true,
    workerData: {
      ws: createRequire(import.meta.url).resolve('ws'),
      burst: BURST,
      pauseMs: PAUSE_MS,
      signature: STREAM_SIGNATURE,
    },
  });
  let pending: { resolve: (r: ConnResult[]) => void; reject: (e: unknown) => void } | undefined;
  w.on('message', (r: ConnResult[]) => pending?.resolve(r));
  w.on('error', (e) => pending?.reject(e));
  return {
    run: (msg) =>
      new Promise((resolve, reject) => {
        pending = { resolve, reject };
        w.postMessage(msg);
      }),
    stop: () => w.terminate(),
  };
}

function percentile(xs: number[], p: number): number {
  const s = xs.slice().sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
}

describe('fuzzing the Twilio media stream', () => {
  it('survives 100k+ random and mutated frames; the healthy call and the call records hold', async () => {
    // Generated up front, so generation does not stall the healthy call's audio.
    const scripts = fc.sample(script, { numRuns: CONNECTIONS, seed: SEED });
    console.log(`fuzz-twilio: seed ${SEED} (FUZZ_SEED=${SEED} reproduces this run)`);

    const healthy = await h.call({ onMediaReceived: received, headers: { 'X-Twilio-Signature': STREAM_SIGNATURE } });
    stamps.session = healthy.model;
    await until(
      () => h.states.get(healthy.caller.callSid)?.at(-1) === 'session.listening',
      8000,
      'healthy call listening',
    );
    const heardBefore = healthy.caller.mediaMessagesReceived;
    const stream = healthy.model.respond({ continuous: true, audioMs: 120_000 }).catch(() => undefined);
    await healthy.caller.waitFor((c) => c.mediaMessagesReceived > heardBefore + 10, 3000, 'healthy stream started');
    const measureFrom = healthy.caller.mediaReceivedAt.length;
    stamps.measuring = true;

    const results: ConnResult[] = [];
    const evil = attacker();
    const t0 = performance.now();
    try {
      for (let i = 0; i < scripts.length; i += 3) {
        // Built per batch: a heap holding all 100k+ frames at once makes every GC pause longer.
        const conns = scripts.slice(i, i + 3).map((sc, k) => materialize(i + k, sc, healthy.caller));
        results.push(...(await evil.run({ type: 'batch', url: h.url, conns })));
        // The relay is alive and serving between batches.
        const health = await fetch(`http://127.0.0.1:${h.relay.port}/health`);
        expect(health.status).toBe(200);
      }
    } finally {
      await evil.run({ type: 'closeAll' });
      await evil.stop();
    }
    const fuzzMs = performance.now() - t0;
    stamps.measuring = false;
    const stampedInWindow = stamps.seq;
    const arrivals = healthy.caller.mediaReceivedAt.slice(measureFrom);
    const gaps = arrivals.slice(1).map((t, i) => t - (arrivals[i] ?? t));

    const framesSent = results.reduce((n, r) => n + r.sent, 0);
    await until(() => h.relay.server.calls.size === 1, 15_000, 'every fuzzed call to end');

    // The healthy call: still open, still the same session, audio at pace throughout.
    expect(healthy.caller.state).toBe('open');
    expect(h.relay.server.calls.has(healthy.caller.callSid)).toBe(true);
    expect(healthy.caller.protocolErrorCount).toBe(0);
    const lat = stamps.latency;
    const f = (x: number) => x.toFixed(1);
    console.log(
      `fuzz-twilio: ${framesSent} frames over ${results.length} connections in ${Math.round(fuzzMs)} ms ` +
        `(${Math.round(framesSent / (fuzzMs / 1000))}/s); ` +
        `healthy call: ${lat.length} frames, relay latency p50 ${f(percentile(lat, 50))} / p99 ` +
        `${f(percentile(lat, 99))} / max ${f(Math.max(...lat))} ms; ` +
        `inter-arrival gap p50 ${f(percentile(gaps, 50))} / p99 ${f(percentile(gaps, 99))} / max ` +
        `${f(Math.max(...gaps))} ms`,
    );
    expect(framesSent).toBeGreaterThanOrEqual(MIN_FRAMES);
    // No audio lost: every frame the model sent during the fuzz reached the healthy caller…
    await until(
      () => stamps.sentAt.size === 0 || [...stamps.sentAt.keys()].every((k) => k > stampedInWindow),
      2000,
      'in-flight frames',
    );
    expect(lat.length).toBeGreaterThan(fuzzMs / 20 / 2);
    // …crossing the relay in time. Latency is what the relay adds; gaps also carry the fake model's
    // own timer jitter on a box shared with other test runs (load average often 4–9 on 2 cores).
    // Measured p99 25–110 ms at load average 5–8 from other jobs (docs/reliability.md); the bound
    // leaves room for a busier CI box and still fails a relay that stalls its loop on bad input.
    expect(percentile(lat, 99)).toBeLessThan(200);
    expect(percentile(gaps, 99)).toBeLessThan(250);
    await healthy.caller.hangUp();
    await stream;
    await until(() => h.relay.server.calls.size === 0, 5000, 'healthy call to end');

    // Only the relay closes sockets with a code; these are the ones it may use.
    const codes = new Set(results.filter((r) => r.closedBy !== null && !r.oversizeSent).map((r) => r.closedBy));
    for (const code of codes) expect([1000, 1005, 1008]).toContain(code);
    // Past the transport limit the socket is cut (1006/1009), unless the relay had just ended the call.
    for (const r of results.filter((x) => x.oversizeSent)) expect([1000, 1006, 1009]).toContain(r.closedBy);

    // Every call that started (reached the actor) has exactly one record; no record without a call.
    await sleep(200);
    const started = [...h.states.keys()];
    const bySid = new Map<string, number>();
    for (const rec of h.recorder.records) bySid.set(rec.callSid, (bySid.get(rec.callSid) ?? 0) + 1);
    const notOnce = started.filter((sidv) => bySid.get(sidv) !== 1);
    expect(notOnce).toEqual([]);
    expect([...bySid.keys()].sort()).toEqual(started.sort());
    expect(started.length).toBeGreaterThan(CONNECTIONS / 3);
    const closes: Record<string, number> = {};
    for (const r of results) closes[String(r.closedBy ?? 'open')] = (closes[String(r.closedBy ?? 'open')] ?? 0) + 1;
    console.log(
      `fuzz-twilio: ${started.length} calls started, ${h.recorder.records.length} records; socket ends by ` +
        `relay close code: ${JSON.stringify(closes)}`,
    );
    expect(h.recorder.records.find((r) => r.callSid === healthy.caller.callSid)?.endReason).toBe('caller_hung_up');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(tracked).toEqual([]);
  }, 90_000);
});
