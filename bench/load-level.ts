import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { LatencyBook, type LatencySummary } from './latency-book.js';
import { LeanRig, sleep } from './gen/lean-rig.js';
import { coreBusySeconds, cpuSeconds, median, percentile, rssKiB } from './proc-stats.js';
import type { MemoryKiB } from './child-protocol.js';
import { entryFor, type Entries, type RelayKind } from './relay-child.js';

// One measurement: N concurrent calls through one relay for a fixed window. A fresh relay process
// per measurement, so its RSS baseline and JIT state are the same for both relays at every level.

export interface LevelOptions {
  kind: RelayKind;
  calls: number;
  seconds: number;
  warmupSeconds: number;
  entries: Entries;
  relayCore: number | null;
  generatorCore: number | null;
  profileDir?: string;
  /** A barge-in per call every this many seconds from warm-up to the end of the window (0: none). */
  interruptEverySeconds?: number;
}

export interface LevelResult {
  kind: RelayKind;
  /** callrelay, passthrough or callrelay@<short-rev> (the baseline). */
  label: string;
  calls: number;
  /** Calls that connected and heard the model before the window. */
  live: number;
  setupFailures: number;
  /** Calls that closed during the window (the relay hung up on them). */
  closedEarly: number;
  /** How those calls closed: "code reason" → count. */
  closes: Record<string, number>;
  windowSeconds: number;
  /** Relay process CPU over the window, % of one core. */
  relayCpuPct: number;
  /** relayCpuPct / live calls. */
  cpuPerCallPct: number;
  /** cpuPerCallPct scaled to 50 frames/s each way (= cpuPerCallPct when every frame was delivered). */
  cpuPerCallFullPacePct: number;
  rssBaselineKiB: number;
  rssSteadyKiB: number;
  rssPerCallKiB: number;
  /** The relay's memory after a full GC, before the calls and after the window: what calls retain. */
  memory: MemoryKiB | null;
  memoryBaseline: MemoryKiB | null;
  /** Heap retained per call (heapUsed after GC, minus the baseline, per live call). */
  retainedHeapPerCallKiB: number;
  /** Frames relayed in the window, % of 50 a second each way per live call (below ~98: the generator lagged). */
  deliveredPct: number;
  /** CPU profile of the window ('' when not profiled). */
  profile: string;
  up: LatencySummary;
  down: LatencySummary;
  /** Frames the simulated callers flagged as invalid Twilio frames. */
  protocolErrors: number;
  /** Generator (this process) CPU over the window, % of one core. */
  generatorCpuPct: number;
  /** How late the generator's frame timers fired, p99 (ms). */
  generatorLagP99Ms: number;
  skippedTicks: number;
  /** CPU used on each pinned core by other processes (other users of the machine), % of the core. */
  foreignPct: { relayCore: number; generatorCore: number };
  /** Barge-ins the model sent during the window, and `clear`s the callers received in it. */
  interruptions: number;
  clears: number;
}

/** How long the caller "talks" at each barge-in: the model sends no audio meanwhile. */
const SPEECH_MS = 200;

const PREWARM_CALLS = 10;
const DRAIN_MS = 1000;

