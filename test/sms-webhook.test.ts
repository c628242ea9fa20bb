import twilio from 'twilio';
import { afterEach, describe, expect, it } from 'vitest';
import { SIMULATED_LABEL } from '../src/sms/ai-reply.js';
import { ALICE, BOT, BOT_PROJECTED, startSmsRig, verdict, type SmsRig } from './sms-fixtures.js';

// POST /twilio/convo on a real relay: what Twilio gets back, and what the bot does in the thread
// afterwards (through the real twilio and openai clients against local fakes).

let rig: SmsRig | undefined;
afterEach(async () => {
  await rig?.close();
  rig = undefined;
});

const BOB = '+14155550101';
const CAROL = '+14155550102';

describe('the Conversations webhook', () => {
  it('refuses malformed requests with a clear status and message', async () => {
    rig = await startSmsRig();
    const json = await fetch(`${rig.base}/twilio/convo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(json.status).toBe(415);
    expect(await json.text()).toContain('application/x-www-form-urlencoded');
    const noType = await rig.post({ ConversationSid: `CH${'0'.repeat(32)}` });
    expect(noType.status).toBe(400);
    expect(await noType.text()).toContain('missing EventType');
    const noConv = await rig.post({
      EventType: 'onMessageAdded',
      MessageSid: `IM${'1'.repeat(32)}`,
      Author: ALICE,
      Body: 'hi',
    });
    expect(noConv.status).toBe(400);
    expect(await noConv.text()).toContain('missing ConversationSid');
    const noIds = await rig.post({
      EventType: 'onMessageAdded',
      ConversationSid: `CH${'0'.repeat(32)}`,
      Author: ALICE,
      Body: 'hi',
    });
    expect(noIds.status).toBe(400);
    expect(await noIds.text()).toContain('missing MessageSid');
    // Other event types configured on the same URL are acknowledged and ignored.
    const other = await rig.post({ EventType: 'onParticipantAdded', ConversationSid: `CH${'0'.repeat(32)}` });
    expect(other.status).toBe(200);
    expect(await verdict(other)).toBe('ignored');
    expect(rig.rest.requests).toHaveLength(0);
  });

  it('answers 200 before the work is done, then replies in a one-to-one thread as the bot', async () => {
    rig = await startSmsRig();
    const conv = rig.oneToOne();
    rig.rest.delayMs = 300; // every Twilio REST call takes 300 ms: the reply needs four of them
    const res = await rig.post(rig.rest.inboundMessage(conv, { author: ALICE, body: 'Are you open on Saturday?' }));
    expect(res.status).toBe(200);
    expect(await verdict(res)).toBe('accepted');
    expect(rig.rest.posted(conv)).toHaveLength(0); // Twilio has its answer; nothing was posted yet
    await rig.sms.idle();
    const posted = rig.rest.posted(conv);
    expect(posted).toHaveLength(1);
    expect(posted[0]?.author).toBe(BOT);
    expect(posted[0]?.body).toBe('Simulated model answer to: Participant 1: Are you open on Saturday?');
    // Bot replies go out without X-Twilio-Webhook-Enabled: they trigger no webhook (no loop).
    expect(posted[0]?.webhookEnabled).toBe(false);
    expect(rig.sms.finished.map((f) => f.outcome)).toEqual(['replied']);
  });

  it('builds the model request from the merchant instructions and the thread, without phone numbers', async () => {
    rig = await startSmsRig({ merchant: { instructions: 'Only talk about teeth cleaning appointments.' } });
    const conv = rig.oneToOne();
    // Earlier in the thread (already answered): Alice, then the bot.
    rig.rest.inboundMessage(conv, { author: ALICE, body: 'Hi, I need a cleaning.' });
    rig.rest.inboundMessage(conv, { author: BOT, body: 'Sure, which day suits you?', source: 'API' });
    const params = rig.rest.inboundMessage(conv, { author: ALICE, body: 'Tuesday morning please' });
    expect((await rig.post(params)).status).toBe(200);
    await rig.sms.idle();
    expect(rig.ai.requests).toHaveLength(1);
    const req = rig.ai.requests[0]!;
    expect(req.model).toBe('gpt-test-mini');
    expect(req.headers.authorization).toBe('Bearer sk-sms-test');
    expect(req.messages[0]?.role).toBe('system');
    expect(req.messages[0]?.content).toContain('Only talk about teeth cleaning appointments.');
    expect(req.messages.slice(1)).toEqual([
      { role: 'user', content: 'Participant 1: Hi, I need a cleaning.' },
      { role: 'assistant', content: 'Sure, which day suits you?' },
      { role: 'user', content: 'Participant 1: Tuesday morning please' },
    ]);
    expect(JSON.stringify(req.body)).not.toContain('4155550100');
    // The thread history came from the Conversations messages list, newest first, last 10.
    const list = rig.rest.requestsTo('GET', /\/Messages$/);
    expect(list[0]?.query).toMatchObject({ Order: 'desc', PageSize: '10' });
  });

  it('truncates a long answer to one SMS (1,600 characters) and labels a simulated answer', async () => {
    rig = await startSmsRig();
    rig.ai.reply = () => `${'This is a long sentence about opening hours. '.repeat(80)}`;
    const conv = rig.oneToOne();
    await rig.post(rig.rest.inboundMessage(conv, { author: ALICE, body: 'Tell me everything' }));
    await rig.sms.idle();
    const body = rig.rest.posted(conv)[0]?.body ?? '';
    expect(body.length).toBeLessThanOrEqual(1600);
    expect(body.length).toBeGreaterThan(1200);
    expect(body.endsWith('.…')).toBe(true);
    await rig.close();

    rig = await startSmsRig({ env: { OPENAI_API_KEY: '' } });
    const conv2 = rig.oneToOne();
    await rig.post(rig.rest.inboundMessage(conv2, { author: ALICE, body: 'Hello?' }));
    await rig.sms.idle();
    expect(rig.rest.posted(conv2)[0]?.body).toContain(SIMULATED_LABEL);
    expect(rig.ai.requests).toHaveLength(0);
  });

  it('tells the author when the model fails (one retry, then an apology)', async () => {
    rig = await startSmsRig();
    rig.ai.fail(500, 2);
    const conv = rig.oneToOne();
    await rig.post(rig.rest.inboundMessage(conv, { author: ALICE, body: 'Hello?' }));
    await rig.sms.idle(15_000);
    expect(rig.ai.requests).toHaveLength(2);
    expect(rig.rest.posted(conv)[0]?.body).toMatch(/^Sorry, I couldn't come up with an answer/);
  });

  it('in a group answers only messages that mention @ai', async () => {
    rig = await startSmsRig();
    const conv = rig.group([ALICE, BOB, CAROL]);
    await rig.post(rig.rest.inboundMessage(conv, { author: ALICE, body: 'Lunch at noon?' }));
    await rig.post(rig.rest.inboundMessage(conv, { author: BOB, body: 'Sure!' }));
    await rig.sms.idle();
    expect(rig.rest.posted(conv)).toHaveLength(0);
    expect(rig.ai.requests).toHaveLength(0);
    await rig.post(rig.rest.inboundMessage(conv, { author: CAROL, body: '@ai what time does the dentist open?' }));
    await rig.sms.idle();
    const posted = rig.rest.posted(conv);
    expect(posted).toHaveLength(1);
    expect(posted[0]?.author).toBe(BOT);
    expect(rig.ai.requests[0]?.messages.filter((m) => m.role === 'user')).toHaveLength(3);
    expect(rig.sms.finished.map((f) => f.outcome)).toEqual(['not_addressed', 'not_addressed', 'replied']);
    // The participants list was fetched once and reused for the later messages.
    expect(rig.rest.requestsTo('GET', /\/Participants$/)).toHaveLength(1);
  });

  it('adds the bot participant once per conversation (projected address), and treats 50433 as success', async () => {
    rig = await startSmsRig();
    const fresh = rig.oneToOne();
    await rig.post(rig.rest.inboundMessage(fresh, { author: ALICE, body: 'one' }));
    await rig.post(rig.rest.inboundMessage(fresh, { author: ALICE, body: 'two' }));
    await rig.sms.idle();
    const adds = rig.rest.requestsTo('POST', new RegExp(`/Conversations/${fresh}/Participants$`));
    expect(adds).toHaveLength(1);
    expect(adds[0]?.form).toEqual({ Identity: BOT, 'MessagingBinding.ProjectedAddress': BOT_PROJECTED });
    expect(rig.rest.conversations.get(fresh)?.participants.filter((p) => p.identity === BOT)).toHaveLength(1);
    expect(rig.rest.posted(fresh)).toHaveLength(2);

    // Bot already there (added by someone else): Twilio answers 409 / 50433, the reply still goes out.
    const existing = rig.rest.createConversation({
      participants: [
        { address: ALICE, proxyAddress: '+15005550006' },
        { identity: BOT, projectedAddress: BOT_PROJECTED },
      ],
    }).sid;
    await rig.post(rig.rest.inboundMessage(existing, { author: ALICE, body: 'three' }));
    await rig.sms.idle();
    expect(rig.rest.requestsTo('POST', new RegExp(`/Conversations/${existing}/Participants$`))).toHaveLength(1);
    expect(rig.rest.posted(existing)).toHaveLength(1);
  });

  it('never answers its own messages, API-created or system messages (no loops)', async () => {
    rig = await startSmsRig();
    const conv = rig.oneToOne();
    const own = await rig.post(rig.rest.inboundMessage(conv, { author: BOT, body: 'Hi, I am the bot', source: 'SDK' }));
    const api = await rig.post(
      rig.rest.inboundMessage(conv, { author: ALICE, body: 'Posted through the API', source: 'API' }),
    );
    const system = await rig.post(
      rig.rest.inboundMessage(conv, { author: 'system', body: 'Conversation closed soon', source: 'api' }),
    );
    for (const r of [own, api, system]) expect(r.status).toBe(200);
    await rig.sms.idle();
    expect(rig.rest.posted(conv)).toHaveLength(0);
    expect(rig.rest.requests).toHaveLength(0); // not even the bot participant check
    expect(rig.sms.finished.map((f) => f.outcome)).toEqual(['own_message', 'own_message', 'own_message']);
  });

  it('ignores a retried event (same MessageSid, or same ConversationSid:Index)', async () => {
    rig = await startSmsRig();
    const conv = rig.oneToOne();
    const params = rig.rest.inboundMessage(conv, { author: ALICE, body: 'Hello' });
    expect(await verdict(await rig.post(params))).toBe('accepted');
    expect(await verdict(await rig.post({ ...params, RetryCount: '1' }))).toBe('duplicate');
    const { MessageSid: _, ...withoutSid } = rig.rest.inboundMessage(conv, { author: ALICE, body: 'No sid' });
    expect(await verdict(await rig.post(withoutSid))).toBe('accepted');
    expect(await verdict(await rig.post(withoutSid))).toBe('duplicate');
    await rig.sms.idle();
    expect(rig.rest.posted(conv)).toHaveLength(2);
  });

  it('answers the 13th event of a conversation within 30 s with 200 and ignores it', async () => {
    rig = await startSmsRig();
    const conv = rig.group([ALICE, BOB]); // no @ai: the work is cheap
    const burst = Array.from({ length: 13 }, (_, i) =>
      rig!.rest.inboundMessage(conv, { author: ALICE, body: `message ${i}` }),
    );
    const responses = await Promise.all(burst.map((params) => rig!.post(params)));
    expect(responses.map((r) => r.status)).toEqual(Array.from({ length: 13 }, () => 200));
    const verdicts = await Promise.all(responses.map(verdict));
    expect(verdicts.filter((v) => v === 'accepted')).toHaveLength(12);
    expect(verdicts.filter((v) => v === 'rate_limited')).toHaveLength(1);
    await rig.sms.idle();
    expect(rig.sms.finished).toHaveLength(12);
    // Another conversation has its own budget.
    const other = rig.oneToOne();
    expect(await verdict(await rig.post(rig.rest.inboundMessage(other, { author: ALICE, body: 'hi' })))).toBe(
      'accepted',
    );
  });
});

describe('webhook signatures', () => {
  it('refuses a missing or wrong X-Twilio-Signature (403) and accepts a valid one', async () => {
    rig = await startSmsRig({ edgeEnv: { TWILIO_AUTH_TOKEN: 'edge-auth-token' } });
    const conv = rig.oneToOne();
    const params = rig.rest.inboundMessage(conv, { author: ALICE, body: 'signed hello' });
    const url = 'https://relay.test/twilio/convo';
    expect((await rig.post(params)).status).toBe(403);
    const forged = twilio.getExpectedTwilioSignature('another-token', url, params);
    expect((await rig.post(params, { 'X-Twilio-Signature': forged })).status).toBe(403);
    const tampered = twilio.getExpectedTwilioSignature('edge-auth-token', url, params);
    expect((await rig.post({ ...params, Body: '@call 4155550199' }, { 'X-Twilio-Signature': tampered })).status).toBe(
      403,
    );
    await rig.sms.idle();
    expect(rig.rest.requests).toHaveLength(0);

    const good = await rig.post(params, {
      'X-Twilio-Signature': twilio.getExpectedTwilioSignature('edge-auth-token', url, params),
    });
    expect(good.status).toBe(200);
    expect(await verdict(good)).toBe('accepted');
    await rig.sms.idle();
    expect(rig.rest.posted(conv)).toHaveLength(1);
  });
});
