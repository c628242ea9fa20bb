import { loadConfig, logLevelOr, relayEnv } from './config.js';
import { startRelay } from './app.js';
import { MemoryCallRecorder } from './call/recorder.js';
import { SimCaller } from './sim/twilio/caller.js';
import { speechLike } from './audio/speechlike.js';
import { writeWavFile } from './audio/wav.js';
import { log } from './log.js';

// `npm run demo`: one complete phone call with no API keys and no phone. A simulated Twilio caller
// dials the real relay (uWebSockets.js, call actor, provider code), which talks to the local
// SIMULATED AGENT. Prints the call's state transitions and its transcript as they happen.

const t0 = performance.now();
const at = () => `${((performance.now() - t0) / 1000).toFixed(2)}s`.padStart(7);
const say = (line: string) => process.stdout.write(`${at()}  ${line}\n`);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function waitUntil(what: string, fn: () => boolean, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`demo: timed out waiting for ${what}`);
    await sleep(20);
  }
}

async function main(): Promise<void> {
  const wavPath = process.argv.includes('--wav')
    ? (process.argv[process.argv.indexOf('--wav') + 1] ?? 'demo-call.wav')
    : undefined;
  const recorder = new MemoryCallRecorder();
  log.level = logLevelOr(relayEnv(), 'warn');
  let state = '';
  const relay = await startRelay(loadConfig({ ...relayEnv(), PORT: '0', HOST: '127.0.0.1', PROVIDER: 'sim' }), {
    // The demo keeps its record in memory so it can run next to a relay that holds ./data.
    store: null,
    recorder,
    onCallState: (_s, next) => {
      state = next;
      say(`state → ${next}`);
    },
  });
  process.stdout.write(
    `\ncallrelay demo: simulated caller ⇄ relay (port ${relay.port}) ⇄ SIMULATED AGENT (no API key, not a real AI)\n\n`,
  );
  const caller = await SimCaller.connect({
    url: `ws://127.0.0.1:${relay.port}/media-stream`,
    customParameters: {
      merchantId: 'demo',
      callerPhone: '+14155550100',
      calledNumber: '+15005550006',
      direction: 'inbound',
    },
  });
  caller.on('media', (m) => m.startsBurst && say('caller hears the assistant'));
  caller.on('clear', () => say('relay sent Twilio `clear`: the assistant stops talking (barge-in)'));
  try {
    say(`call ${caller.callSid} connected`);
    await waitUntil('the greeting to finish', () => state === 'session.listening');
    say('caller speaks (1.6 s)…');
    await caller.say(speechLike({ ms: 1600, seed: 7 }));
    await waitUntil('the answer to start', () => state.startsWith('session.speaking'));
    await sleep(900);
    say('caller talks over the answer (1.2 s)…');
    await caller.say(speechLike({ ms: 1200, seed: 8 }));
    await waitUntil('the next answer to finish', () => state === 'session.listening', 20_000);
    say('caller presses 1 then 2 on the keypad');
    caller.sendDtmf('1');
    caller.sendDtmf('2');
    await sleep(900);
    await waitUntil('the answer to the keypad', () => state === 'session.listening', 20_000);
    // The simulated agent treats 9 as "that's all, thanks": it calls endCall, says goodbye, and the
    // relay closes the line once the goodbye has been heard.
    say('caller presses 9 ("that is all, thank you")');
    caller.sendDtmf('9');
    await caller.waitForClose(20_000);
    say('the assistant hung up after its goodbye was heard');
    const rec = await recorder.waitFor(caller.callSid);
    process.stdout.write(`\nTranscript (${rec.endReason}, ${(rec.durationMs / 1000).toFixed(1)} s):\n`);
    for (const e of rec.transcript) {
      process.stdout.write(
        `  ${(e.atMs / 1000).toFixed(1).padStart(5)}s  ${e.role.padEnd(9)} ${e.text}` +
          `${e.interrupted ? '  [interrupted]' : ''}\n`,
      );
    }
    process.stdout.write(
      `\nModel connect: ${rec.stats.modelConnectMs} ms · barge-ins: ${rec.stats.bargeIns} · ` +
        `assistant audio sent: ${(rec.stats.assistantAudioMs / 1000).toFixed(1)} s · ` +
        `caller heard: ${(caller.heardBytes / 8000).toFixed(1)} s\n`,
    );
    if (wavPath) {
      await writeWavFile(wavPath, caller.heardAudio());
      process.stdout.write(`What the caller heard: ${wavPath}\n`);
    }
  } finally {
    if (caller.state !== 'closed') await caller.drop();
    await relay.close();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
