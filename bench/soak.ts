import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { FakeModelServer, type FakeModelSession } from '../src/sim/model/model-server.js';
import { SimCaller } from '../src/sim/twilio/caller.js';
import { speechForText } from '../src/audio/speechlike.js';
import { openStore } from '../src/store/open-store.js';
import { startRelayProcess, type RelayProcess } from '../test/support/relay-process.js';
import { cpuSeconds, percentile, rssKiB } from './proc-stats.js';
import { log } from '../src/log.js';

log.level = 'warn';

// Soak (issue 7): the relay as a real process with its store (PGlite in a temp DATA_DIR), churning
// calls of 20–60 s against the fake model in agent mode (server VAD turns, spoken answers), callers
// that talk, wait, and sometimes talk over the assistant (barge-in). Reports relay RSS and heap over
// time, live calls and active handles once every call ended (they must return to baseline), every
// call's record (exactly one each), and frame latency through the relay per minute (no drift).
//
//   npm run soak -- --calls 200 --minutes 10        (not in CI; exits 1 if a check fails)
//
// Bounded: calls start at a steady rate over the first part of the run, each ends by itself, and a
// hard deadline (minutes + 3) stops everything.

const { values: args } = parseArgs({
  options: {
    calls: { type: 'string', default: '200' },
    minutes: { type: 'string', default: '10' },
    'min-call': { type: 'string', default: '20' },
    'max-call': { type: 'string', default: '60' },
    'barge-in': { type: 'string', default: '0.3' },
    out: { type: 'string', default: 'bench/results/soak-latest.json' },
  },
});
const CALLS = Math.max(1, Math.min(5000, Number(args.calls)));
const MINUTES = Math.max(1, Math.min(240, Number(args.minutes)));
const MIN_CALL_S = Math.max(5, Number(args['min-call']));
const MAX_CALL_S = Math.max(MIN_CALL_S, Number(args['max-call']));
const BARGE_IN = Math.max(0, Math.min(1, Number(args['barge-in'])));
const METRICS_TOKEN = 'soak-metrics';
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const rand = (a: number, b: number) => a + Math.random() * (b - a);
const note = (msg: string) =>
  process.stdout.write(`[soak ${((performance.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${msg}\n`);
const t0 = performance.now();
const hardDeadline = setTimeout(
  () => {
    note('hard deadline reached; aborting');
    process.exit(2);
  },
  (MINUTES + 3) * 60_000,
);
hardDeadline.unref();

// ---- latency: frames stamped with a magic pair + 32-bit id, read back on the other side ----------
const MAGIC = [0xb5, 0x5b] as const;
let nextId = 1;
const sentAt = new Map<number, number>();
const samples: Array<{ at: number; ms: number; dir: 'down' | 'up' }> = [];
/** One minute's latency line of the report. */
function minuteLine(m: { minute: number; dir: string; n: number; p50: number; p99: number }): string {
  return (
    `  min ${m.minute} ${m.dir.padEnd(4)} n=${String(m.n).padStart(6)} ` +
    `p50 ${m.p50.toFixed(1).padStart(6)} p99 ${m.p99.toFixed(1).padStart(6)}`
  );
}

function stamp(bytes: Buffer): void {
  if (bytes.length < 6) return;
  const id = nextId++;
  bytes[0] = MAGIC[0];
  bytes[1] = MAGIC[1];
  bytes.writeUInt32BE(id, 2);
  sentAt.set(id, performance.now());
}
function arrived(bytes: Buffer, dir: 'down' | 'up', now: number): void {
  if (bytes.length < 6 || bytes[0] !== MAGIC[0] || bytes[1] !== MAGIC[1]) return;
  const id = bytes.readUInt32BE(2);
  const sent = sentAt.get(id);
  if (sent === undefined) return;
  sentAt.delete(id);
  samples.push({ at: now - t0, ms: now - sent, dir });
}

