import { BENCH_TOOL } from './child-protocol.js';
import { LeanRig, sleep } from './gen/lean-rig.js';
import { coreBusySeconds, cpuSeconds, percentile } from './proc-stats.js';
import type { Entries } from './relay-child.js';

// Tool round trip under load: N calls stream at real pace through callrelay while, on every call
// every few seconds, the caller talks and the model answers the turn with a function call (a 5 ms
// tool in the relay child). The relay reports its own part of each round trip (src/call/tool-timing.ts):
// from reading the response that asks for the tool to the output written to the model socket, minus
// the tool's own time. Only callrelay: the no-logic relays do not run tools.

export interface ToolPhaseResult {
  calls: number;
  live: number;
  windowSeconds: number;
  /** Tool calls the model asked for in the window, and round trips the relay reported. */
  asked: number;
  measured: number;
  p50: number;
  p99: number;
  max: number;
  generatorLagP99Ms: number;
  /** CPU used on the relay's core by other processes over the window, % of the core. */
  foreignRelayCorePct: number;
}

const EVERY_MS = 5000;
const SPEECH_MS = 200;

export async function runToolPhase(o: {
  calls: number;
  seconds: number;
  entries: Entries;
  relayCore: number | null;
}): Promise<ToolPhaseResult> {
  const rig = await LeanRig.start({ kind: 'callrelay', entries: o.entries, relayCore: o.relayCore });
  try {
    const callers = await rig.connect(o.calls);
    await rig.waitForMedia(callers, 10_000 + o.calls * 20);
    const live = rig.streaming;
    rig.clock.takeLag();
    const busy0 = coreBusySeconds();
    const cpu0 = cpuSeconds(rig.child.pid);
    const t0 = performance.now();
    const asking = rig.interrupt(EVERY_MS, SPEECH_MS, BENCH_TOOL);
    await sleep(o.seconds * 1000);
    asking.stop();
    const t1 = performance.now();
    const busy1 = coreBusySeconds();
    const cpu1 = cpuSeconds(rig.child.pid);
    await sleep(500); // the last round trips land
    const lag = rig.clock.takeLag();
    const samples = (await rig.child.report()).toolMs;
    const core = o.relayCore;
    const wallS = (t1 - t0) / 1000;
    const others = (busy1[core ?? 0] ?? 0) - (busy0[core ?? 0] ?? 0) - (cpu1 - cpu0);
    const foreign = core === null ? Number.NaN : Math.max(0, (others / wallS) * 100);
    return {
      calls: o.calls,
      live,
      windowSeconds: wallS,
      asked: asking.sent(),
      measured: samples.length,
      p50: percentile([...samples], 50),
      p99: percentile([...samples], 99),
      max: samples.length > 0 ? Math.max(...samples) : Number.NaN,
      generatorLagP99Ms: percentile(lag.lags, 99),
      foreignRelayCorePct: foreign,
    };
  } finally {
    await rig.close();
  }
}
