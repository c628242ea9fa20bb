import { afterEach, describe, expect, it } from 'vitest';
import { ALICE, BOT, BOT_PROJECTED, startSmsRig, type SmsRig } from './sms-fixtures.js';

// @group: a new group MMS conversation with the author and the numbers (address only), the bot with
// its projected address, an introduction there, and a confirmation in the thread it came from.

let rig: SmsRig | undefined;
afterEach(async () => {
  await rig?.close();
  rig = undefined;
});

describe('@group', () => {
  it(
    'creates the conversation, adds everyone the group-MMS way, introduces the bot, confirms in the ' + 'thread',
    async () => {
      rig = await startSmsRig();
      const origin = rig.oneToOne();
      await rig.post(rig.rest.inboundMessage(origin, { author: ALICE, body: '@group 415 555 0031, 415-555-0032' }));
      await rig.sms.idle();

      const created = rig.rest.requestsTo('POST', /^\/v1\/Conversations$/);
      expect(created).toHaveLength(1);
      const group = [...rig.rest.conversations.values()].find((c) => c.sid !== origin);
      expect(group).toBeDefined();
      if (!group) return;
      expect(JSON.parse(group.attributes)).toEqual({ startedFrom: origin, requester: ALICE });

      const adds = rig.rest
        .requestsTo('POST', new RegExp(`/Conversations/${group.sid}/Participants$`))
        .map((r) => r.form);
      expect(adds).toEqual([
        { 'MessagingBinding.Address': ALICE },
        { 'MessagingBinding.Address': '+14155550031' },
        { 'MessagingBinding.Address': '+14155550032' },
        { Identity: BOT, 'MessagingBinding.ProjectedAddress': BOT_PROJECTED },
      ]);
      expect(group.participants.every((p) => p.proxyAddress === null)).toBe(true);

      expect(group.messages).toHaveLength(1);
      expect(group.messages[0]?.author).toBe(BOT);
      expect(group.messages[0]?.body).toContain(`${ALICE} started this group text`);
      expect(group.messages[0]?.body).toContain('Sunny Side Dental');
      expect(group.messages[0]?.body).toContain('@ai');

      expect(rig.rest.posted(origin).map((m) => m.body)).toEqual([
        'I started a group text with you, +14155550031 and +14155550032. Mention @ai there when you want me.',
      ]);

      // The bot is known to be in the new group: a later @ai there needs no participant request.
      const before = rig.rest.requestsTo('POST', /\/Participants$/).length;
      await rig.post(rig.rest.inboundMessage(group.sid, { author: '+14155550031', body: '@ai hello!' }));
      await rig.sms.idle();
      expect(rig.rest.requestsTo('POST', /\/Participants$/)).toHaveLength(before);
      expect(rig.rest.posted(group.sid)).toHaveLength(2);
    },
  );

  it('leaves out what cannot be in a group MMS and says so; all-invalid creates nothing', async () => {
    rig = await startSmsRig();
    const origin = rig.oneToOne();
    await rig.post(
      rig.rest.inboundMessage(origin, { author: ALICE, body: '@group 4155550041, +44 20 7946 0958, 999' }),
    );
    await rig.sms.idle();
    const group = [...rig.rest.conversations.values()].find((c) => c.sid !== origin);
    expect(group?.participants.map((p) => p.address ?? p.identity)).toEqual([ALICE, '+14155550041', BOT]);
    expect(rig.rest.posted(origin)[0]?.body).toBe(
      'I started a group text with you and +14155550041. Mention @ai there when you want me. ' +
        `I couldn't read "999" as a phone number, so I skipped it. Group texts only work with US and ` +
        `Canadian (+1) numbers, so I left out +442079460958.`,
    );

    await rig.post(rig.rest.inboundMessage(origin, { author: ALICE, body: '@group nobody, 123' }));
    await rig.sms.idle();
    expect(rig.rest.conversations.size).toBe(2);
    expect(rig.rest.posted(origin)[1]?.body).toBe(
      `I couldn't read "nobody" and "123" as phone numbers, so I skipped them. No group was created.`,
    );
  });

  it('tells the author when Twilio cannot create the conversation', async () => {
    rig = await startSmsRig();
    rig.rest.fail({ method: 'POST', path: /^\/v1\/Conversations$/, status: 503 });
    const origin = rig.oneToOne();
    await rig.post(rig.rest.inboundMessage(origin, { author: ALICE, body: '@group 4155550051' }));
    await rig.sms.idle();
    expect(rig.rest.requestsTo('POST', /^\/v1\/Conversations$/)).toHaveLength(1);
    expect(rig.rest.posted(origin).map((m) => m.body)).toEqual(["Sorry, I couldn't create the group just now."]);
  });
});
