import type { BargeInResult } from './barge-in.js';
import type { LevelResult } from './load-level.js';
import type { ToolPhaseResult } from './tool-phase.js';
import type { RelayKind } from './relay-child.js';

// Judging and printing a benchmark run: when to stop stepping N up, and the Markdown report (the
// table that goes in the README, the headline, the targets, the barge-in figures).

export interface RunMeta {
  startedAt: string;
  node: string;
  cores: number;
  generatorCore: number | null;
  relayCore: number | null;
  childrenRunAs: string;
  seconds: number;
  warmupSeconds: number;
  levels: number[];
  profiled: boolean;
  /** Levels measured twice because other processes disturbed the first try. */
  retried: number[];
  /** Levels not started because the run had used its time (a stepping limit, not a relay one). */
  skippedForTime: number[];
  /** /proc/loadavg when the run started (other users of the machine). */
  loadAvg: string;
  /** --baseline: the older revision measured alongside (full commit, report label, its worktree). */
  baseline: { rev: string; label: string; dir: string } | null;
}

/** The generator is the bottleneck past these: its figures would measure itself, not the relay. */
export const GENERATOR_LIMITS = { cpuPct: 85, lagP99Ms: 10 };
/** Other processes used this much of a pinned core: the figures are disturbed (shared machine). */
export const CONTENDED_PCT = 15;
/** Below this share of frames delivered, CPU per call is also shown scaled to full pace. */
export const FULL_PACE_PCT = 98;
/** Below this, scaling to full pace is a guess (bursty delivery batches work): the headline says so. */
export const RELIABLE_PACE_PCT = 80;
/** Issue 17's targets: CPU per call against the two no-logic relays, RSS per call, latency, barge-in, tools. */
export const TARGETS = {
  p99Ms: 20,
  floorRatio: 1.0,
  passThroughRatio: 0.75,
  rssPerCallKiB: 64,
  headlineCalls: 200,
  bargeInP99Ms: 2,
  toolP99Ms: 2,
};

/** Other processes took a noticeable share of a pinned core during the window, or null. */
export function contended(r: LevelResult): string | null {
  const { relayCore, generatorCore } = r.foreignPct;
  if (relayCore > CONTENDED_PCT || generatorCore > CONTENDED_PCT) {
    return (
      `other processes used ${relayCore.toFixed(0)}% of the relay's core ` +
      `and ${generatorCore.toFixed(0)}% of the generator's`
    );
  }
  return null;
}

/** Why the generator cannot be trusted at this level, or null. */
export function generatorSaturated(r: LevelResult): string | null {
  if (r.generatorCpuPct >= GENERATOR_LIMITS.cpuPct)
    return `generator CPU ${r.generatorCpuPct.toFixed(0)}% ≥ ${GENERATOR_LIMITS.cpuPct}% of its core`;
  // Timer lag with the core to itself is the generator's own doing; with others on it, it is noise.
  if (r.generatorLagP99Ms > GENERATOR_LIMITS.lagP99Ms && !(r.foreignPct.generatorCore > CONTENDED_PCT)) {
    return `generator timer lag p99 ${r.generatorLagP99Ms.toFixed(1)} ms > ${GENERATOR_LIMITS.lagP99Ms} ms`;
  }
  if (r.skippedTicks > 0) return `generator skipped ${r.skippedTicks} frame ticks`;
  return null;
}

/** Why the relay failed the latency/loss bar at this level, or null. */
export function relayLimit(r: LevelResult): string | null {
  const why: string[] = [];
  if (r.up.p99 > TARGETS.p99Ms) why.push(`uplink p99 ${r.up.p99.toFixed(1)} ms > ${TARGETS.p99Ms} ms`);
  if (r.down.p99 > TARGETS.p99Ms) why.push(`downlink p99 ${r.down.p99.toFixed(1)} ms > ${TARGETS.p99Ms} ms`);
  if (r.up.lost + r.down.lost > 0) why.push(`${r.up.lost} uplink / ${r.down.lost} downlink frames lost`);
  if (r.setupFailures > 0 || r.live < r.calls) why.push(`${r.calls - r.live} calls did not get going`);
  if (r.closedEarly > 0) {
    const how = Object.entries(r.closes)
      .map(([k, v]) => `${v}× ${k}`)
      .join(', ');
    why.push(`${r.closedEarly} calls closed during the window (${how})`);
  }
  return why.length > 0 ? why.join(', ') : null;
}