export async function runLevel(o: LevelOptions): Promise<LevelResult> {
  const label = entryFor(o.entries, o.kind).label;
  const rig = await LeanRig.start({ kind: o.kind, entries: o.entries, relayCore: o.relayCore });
  try {
    const pid = rig.child.pid;
    // A few calls first, so the baseline includes loaded code and JIT output, not per-call state.
    const warm = await rig.connect(PREWARM_CALLS);
    await rig.waitForMedia(warm, 5000);
    await sleep(1000);
    rig.drop(warm);
    await sleep(1000);
    const rssBaselineKiB = rssKiB(pid);
    const memoryBaseline = await rig.child.report(true).then(
      (r) => r.memory,
      () => null,
    );
    rig.connectFailures = 0;

    const callers = await rig.connect(o.calls);
    await rig.waitForMedia(callers, 10_000 + o.calls * 20);
    // Up = the caller's socket is open and its model session is streaming the greeting (counted
    // before the barge-ins start: a call between two responses is not streaming but is up).
    const live = Math.min(callers.filter((c) => c.state === 'open').length, rig.streaming);
    const everyS = o.interruptEverySeconds ?? 5;
    const barging = everyS > 0 ? rig.interrupt(everyS * 1000, SPEECH_MS) : null;
    await sleep(o.warmupSeconds * 1000);

    // Books hold the window's frames plus slack for timer catch-up.
    const capacity = Math.ceil(o.calls * 50 * (o.seconds + 2));
    const up = new LatencyBook(capacity);
    const down = new LatencyBook(capacity);
    let measuring = false;
    rig.callerHooks = {
      stamp: (now) => (measuring ? up.stampId(now) : 0),
      arrived: (b, at, now) => down.arrivedBase64At(b, at, now),
    };
    rig.modelHooks = {
      stamp: (now) => (measuring ? down.stampId(now) : 0),
      arrived: (b, at, now) => up.arrivedBase64At(b, at, now),
    };
    const errors0 = callers.reduce((n, c) => n + c.unknownFrames, 0);
    const open0 = new Set(callers.filter((c) => c.state === 'open'));
    const skipped0 = rig.clock.takeLag().skipped;
    const rss: number[] = [];
    const sampler = setInterval(() => rss.push(rssKiB(pid)), 1000);
    const gen0 = process.cpuUsage();
    const busy0 = coreBusySeconds();
    const cpu0 = cpuSeconds(pid);
    if (o.profileDir) rig.child.profileStart();
    const sent0 = barging?.sent() ?? 0;
    const clears0 = rig.clears;
    const t0 = performance.now();
    measuring = true;
    await sleep(o.seconds * 1000);
    measuring = false;
    const interruptions = (barging?.sent() ?? 0) - sent0;
    const clears = rig.clears - clears0;
    barging?.stop();
    const cpu1 = cpuSeconds(pid);
    const busy1 = coreBusySeconds();
    const t1 = performance.now();
    const gen = process.cpuUsage(gen0);
    clearInterval(sampler);
    const lag = rig.clock.takeLag();
    const profile = o.profileDir
      ? await rig.child.profileStop(join(o.profileDir, `${label}-${o.calls}.cpuprofile`)).catch(() => '')
      : '';
    const memory = await rig.child.report(true).then(
      (r) => r.memory,
      () => null,
    );
    await sleep(DRAIN_MS);

    const upS = up.summary();
    const downS = down.summary();
    // While a caller talks over the assistant the model sends nothing: those frames are not owed.
    const owed = 2 * 50 * Math.max(1, live) * ((t1 - t0) / 1000) - interruptions * (SPEECH_MS / 20);
    const deliveredPct = ((upS.received + downS.received) / owed) * 100;
    const closed = [...open0].filter((c) => c.state !== 'open');
    const closes: Record<string, number> = {};
    for (const c of closed) {
      const key = c.closeInfo ? `${c.closeInfo.code} ${c.closeInfo.reason}`.trim() : 'closed';
      closes[key] = (closes[key] ?? 0) + 1;
    }
    const wallS = (t1 - t0) / 1000;
    const relayCpuPct = ((cpu1 - cpu0) / wallS) * 100;
    const rssSteadyKiB = rss.length > 0 ? median(rss) : rssKiB(pid);
    const n = Math.max(1, live);
    const genCpuS = (gen.user + gen.system) / 1e6;
    const foreign = (core: number | null, ownS: number): number =>
      core === null ? Number.NaN : Math.max(0, (((busy1[core] ?? 0) - (busy0[core] ?? 0) - ownS) / wallS) * 100);
    return {
      kind: o.kind,
      label,
      calls: o.calls,
      live,
      setupFailures: rig.connectFailures,
      closedEarly: closed.length,
      closes,
      windowSeconds: wallS,
      relayCpuPct,
      cpuPerCallPct: relayCpuPct / n,
      cpuPerCallFullPacePct: relayCpuPct / n / Math.max(0.01, deliveredPct / 100),
      rssBaselineKiB,
      rssSteadyKiB,
      rssPerCallKiB: (rssSteadyKiB - rssBaselineKiB) / n,
      memory,
      memoryBaseline,
      retainedHeapPerCallKiB: memory && memoryBaseline ? (memory.heapUsed - memoryBaseline.heapUsed) / n : Number.NaN,
      deliveredPct,
      profile,
      up: upS,
      down: downS,
      protocolErrors: callers.reduce((s, c) => s + c.unknownFrames, 0) - errors0,
      generatorCpuPct: (genCpuS / wallS) * 100,
      generatorLagP99Ms: percentile(lag.lags, 99),
      skippedTicks: lag.skipped - skipped0,
      foreignPct: { relayCore: foreign(o.relayCore, cpu1 - cpu0), generatorCore: foreign(o.generatorCore, genCpuS) },
      interruptions,
      clears,
    };
  } finally {
    await rig.close();
  }
}
