import { loadConfig, logLevelOr, relayEnv } from './config.js';
import { startRelay } from './app.js';
import { MemoryCallRecorder } from './call/recorder.js';
import { demoMerchant } from './merchants/demo-merchant.js';
import { StaticMerchantDirectory } from './merchants/directory.js';
import { createTwilioClient } from './sms/twilio-rest.js';
import { FakeLiveServer } from './sim/live/live-server.js';
import { FakeTwilioRestServer } from './sim/twilio-rest/twilio-rest-server.js';
import { SimPhoneCall } from './sim/twilio/phone-call.js';
import { twilioLineControl } from './transports/twilio/twilio-line-control.js';
import { speechLike } from './audio/speechlike.js';
import { writeWavFile } from './audio/wav.js';
import { log } from './log.js';

// `npm run demo`: one complete phone call with no API keys and no phone. A simulated Twilio caller
// dials the real relay (uWebSockets.js, call actor, provider code), which talks to the local
// SIMULATED AGENT. Prints the call's state transitions and its transcript as they happen. The caller
// talks, talks over the assistant, presses keys, asks for a person (0) whom a local imitation of
// Twilio rings without an answer, so the call comes back to the assistant, and ends the call (9).

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
  // Twilio's REST API, imitated: Dr Patel's phone rings and nobody answers.
  const twilio = await FakeTwilioRestServer.start({ dialOutcome: () => 'no-answer' });
  const line = twilioLineControl({
    client: createTwilioClient({ accountSid: twilio.accountSid, authToken: twilio.authToken, apiBaseUrl: twilio.url }),
    publicHost: 'demo.invalid',
  });
  // Dr Patel takes calls around the clock in the demo, so the transfer is tried whatever the hour.
  const always = Object.fromEntries(['1', '2', '3', '4', '5', '6', '7'].map((d) => [d, ['00:00-24:00']]));
  const merchant = {
    ...demoMerchant,
    transferTargets: (demoMerchant.transferTargets ?? []).map((t) => ({ ...t, hours: always })),
  };
  // `--provider openai-live`: the same call on the GPT-Live protocol, against a local fake of it.
  const liveDemo = process.argv.includes('--provider') && process.argv.includes('openai-live');
  const live = liveDemo ? await FakeLiveServer.start({ apiKey: 'sim-live' }) : null;
  const provider = live
    ? { PROVIDER: 'openai-live', OPENAI_API_KEY: 'sim-live', OPENAI_LIVE_URL: live.url }
    : { PROVIDER: 'sim' };
  const relay = await startRelay(loadConfig({ ...relayEnv(), PORT: '0', HOST: '127.0.0.1', ...provider }), {
    // The demo keeps its record in memory so it can run next to a relay that holds ./data.
    store: null,
    recorder,
    directory: new StaticMerchantDirectory([merchant], merchant.id),
    line,
    onCallState: (_s, next) => {
      state = next;
      say(`state → ${next}`);
    },
  });
  const agent = live ? 'SIMULATED GPT-LIVE AGENT' : 'SIMULATED AGENT';
  process.stdout.write(
    `\ncallrelay demo: simulated caller ⇄ relay (port ${relay.port}) ⇄ ${agent} (no API key, not a real AI)\n\n`,
  );
  twilio.reach = (u) => u.replace('https://demo.invalid', `http://127.0.0.1:${relay.port}`);
  const phone = await SimPhoneCall.dial({
    url: `ws://127.0.0.1:${relay.port}/media-stream`,
    customParameters: {
      merchantId: 'demo',
      callerPhone: '+14155550100',
      calledNumber: '+15005550006',
      direction: 'inbound',
    },
  });
  twilio.liveCall(phone, { from: '+14155550100', to: '+15005550006' });
  let caller = phone.current;
  const listen = (c: typeof caller) => {
    c.on('media', (m) => m.startsBurst && say('caller hears the assistant'));
    c.on('clear', () => say('relay sent Twilio `clear`: the assistant stops talking (barge-in)'));
  };
  listen(caller);
  try {
    say(`call ${caller.callSid} connected`);
    await waitUntil('the greeting to finish', () => state === 'session.listening');
    say('caller speaks (1.6 s)…');
    await caller.say(speechLike({ ms: 1600, seed: 7 }));
    await waitUntil('the answer to start', () => state.startsWith('session.speaking'));
    await sleep(900);
    say('caller talks over the answer (1.2 s)…');
    await caller.say(speechLike({ ms: 1200, seed: 8 }));
    // The assistant answers what the caller said over it; the keypad comes once that answer was heard.
    await waitUntil('the next answer to start', () => state.startsWith('session.speaking'), 20_000);
    await waitUntil('the next answer to finish', () => state === 'session.listening', 20_000);
    say('caller presses 1 then 2 on the keypad');
    caller.sendDtmf('1');
    caller.sendDtmf('2');
    await sleep(900);
    await waitUntil('the answer to the keypad', () => state === 'session.listening', 20_000);
    say('caller presses 0 ("can I speak to a person?")');
    caller.sendDtmf('0');
    const back = phone.nextLeg(30_000);
    await waitUntil(
      'the transfer line to be heard',
      () => state.startsWith('session.transferring.redirecting'),
      20_000,
    );
    say("relay redirects the call over Twilio's REST API: <Dial> Dr Patel (with a whisper of who is calling)");
    caller = await back;
    listen(caller);
    say(`Dr Patel did not answer (${twilio.redirects.dials[0]?.outcome}): Twilio brings the call back on a new stream`);
    await waitUntil('the assistant to offer a message', () => state === 'session.listening', 20_000);
    // The simulated agent treats 9 as "that's all, thanks": it calls endCall, says goodbye, and the
    // relay closes the line once the goodbye has been heard.
    say('caller presses 9 ("that is all, thank you")');
    caller.sendDtmf('9');
    await caller.waitForClose(20_000);
    say('the assistant hung up after its goodbye was heard');
    await recorder.waitFor(caller.callSid);
    // The call that came back from the transfer is recorded again as one conversation: the last record.
    await waitUntil('the whole call recorded', () =>
      recorder.records.some((r) => r.callSid === caller.callSid && r.endReason === 'assistant_ended'),
    );
    const rec = recorder.records.filter((r) => r.callSid === caller.callSid).at(-1);
    if (!rec) throw new Error('demo: no call record');
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
        `caller heard: ${(phone.legs.reduce((n, leg) => n + leg.heardBytes, 0) / 8000).toFixed(1)} s\n`,
    );
    if (wavPath) {
      await writeWavFile(wavPath, caller.heardAudio());
      process.stdout.write(`What the caller heard: ${wavPath}\n`);
    }
  } finally {
    if (caller.state !== 'closed') await caller.drop();
    await relay.close();
    await twilio.close();
    await live?.close();
  }
}

(process.argv.includes('--sip') ? import('./demo-sip.js').then((m) => m.runSipDemo()) : main()).then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
