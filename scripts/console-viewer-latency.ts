import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { LatencyBook, type LatencySummary } from '../bench/latency-book.js';
import { PhasedClock } from '../bench/phased-clock.js';
import { speechLike } from '../src/audio/speechlike.js';
import type { SimCaller } from '../src/sim/twilio/caller.js';
import { OPERATOR_TOKEN, startConsoleFixture } from '../test/browser/console-fixture.js';

// npm run console:viewer-latency: does watching calls in the console cost the calls anything? A bounded
// loopback test: a relay process with the console on, CALLS simulated calls whose callers keep talking
// (turns, answers, barge-ins: the chart changes state several times a second across the calls), and
// the one-way latency of their audio frames through the relay measured in alternating windows: no
// viewers, then VIEWERS console pages following every call (a few never reading, like a stalled
// browser), and so on (ROUNDS times each), so drift on a shared machine hits both alike. Frames are
// stamped by the simulated caller and model (bench/latency-book). Also the relay's CPU per window.
// Stops by itself: fixed windows, a hard deadline.

const CALLS = Number(process.env.CALLS ?? 20);
const VIEWERS = Number(process.env.VIEWERS ?? 50);
const STALLED = Math.min(5, VIEWERS);
const WINDOW_S = Number(process.env.WINDOW_S ?? 10);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const deadline = setTimeout(
  () => {
    process.stderr.write('console-viewer-latency: hard deadline reached, stopping\n');
    process.exit(1);
  },
  (2 * ROUNDS * (WINDOW_S + 5) + 120) * 1000,
);
deadline.unref();

interface Window {
  name: string;
  viewers: boolean;
  up: LatencySummary;
  down: LatencySummary;
  events: number;
  /** Relay CPU over the window, % of one core. */
  cpuPct: number;
  /** The relay's event-loop delay over the window (p99, max), ms. */
  loopP99: number;
  loopMax: number;
  /** Console deliveries in the window: how many, and the bucket bound their p99 and slowest fall under (ms). */
  flushes: { count: number; p99: number; max: number };
}

/** Cumulative bucket counts of the console's flush histogram, by upper bound (s). */
function flushBuckets(text: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const m of text.matchAll(/^callrelay_console_flush_seconds_bucket\{le="([^"]+)"\} (\d+)$/gm)) {
    out.set(m[1] === '+Inf' ? Number.POSITIVE_INFINITY : Number(m[1]), Number(m[2]));
  }
  return out;
}

/** Flushes between two scrapes: the count, and the upper bound (ms) under which 99% and all of them fell. */
function flushesBetween(a: Map<number, number>, b: Map<number, number>): Window['flushes'] {
  const bounds = [...b.keys()].sort((x, y) => x - y);
  const inWindow = bounds.map((le) => ({ le, n: (b.get(le) ?? 0) - (a.get(le) ?? 0) }));
  const count = inWindow.at(-1)?.n ?? 0;
  const under = (share: number) => (inWindow.find((x) => x.n >= share * count)?.le ?? Number.NaN) * 1000;
  return { count, p99: count ? under(0.99) : Number.NaN, max: count ? under(1) : Number.NaN };
}

/** A gauge of the relay's /metrics, in ms; the scrape also restarts its event-loop histogram. */
function gaugeMs(text: string, name: string): number {
  const m = new RegExp(`^${name} ([0-9.e+-]+)$`, 'm').exec(text);
  return m?.[1] === undefined ? Number.NaN : Number(m[1]) * 1000;
}