// ---- the relay's /metrics (heap, live calls, handles) ------------------------------------------
async function metrics(port: number): Promise<Record<string, number>> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`, {
    headers: { Authorization: `Bearer ${METRICS_TOKEN}` },
  });
  const out: Record<string, number> = {};
  for (const line of (await res.text()).split('\n')) {
    const m = /^(callrelay_[a-z_]+)(\{[^}]*\})? ([0-9.eE+-]+)$/.exec(line);
    if (m?.[1] && m[3] && (m[2] === undefined || m[1] === 'callrelay_calls_total'))
      out[m[1] + (m[2] ?? '')] = Number(m[3]);
  }
  return out;
}
interface Sample {
  t: number;
  rssMiB: number;
  heapMiB: number;
  live: number;
  handles: number;
  cpuPct: number;
}
const timeline: Sample[] = [];
async function sample(relay: RelayProcess, pid: number, lastCpu: { t: number; s: number }): Promise<Sample> {
  const m = await metrics(relay.port);
  const now = performance.now();
  const cpu = cpuSeconds(pid);
  const s: Sample = {
    t: Math.round((now - t0) / 1000),
    rssMiB: rssKiB(pid) / 1024,
    heapMiB: (m.callrelay_nodejs_heap_size_used_bytes ?? Number.NaN) / 2 ** 20,
    live: m.callrelay_live_calls ?? Number.NaN,
    handles: m.callrelay_nodejs_active_handles_total ?? m.callrelay_nodejs_active_resources_total ?? Number.NaN,
    cpuPct: ((cpu - lastCpu.s) / ((now - lastCpu.t) / 1000)) * 100,
  };
  lastCpu.t = now;
  lastCpu.s = cpu;
  return s;
}

// ---- one call ------------------------------------------------------------------------------------
const LINES = [
  'Hi, I would like to book a cleaning.',
  'Next Tuesday morning if possible.',
  'My name is Alex.',
  'Yes, that works for me.',
  'Can you also check Thursday?',
  'Thank you, goodbye.',
];
const stats = { started: 0, ended: 0, failed: 0, bargeIns: 0, turns: 0, callSids: [] as string[] };

async function runCall(url: string, seconds: number): Promise<void> {
  let speaking = (): boolean => false;
  const caller = await SimCaller.connect({
    url,
    headers: { 'User-Agent': 'TwilioProxy/1.1' },
    customParameters: { merchantId: 'demo', callerPhone: '+14155550100', direction: 'inbound' },
    record: false,
    onMediaReceived: (b64, at) => {
      if (b64.startsWith('tV')) arrived(Buffer.from(b64.slice(0, 8), 'base64'), 'down', at);
    },
    // Uplink frames are stamped only while the caller talks: a stamp in silence would look like speech to the VAD.
    onBeforeSendFrame: (frame) => {
      if (speaking()) stamp(frame);
    },
  });
  speaking = () => caller.speaking;
  stats.started++;
  stats.callSids.push(caller.callSid);
  const end = performance.now() + seconds * 1000;
  try {
    await caller.waitFor((c) => c.heardBytes > 8 * 500, 15_000, 'greeting');
    let line = 0;
    while (performance.now() < end && caller.state === 'open') {
      const bargeIn = Math.random() < BARGE_IN;
      // Wait for the assistant to finish (or, for a barge-in, to be well into its answer).
      if (bargeIn)
        await caller
          .waitFor((c) => c.hearing, 8000, 'assistant audio')
          .then(
            () => sleep(rand(300, 900)),
            () => undefined,
          );
      else
        await caller
          .waitFor((c) => !c.hearing && c.queuedPlaybackBytes === 0, 20_000, 'assistant done')
          .catch(() => undefined);
      if (performance.now() >= end || caller.state !== 'open') break;
      if (bargeIn && caller.hearing) stats.bargeIns++;
      stats.turns++;
      await caller.say(speechForText(LINES[line++ % LINES.length] ?? 'Hello.', Math.floor(Math.random() * 1e9)));
      await sleep(rand(1000, 3000));
    }
    await caller.hangUp();
    stats.ended++;
  } catch (err) {
    stats.failed++;
    note(`call ${caller.callSid.slice(0, 10)} failed: ${err instanceof Error ? err.message : String(err)}`);
    await caller.drop().catch(() => undefined);
  }
}

// ---- run -----------------------------------------------------------------------------------------
const model = await FakeModelServer.start({
  dialect: 'openai',
  mode: 'agent',
  agent: { toolCallEveryNTurns: 3 },
  beforeSendDelta: (bytes) => stamp(bytes),
  onAudioAppended: (bytes: Buffer, _s: FakeModelSession) => arrived(bytes, 'up', performance.now()),
});
const relay = await startRelayProcess({
  PROVIDER: 'openai',
  OPENAI_API_KEY: 'sk-soak',
  OPENAI_REALTIME_URL: model.url,
  METRICS_TOKEN,
  DATABASE_URL: '',
  REDIS_URL: '',
  MAX_CALL_SECONDS: String(MAX_CALL_S * 3),
  DRAIN_SECONDS: '5',
});
const pid = relay.child.pid ?? 0;
const url = `ws://127.0.0.1:${relay.port}/media-stream`;
note(
  `relay pid ${pid} on :${relay.port}; ${CALLS} calls of ${MIN_CALL_S}–${MAX_CALL_S} s over ${MINUTES} min, ` +
    `barge-in share ${BARGE_IN}`,
);

