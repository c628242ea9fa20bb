import { afterEach, describe, expect, it } from 'vitest';
import type { TransferTarget } from '../src/merchants/merchant.js';
import type { FakeModelSession } from '../src/sim/model/model-session.js';
import type { DialOutcome } from '../src/sim/twilio-rest/call-redirects.js';
import { FakeTwilioRestServer } from '../src/sim/twilio-rest/twilio-rest-server.js';
import { SimPhoneCall } from '../src/sim/twilio/phone-call.js';
import { createTwilioClient } from '../src/sms/twilio-rest.js';
import { twilioLineControl } from '../src/transports/twilio/twilio-line-control.js';
import { startHarness, until, type Harness } from './support/relay-harness.js';

// Putting a caller through to a person, through whole calls: the relay, a simulated phone call that
// follows redirects as Twilio does, the fake model, and the Twilio REST imitation that rings the
// person (answered or not) and calls the relay's signed webhooks back.

const PATEL: TransferTarget = {
  name: 'Dr Patel',
  number: '+15005550009',
  handles: 'dental emergencies',
  hours: Object.fromEntries(['1', '2', '3', '4', '5', '6', '7'].map((d) => [d, ['00:00-24:00']])),
};
const AUTH_TOKEN = 'transfer-test-token';

let h: Harness | undefined;
let twilio: FakeTwilioRestServer | undefined;
afterEach(async () => {
  await h?.close();
  await twilio?.close();
  h = undefined;
  twilio = undefined;
});

async function setUp(outcome: DialOutcome, target: TransferTarget = PATEL) {
  const fake = await FakeTwilioRestServer.start({ authToken: AUTH_TOKEN, dialOutcome: () => outcome });
  twilio = fake;
  const line = twilioLineControl({
    client: createTwilioClient({ accountSid: fake.accountSid, authToken: AUTH_TOKEN, apiBaseUrl: fake.url }),
    publicHost: 'relay.test',
  });
  const harness = await startHarness({
    env: { TWILIO_AUTH_TOKEN: AUTH_TOKEN },
    merchant: { transferTargets: [target] },
    overrides: { line },
  });
  h = harness;
  fake.reach = (u) => u.replace('https://relay.test', `http://127.0.0.1:${harness.relay.port}`);
  const first = harness.model.nextSession(5000);
  const phone = await SimPhoneCall.dial({
    url: harness.url,
    customParameters: { merchantId: harness.merchant.id, callerPhone: '+14155550100', direction: 'inbound' },
    twilioAuthToken: AUTH_TOKEN,
    publicHost: 'relay.test',
  });
  fake.liveCall(phone, { from: '+14155550100', to: '+15005550006' });
  const model = await first;
  await until(() => harness.states.get(phone.callSid)?.at(-1) === 'session.listening', 8000, 'listening');
  return { harness, fake, phone, model };
}

/** The caller asks for Dr Patel; the model calls transferCall and says the line the tool asks for. */
async function askForPatel(model: FakeModelSession): Promise<void> {
  model.onResponseCreate(() => ({ text: 'I will put you through to Dr Patel now.', audioMs: 700 }));
  await model.respond({
    text: 'Of course.',
    audioMs: 200,
    functionCalls: [
      {
        name: 'transferCall',
        arguments: JSON.stringify({ name: 'Dr Patel', reason: 'Ann Lee has a broken tooth and needs help today.' }),
        callId: 'call_transfer',
      },
    ],
  });
}

