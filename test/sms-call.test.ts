import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { SimCaller } from '../src/sim/twilio/caller.js';
import {
  ALICE,
  BOT,
  BUSINESS_NUMBER,
  callSummary,
  startSmsRig,
  twimlParameters,
  verdict,
  type SmsRig,
} from './sms-fixtures.js';
import { until } from './support/relay-harness.js';

// @call from a thread: one Twilio calls.create per number (AMD on, the thread in the voice URL), and
// the outcome of each call posted back to the thread when it ends.

let rig: SmsRig | undefined;
afterEach(async () => {
  await rig?.close();
  rig = undefined;
});

const callsCreated = (r: SmsRig) => r.rest.requestsTo('POST', /\/2010-04-01\/Accounts\/AC[0-9a-f]{32}\/Calls\.json$/);

describe('@call', () => {
  it('places one call per number with AMD and the thread in the voice URL, and says so in the thread', async () => {
    rig = await startSmsRig();
    const conv = rig.oneToOne();
    const res = await rig.post(
      rig.rest.inboundMessage(conv, { author: ALICE, body: '@call 4155550001, (415) 555-0002' }),
    );
    expect(await verdict(res)).toBe('accepted');
    await rig.sms.idle();
    const reqs = callsCreated(rig);
    expect(reqs).toHaveLength(2);
    expect(reqs.map((r) => r.form.To)).toEqual(['+14155550001', '+14155550002']);
    for (const r of reqs) {
      expect(r.auth).toEqual({ username: rig.rest.accountSid, password: rig.rest.authToken });
      expect(r.form).toMatchObject({ From: BUSINESS_NUMBER, MachineDetection: 'DetectMessageEnd', Method: 'POST' });
      expect(r.form.AsyncAmd).toBeUndefined(); // sync AMD: AnsweredBy reaches the voice URL
      const url = new URL(String(r.form.Url));
      expect(`${url.origin}${url.pathname}`).toBe('https://relay.test/twilio/voice');
      expect(Object.fromEntries(url.searchParams)).toEqual({
        conversationSid: conv,
        requester: ALICE,
        merchantId: 'demo',
      });
      expect(String(r.form.StatusCallback)).toMatch(
        /^https:\/\/relay\.test\/twilio\/convo\/call-status\?conversationSid=CH/,
      );
    }
    const posted = rig.rest.posted(conv);
    expect(posted).toHaveLength(1);
    expect(posted[0]?.author).toBe(BOT);
    expect(posted[0]?.body).toBe("Calling +14155550001 and +14155550002 now. I'll post here how each call goes.");
  });

  it('posts the outcome after a real simulated call through the relay ends', async () => {
    rig = await startSmsRig();
    const conv = rig.oneToOne();
    await rig.post(rig.rest.inboundMessage(conv, { author: ALICE, body: '@call 415 555 0003' }));
    await rig.sms.idle();
    const placed = rig.rest.calls[0];
    expect(placed?.url).toBeTruthy();
    // Twilio dials, AMD says a person answered, then Twilio requests the voice URL (path + query kept).
    const callSid = `CA${randomBytes(16).toString('hex')}`;
    const voiceUrl = new URL(placed?.url ?? '');
    const twiml = await fetch(`${rig.base}${voiceUrl.pathname}${voiceUrl.search}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        CallSid: callSid,
        AccountSid: rig.rest.accountSid,
        From: BUSINESS_NUMBER,
        To: placed?.to ?? '',
        Direction: 'outbound-api',
        CallStatus: 'in-progress',
        AnsweredBy: 'human',
      }).toString(),
    });
    expect(twiml.status).toBe(200);
    const customParameters = twimlParameters(await twiml.text());
    expect(customParameters).toMatchObject({
      conversationSid: conv,
      requester: ALICE,
      answeredBy: 'human',
      direction: 'outbound',
    });

    const nextModel = rig.h.model.nextSession(5000);
    const caller = await SimCaller.connect({ url: rig.h.url, callSid, customParameters });
    const model = await nextModel;
    model.onResponseCreate(() => ({ text: 'Great, see you Tuesday at ten.', audioMs: 300 }));
    await until(
      () => rig!.h.states.get(callSid)?.includes('session.listening') ?? false,
      8000,
      'the greeting to finish',
    );
    model.speechStarted();
    const item = model.speechStopped();
    model.userTranscript(item, 'Yes, Tuesday at ten works for me.');
    // The transcription travels on the model socket, the hang-up on the caller's: wait for the relay to have both.
    const heard = () =>
      rig!.h.sessions
        .get(callSid)
        ?.transcript.entries()
        .map((e) => `${e.role}: ${e.text}`) ?? [];
    await until(() => heard().includes('caller: Yes, Tuesday at ten works for me.'), 8000, 'the caller transcript');
    await until(() => heard().includes('assistant: Great, see you Tuesday at ten.'), 8000, 'the answer');
    await caller.hangUp();
    await rig.h.recorder.waitFor(callSid);
    await until(() => rig!.rest.posted(conv).length === 2, 5000, 'the outcome to be posted');
    await rig.sms.idle();
    const outcome = rig.rest.posted(conv)[1];
    expect(outcome?.author).toBe(BOT);
    expect(outcome?.body).toMatch(
      /^Call to \+14155550003: answered, \d+s\. They said: "Yes, Tuesday at ten works for me\."$/,
    );
  });

  it('reports voicemail from the call record, and busy / no-answer from the status callback', async () => {
    rig = await startSmsRig();
    const conv = rig.oneToOne();
    const summary = callSummary({
      callerPhone: '+14155550004',
      answeredBy: 'machine_end_beep',
      conversationSid: conv,
      requester: ALICE,
      durationMs: 75_000,
      endReason: 'voicemail_left',
      transcript: [{ role: 'assistant', text: 'Hi, this is Sunny Side Dental, please call us back.', atMs: 10 }],
    });
    rig.sms.onCallEnded(summary);
    rig.sms.onCallEnded({ ...summary, conversationSid: undefined }); // an ordinary call: nothing to post
    await rig.sms.idle();
    expect(rig.rest.posted(conv).map((m) => m.body)).toEqual([
      'Call to +14155550004: reached voicemail, 1m 15s. Message left: "Hi, this is Sunny Side Dental, ' +
        'please call us back."',
    ]);

    const status = (callStatus: string, callSid: string) =>
      rig!.post(
        { CallSid: callSid, CallStatus: callStatus, To: '+14155550005', From: BUSINESS_NUMBER },
        {},
        `/twilio/convo/call-status?conversationSid=${conv}&requester=%2B14155550100&to=%2B14155550005`,
      );
    expect(await verdict(await status('busy', 'CA2'))).toBe('accepted');
    expect(await verdict(await status('busy', 'CA2'))).toBe('duplicate');
    expect(await verdict(await status('completed', 'CA3'))).toBe('ignored'); // reported from its record instead
    expect(await verdict(await status('no-answer', 'CA4'))).toBe('accepted');
    expect(
      (await rig.post({ CallStatus: 'busy' }, {}, `/twilio/convo/call-status?conversationSid=${conv}`)).status,
    ).toBe(400);
    await rig.sms.idle();
    expect(
      rig.rest
        .posted(conv)
        .slice(1)
        .map((m) => m.body),
    ).toEqual(['Call to +14155550005: the line was busy.', 'Call to +14155550005: nobody answered.']);
  });

  it('names invalid numbers back and still calls the valid ones', async () => {
    rig = await startSmsRig();
    const conv = rig.oneToOne();
    await rig.post(rig.rest.inboundMessage(conv, { author: ALICE, body: '@call 4155550006, 12345, 4155550007' }));
    await rig.sms.idle();
    expect(callsCreated(rig).map((r) => r.form.To)).toEqual(['+14155550006', '+14155550007']);
    expect(rig.rest.posted(conv)[0]?.body).toBe(
      `Calling +14155550006 and +14155550007 now. I'll post here how each call goes. I couldn't read ` +
        `"12345" as a phone number, so I skipped it.`,
    );
  });

  it('refuses the whole command above MAX_NUMBERS_PER_COMMAND', async () => {
    rig = await startSmsRig({ env: { MAX_NUMBERS_PER_COMMAND: '3' } });
    const conv = rig.oneToOne();
    await rig.post(
      rig.rest.inboundMessage(conv, { author: ALICE, body: '@call 4155550011 4155550012 4155550013 4155550014' }),
    );
    await rig.sms.idle();
    expect(callsCreated(rig)).toHaveLength(0);
    expect(rig.rest.posted(conv)[0]?.body).toMatch(
      /^That's 4 numbers; I can take at most 3 per message, so I didn't do anything\. Nothing was dialled\./,
    );
  });

  it('tells the author when Twilio refuses a call, and never tries the same call twice', async () => {
    rig = await startSmsRig();
    rig.rest.fail({ method: 'POST', path: /Calls\.json$/, status: 500, times: 1 });
    const conv = rig.oneToOne();
    await rig.post(rig.rest.inboundMessage(conv, { author: ALICE, body: '@call 4155550021, 4155550022' }));
    await rig.sms.idle();
    const reqs = callsCreated(rig);
    expect(reqs.map((r) => r.form.To)).toEqual(['+14155550021', '+14155550022']); // one attempt each
    expect(rig.rest.calls.map((c) => c.to)).toEqual(['+14155550022']);
    expect(rig.rest.posted(conv)[0]?.body).toBe(
      "Calling +14155550022 now. I'll post here how the call goes. I couldn't place the call to +14155550021.",
    );
  });
});