/** Why stepping stops after this level (the real relay's limit or the generator's), or null. */
export function stopReason(level: LevelResult[]): string | null {
  const reasons: string[] = [];
  for (const r of level) {
    const g = generatorSaturated(r);
    if (g) reasons.push(`generator saturated during the ${r.label} run at ${r.calls} calls (${g})`);
  }
  const cr = level.find((r) => r.kind === 'callrelay');
  const lim = cr ? relayLimit(cr) : null;
  if (cr && lim) reasons.push(`callrelay at ${cr.calls} calls: ${lim}`);
  return reasons.length > 0 ? reasons.join('; ') : null;
}

const f = (n: number, d = 1): string => (Number.isFinite(n) ? n.toFixed(d) : '—');
const pair = (a: number, b: number): string => `${f(a)} / ${f(b)}`;

/** CPU per relayed frame of `kind` ÷ the reference's (the ws pass-through or the uWS floor), at `calls`. */
function ratioAt(
  results: LevelResult[],
  calls: number,
  kind: RelayKind = 'callrelay',
  to: RelayKind = 'passthrough',
): number {
  const cr = results.find((r) => r.kind === kind && r.calls === calls);
  const pt = results.find((r) => r.kind === to && r.calls === calls);
  // Per relayed frame: when the generator lags, the two runs may have carried different rates.
  return cr && pt && pt.cpuPerCallFullPacePct > 0 ? cr.cpuPerCallFullPacePct / pt.cpuPerCallFullPacePct : Number.NaN;
}

export function headline(results: LevelResult[]): string {
  const levels = [...new Set(results.map((r) => r.calls))];
  if (levels.length === 0) return 'No level was measured.';
  const at = levels.includes(TARGETS.headlineCalls)
    ? TARGETS.headlineCalls
    : levels.reduce((a, b) => (Math.abs(b - TARGETS.headlineCalls) < Math.abs(a - TARGETS.headlineCalls) ? b : a));
  const cr = results.find((r) => r.kind === 'callrelay' && r.calls === at);
  if (!cr) return `No callrelay figure at ${at} calls.`;
  const note = at === TARGETS.headlineCalls ? '' : ` (${TARGETS.headlineCalls} calls was not measured)`;
  const pt = results.find((r) => r.kind === 'passthrough' && r.calls === at);
  const pace =
    cr.deliveredPct < FULL_PACE_PCT ? ` (scaled to full pace from ${f(cr.deliveredPct, 0)}% of frames delivered)` : '';
  const shaky =
    Math.min(cr.deliveredPct, pt?.deliveredPct ?? 0) < RELIABLE_PACE_PCT
      ? ` — unreliable: the generator delivered only ${f(cr.deliveredPct, 0)}% / ` +
        `${f(pt?.deliveredPct ?? Number.NaN, 0)}% of the frames; prefer a level where both are near 100%`
      : '';
  const base = results.find((r) => r.kind === 'baseline' && r.calls === at);
  const vsBase = base ? `, ${f(div(cr.cpuPerCallFullPacePct, base.cpuPerCallFullPacePct), 2)}× ${base.label}` : '';
  return (
    `At ${at} calls: callrelay ${f(cr.cpuPerCallFullPacePct, 3)}% of a core per call${pace} = ` +
    `${f(ratioAt(results, at), 2)}× the ws pass-through, ${f(ratioAt(results, at, 'callrelay', 'uwsfloor'), 2)}× ` +
    `the uWS no-logic floor${vsBase}${note}${shaky}.`
  );
}