// Warm-up: a few short calls so the baseline includes loaded code, JIT output and pools, not per-call state.
await Promise.all([0, 1, 2, 3, 4].map(() => runCall(url, 3)));
await sleep(5000);
const cpuMark = { t: performance.now(), s: cpuSeconds(pid) };
const baseline = await sample(relay, pid, cpuMark);
timeline.push(baseline);
note(
  `baseline: RSS ${baseline.rssMiB.toFixed(1)} MiB, heap ${baseline.heapMiB.toFixed(1)} MiB, handles ` +
    `${baseline.handles}, live ${baseline.live}`,
);
samples.length = 0;
const warmupCalls = stats.started;
Object.assign(stats, { started: 0, ended: 0, failed: 0, bargeIns: 0, turns: 0 });
const soakStart = performance.now() - t0;

const spreadMs = Math.max(1000, (MINUTES * 60 - MAX_CALL_S - 15) * 1000);
const calls: Promise<void>[] = [];
const sampler = setInterval(() => {
  void sample(relay, pid, cpuMark).then(
    (s) => {
      timeline.push(s);
      note(
        `live ${s.live}  RSS ${s.rssMiB.toFixed(1)} MiB  heap ${s.heapMiB.toFixed(1)} MiB  handles ` +
          `${s.handles}  cpu ${s.cpuPct.toFixed(0)}%  calls ${stats.started}/${CALLS} started, ` +
          `${stats.ended} ended, ${stats.failed} failed`,
      );
    },
    () => undefined,
  );
}, 10_000);
for (let i = 0; i < CALLS; i++) {
  const due = (i / CALLS) * spreadMs;
  const wait = t0 + soakStart + due - performance.now();
  if (wait > 0) await sleep(wait);
  calls.push(
    runCall(url, rand(MIN_CALL_S, MAX_CALL_S)).catch(() => {
      stats.failed++;
    }),
  );
}
await Promise.all(calls);
note('all calls ended; idling 15 s before the end sample');
await sleep(15_000);
clearInterval(sampler);
const final = await sample(relay, pid, cpuMark);
timeline.push(final);
const totals = await metrics(relay.port);
relay.kill('SIGTERM');
const exitCode = await relay.exited;
const toolOutputs = model.sessions.reduce(
  (n, s) =>
    n +
    s.received.filter((e) => e.type === 'conversation.item.create' && e.item.type === 'function_call_output').length,
  0,
);
await model.close();

// Records: exactly one per call (warm-up calls included), read from the relay's own store.
const store = await openStore({ dataDir: relay.dataDir });
let missing = 0;
for (const sid of stats.callSids) if (!(await store.getCallRecord(sid))) missing++;
await store.close();
rmSync(relay.dataDir, { recursive: true, force: true });
const recordLines = relay.lines.filter((l) => l.msg === 'call record').map((l) => String(l.callSid));
const dupes = recordLines.length - new Set(recordLines).size;

// Latency per minute of the soak.
const perMinute: Array<{ minute: number; dir: string; n: number; p50: number; p99: number }> = [];
for (const dir of ['down', 'up'] as const) {
  const byMin = new Map<number, number[]>();
  for (const s of samples)
    if (s.dir === dir) {
      const m = Math.floor((s.at - soakStart) / 60_000);
      const list = byMin.get(m) ?? [];
      list.push(s.ms);
      byMin.set(m, list);
    }
  for (const [minute, xs] of [...byMin].sort((a, b) => a[0] - b[0]))
    perMinute.push({ minute, dir, n: xs.length, p50: percentile(xs, 50), p99: percentile(xs, 99) });
}

