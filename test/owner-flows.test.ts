import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import twilio from 'twilio';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Merchant } from '../src/merchants/merchant.js';
import { recordingNotice } from '../src/notify/index.js';
import { FakeOpenAIServer } from '../src/sim/openai-http/openai-http-server.js';
import type { FakeModelSession } from '../src/sim/model/model-server.js';
import { FakeTwilioRestServer } from '../src/sim/twilio-rest/twilio-rest-server.js';
import type { Store } from '../src/store/store.js';
import { type Harness, startHarness, until } from './support/relay-harness.js';
import {
  addMerchant,
  body,
  eventually,
  keepOpen,
  type OpenedStore,
  type OutputBody,
  sleep,
  storeVariants,
} from './support/tools-harness.js';

// What the owner of a line gets, through whole simulated calls: the real relay (store, durable
// queues, routes) between a simulated Twilio caller and the scripted fake model, the Twilio REST
// imitation taking SMS and recordings and sending signed recording callbacks back, the fake OpenAI
// HTTP API writing summaries, and a local webhook receiver. Outages are the imitations' faults; a
// restart is a second relay on the same DATA_DIR and database.

const CALLER = '+14155550100';
const OWNER = '+15555550143';

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  status: number;
}

/** The merchant's webhook endpoint: records every POST and answers `status`. */
class Receiver {
  readonly requests: Received[] = [];
  status = 200;
  url = '';
  private constructor(private readonly server: Server) {}

