import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { runBargeIn, type BargeInResult } from './barge-in.js';
import { BaselineError, prepareBaseline, type Baseline } from './baseline.js';
import { capacitySvg } from './capacity-plot.js';
import { summarizeProfile, renderSummary } from './cpu-profile.js';
import { runLevel, type LevelResult } from './load-level.js';
import { runToolPhase, type ToolPhaseResult } from './tool-phase.js';
import { coreCount, pin } from './proc-stats.js';
import { RESULTS_DIR, ROOT, entryFor, prepareEntries, type RelayKind } from './relay-child.js';
import { TARGETS, contended, renderReport, stopReason, type RunMeta } from './report.js';

// `npm run bench`: N concurrent simulated calls at real pace through the real relay and through a
// naive `ws` pass-through, in the same run, stepping N up until the relay misses its latency/loss
// bar or this load generator saturates. See bench/README.md for what is measured and how.
//
//   npm run bench -- [--levels 100,200,400,800] [--seconds 10] [--warmup 3] [--barge-in 40] [--interrupt-every 5]
//                    [--profile] [--tsx] [--no-pin] [--baseline <git-rev>] [--all-levels] [--plot <file.svg>]
//                    [--tool-calls 200]

const MAX_LEVELS = 8;
const MAX_CALLS = 5000;
/** Re-measurements of disturbed levels per run (keeps a run on a busy machine bounded). */
const MAX_RETRIES = 1;
/** No level above the headline one starts after this much of the run (default run ≈ 3 minutes). */
const SOFT_BUDGET_MS = 150_000;

function intList(s: string): number[] {
  const out = s
    .split(',')
    .map((x) => Math.floor(Number(x.trim())))
    .filter((n) => Number.isFinite(n) && n > 0 && n <= MAX_CALLS);
  if (out.length === 0)
    throw new Error(`--levels: expected a list like 100,200,400 (each 1..${MAX_CALLS}), got ${JSON.stringify(s)}`);
  return out.slice(0, MAX_LEVELS);
}

function bounded(name: string, raw: string, min: number, max: number): number {
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || n > max)
    throw new Error(`--${name}: expected ${min}..${max}, got ${JSON.stringify(raw)}`);
  return n;
}

const say = (line: string): void => void process.stderr.write(`${line}\n`);
const ms = (n: number): string => (Number.isFinite(n) ? n.toFixed(1) : '—');

function heapPerCall(r: LevelResult): string {
  return `retained heap ${r.retainedHeapPerCallKiB.toFixed(0)} KiB/call, heap total ${r.memory?.heapTotal ?? '?'} KiB`;
}

