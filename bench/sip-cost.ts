import { createHmac } from 'node:crypto';
import { parseArgs } from 'node:util';
import { log } from '../src/log.js';
import { FakeModelServer } from '../src/sim/model/model-server.js';
import { SimOpenAISip, type SimOpenAISipOptions, type SimSipCall } from '../src/sim/openai-sip/sip-server.js';
import { SimCaller } from '../src/sim/twilio/caller.js';
import { startRelayProcess, type RelayProcess } from '../test/support/relay-process.js';
import { cpuSeconds, percentile, rssKiB } from './proc-stats.js';

log.level = 'warn';

// `npm run bench:sip`: what a SIP call costs the relay next to a Media Streams call, in one run.
// The relay runs as a real process (`src/main.ts`, embedded PGlite) twice in a row: N Media Streams
// calls (a simulated Twilio caller sending its 50 frames a second, the fake model answering), then N
// SIP calls (the OpenAI SIP imitation: the caller's audio goes into its model session, the relay only
// holds the sideband). After the greetings, the relay's CPU is read over the same window for each.
// Also: from the imitation sending each call's webhook to the relay's accept request reaching it.
//
//   npm run bench:sip -- [--calls 40] [--seconds 10]
//
// Bounded: N ≤ 500, the window ≤ 120 s, every call hung up at the end.

const { values: args } = parseArgs({
  options: { calls: { type: 'string', default: '40' }, seconds: { type: 'string', default: '10' } },
});
const N = Math.max(1, Math.min(500, Math.floor(Number(args.calls))));
const WINDOW_S = Math.max(2, Math.min(120, Number(args.seconds)));
const SETTLE_MS = 4000;
const TOKEN = 'bench-twilio-token';
const HOST = 'relay.bench';
const KEY = 'sk-bench';
const SECRET = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const say = (line: string) => void process.stderr.write(`${line}\n`);

const relayEnv = (realtimeUrl: string, extra: Record<string, string> = {}) => ({
  PROVIDER: 'openai',
  OPENAI_API_KEY: KEY,
  OPENAI_REALTIME_URL: realtimeUrl,
  PUBLIC_HOST: HOST,
  TWILIO_AUTH_TOKEN: TOKEN,
  // info: the start-up line the harness waits for; both paths log the same few lines a call.
  LOG_LEVEL: 'info',
  SILENCE_REPROMPT_SECONDS: '120',
  MAX_CALL_SECONDS: '3600',
  ...extra,
});

interface Window {
  cpuPctPerCall: number;
  rssKiB: number;
}

/** The relay's CPU (% of a core) per call and its RSS, over the window. */
async function measure(relay: RelayProcess): Promise<Window> {
  const pid = relay.child.pid ?? 0;
  const c0 = cpuSeconds(pid);
  const t0 = performance.now();
  await sleep(WINDOW_S * 1000);
  const cpu = cpuSeconds(pid) - c0;
  const seconds = (performance.now() - t0) / 1000;
  return { cpuPctPerCall: (100 * cpu) / seconds / N, rssKiB: rssKiB(pid) };
}

async function mediaStreams(): Promise<Window> {
  const model = await FakeModelServer.start({ dialect: 'openai', mode: 'agent' });
  const relay = await startRelayProcess(relayEnv(model.url));
  const signature = createHmac('sha1', TOKEN).update(`wss://${HOST}/media-stream`).digest('base64');
  const callers: SimCaller[] = [];
  try {
    for (let i = 0; i < N; i++) {
      callers.push(
        await SimCaller.connect({
          url: `ws://127.0.0.1:${relay.port}/media-stream`,
          headers: { 'X-Twilio-Signature': signature },
          customParameters: { merchantId: 'demo', callerPhone: '+14155550100', direction: 'inbound' },
        }),
      );
    }
    await sleep(SETTLE_MS);
    return await measure(relay);
  } finally {
    await Promise.all(callers.map((c) => c.drop().catch(() => undefined)));
    relay.kill();
    await relay.exited;
    await model.close();
  }
}

async function sip(): Promise<Window & { acceptMs: number[] }> {
  const opts: SimOpenAISipOptions = {
    webhookUrl: 'http://127.0.0.1:9/unset',
    webhookSecret: SECRET,
    apiKey: KEY,
    mode: 'agent',
  };
  const sim = await SimOpenAISip.start(opts);
  const relay = await startRelayProcess(
    relayEnv(sim.realtimeUrl, { OPENAI_BASE_URL: sim.apiBaseUrl, OPENAI_WEBHOOK_SECRET: SECRET }),
  );
  // The imitation reads its options object for each call: the relay's URL is known now.
  opts.webhookUrl = `http://127.0.0.1:${relay.port}/openai/webhook`;
  const calls: SimSipCall[] = [];
  try {
    for (let i = 0; i < N; i++) {
      // One at a time: the figure is the relay's own delay, not a queue behind a burst.
      const call = await sim.dial({ from: '+14155550100', to: '+15005550006' });
      await call.waitFor('accepted', 10_000);
      calls.push(call);
    }
    await Promise.all(calls.map((c) => c.waitForSideband(10_000)));
    await sleep(SETTLE_MS);
    const window = await measure(relay);
    const acceptMs = calls.map((c) => {
      const accept = sim.requests.find((r) => r.op === 'accept' && r.callId === c.callId);
      return accept ? accept.at - c.webhookSentAt : Number.NaN;
    });
    return { ...window, acceptMs };
  } finally {
    for (const c of calls) c.hangUp();
    relay.kill();
    await relay.exited;
    await sim.close();
  }
}

say(`bench:sip — ${N} calls each way, ${WINDOW_S} s window after ${SETTLE_MS / 1000} s to settle`);
const media = await mediaStreams();
say(
  `  Media Streams: ${media.cpuPctPerCall.toFixed(3)} % of a core per call, RSS ${Math.round(media.rssKiB / 1024)} MiB`,
);
const sipRun = await sip();
const ok = sipRun.acceptMs.filter(Number.isFinite);
const sipRss = Math.round(sipRun.rssKiB / 1024);
say(`  SIP:           ${sipRun.cpuPctPerCall.toFixed(3)} % of a core per call, RSS ${sipRss} MiB`);
say(
  `  SIP CPU per call = ${(sipRun.cpuPctPerCall / media.cpuPctPerCall).toFixed(3)}× a Media Streams call; ` +
    `webhook sent → accept received: p50 ${percentile(ok, 50).toFixed(1)} ms, ` +
    `p99 ${percentile(ok, 99).toFixed(1)} ms ` +
    `(${ok.length}/${N} calls, both ends at the imitation, loopback)`,
);
process.exit(0);
