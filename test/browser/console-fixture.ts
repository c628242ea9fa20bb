import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { speechLike } from '../../src/audio/speechlike.js';
import { createSignInLink } from '../../src/console/sign-in-links.js';
import { FakeGoogleServer } from '../../src/sim/google/google-server.js';
import { FakeModelServer, type FakeModelServerOptions } from '../../src/sim/model/model-server.js';
import { SimCaller, type SimCallerOptions } from '../../src/sim/twilio/caller.js';
import { openStore } from '../../src/store/open-store.js';
import { seedDemoMerchant, seedMerchant } from '../../src/store/seed.js';

// A real relay process for the console's browser tests and screenshots: the relay (src/main.ts) in a
// child process on an embedded database seeded with two merchants, their sign-in links, messages and
// appointments; the simulated model (agent mode: it answers turns and calls the merchant's first tool
// after keypad digits) and the imitation of Google (OAuth consent, tokens, calendars) in this process.
// Calls are placed by the simulated Twilio caller, signed as Twilio signs them (signed streams are
// not rate limited, so a test may place as many calls as it needs).

export const OPERATOR_TOKEN = 'console-operator-token-for-tests-0123456789';
export const GOOGLE_CLIENT = { id: 'callrelay-console-test.apps.googleusercontent.com', secret: 'test-secret' };
export const FRONT_DESK = 'front-desk@group.calendar.google.com';

