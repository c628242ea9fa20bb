import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DateTime } from 'luxon';
import { startRelay } from './app.js';
import { MemoryCallRecorder } from './call/recorder.js';
import { loadConfig, logLevelOr, relayEnv } from './config.js';
import { log } from './log.js';
import { demoMerchant } from './merchants/demo-merchant.js';
import type { Merchant } from './merchants/merchant.js';
import { SimOpenAISip, type SimOpenAISipOptions } from './sim/openai-sip/sip-server.js';
import { MEMORY, openPglite } from './store/pglite-db.js';
import { SqlStore } from './store/sql-store.js';

// `npm run demo -- --sip`: one whole SIP call with no keys and no phone. OpenAI's SIP side is a local
// imitation (src/sim/openai-sip): it "receives" a call on the trunk, sends the relay the signed
// realtime.call.incoming webhook, and runs a SIMULATED model session the caller talks to directly;
// the relay never sees the audio. It accepts the call over REST, controls it over the sideband socket
// (greeting, a booking on a real embedded database, the keypad), hangs up when the assistant says
// goodbye, and records the call.

const t0 = performance.now();
const at = () => `${((performance.now() - t0) / 1000).toFixed(2)}s`.padStart(7);
const say = (line: string) => process.stdout.write(`${at()}  ${line}\n`);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const SECRET = `whsec_${Buffer.from('callrelay demo webhook secret!!!').toString('base64')}`;

async function waitUntil(what: string, fn: () => boolean, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`demo --sip: timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** The next Monday at 10:00 in the merchant's zone: inside its hours, whatever today is. */
function nextMonday(zone: string): { date: string; time: string } {
  const now = DateTime.now().setZone(zone);
  const days = ((8 - now.weekday) % 7) + (now.weekday === 1 ? 7 : 0);
  return { date: now.plus({ days }).toISODate() ?? '', time: '10:00' };
}

export async function runSipDemo(): Promise<void> {
  log.level = logLevelOr(relayEnv(), 'warn');
  const dataDir = mkdtempSync(join(tmpdir(), 'callrelay-demo-sip-'));
  process.env.DATA_DIR = dataDir;
  const db = await openPglite(MEMORY);
  const store = new SqlStore(db);
  await store.migrate();
  const merchant: Merchant = { ...demoMerchant, transport: 'sip' };
  await store.upsertMerchant(merchant);
  // The webhook URL is filled in once the relay listens (the imitation reads it for each call).
  const simOpts: SimOpenAISipOptions = {
    webhookUrl: 'http://127.0.0.1:9/unset',
    webhookSecret: SECRET,
    apiKey: 'sk-demo-sim',
    mode: 'agent',
    realtimeFactor: 4,
  };
  const sip = await SimOpenAISip.start(simOpts);
  const recorder = new MemoryCallRecorder();
  let state = '';
  const relay = await startRelay(
    loadConfig({
      ...relayEnv(),
      PORT: '0',
      HOST: '127.0.0.1',
      METRICS_PORT: '0',
      PROVIDER: 'openai',
      OPENAI_API_KEY: simOpts.apiKey,
      OPENAI_REALTIME_URL: sip.realtimeUrl,
      OPENAI_BASE_URL: sip.apiBaseUrl,
      OPENAI_WEBHOOK_SECRET: SECRET,
    }),
    {
      store,
      recorder,
      onCallState: (_c, next) => {
        state = next;
        say(`state → ${next}`);
      },
    },
  );
  simOpts.webhookUrl = `http://127.0.0.1:${relay.port}/openai/webhook`;
  process.stdout.write(
    `\ncallrelay demo (SIP): caller ⇄ OpenAI's SIP side (SIMULATED, no API key, not a real AI) ⇄ audio;\n` +
      `                     relay (port ${relay.port}) controls the call from the side: webhook, REST, sideband\n\n`,
  );
  let shown = 0;
  const showRequests = setInterval(() => {
    for (const r of sip.requests.slice(shown)) say(`relay → OpenAI REST: ${r.op} (${r.status})`);
    shown = sip.requests.length;
  }, 20);
  try {
    say('a call reaches the trunk: +14155550100 → +15005550006');
    const call = await sip.dial({ from: '+14155550100', to: merchant.phoneNumbers[0] ?? '' });
    say(`OpenAI → relay: signed realtime.call.incoming (${call.callId}); the relay answered ${call.webhookStatus}`);
    await call.waitFor('accepted', 10_000);
    await call.waitForSideband(10_000);
    say('sideband socket attached (?call_id=…): the relay hears the call, the audio stays at OpenAI');
    await waitUntil('the greeting', () => call.heard.length >= 1 && state === 'session.listening');
    say(`caller hears: "${call.heard[0]}"`);
    const slot = nextMonday(merchant.timeZone);
    say(`caller: "I'd like to book a check-up on Monday at ten, my name is Ada Lovelace."`);
    await call.say("I'd like to book a check-up on Monday at ten, my name is Ada Lovelace.");
    await waitUntil('the answer', () => call.heard.length >= 2 && state === 'session.listening');
    // The simulated agent does not understand speech; the booking is its scripted next move.
    const session = call.session;
    if (!session) throw new Error('demo --sip: no session');
    const args = JSON.stringify({ date: slot.date, time: slot.time, name: 'Ada Lovelace' });
    say(`the simulated agent calls createBooking(${args})`);
    await session.respond({
      text: 'Let me book that for you.',
      functionCalls: [{ name: 'createBooking', arguments: args }],
    });
    await waitUntil('the booking answer', () => state === 'session.listening' && call.heard.length >= 4);
    say('caller presses 9 ("that is all, thank you")');
    call.pressDigit('9');
    await call.waitFor('ended', 20_000);
    await waitUntil('the hang-up', () => sip.requests.some((r) => r.op === 'hangup'));
    say('the assistant said goodbye; the relay hung the call up over REST');
    const rec = await recorder.waitFor(call.callId);
    const booked = await store.listAppointments(
      merchant.id,
      new Date(Date.now() - 86_400_000),
      new Date(Date.now() + 9 * 86_400_000),
    );
    process.stdout.write(`\nTranscript (${rec.endReason}, ${(rec.durationMs / 1000).toFixed(1)} s):\n`);
    for (const e of rec.transcript) {
      process.stdout.write(`  ${(e.atMs / 1000).toFixed(1).padStart(5)}s  ${e.role.padEnd(9)} ${e.text}\n`);
    }
    const b = booked[0];
    process.stdout.write(
      `\nBooked: ${b ? `${b.startsAt.toISOString()} (call ${b.createdByCallSid})` : 'nothing'}` +
        ` · REST: ${sip.requests.map((r) => r.op).join(', ')} · audio frames through the relay: ` +
        `${rec.stats.framesIn + rec.stats.framesOut}\n`,
    );
  } finally {
    clearInterval(showRequests);
    await relay.close();
    await sip.close();
    await store.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