function tableRows(results: LevelResult[]): string[] {
  const rows = [
    '| relay | calls | relay CPU (% core) | CPU per call (% core) | ratio to pass-through | ratio to uWS floor | ' +
      'RSS/call (KiB) | ' +
      'retained heap/call (KiB) | uplink p50 / p99 (ms) | downlink p50 / p99 (ms) | generator timer lag p99 (ms) | ' +
      'frames lost (up / down) | frames delivered | barge-ins (clears) | generator CPU (% core, per call) | ' +
      'other processes on relay / generator core |',
    '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
  ];
  for (const r of results) {
    const ratio = r.kind === 'passthrough' ? '1×' : `${f(ratioAt(results, r.calls, r.kind), 2)}×`;
    const toFloor = r.kind === 'uwsfloor' ? '1×' : `${f(ratioAt(results, r.calls, r.kind, 'uwsfloor'), 2)}×`;
    const live = r.live < r.calls ? ` (${r.live} live)` : '';
    const perCall =
      r.deliveredPct < FULL_PACE_PCT
        ? `${f(r.cpuPerCallPct, 3)} (${f(r.cpuPerCallFullPacePct, 3)} at full pace)`
        : f(r.cpuPerCallPct, 3);
    rows.push(
      `| ${relayName(r)} | ${r.calls}${live} | ${f(r.relayCpuPct)} | ${perCall} | ${ratio} | ${toFloor} | ` +
        `${f(r.rssPerCallKiB, 0)} | ${f(r.retainedHeapPerCallKiB, 0)} | ${pair(r.up.p50, r.up.p99)} | ` +
        `${pair(r.down.p50, r.down.p99)} | ${f(r.generatorLagP99Ms)} | ${r.up.lost} / ${r.down.lost} | ` +
        `${f(r.deliveredPct, 0)}% | ${r.interruptions} (${r.clears}) | ` +
        `${f(r.generatorCpuPct, 0)} (${f(r.generatorCpuPct / Math.max(1, r.live), 3)}) | ` +
        `${f(r.foreignPct.relayCore, 0)}% / ${f(r.foreignPct.generatorCore, 0)}% |`,
    );
  }
  return rows;
}

function relayName(r: { kind: RelayKind; label: string }): string {
  if (r.kind === 'callrelay') return '**callrelay**';
  if (r.kind === 'uwsfloor') return 'uWS no-logic floor';
  return r.kind === 'passthrough' ? 'ws pass-through' : r.label;
}

/** a ÷ b, or NaN when b is not a positive figure (a ratio to zero or to a shrinking heap means nothing). */
function div(a: number, b: number): number {
  return Number.isFinite(a) && Number.isFinite(b) && b > 0 ? a / b : Number.NaN;
}

/** The new relay against its baseline, level by level, from the same run. */
function baselineRows(results: LevelResult[]): string[] {
  const base = results.filter((r) => r.kind === 'baseline');
  const label = base[0]?.label;
  if (!label) return [];
  const rows = [
    '',
    `### callrelay vs ${label} (same run; ratio = callrelay ÷ ${label})`,
    '',
    '| calls | CPU per call, full pace (% core) | ratio | RSS/call (KiB) | ratio | ' +
      'retained heap/call (KiB) | ratio | frames delivered | other processes on relay core |',
    '|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
  ];
  const ratios: { cpu: number; rss: number; heap: number }[] = [];
  const shaky: number[] = [];
  const x = (n: number): string => `${f(n, 2)}×`;
  // A disturbed level is measured twice: compare the pair measured together (the last of each).
  const last = (kind: RelayKind, calls: number): LevelResult | undefined =>
    results.filter((r) => r.kind === kind && r.calls === calls).at(-1);
  for (const calls of [...new Set(base.map((r) => r.calls))]) {
    const n = last('callrelay', calls);
    const b = last('baseline', calls);
    if (!n || !b) continue;
    const r = {
      cpu: div(n.cpuPerCallFullPacePct, b.cpuPerCallFullPacePct),
      rss: div(n.rssPerCallKiB, b.rssPerCallKiB),
      heap: div(n.retainedHeapPerCallKiB, b.retainedHeapPerCallKiB),
    };
    ratios.push(r);
    if (Math.min(n.deliveredPct, b.deliveredPct) < RELIABLE_PACE_PCT) shaky.push(calls);
    rows.push(
      `| ${calls} | ${f(n.cpuPerCallFullPacePct, 3)} / ${f(b.cpuPerCallFullPacePct, 3)} | ${x(r.cpu)} | ` +
        `${f(n.rssPerCallKiB, 0)} / ${f(b.rssPerCallKiB, 0)} | ${x(r.rss)} | ` +
        `${f(n.retainedHeapPerCallKiB, 1)} / ${f(b.retainedHeapPerCallKiB, 1)} | ${x(r.heap)} | ` +
        `${f(n.deliveredPct, 0)}% / ${f(b.deliveredPct, 0)}% | ` +
        `${f(n.foreignPct.relayCore, 0)}% / ${f(b.foreignPct.relayCore, 0)}% |`,
    );
  }
  if (ratios.length > 1) {
    // Geometric mean: the average of ratios that treats 0.8× and 1.25× as equal and opposite.
    const gm = (k: 'cpu' | 'rss' | 'heap'): number => {
      const v = ratios.map((r) => r[k]).filter((n) => Number.isFinite(n) && n > 0);
      return v.length === ratios.length ? Math.exp(v.reduce((s, n) => s + Math.log(n), 0) / v.length) : Number.NaN;
    };
    rows.push(`| all (geometric mean) | | ${x(gm('cpu'))} | | ${x(gm('rss'))} | | ${x(gm('heap'))} | | |`);
  }
  rows.push(
    '',
    'Same-run ratios, each level measured with the two relays one after the other (their order swaps at each ' +
      'measurement). Cells are "callrelay / baseline". RSS/call at small N is mostly young-generation heap sized ' +
      'to the allocation rate; retained heap/call is the state a call holds.' +
      (shaky.length > 0
        ? ` **Unreliable at ${shaky.join(', ')} calls**: the generator delivered under ${RELIABLE_PACE_PCT}% of ` +
          'the frames, so CPU per call is scaled from partial, bursty delivery.'
        : ''),
  );
  return rows;
}