/** Debian's chromium, or CHROMIUM_PATH; null when neither is there. */
export function chromiumPath(): string | null {
  for (const p of [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser']) {
    if (p && existsSync(p)) return p;
  }
  return null;
}

export interface ConsoleFixture {
  origin: string;
  metricsUrl: string;
  /** The relay process. */
  pid: number;
  /** What the relay logged so far (with `captureLog`; else empty). */
  log(): string;
  links: { demo: string; bikes: string };
  google: FakeGoogleServer;
  model: FakeModelServer;
  /** Places a call and returns the connected caller. */
  dial(merchantId: 'demo' | 'bikes', callerPhone?: string, extra?: Partial<SimCallerOptions>): Promise<SimCaller>;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function seed(dataDir: string, origin: string): Promise<ConsoleFixture['links']> {
  const store = await openStore({ dataDir });
  try {
    await seedDemoMerchant(store);
    await store.upsertMerchant({
      ...seedMerchant,
      id: 'bikes',
      name: 'Bright Bikes',
      timeZone: 'America/New_York',
      phoneNumbers: ['+15005550007'],
      tools: ['takeMessage'],
      greeting: 'Thanks for calling Bright Bikes.',
    });
    const demo = await createSignInLink(store, 'demo', origin, 30);
    const bikes = await createSignInLink(store, 'bikes', origin, 30);
    if (!demo || !bikes) throw new Error('fixture: merchants missing');
    await store.saveMessage({
      merchantId: 'demo',
      callerName: 'Maria Lopez',
      callerPhone: '+14155550142',
      body: 'Please call me back about moving my cleaning to next week.',
      urgency: 'normal',
    });
    await store.saveMessage({
      merchantId: 'demo',
      callerName: 'Sam Okafor',
      callerPhone: '+14155550199',
      body: 'Chipped a tooth this morning, is there anything today?',
      urgency: 'urgent',
    });
    const c1 = await store.findOrCreateCustomer('demo', '+14155550142', 'Maria Lopez');
    const c2 = await store.findOrCreateCustomer('demo', '+14155550177', 'Dev Patel');
    const day = new Date();
    day.setUTCDate(day.getUTCDate() + 2);
    day.setUTCHours(17, 0, 0, 0);
    const at = (h: number) => new Date(day.getTime() + h * 3_600_000);
    await store.bookAppointment({
      merchantId: 'demo',
      customerId: c1.id,
      startsAt: at(0),
      endsAt: at(0.5),
      notes: 'Cleaning',
    });
    await store.bookAppointment({
      merchantId: 'demo',
      customerId: c2.id,
      startsAt: at(24),
      endsAt: at(24.5),
      notes: 'Check-up',
    });
    return { demo: demo.link, bikes: bikes.link };
  } finally {
    await store.close();
  }
}

export interface FixtureOptions {
  /** The simulated model's settings (default: agent mode, a tool call after keypad digits). */
  model?: FakeModelServerOptions;
  /** Keep the relay's log (at info level) for the test to read instead of printing it. */
  captureLog?: boolean;
}

export async function startConsoleFixture(opts: FixtureOptions = {}): Promise<ConsoleFixture> {
  const dataDir = await mkdtemp(join(tmpdir(), 'callrelay-console-'));
  const port = await freePort();
  const metricsPort = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const google = await FakeGoogleServer.start({
    clients: { [GOOGLE_CLIENT.id]: GOOGLE_CLIENT.secret },
    calendars: ['primary', FRONT_DESK],
  });
  google.addCalendar(FRONT_DESK, 'Front desk');
  const model = await FakeModelServer.start(
    opts.model ?? { dialect: 'openai', mode: 'agent', agent: { toolCallOnDigits: true, transcriptDelayMs: 150 } },
  );
  const links = await seed(dataDir, origin);
  const twilioToken = randomBytes(16).toString('hex');
  // Twilio signs a Media Streams upgrade as HMAC-SHA1 of wss://PUBLIC_HOST/media-stream, no params.
  const signature = createHmac('sha1', twilioToken).update(`wss://127.0.0.1:${port}/media-stream`).digest('base64');
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    NODE_ENV: 'development',
    HOST: '127.0.0.1',
    PORT: String(port),
    PUBLIC_HOST: `127.0.0.1:${port}`,
    METRICS_PORT: String(metricsPort),
    DATA_DIR: dataDir,
    LOG_LEVEL: opts.captureLog ? 'info' : (process.env.CONSOLE_FIXTURE_LOG ?? 'warn'),
    CONSOLE_TOKEN: OPERATOR_TOKEN,
    TWILIO_AUTH_TOKEN: twilioToken,
    PROVIDER: 'openai',
    OPENAI_API_KEY: 'sk-simulated',
    OPENAI_REALTIME_URL: model.url,
    GOOGLE_CLIENT_ID: GOOGLE_CLIENT.id,
    GOOGLE_CLIENT_SECRET: GOOGLE_CLIENT.secret,
    GOOGLE_API_ROOT_URL: google.rootUrl,
    GOOGLE_OAUTH_TOKEN_URL: google.tokenUrl,
    GOOGLE_OAUTH_AUTH_URL: google.authUrl,
    GOOGLE_OAUTH_REVOKE_URL: google.revokeUrl,
  };
  // The test's own database settings would send the relay elsewhere than the seeded PGlite.
  for (const k of ['DATABASE_URL', 'SUPABASE_URL', 'SUPABASE_SERVICE_ROLE_KEY', 'VITEST', 'XAI_API_KEY']) delete env[k];
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: join(import.meta.dirname, '../..'),
    env,
    stdio: ['ignore', opts.captureLog ? 'pipe' : 'inherit', opts.captureLog ? 'pipe' : 'inherit'],
  });
  const logged: string[] = [];
  child.stdout?.on('data', (b: Buffer) => logged.push(b.toString()));
  child.stderr?.on('data', (b: Buffer) => logged.push(b.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 60_000;
  for (;;) {
    const ok = await fetch(`${origin}/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (child.exitCode !== null) throw new Error(`relay exited with ${child.exitCode} before it listened`);
    if (Date.now() > deadline) throw new Error('relay did not listen within 60 s');
    await sleep(200);
  }
  const callers = new Set<SimCaller>();
  return {
    origin,
    pid: child.pid ?? 0,
    log: () => logged.join(''),
    metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
    links,
    google,
    model,
    async dial(merchantId, callerPhone = '+14155550123', extra = {}) {
      const caller = await SimCaller.connect({
        ...extra,
        headers: { 'X-Twilio-Signature': signature },
        url: `ws://127.0.0.1:${port}/media-stream`,
        customParameters: {
          merchantId,
          callerPhone,
          calledNumber: merchantId === 'demo' ? '+15005550006' : '+15005550007',
          direction: 'inbound',
        },
      });
      callers.add(caller);
      return caller;
    },
    async stop() {
      for (const c of callers) await c.hangUp().catch(() => undefined);
      child.kill('SIGTERM');
      const code = await Promise.race([exited, sleep(15_000).then(() => 'timeout' as const)]);
      if (code === 'timeout') child.kill('SIGKILL');
      await model.close();
      await google.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** The caller lets the greeting play out, speaks, and talks over the answer: a barge-in. */
export async function speakAndBargeIn(caller: SimCaller): Promise<void> {
  await caller.waitFor((c) => c.hearing, 15_000, 'the greeting');
  await caller.waitFor((c) => !c.hearing && c.queuedPlaybackBytes === 0, 20_000, 'the greeting to end');
  await caller.say(speechLike({ ms: 1600, seed: 7 }));
  await caller.waitFor((c) => c.hearing, 15_000, 'the answer');
  await sleep(500);
  await caller.say(speechLike({ ms: 1400, seed: 8 }));
  await caller.waitFor((c) => c.hearing, 15_000, 'the next answer');
  await caller.waitFor((c) => !c.hearing && c.queuedPlaybackBytes === 0, 20_000, 'the answer to end');
}

/** Keypad digits make the simulated model call the merchant's first tool. */
export async function pressKeys(caller: SimCaller, digits: string): Promise<void> {
  for (const d of digits) caller.sendDtmf(d);
  await sleep(1200);
  await caller.waitFor((c) => c.hearing, 15_000, 'the answer after the keys');
  await caller.waitFor((c) => !c.hearing && c.queuedPlaybackBytes === 0, 20_000, 'that answer to end');
}
