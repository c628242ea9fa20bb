import type { TransferTarget } from '../src/merchants/merchant.js';
import { FakeTwilioRestServer } from '../src/sim/twilio-rest/twilio-rest-server.js';
import { SimPhoneCall } from '../src/sim/twilio/phone-call.js';
import type { SimCaller } from '../src/sim/twilio/caller.js';
import { createTwilioClient } from '../src/sms/twilio-rest.js';
import { twilioLineControl } from '../src/transports/twilio/twilio-line-control.js';
import { startHarness, until, type Harness } from '../test/support/relay-harness.js';

// `npx tsx bench/receptionist-timing.ts [calls]`: how quickly the relay acts once the caller has heard
// the last of a goodbye or a transfer line, measured as the caller experiences it. For each call:
// - hang-up delay: from the end of the last goodbye audio the caller heard to the line closing;
// - redirect delay: from the end of the transfer line the caller heard to Twilio's REST API receiving
//   the redirect.
// Both wait on Twilio's mark echo (the simulated caller echoes a mark when the audio before it has
// played), so they measure the relay's reaction plus the echo, never a timer. Loopback only, bounded.

const CALLS = Math.min(50, Math.max(1, Number(process.argv[2] ?? 20)));
const BATCH = 5;
const ALWAYS = Object.fromEntries(['1', '2', '3', '4', '5', '6', '7'].map((d) => [d, ['00:00-24:00']]));
const PATEL: TransferTarget = { name: 'Dr Patel', number: '+15005550009', handles: 'emergencies', hours: ALWAYS };
/** Date.now() minus performance.now(): the REST imitation stamps requests with the wall clock. */
const wallOffset = Date.now() - performance.now();

const listening = (h: Harness, sid: string) => () => h.states.get(sid)?.at(-1) === 'session.listening';
const lastHeard = (c: SimCaller) => c.heardSegments.at(-1)?.endAt ?? Number.NaN;

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
}

const TOKEN = 'receptionist-timing-token';

/** A signed call (signed upgrades are not held to the anonymous per-IP upgrade limit). */
async function dial(h: Harness, twilio: FakeTwilioRestServer) {
  const first = h.model.nextSession(5000);
  const phone = await SimPhoneCall.dial({
    url: h.url,
    customParameters: { merchantId: h.merchant.id, callerPhone: '+14155550100', direction: 'inbound' },
    twilioAuthToken: TOKEN,
    publicHost: 'relay.test',
  });
  twilio.liveCall(phone, { from: '+14155550100', to: '+15005550006' });
  const model = await first;
  await until(listening(h, phone.callSid), 10_000, 'listening');
  return { phone, model };
}

async function hangUpDelay(h: Harness, twilio: FakeTwilioRestServer): Promise<number> {
  const { phone, model } = await dial(h, twilio);
  const caller = phone.current;
  model.onResponseCreate(() => ({ text: 'Goodbye!', audioMs: 600 }));
  await model.respond({
    text: 'Alright.',
    audioMs: 200,
    functionCalls: [{ name: 'endCall', arguments: '{}', callId: 'end' }],
  });
  const closed = await caller.waitForClose(15_000);
  return closed.at - lastHeard(caller);
}

async function redirectDelay(h: Harness, twilio: FakeTwilioRestServer): Promise<number> {
  const { phone, model } = await dial(h, twilio);
  model.onResponseCreate(() => ({ text: 'Putting you through now.', audioMs: 600 }));
  await model.respond({
    text: 'Sure.',
    audioMs: 200,
    functionCalls: [{ name: 'transferCall', arguments: '{"name":"Dr Patel","reason":"timing"}', callId: 't' }],
  });
  const path = new RegExp(`/Calls/${phone.callSid}\\.json$`);
  await until(() => twilio.requestsTo('POST', path).length > 0, 15_000, 'the redirect');
  const at = twilio.requestsTo('POST', path)[0]?.at ?? Number.NaN;
  const heard = lastHeard(phone.legs[0] ?? phone.current);
  await phone.current.waitForClose(5000).catch(() => undefined);
  return at - wallOffset - heard;
}

async function main(): Promise<void> {
  const twilio = await FakeTwilioRestServer.start({ authToken: TOKEN, dialOutcome: () => 'completed' });
  const line = twilioLineControl({
    client: createTwilioClient({ accountSid: twilio.accountSid, authToken: twilio.authToken, apiBaseUrl: twilio.url }),
    publicHost: 'relay.test',
  });
  const h = await startHarness({
    env: { TWILIO_AUTH_TOKEN: TOKEN },
    merchant: { transferTargets: [PATEL] },
    overrides: { line },
  });
  twilio.reach = (u) => u.replace('https://relay.test', `http://127.0.0.1:${h.relay.port}`);
  const hangUps: number[] = [];
  const redirects: number[] = [];
  try {
    for (let i = 0; i < CALLS; i += BATCH) {
      const n = Math.min(BATCH, CALLS - i);
      hangUps.push(...(await Promise.all(Array.from({ length: n }, () => hangUpDelay(h, twilio)))));
      redirects.push(...(await Promise.all(Array.from({ length: n }, () => redirectDelay(h, twilio)))));
    }
  } finally {
    await twilio.redirects.idle();
    await h.close();
    await twilio.close();
  }
  const line2 = (name: string, xs: number[]) =>
    `${name}: n=${xs.length} p50 ${pct(xs, 50).toFixed(1)} ms, p99 ${pct(xs, 99).toFixed(1)} ms, max ` +
    `${Math.max(...xs).toFixed(1)} ms`;
  process.stdout.write(`${line2('hang-up after the last goodbye audio heard', hangUps)}\n`);
  process.stdout.write(`${line2('redirect after the last transfer-line audio heard', redirects)}\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