function targets(
  results: LevelResult[],
  driven: LevelResult[],
  barge: BargeInResult[],
  tools: ToolPhaseResult | null,
): string[] {
  const mark = (ok: boolean): string => (ok ? 'met' : '**not met**');
  const cr = results.filter((r) => r.kind === 'callrelay');
  const at = cr.find((r) => r.calls === TARGETS.headlineCalls) ?? cr[0];
  const lines: string[] = [];
  if (at) {
    const ratio = ratioAt(results, at.calls);
    const floor = ratioAt(results, at.calls, 'callrelay', 'uwsfloor');
    lines.push(
      `- CPU per call ≤ ${TARGETS.floorRatio}× the uWS no-logic floor (at ${at.calls} calls): ` +
        `${f(floor, 2)}× — ${mark(floor <= TARGETS.floorRatio)}`,
      `- CPU per call ≤ ${TARGETS.passThroughRatio}× the ws pass-through (at ${at.calls} calls): ` +
        `${f(ratio, 2)}× — ${mark(ratio <= TARGETS.passThroughRatio)}`,
    );
  }
  const drivenCr = driven.filter((r) => r.kind === 'callrelay');
  const bad = drivenCr.filter((r) => relayLimit(r) !== null);
  const head = `- p99 ≤ ${TARGETS.p99Ms} ms both ways, no frame lost, at every level the generator could drive`;
  if (drivenCr.length === 0) lines.push(`${head}: not measured — the generator saturated at every level of this run`);
  else {
    lines.push(
      `${head} (${drivenCr.map((r) => r.calls).join(', ')}): ` +
        (bad.length === 0
          ? mark(true)
          : `${mark(false)} (${bad
              .map((r) => `${r.calls}: ${relayLimit(r) ?? ''}; generator timer lag p99 ${f(r.generatorLagP99Ms)} ms`)
              .join('; ')})`),
    );
  }
  // The highest level the relay passed with the generator keeping pace (else the highest measured).
  const passing = drivenCr.filter((r) => relayLimit(r) === null);
  const top = [...(passing.length > 0 ? passing : cr)].sort((a, b) => b.calls - a.calls)[0];
  if (top) {
    lines.push(
      `- RSS ≤ ${TARGETS.rssPerCallKiB} KiB per call at the highest ${passing.length > 0 ? 'passing ' : ''}level ` +
        `(${top.calls} calls): ${f(top.rssPerCallKiB, 0)} KiB — ${mark(top.rssPerCallKiB <= TARGETS.rssPerCallKiB)}`,
    );
  }
  const inside = barge.find((b) => b.kind === 'callrelay');
  if (inside) {
    lines.push(
      `- Barge-in inside the relay p99 ≤ ${TARGETS.bargeInP99Ms} ms: ${f(inside.insideP99)} ms — ` +
        mark(inside.insideP99 <= TARGETS.bargeInP99Ms),
    );
  }
  if (tools) {
    lines.push(
      `- Tool round-trip overhead p99 ≤ ${TARGETS.toolP99Ms} ms: ${f(tools.p99, 2)} ms — ` +
        mark(tools.p99 <= TARGETS.toolP99Ms),
    );
  }
  return lines;
}

