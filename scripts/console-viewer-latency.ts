import { readFileSync } from 'node:fs';
import { connect as tcpConnect, type Socket } from 'node:net';
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
}

/** utime + stime of a process, seconds. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
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
  const callers: SimCaller[] = [];
  let talking = true;
  const viewers: Array<{ abort: AbortController; events: number }> = [];
  const stalled: Socket[] = [];
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
      const e0 = viewers.reduce((n, v) => n + v.events, 0);
      const cpu0 = cpuSeconds(fx.pid);
      const t0 = performance.now();
      await sleep(WINDOW_S * 1000);
      const cpuPct = ((cpuSeconds(fx.pid) - cpu0) / ((performance.now() - t0) / 1000)) * 100;
      const up = books.up.summary();
      const down = books.down.summary();
      books.up = null;
      books.down = null;
      await sleep(500);
      const events = viewers.reduce((n, v) => n + v.events, 0) - e0;
      return { name, viewers: withViewers, up, down, events, cpuPct };
    };

    const signIn = await fetch(`${fx.origin}/console/session`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: fx.origin },
      body: new URLSearchParams({ token: OPERATOR_TOKEN }).toString(),
    });
    const cookie = (signIn.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    if (!cookie.startsWith('callrelay_console=')) throw new Error(`sign-in failed: ${signIn.status}`);
    const { port } = new URL(fx.origin);
    const openViewers = async (): Promise<string> => {
      for (let i = 0; i < VIEWERS - STALLED; i++) {
        const v = { abort: new AbortController(), events: 0 };
        viewers.push(v);
        void fetch(`${fx.origin}/console/live/events`, { headers: { cookie }, signal: v.abort.signal })
          .then(async (res) => {
            const reader = res.body?.getReader();
            const dec = new TextDecoder();
            for (;;) {
              const r = await reader?.read();
              if (!r || r.done) return;
              v.events += (dec.decode(r.value).match(/^event: /gm) ?? []).length;
            }
          })
          .catch(() => undefined);
      }
      for (let i = 0; i < STALLED; i++) {
        // A browser that stopped reading: the request is sent, the answer never read.
        const s = tcpConnect(Number(port), '127.0.0.1', () => {
          s.write(`GET /console/live/events HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nCookie: ${cookie}\r\n\r\n`);
          s.pause();
        });
        s.on('error', () => undefined);
        stalled.push(s);
      }
      await sleep(3000);
      const metrics = await (await fetch(fx.metricsUrl)).text();
      return /callrelay_console_viewers (\d+)/.exec(metrics)?.[1] ?? '?';
    };
    const closeViewers = async (): Promise<void> => {
      for (const v of viewers) v.abort.abort();
      for (const s of stalled) s.destroy();
      await sleep(2000);
    };

    const results: Window[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      results.push(await measure(`${round}: no viewers`, false));
      const open = await openViewers();
      results.push(await measure(`${round}: ${VIEWERS} viewers (${STALLED} not reading; ${open} open)`, true));
      await closeViewers();
      viewers.length = 0;
      stalled.length = 0;
    }

    const ms = (x: number) => x.toFixed(2);
    const lines = [
      `console viewers vs call latency: ${CALLS} calls (callers talking, answers, barge-ins), ${WINDOW_S} s windows`,
      '',
      '| window | caller→model p50 / p99 / max (ms) | model→caller p50 / p99 / max (ms) | frames measured (lost) | ' +
        'console events delivered | relay CPU |',
      '|---|---|---|---|---|---|',
      ...results.map(
        (r) =>
          `| ${r.name} | ${ms(r.up.p50)} / ${ms(r.up.p99)} / ${ms(r.up.max)} | ` +
          `${ms(r.down.p50)} / ${ms(r.down.p99)} / ${ms(r.down.max)} | ` +
          `${r.up.received} up, ${r.down.received} down (${r.up.lost + r.down.lost}) | ${r.events} | ` +
          `${r.cpuPct.toFixed(0)}% |`,
      ),
      '',
      ...[false, true].map((on) => {
        const w = results.filter((r) => r.viewers === on);
        const m = (f: (r: Window) => number) => ms(median(w.map(f)));
        const which = on ? `${VIEWERS}-viewer` : 'no-viewer';
        return (
          `median of the ${which} windows: caller→model p50 ${m((r) => r.up.p50)} ms, p99 ${m((r) => r.up.p99)} ms; ` +
          `model→caller p50 ${m((r) => r.down.p50)} ms, p99 ${m((r) => r.down.p99)} ms; ` +
          `relay CPU ${median(w.map((r) => r.cpuPct)).toFixed(0)}%`
        );
      }),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    talking = false;
    await Promise.race([Promise.all(talkers), sleep(5000)]);
  } finally {
    talking = false;
    for (const v of viewers) v.abort.abort();
    for (const s of stalled) s.destroy();
    await Promise.all(callers.map((c) => c.hangUp().catch(() => undefined)));
    await fx.stop();
    clock.stopPhases();
  }
}

await main();
process.exit(0);