describe('transfer to a person', () => {
  it('shows the model the targets by name and what they handle, never their numbers', async () => {
    const { model } = await setUp('completed');
    const update = JSON.stringify(await model.waitFor('session.update'));
    expect(update).toContain('Dr Patel');
    expect(update).toContain('dental emergencies');
    expect(update).not.toContain(PATEL.number);
  });

  it('answered: the line is heard, the call redirected, the person hears the whisper, the record says so', async () => {
    const { harness, fake, phone, model } = await setUp('completed');
    const heardBefore = phone.current.heardBytes;
    await askForPatel(model);
    await until(() => fake.redirects.dials.length === 1, 8000, 'the person to be dialled');
    // The transfer line (0.7 s) was heard in full before the redirect.
    expect(phone.legs[0]?.heardBytes ?? 0).toBeGreaterThanOrEqual(heardBefore + 8 * 900 - 160);
    await fake.redirects.idle();
    const dial = fake.redirects.dials[0];
    expect(dial?.number).toBe(PATEL.number);
    expect(dial?.callerId).toBe('+14155550100');
    expect(dial?.whisper).toContain('Ann Lee has a broken tooth');
    expect(dial?.action?.status).toBe(200);
    expect(dial?.actionTwiml).toContain('<Hangup');
    expect(phone.legs).toHaveLength(1);
    const records = harness.recorder.records.filter((r) => r.callSid === phone.callSid);
    const last = records.at(-1);
    expect(last?.endReason).toBe('transferred');
    expect(last?.timeline).toContainEqual(expect.objectContaining({ kind: 'transfer', outcome: 'answered' }));
  });

  it('not answered: the call comes back with the conversation so far, and is one record', async () => {
    const { harness, fake, phone, model } = await setUp('no-answer');
    await askForPatel(model);
    const second = harness.model.nextSession(10_000);
    const back = await phone.nextLeg(10_000);
    const model2 = await second;
    model2.onResponseCreate(() => ({ text: 'Dr Patel did not pick up. Shall I take a message?', audioMs: 500 }));
    const create = await model2.waitFor('response.create', undefined, 5000);
    expect(JSON.stringify(create)).toContain('did not answer');
    const history = model2.received.find(
      (e) => e.type === 'conversation.item.create' && JSON.stringify(e).includes('conversation so far'),
    );
    expect(JSON.stringify(history)).toContain('Hello! How can I help you today?');
    expect(JSON.stringify(history)).toContain('I will put you through to Dr Patel now.');
    await until(() => back.heardBytes >= 8 * 500 - 160, 5000, 'the assistant back on the line');
    await until(() => harness.states.get(phone.callSid)?.at(-1) === 'session.listening', 5000, 'answer heard');
    await back.hangUp();
    await until(
      () => harness.recorder.records.filter((r) => r.callSid === phone.callSid).at(-1)?.endReason === 'caller_hung_up',
      5000,
      'the final record',
    );
    const rec = harness.recorder.records.filter((r) => r.callSid === phone.callSid).at(-1);
    expect(rec?.transcript.map((e) => e.text)).toEqual(
      expect.arrayContaining([
        'Hello! How can I help you today?',
        'I will put you through to Dr Patel now.',
        'Dr Patel did not pick up. Shall I take a message?',
      ]),
    );
    expect(rec?.transcript.some((e) => e.role === 'system' && e.text.includes('not answered (no-answer)'))).toBe(true);
    expect(rec?.timeline).toContainEqual(expect.objectContaining({ kind: 'transfer', outcome: 'no-answer' }));
    // One call from the first ring: the record starts when the first half did.
    const firstHalf = harness.recorder.records.find((r) => r.callSid === phone.callSid);
    expect(firstHalf?.endReason).toBe('transferred');
    expect(rec?.startedAt.getTime()).toBe(firstHalf?.startedAt.getTime());
    expect(fake.redirects.dials[0]?.outcome).toBe('no-answer');
  });

  it('out of hours: the tool says so and nothing is dialled', async () => {
    const sundayMorning: TransferTarget = { ...PATEL, hours: { '7': ['00:00-00:01'] } };
    const { fake, model } = await setUp('completed', sundayMorning);
    await model.respond({
      text: 'Let me see.',
      audioMs: 200,
      functionCalls: [{ name: 'transferCall', arguments: '{"name":"Dr Patel","reason":"x"}', callId: 'c1' }],
    });
    const out = await model.waitFor('conversation.item.create', (e) =>
      JSON.stringify(e).includes('function_call_output'),
    );
    expect(JSON.stringify(out)).toContain('out_of_hours');
    expect(fake.redirects.dials).toHaveLength(0);
  });

  it('an unknown name gets an answer naming the valid ones', async () => {
    const { model } = await setUp('completed');
    await model.respond({
      text: 'Let me see.',
      audioMs: 200,
      functionCalls: [{ name: 'transferCall', arguments: '{"name":"Dr Who","reason":"x"}', callId: 'c1' }],
    });
    const out = await model.waitFor('conversation.item.create', (e) =>
      JSON.stringify(e).includes('function_call_output'),
    );
    expect(JSON.stringify(out)).toContain('Valid names: Dr Patel');
  });

  it('a forged dial-action callback (bad signature) gets 403 and changes nothing', async () => {
    const { harness, phone } = await setUp('completed');
    const res = await fetch(`http://127.0.0.1:${harness.relay.port}/twilio/dial-action`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Twilio-Signature': 'forged' },
      body: new URLSearchParams({ CallSid: phone.callSid, DialCallStatus: 'no-answer' }).toString(),
    });
    expect(res.status).toBe(403);
    expect(phone.legs).toHaveLength(1);
  });
});