/** utime + stime of a process, seconds. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Pins a process (all threads) to one core, as the benchmark does; a no-op without taskset. */
function pin(pid: number | undefined, core: number): void {
  if (pid) spawnSync('taskset', ['-a', '-p', '-c', String(core), String(pid)], { stdio: 'ignore' });
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

async function main(): Promise<void> {
  const clock = new PhasedClock(20, 20);
  await clock.startPhases();
  const books: { up: LatencyBook | null; down: LatencyBook | null } = { up: null, down: null };
  const fx = await startConsoleFixture({
    model: {
      dialect: 'openai',
      mode: 'agent',
      agent: { transcriptDelayMs: 150 },
      chunkMs: 20,
      realtimeFactor: 1,
      clock,
      onAudioAppended: (bytes) => books.up?.arrived(bytes, performance.now()),
      beforeSendDelta: (bytes) => books.down?.stamp(bytes, performance.now()),
    },
  });
  // The relay on core 0, the callers, model and viewers on core 1: they do not take turns on one core.
  pin(fx.pid, 0);
  pin(process.pid, 1);
  const callers: SimCaller[] = [];
  let talking = true;
  let viewerEvents = (): number => 0;
  let stopViewers = async (): Promise<void> => {};
  try {
    for (let i = 0; i < CALLS; i++) {
      // Only frames of speech are stamped: a stamp is a few loud samples, which in a silent frame
      // would look like the caller talking to the model's voice detector.
      const self: { caller?: SimCaller } = {};
      self.caller = await fx.dial('demo', `+1415555${String(1000 + i)}`, {
        record: false,
        clock,
        onBeforeSendFrame: (frame) => {
          if (self.caller?.speaking) books.up?.stamp(frame, performance.now());
        },
        onMediaReceived: (payload, at) => books.down?.arrivedBase64(payload, at),
      });
      callers.push(self.caller);
    }
    // Each caller talks every 2 to 4 s, often over the answer: turns, answers and barge-ins.
    const talkers = callers.map(async (c, i) => {
      await sleep(3000 + i * 97);
      let n = 0;
      while (talking && c.state === 'open') {
        await c.say(speechLike({ ms: 900 + ((n * 37 + i * 11) % 700), seed: i * 100 + n }));
        n++;
        await sleep(2000 + ((n * 53 + i * 29) % 2000));
      }
    });
    await sleep(6000);

    const measure = async (name: string, withViewers: boolean): Promise<Window> => {
      const capacity = Math.ceil(CALLS * 50 * (WINDOW_S + 2));
      books.up = new LatencyBook(capacity);
      books.down = new LatencyBook(capacity);
      const e0 = viewerEvents();
      const before = flushBuckets(await fetch(fx.metricsUrl).then((r) => r.text()));
      const cpu0 = cpuSeconds(fx.pid);
      const t0 = performance.now();
      await sleep(WINDOW_S * 1000);
      const cpuPct = ((cpuSeconds(fx.pid) - cpu0) / ((performance.now() - t0) / 1000)) * 100;
      const scraped = await fetch(fx.metricsUrl).then((r) => r.text());
      const loopP99 = gaugeMs(scraped, 'callrelay_nodejs_eventloop_lag_p99_seconds');
      const loopMax = gaugeMs(scraped, 'callrelay_nodejs_eventloop_lag_max_seconds');
      const up = books.up.summary();
      const down = books.down.summary();
      books.up = null;
      books.down = null;
      await sleep(500);
      const events = viewerEvents() - e0;
      const flushes = flushesBetween(before, flushBuckets(scraped));
      return { name, viewers: withViewers, up, down, events, cpuPct, loopP99, loopMax, flushes };
    };

    const signIn = await fetch(`${fx.origin}/console/session`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: fx.origin },
      body: new URLSearchParams({ token: OPERATOR_TOKEN }).toString(),
    });
    const cookie = (signIn.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    if (!cookie.startsWith('callrelay_console=')) throw new Error(`sign-in failed: ${signIn.status}`);
    // The viewers run in a process of their own: reading their streams here would slow the very
    // process that stamps and receives the frames, and be counted as the relay's latency.
    let child: ChildProcess | null = null;
    let received = 0;
    const openViewers = async (): Promise<string> => {
      received = 0;
      child = spawn(process.execPath, ['--import', 'tsx', 'scripts/console-viewers.ts'], {
        env: {
          ...process.env,
          CONSOLE_ORIGIN: fx.origin,
          CONSOLE_COOKIE: cookie,
          VIEWERS: String(VIEWERS - STALLED),
          STALLED: String(STALLED),
        },
        stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
      });
      pin(child.pid, 1);
      child.stdout?.on('data', (b: Buffer) => {
        const last = /events (\d+)\n$/.exec(b.toString());
        if (last?.[1]) received = Number(last[1]);
      });
      await sleep(4000);
      const metrics = await (await fetch(fx.metricsUrl)).text();
      return /callrelay_console_viewers (\d+)/.exec(metrics)?.[1] ?? '?';
    };
    const closeViewers = async (): Promise<void> => {
      const c = child;
      child = null;
      if (c) {
        const gone = new Promise<void>((resolve) => c.once('exit', () => resolve()));
        c.kill('SIGTERM');
        await Promise.race([gone, sleep(3000)]);
      }
      await sleep(2000);
    };
    viewerEvents = () => received;
    stopViewers = closeViewers;

    const results: Window[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      results.push(await measure(`${round}: no viewers`, false));
      const open = await openViewers();
      results.push(await measure(`${round}: ${VIEWERS} viewers (${STALLED} not reading; ${open} open)`, true));
      await closeViewers();
    }

    const ms = (x: number) => x.toFixed(2);
    const lines = [
      `console viewers vs call latency: ${CALLS} calls (callers talking, answers, barge-ins), ${WINDOW_S} s windows`,
      '',
      '| window | caller→model p50 / p99 / max (ms) | model→caller p50 / p99 / max (ms) | frames measured (lost) | ' +
        'console events delivered | console deliveries: count, p99 / slowest ≤ (ms) | relay CPU | ' +
        'relay event-loop delay p99 / max (ms) |',
      '|---|---|---|---|---|---|---|---|',
      ...results.map(
        (r) =>
          `| ${r.name} | ${ms(r.up.p50)} / ${ms(r.up.p99)} / ${ms(r.up.max)} | ` +
          `${ms(r.down.p50)} / ${ms(r.down.p99)} / ${ms(r.down.max)} | ` +
          `${r.up.received} up, ${r.down.received} down (${r.up.lost + r.down.lost}) | ${r.events} | ` +
          `${r.flushes.count}, ${ms(r.flushes.p99)} / ${ms(r.flushes.max)} | ` +
          `${r.cpuPct.toFixed(0)}% | ${ms(r.loopP99)} / ${ms(r.loopMax)} |`,
      ),
      '',
      ...[false, true].map((on) => {
        const w = results.filter((r) => r.viewers === on);
        const m = (f: (r: Window) => number) => ms(median(w.map(f)));
        const which = on ? `${VIEWERS}-viewer` : 'no-viewer';
        return (
          `median of the ${which} windows: caller→model p50 ${m((r) => r.up.p50)} ms, p99 ${m((r) => r.up.p99)} ms; ` +
          `model→caller p50 ${m((r) => r.down.p50)} ms, p99 ${m((r) => r.down.p99)} ms; ` +
          `relay CPU ${median(w.map((r) => r.cpuPct)).toFixed(0)}%; ` +
          `relay event-loop delay p99 ${m((r) => r.loopP99)} ms`
        );
      }),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    talking = false;
    await Promise.race([Promise.all(talkers), sleep(5000)]);
  } finally {
    talking = false;
    await stopViewers();
    await Promise.all(callers.map((c) => c.hangUp().catch(() => undefined)));
    await fx.stop();
    clock.stopPhases();
  }
}

await main();
process.exit(0);