  static async start(): Promise<Receiver> {
    const server = createServer();
    const r = new Receiver(server);
    server.on('request', (req, res) => {
      let raw = '';
      req.on('data', (c: Buffer) => {
        raw += c.toString('utf8');
      });
      req.on('end', () => {
        r.requests.push({ headers: req.headers, body: raw, status: r.status });
        res.writeHead(r.status, { 'Content-Type': 'text/plain' });
        res.end('ok');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    r.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return r;
  }

  /** Answered 2xx, from the `from`-th request on. */
  delivered(from = 0): Received[] {
    return this.requests.slice(from).filter((x) => x.status >= 200 && x.status < 300);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

let fake: FakeTwilioRestServer;
let openai: FakeOpenAIServer;
let hooks: Receiver;
const dirs: string[] = [];

beforeAll(async () => {
  fake = await FakeTwilioRestServer.start();
  openai = await FakeOpenAIServer.start({ reply: () => 'Ada Lovelace called about a lost crown; a message was left.' });
  hooks = await Receiver.start();
  // What startRelay reads from the environment for the owner's side.
  Object.assign(process.env, {
    TWILIO_ACCOUNT_SID: fake.accountSid,
    TWILIO_AUTH_TOKEN: fake.authToken,
    TWILIO_PHONE_NUMBER: '+15005550006',
    TWILIO_API_BASE_URL: fake.url,
    OPENAI_API_KEY: 'sk-test',
    OPENAI_BASE_URL: openai.baseUrl,
    OPENAI_TEXT_MODEL: 'gpt-test-mini',
  });
});

afterAll(async () => {
  await fake.close();
  await openai.close();
  await hooks.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
  fake.clearFaults();
  hooks.status = 200;
});

/** The webhook URL merchants are given is https; the test's receiver is reached over loopback. */
const webhookFetch: typeof fetch = (input, init) => fetch(String(input).replace('https://hooks.test', hooks.url), init);

const signedUpgrade = (): Record<string, string> => ({
  'X-Twilio-Signature': twilio.getExpectedTwilioSignature(fake.authToken, 'wss://relay.test/media-stream', {}),
});

function freshDataDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'callrelay-owner-'));
  dirs.push(d);
  process.env.DATA_DIR = d;
  return d;
}

describe.each(storeVariants())('the owner side, on $name', (variant) => {
  let db: OpenedStore;
  let store: Store;
  beforeAll(async () => {
    db = await variant.open();
    store = db.store;
  });
  afterAll(async () => {
    await db?.cleanup();
  });

  async function relay(merchant: Merchant): Promise<Harness> {
    const harness = await startHarness({
      merchant,
      overrides: { store: keepOpen(store), recorder: undefined, directory: undefined, webhookFetch },
    });
    // Twilio calls back https://PUBLIC_HOST/…; here that is this relay on loopback.
    fake.reach = (u) => u.replace('https://relay.test', `http://127.0.0.1:${harness.relay.port}`);
    return harness;
  }

  async function dial(harness: Harness, merchant: Merchant) {
    const twilioCall = fake.inboundCall({ from: CALLER, to: merchant.phoneNumbers[0] ?? '+15005550006' });
    const call = await harness.call({ callSid: twilioCall.sid, headers: signedUpgrade() });
    call.model.onResponseCreate(() => ({ text: 'OK.', audioMs: 200 }));
    await until(() => harness.states.get(twilioCall.sid)?.at(-1) === 'session.listening', 8000, 'listening');
    return call;
  }

  async function roundTrip(model: FakeModelSession, name: string, args: unknown): Promise<OutputBody> {
    const callId = `call_${name}_${Date.now()}`;
    await model.respond({
      text: 'One moment.',
      audioMs: 200,
      functionCalls: [{ name, arguments: JSON.stringify(args), callId }],
    });
    const ev = await model.waitFor(
      'conversation.item.create',
      (e) => e.item.type === 'function_call_output' && e.item.call_id === callId,
      8000,
    );
    if (ev.item.type !== 'function_call_output') throw new Error('not a function_call_output');
    // Let the answer the relay asks for after the output play out, so the next turn can start.
    const at = model.received.indexOf(ev);
    await until(
      () => model.received.slice(at).some((e) => e.type === 'response.create') && model.activeResponseId === undefined,
      5000,
      'the answer after the tool',
    );
    return body(ev.item.output);
  }

  const secret = () => `whsec_${randomBytes(32).toString('base64')}`;

  it('sends the urgent SMS and the signed webhook once across a Twilio and endpoint outage and a restart', async () => {
    freshDataDir();
    const hooksBefore = hooks.requests.length;
    const smsBefore = fake.sms.length;
    const summariesBefore = openai.requests.length;
    const m = await addMerchant(store, {
      ownerNotifications: { number: OWNER, showCallerNumber: false },
      postCallWebhook: { url: 'https://hooks.test/calls', secret: secret() },
    });
    // Twilio's Messages API and the merchant's endpoint are both down.
    fake.fail({ method: 'POST', path: /\/Messages\.json$/, status: 503 });
    hooks.status = 503;
    h = await relay(m);
    const { caller, model } = await dial(h, m);
    const out = await roundTrip(model, 'takeMessage', {
      message: 'My crown fell out and it hurts, please call me back today',
      name: 'Ada Lovelace',
      urgency: 'urgent',
    });
    expect(out).toMatchObject({ saved: true, urgency: 'urgent' });
    await until(() => fake.requestsTo('POST', /\/Messages\.json$/).length >= 1, 5000, 'an SMS attempt');
    await caller.hangUp();
    await eventually(() => store.getCallRecord(caller.callSid).then((r) => r ?? undefined), 8000, 'the call record');
    await until(() => hooks.requests.length > hooksBefore, 15_000, 'a webhook attempt');
    expect(fake.sms.length).toBe(smsBefore);
    expect(hooks.delivered(hooksBefore).length).toBe(0);

    // The relay goes down with both still queued, and comes back once the outage is over.
    await h.close();
    h = undefined;
    fake.clearFaults();
    hooks.status = 200;
    h = await relay(m);
    await until(
      () => fake.sms.length > smsBefore && hooks.delivered(hooksBefore).length > 0,
      20_000,
      'SMS and webhook delivered',
    );
    await sleep(1500);

    const texts = fake.sms.slice(smsBefore);
    expect(texts).toHaveLength(1);
    expect(texts[0]).toMatchObject({ to: OWNER, from: '+15005550006' });
    expect(texts[0]?.body).toMatch(/URGENT message from Ada Lovelace \(number ending 0100\): My crown fell out/);
    expect(texts[0]?.body).not.toContain(CALLER);

    const attempts = hooks.requests.slice(hooksBefore);
    expect(hooks.delivered(hooksBefore)).toHaveLength(1);
    // Every attempt carried the same id, so a receiver that saw one can drop the rest.
    expect(new Set(attempts.map((a) => a.headers['webhook-id']))).toEqual(new Set([`msg_${caller.callSid}`]));
    const got = hooks.delivered(hooksBefore)[0];
    if (!got) throw new Error('no delivery');
    const hook = m.postCallWebhook;
    if (!hook) throw new Error('no webhook');
    const verified = new Webhook(hook.secret).verify(got.body, {
      'webhook-id': String(got.headers['webhook-id']),
      'webhook-timestamp': String(got.headers['webhook-timestamp']),
      'webhook-signature': String(got.headers['webhook-signature']),
    });
    expect(verified).toMatchObject({
      type: 'call.completed',
      data: {
        call: { callSid: caller.callSid, merchantId: m.id, callerPhone: CALLER },
        endReason: 'caller_hung_up',
        summary: 'Ada Lovelace called about a lost crown; a message was left.',
        tools: [expect.objectContaining({ name: 'takeMessage', ok: true })],
      },
    });
    // A body changed in transit, or signed with another secret, does not verify.
    expect(() =>
      new Webhook(secret()).verify(got.body, {
        'webhook-id': String(got.headers['webhook-id']),
        'webhook-timestamp': String(got.headers['webhook-timestamp']),
        'webhook-signature': String(got.headers['webhook-signature']),
      }),
    ).toThrow();
    // The summary was written once, on the first attempt, and kept for the retries.
    expect(openai.requests.length - summariesBefore).toBe(1);
    expect(openai.requests.at(-1)?.model).toBe('gpt-test-mini');
    expect(JSON.stringify(openai.requests.at(-1)?.messages)).not.toContain(CALLER);
  }, 40_000);

  it('texts the owner a new booking and its cancellation, one SMS each', async () => {
    freshDataDir();
    const smsBefore = fake.sms.length;
    const m = await addMerchant(store, {
      ownerNotifications: { number: OWNER, showCallerNumber: false },
      businessHours: Object.fromEntries(['1', '2', '3', '4', '5', '6', '7'].map((d) => [d, ['00:00-24:00']])),
    });
    h = await relay(m);
    const { caller, model } = await dial(h, m);
    // Three days ahead at 10:00 in the merchant's zone: free, in hours, in the future.
    const day = new Date(Date.now() + 3 * 86_400_000).toISOString().slice(0, 10);
    const booked = await roundTrip(model, 'createBooking', { date: day, time: '10:00', name: 'Grace Hopper' });
    expect(booked).toMatchObject({ booked: true });
    const cancelled = await roundTrip(model, 'cancelBooking', { date: day, time: '10:00' });
    expect(cancelled).toMatchObject({ cancelled: true });
    await until(() => fake.sms.length >= smsBefore + 2, 8000, 'two SMS');
    await sleep(300);
    const texts = fake.sms.slice(smsBefore).map((x) => x.body);
    expect(texts).toHaveLength(2);
    expect(texts[0]).toMatch(/: New booking: Grace Hopper \(number ending 0100\), \w{3} \d{1,2} \w{3} 10:00$/);
    expect(texts[1]).toMatch(/: Cancelled: Grace Hopper \(number ending 0100\), \w{3} \d{1,2} \w{3} 10:00$/);
    await caller.hangUp();
  });

  it('does not send an SMS twice when Twilio took it but its answer was lost', async () => {
    freshDataDir();
    const smsBefore = fake.sms.length;
    const m = await addMerchant(store, { ownerNotifications: { number: OWNER, showCallerNumber: true } });
    fake.fail({ method: 'POST', path: /\/Messages\.json$/, status: 500, times: 1, applied: true });
    h = await relay(m);
    const { caller, model } = await dial(h, m);
    await roundTrip(model, 'takeMessage', { message: 'Call me', name: 'Grace', urgency: 'urgent' });
    await until(() => fake.requestsTo('GET', /\/Messages\.json$/).length >= 1, 10_000, 'the check before a resend');
    await sleep(500);
    const texts = fake.sms.slice(smsBefore);
    expect(texts).toHaveLength(1);
    // Opted in: the number in full.
    expect(texts[0]?.body).toContain(`Grace (${CALLER})`);
    await caller.hangUp();
  });

  it('dead-letters a webhook refused with a 4xx after one try, and never waits on a failed summary', async () => {
    const dataDir = freshDataDir();
    const before = hooks.requests.length;
    const m = await addMerchant(store, { postCallWebhook: { url: 'https://hooks.test/calls', secret: secret() } });
    openai.fail(500, 1);
    hooks.status = 400;
    h = await relay(m);
    const { caller } = await dial(h, m);
    await caller.hangUp();
    await until(() => hooks.requests.length > before, 15_000, 'the webhook');
    await sleep(1500);
    const sent = hooks.requests.slice(before);
    expect(sent).toHaveLength(1);
    expect(JSON.parse(sent[0]?.body ?? '{}')).toMatchObject({ data: { summary: null } });
    const dead = join(dataDir, 'outbox', 'post-call-webhooks.dead.jsonl');
    await until(() => existsSync(dead), 3000, 'the dead-letter file');
    expect(readFileSync(dead, 'utf8')).toContain('endpoint answered 400');
  });

  it('records a call that opted in: started with the stream, status recorded, a forged callback refused', async () => {
    freshDataDir();
    const m = await addMerchant(store, { recording: { notice: 'This call is recorded for quality' } });
    expect(recordingNotice(m)).toBe('This call is recorded for quality.');
    h = await relay(m);
    const harness = h;
    const { caller } = await dial(harness, m);
    const rec = await eventually(
      () => store.getCallRecording(caller.callSid).then((r) => r ?? undefined),
      8000,
      'the recording row',
    );
    expect(rec).toMatchObject({ callSid: caller.callSid, status: 'in-progress', channels: 2 });
    const created = fake.recordings.find((r) => r.callSid === caller.callSid);
    expect(created).toMatchObject({
      channels: 2,
      statusCallback: 'https://relay.test/twilio/recording-status',
      statusCallbackEvents: ['in-progress', 'completed', 'absent'],
    });
    await fake.settled();
    expect(fake.callbacks.filter((c) => c.params.RecordingSid === rec.sid).map((c) => c.status)).toEqual([200]);

    // A forged "completed" (signed with another token) is refused and changes nothing.
    const params = {
      AccountSid: fake.accountSid,
      CallSid: caller.callSid,
      RecordingSid: rec.sid,
      RecordingStatus: 'completed',
      RecordingDuration: '999',
    };
    const url = 'https://relay.test/twilio/recording-status';
    const forged = await fetch(`http://127.0.0.1:${harness.relay.port}/twilio/recording-status`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-www-form-urlencoded',
        'X-Twilio-Signature': twilio.getExpectedTwilioSignature('not-the-token', url, params),
      },
      body: new URLSearchParams(params).toString(),
    });
    expect(forged.status).toBe(403);
    expect(await store.getCallRecording(caller.callSid)).toMatchObject({
      status: 'in-progress',
      durationSeconds: null,
    });

    await caller.hangUp();
    await fake.completeCall(caller.callSid, { durationSeconds: 7 });
    const record = await eventually(
      () => store.getCallRecord(caller.callSid).then((r) => (r?.recording?.status === 'completed' ? r : undefined)),
      8000,
      'the completed recording on the call record',
    );
    expect(record.recording).toMatchObject({ sid: rec.sid, status: 'completed', durationSeconds: 7, channels: 2 });
    expect(record.recording?.url).toMatch(/^https:\/\/api\.twilio\.com\//);
  });
});