const checks: Array<[string, boolean, string]> = [];
const full = perMinute.filter((m) => m.n >= 200);
for (const dir of ['down', 'up']) {
  const mins = full.filter((m) => m.dir === dir);
  const first = mins[0];
  const last = mins[mins.length - 1];
  if (first && last && mins.length >= 2)
    checks.push([
      `${dir}link p99 does not drift`,
      last.p99 <= first.p99 * 2 + 5,
      `first minute ${first.p99.toFixed(1)} ms, last ${last.p99.toFixed(1)} ms`,
    ]);
}
checks.push(['every call ended', stats.failed === 0, `${stats.ended} ended, ${stats.failed} failed`]);
checks.push([
  'every call has exactly one record',
  missing === 0 && dupes === 0 && recordLines.length === stats.callSids.length,
  `${recordLines.length} records for ${stats.callSids.length} calls (${warmupCalls} warm-up), ${missing} ` +
    `missing, ${dupes} duplicated`,
]);
// Callers hang up every call here: any other end (model_stalled, model_dropped, twilio_closed…) is a fault.
const otherEnds = Object.entries(totals).filter(
  ([k, v]) => k.startsWith('callrelay_calls_total') && !k.includes('reason="caller_hung_up"') && v > 0,
);
checks.push([
  'every call ended by its caller (no stall, drop or error)',
  otherEnds.length === 0,
  otherEnds.length === 0 ? 'all caller_hung_up' : otherEnds.map(([k, v]) => `${k} ${v}`).join(', '),
]);
checks.push(['no live call left', final.live === 0, `live ${final.live}`]);
checks.push([
  'active handles back to baseline',
  final.handles <= baseline.handles + 2,
  `baseline ${baseline.handles}, end ${final.handles}`,
]);
checks.push([
  'heap back to baseline',
  final.heapMiB <= baseline.heapMiB * 1.5 + 10,
  `baseline ${baseline.heapMiB.toFixed(1)} MiB, end ${final.heapMiB.toFixed(1)} MiB`,
]);
checks.push([
  'RSS back near baseline',
  final.rssMiB <= baseline.rssMiB + 64,
  `baseline ${baseline.rssMiB.toFixed(1)} MiB, end ${final.rssMiB.toFixed(1)} MiB, peak ` +
    `${Math.max(...timeline.map((s) => s.rssMiB)).toFixed(1)} MiB`,
]);
checks.push(['relay exited 0 on SIGTERM', exitCode === 0, `exit ${exitCode}`]);

const report = {
  options: { calls: CALLS, minutes: MINUTES, minCallS: MIN_CALL_S, maxCallS: MAX_CALL_S, bargeIn: BARGE_IN },
  calls: {
    ...stats,
    callSids: undefined,
    warmupCalls,
    toolOutputs,
    relayBargeIns: totals.callrelay_barge_ins_total,
    relayCallsByReason: Object.fromEntries(
      Object.entries(totals).filter(([k]) => k.startsWith('callrelay_calls_total')),
    ),
  },
  baseline,
  final,
  peakRssMiB: Math.max(...timeline.map((s) => s.rssMiB)),
  peakHeapMiB: Math.max(...timeline.map((s) => s.heapMiB)),
  timeline,
  latencyPerMinute: perMinute,
  checks: checks.map(([name, ok, detail]) => ({ name, ok, detail })),
};
mkdirSync('bench/results', { recursive: true });
writeFileSync(args.out ?? 'bench/results/soak-latest.json', JSON.stringify(report, null, 2));
note(`latency per minute (ms):\n${perMinute.map(minuteLine).join('\n')}`);
note(
  `barge-ins: ${stats.bargeIns} attempted by callers, ${totals.callrelay_barge_ins_total ?? 0} handled by ` +
    `the relay (incl. warm-up); ${stats.turns} caller turns; ${toolOutputs} tool outputs sent by the relay`,
);
for (const [name, ok, detail] of checks) note(`${ok ? 'PASS' : 'FAIL'}  ${name}: ${detail}`);
note(`report written to ${args.out}`);
process.exit(checks.every(([, ok]) => ok) ? 0 : 1);