function oneLine(r: LevelResult): string {
  return (
    `  ${r.label.padEnd(17)} ${String(r.calls).padStart(5)} calls (${r.live} live): ` +
    `relay ${r.relayCpuPct.toFixed(1)}% core, ` +
    `${r.cpuPerCallPct.toFixed(3)}%/call at ${r.deliveredPct.toFixed(0)}% of frames, ` +
    `RSS ${r.rssPerCallKiB.toFixed(0)} KiB/call (${heapPerCall(r)}), up ${ms(r.up.p50)}/${ms(r.up.p99)} ms, ` +
    `down ${ms(r.down.p50)}/${ms(r.down.p99)} ms, lost ${r.up.lost}/${r.down.lost}, ` +
    `barge-ins ${r.interruptions} (${r.clears} clears), ` +
    `generator ${r.generatorCpuPct.toFixed(0)}% (lag p99 ${ms(r.generatorLagP99Ms)} ms, skipped ${r.skippedTicks}); ` +
    `other processes ${r.foreignPct.relayCore.toFixed(0)}% / ` +
    `${r.foreignPct.generatorCore.toFixed(0)}% of the relay / generator core`
  );
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      levels: { type: 'string', default: '100,200,400,800' },
      seconds: { type: 'string', default: '10' },
      warmup: { type: 'string', default: '3' },
      'barge-in': { type: 'string', default: '40' },
      'interrupt-every': { type: 'string', default: '5' },
      profile: { type: 'boolean', default: false },
      tsx: { type: 'boolean', default: false },
      'no-pin': { type: 'boolean', default: false },
      baseline: { type: 'string' },
      'all-levels': { type: 'boolean', default: false },
      'tool-calls': { type: 'string', default: '200' },
      plot: { type: 'string', default: join('docs', 'bench-capacity.svg') },
    },
  });
  const levels = intList(values.levels);
  const seconds = bounded('seconds', values.seconds, 1, 120);
  const warmupSeconds = bounded('warmup', values.warmup, 0, 30);
  const bargeInCalls = Math.floor(bounded('barge-in', values['barge-in'], 0, 200));
  const interruptEverySeconds = bounded('interrupt-every', values['interrupt-every'], 0, 60);
  const toolCalls = Math.floor(bounded('tool-calls', values['tool-calls'], 0, MAX_CALLS));

  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(130));

  const cores = coreCount();
  const loadAvg = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  const canPin = cores >= 2 && !values['no-pin'] && pin(process.pid, 1);
  const relayCore = canPin ? 0 : null;
  const entries = prepareEntries(values.tsx);
  // Before the run's clock starts: a first npm ci of the baseline takes minutes (each step has its own timeout).
  const baseline: Baseline | null =
    values.baseline === undefined
      ? null
      : await prepareBaseline({ rev: values.baseline, entries, relayCore, profile: values.profile, say });
  const kinds: RelayKind[] = baseline
    ? ['callrelay', 'baseline', 'uwsfloor', 'passthrough']
    : ['callrelay', 'uwsfloor', 'passthrough'];

  // A hard ceiling on the whole run, whatever hangs: exiting kills the children (relay-child.ts).
  const budgetMs =
    (levels.length * kinds.length * (seconds + warmupSeconds + 45) + 60 * kinds.length + seconds + 60) * 1000;
  setTimeout(() => {
    say(`bench: still running after ${Math.round(budgetMs / 1000)} s; giving up`);
    process.exit(3);
  }, budgetMs).unref();
  const startedAt = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const profileDir = values.profile ? join(RESULTS_DIR, 'profiles', startedAt.replace(/[:]/g, '-')) : undefined;
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  say(
    `bench: ${cores} cores; ${canPin ? 'generator pinned to core 1, relays to core 0' : 'not pinned'}; ` +
      `relays run as ${entries.how}`,
  );

  const generatorCore = canPin ? 1 : null;
  let measured = 0;
  const measure = async (calls: number): Promise<LevelResult[]> => {
    const level: LevelResult[] = [];
    // New and baseline swap places every other measurement, so a drift in the machine's load over
    // the run does not always favour the same one.
    const swap = baseline !== null && measured++ % 2 === 1;
    const order: RelayKind[] = swap ? ['baseline', 'callrelay', 'uwsfloor', 'passthrough'] : kinds;
    for (const kind of order) {
      say(
        `bench: ${entryFor(entries, kind).label} × ${calls} calls (${warmupSeconds} s warm-up, ${seconds} s window)…`,
      );
      const r = await runLevel({
        kind,
        calls,
        seconds,
        warmupSeconds,
        entries,
        relayCore,
        generatorCore,
        profileDir,
        interruptEverySeconds,
      });
      say(oneLine(r));
      level.push(r);
    }
    return level;
  };
  const runStart = performance.now();
  const skippedForTime: number[] = [];
  const results: LevelResult[] = [];
  const retried: number[] = [];
  let stopped: string | null = null;
  for (const calls of levels) {
    // The headline level runs even past a limit reached below it; above it, the first limit stops.
    // --all-levels (the capacity curve): every level runs, past limits too, within the time budget.
    const headlineLeft = calls <= TARGETS.headlineCalls && levels.includes(TARGETS.headlineCalls);
    if (stopped && !headlineLeft && !values['all-levels']) break;
    // Each relay measured adds to a level's time: the budget scales with how many there are.
    if (calls > TARGETS.headlineCalls && performance.now() - runStart > (SOFT_BUDGET_MS * kinds.length) / 2) {
      skippedForTime.push(calls);
      continue;
    }
    let level = await measure(calls);
    let why = stopReason(level);
    const disturbed = level.map(contended).find((c) => c !== null);
    if (why && disturbed && retried.length < MAX_RETRIES) {
      // Shared machine: a limit hit while other processes were on our cores is measured once more.
      say(`bench: ${calls} calls hit a limit while ${disturbed}; measuring it once more`);
      retried.push(calls);
      level = await measure(calls);
      why = stopReason(level);
    }
    results.push(...level);
    if (why && !stopped) {
      stopped = why;
      say(`bench: limit reached: ${why}`);
    }
  }

  const barge: BargeInResult[] = [];
  if (bargeInCalls > 0) {
    for (const kind of kinds) {
      say(`bench: barge-in reaction, ${entryFor(entries, kind).label}, ${bargeInCalls} calls…`);
      barge.push(await runBargeIn({ kind, calls: bargeInCalls, entries, relayCore }));
    }
  }

  let tools: ToolPhaseResult | null = null;
  if (toolCalls > 0) {
    say(`bench: tool round trips, callrelay, ${toolCalls} calls (${seconds} s)…`);
    tools = await runToolPhase({ calls: toolCalls, seconds, entries, relayCore });
  }

  const meta: RunMeta = {
    startedAt,
    node: process.version,
    cores,
    generatorCore: canPin ? 1 : null,
    relayCore,
    childrenRunAs: entries.how,
    seconds,
    warmupSeconds,
    levels,
    profiled: profileDir !== undefined,
    retried,
    skippedForTime,
    loadAvg,
    baseline: baseline ? { rev: baseline.rev, label: baseline.label, dir: baseline.dir } : null,
  };
  let md = renderReport(results, barge, meta, stopped, tools);
  if (profileDir) {
    const files = readdirSync(profileDir)
      .filter((f) => f.endsWith('.cpuprofile'))
      .sort();
    const parts = files.map((f) => renderSummary(f, summarizeProfile(join(profileDir, f), 20)));
    md += `\n## CPU profiles (self time)\n\n${parts.join('\n\n')}\n`;
  }
  mkdirSync(RESULTS_DIR, { recursive: true });
  const mdPath = join(RESULTS_DIR, 'latest.md');
  const jsonPath = join(RESULTS_DIR, 'latest.json');
  writeFileSync(mdPath, md);
  writeFileSync(jsonPath, `${JSON.stringify({ meta, stopped, results, barge, tools }, null, 2)}\n`);
  process.stdout.write(`${md}\n`);
  say(
    `bench: report written to ${mdPath} (raw figures: ${jsonPath})${profileDir ? `; profiles in ${profileDir}` : ''}`,
  );
  // After the report, so a plot that cannot be written loses nothing else.
  if (results.length > 0 && values.plot !== '') {
    const plotPath = resolve(ROOT, values.plot);
    const caption =
      `One run, ${startedAt}, Node ${process.version}, ${cores} cores, load average ${loadAvg} at start; ` +
      `${canPin ? 'relay on core 0, generator on core 1' : 'not pinned'}; see the table for the other processes.`;
    try {
      writeFileSync(plotPath, capacitySvg(results, caption));
      say(`bench: capacity plot written to ${plotPath}`);
    } catch (err) {
      say(`bench: could not write the plot to ${plotPath}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    const why =
      err instanceof BaselineError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err);
    say(`bench: failed: ${why}`);
    process.exit(1);
  },
);