function bargeInRows(barge: BargeInResult[]): string[] {
  if (barge.length === 0) return [];
  const rows = [
    '',
    '### Barge-in reaction (speech_started sent by the model → `clear` received by the caller)',
    '',
    '| relay | barge-ins (cleared) | end to end p50 / p99 / max (ms) | inside the relay p50 / p99 (ms) |',
    '|---|--:|--:|--:|',
  ];
  for (const b of barge) {
    const inside =
      b.kind === 'passthrough' || b.kind === 'uwsfloor' ? 'not instrumented' : pair(b.insideP50, b.insideP99);
    rows.push(
      `| ${relayName(b)} | ${b.calls} (${b.cleared}) | ${f(b.p50, 2)} / ${f(b.p99, 2)} / ${f(b.max, 2)} | ${inside} |`,
    );
  }
  return rows;
}

function toolRows(t: ToolPhaseResult | null): string[] {
  if (!t) return [];
  const met = t.p99 <= TARGETS.toolP99Ms ? 'met' : '**not met**';
  return [
    '',
    '### Tool round trip under load (callrelay)',
    '',
    `${t.live} calls streaming, each answering a turn with a function call every 5 s (a 5 ms tool): ` +
      `${t.asked} asked in ${f(t.windowSeconds)} s, ${t.measured} measured. The relay's own time from reading ` +
      'the response that asks for the tool to the output written to the model socket, minus the tool: ' +
      `**p50 ${f(t.p50, 2)} / p99 ${f(t.p99, 2)} / max ${f(t.max, 2)} ms** ` +
      `(target p99 ≤ ${TARGETS.toolP99Ms} ms: ${met}). Generator timer lag p99 ${f(t.generatorLagP99Ms)} ms; ` +
      `other processes took ${f(t.foreignRelayCorePct, 0)}% of the relay's core.`,
  ];
}

export function renderReport(
  results: LevelResult[],
  barge: BargeInResult[],
  meta: RunMeta,
  stopped: string | null,
  tools: ToolPhaseResult | null = null,
): string {
  const driven = results.filter((r) => generatorSaturated(r) === null);
  const pinned =
    meta.relayCore === null
      ? 'not pinned (fewer than 2 cores or taskset missing)'
      : `relay on core ${meta.relayCore}, generator on core ${meta.generatorCore ?? '?'}`;
  return [
    `## callrelay load benchmark (${meta.startedAt})`,
    '',
    `**${headline(results)}**`,
    '',
    ...tableRows(results),
    '',
    "Latency is measured by the generator, so it holds the generator's own delays too: read it against the " +
      "generator's timer lag p99 in the next column. When the two are close, the delay is the generator's " +
      "(or the machine's: see the last column), not the relay's.",
    '',
    `Stepping: ${
      stopped
        ? `stopped at the first limit (levels up to ${TARGETS.headlineCalls} calls always run) — ${stopped}.`
        : `every requested level ran (${meta.levels.join(', ')}); no limit was reached.`
    }` +
      (meta.retried.length > 0
        ? ` Measured twice (other processes disturbed the first try): ${meta.retried.join(', ')} calls.`
        : '') +
      (meta.skippedForTime.length > 0
        ? ` Not run, out of time: ${meta.skippedForTime.join(', ')} calls (use --levels to run them).`
        : ''),
    '',
    'Targets:',
    ...targets(results, driven, barge, tools),
    ...baselineRows(results),
    ...bargeInRows(barge),
    ...toolRows(tools),
    '',
    `Run: ${meta.seconds} s window after ${meta.warmupSeconds} s warm-up per level, 50 frames/s each way per call, ` +
      `${pinned}; ${meta.cores} cores (load average ${meta.loadAvg} at start); Node ${meta.node}; ` +
      `relays run as ${meta.childrenRunAs}.` +
      (meta.baseline
        ? ` Baseline ${meta.baseline.label} = ${meta.baseline.rev}, ` +
          `from its own worktree and node_modules (${meta.baseline.dir}).`
        : '') +
      (meta.profiled ? ' **CPU profiler on: CPU figures include its overhead.**' : ''),
    '',
  ].join('\n');
}
