import { createActor, fromPromise } from 'xstate';
import { describe, expect, it } from 'vitest';
import {
  SORRY_NO_ANSWER,
  smsInboxMachine,
  smsMessageMachine,
  type CommandWork,
  type InboundMessage,
  type MessageOutcome,
  type ThreadInfo,
} from '../machines/sms.machine.js';
import type { SmsCommand } from '../src/sms/commands.js';

// The SMS charts on their own, with every effect faked: which effects run for which message, and
// that the inbox does not keep finished children around.

const BOT = 'bot';
const conv = `CH${'c'.repeat(32)}`;

interface Fakes {
  calls: string[];
  posted: Array<{ conversationSid: string; body: string }>;
  thread: ThreadInfo | Error;
  reply: string | Error;
  ensure: Error | null;
  post: Error | null;
}

function rig(overrides: Partial<Fakes> = {}) {
  const f: Fakes = {
    calls: [],
    posted: [],
    thread: { people: 1, merchantId: 'm1' },
    reply: 'an answer',
    ensure: null,
    post: null,
    ...overrides,
  };
  const effect = <T, I>(name: string, result: () => T | Error) =>
    fromPromise<T, I>(async () => {
      f.calls.push(name);
      await Promise.resolve();
      const r = result();
      if (r instanceof Error) throw r;
      return r;
    });
  const message = smsMessageMachine.provide({
    actors: {
      ensureBot: effect<void, { conversationSid: string }>('ensureBot', () => f.ensure ?? undefined),
      inspectThread: effect<ThreadInfo, { conversationSid: string }>('inspectThread', () => f.thread),
      writeReply: effect<string, CommandWork>('writeReply', () => f.reply),
      placeCalls: effect<string, CommandWork>('placeCalls', () => 'calling'),
      createGroup: effect<string, CommandWork>('createGroup', () => 'grouped'),
      postMessage: fromPromise(async ({ input }) => {
        f.calls.push('postMessage');
        if (f.post) throw f.post;
        f.posted.push(input);
      }),
    },
  });
  const machine = smsInboxMachine.provide({
    actors: {
      message,
      post: fromPromise(async ({ input }) => {
        if (f.post) throw f.post;
        f.posted.push(input);
      }),
    },
  });
  const inbox = createActor(machine, { input: { botIdentity: BOT } });
  const finished: Array<{ actorId: string; outcome: string }> = [];
  inbox.on('finished', (e) => finished.push({ actorId: e.actorId, outcome: e.outcome }));
  inbox.start();
  // Resolves when the inbox holds no children: finished ones must have been stopped.
  const idle = () =>
    new Promise<void>((resolve, reject) => {
      const check = () => Object.keys(inbox.getSnapshot().children).length === 0;
      if (check()) return resolve();
      const timer = setTimeout(() => {
        sub.unsubscribe();
        reject(new Error(`children still in the snapshot: ${Object.keys(inbox.getSnapshot().children).length}`));
      }, 3000);
      const sub = inbox.subscribe(() => {
        if (!check()) return;
        clearTimeout(timer);
        sub.unsubscribe();
        resolve();
      });
    });
  const send = (message: Partial<InboundMessage>, command: SmsCommand) =>
    inbox.send({
      type: 'sms.message',
      message: { conversationSid: conv, author: '+14155550100', body: 'x', source: 'SMS', ...message },
      command,
    });
  return { f, inbox, finished, idle, send };
}

const chat = (mentionsAi = false): SmsCommand => ({ kind: 'chat', mentionsAi });

describe('smsMessageMachine', () => {
  it('answers a one-to-one thread: bot ensured, thread inspected, reply written and posted', async () => {
    const r = rig();
    r.send({}, chat());
    await r.idle();
    expect(r.f.calls).toEqual(['ensureBot', 'inspectThread', 'writeReply', 'postMessage']);
    expect(r.f.posted).toEqual([{ conversationSid: conv, body: 'an answer' }]);
    expect(r.finished).toEqual([{ actorId: 'sms-0', outcome: 'replied' }]);
  });

  it.each<[string, Partial<InboundMessage>]>([
    ['its own identity', { author: BOT, source: 'SDK' }],
    ['the REST API', { source: 'API' }],
    ['system', { author: 'system' }],
  ])('touches nothing for a message from %s', async (_, msg) => {
    const r = rig();
    r.send(msg, chat(true));
    await r.idle();
    expect(r.f.calls).toEqual([]);
    expect(r.finished.map((x) => x.outcome)).toEqual(['own_message']);
  });

  it('in a group stays quiet without @ai and answers with it', async () => {
    const r = rig({ thread: { people: 3, merchantId: undefined } });
    r.send({}, chat(false));
    r.send({}, chat(true));
    await r.idle();
    expect(r.finished.map((x) => x.outcome).sort()).toEqual(['not_addressed', 'replied']);
    expect(r.f.calls.filter((c) => c === 'writeReply')).toHaveLength(1);
  });

  it('when the thread cannot be inspected, answers only an explicit @ai', async () => {
    const r = rig({ thread: new Error('participants list failed') });
    r.send({}, chat(false));
    await r.idle();
    r.send({}, chat(true));
    await r.idle();
    expect(r.finished.map((x) => x.outcome)).toEqual(['not_addressed', 'replied']);
  });

  it('runs commands, posts refusals without side effects, and apologises when the model fails', async () => {
    const r = rig({ reply: new Error('model down'), ensure: new Error('participant create failed') });
    r.send({}, { kind: 'call', numbers: ['+14155550001'], invalid: [] });
    await r.idle();
    r.send({}, { kind: 'group', numbers: ['+14155550001'], invalid: [], unsupported: [] });
    await r.idle();
    r.send({}, { kind: 'refuse', reply: 'too many numbers' });
    await r.idle();
    r.send({}, chat());
    await r.idle();
    r.send({ body: '' }, { kind: 'none' });
    await r.idle();
    expect(r.finished.map((x) => x.outcome)).toEqual<MessageOutcome[]>([
      'called',
      'grouped',
      'refused',
      'failed',
      'empty',
    ]);
    expect(r.f.posted.map((p) => p.body)).toEqual(['calling', 'grouped', 'too many numbers', SORRY_NO_ANSWER]);
    expect(r.f.calls.filter((c) => c === 'placeCalls' || c === 'createGroup')).toEqual(['placeCalls', 'createGroup']);
  });

  it('a failed post ends the message as failed (nothing retried)', async () => {
    const r = rig({ post: new Error('Twilio 500') });
    r.send({}, chat());
    await r.idle();
    expect(r.f.calls.filter((c) => c === 'postMessage')).toHaveLength(1);
    expect(r.finished.map((x) => x.outcome)).toEqual(['failed']);
  });
});

describe('smsInboxMachine', () => {
  it('stops every finished child: after 1,000 messages and posts the snapshot holds no children', async () => {
    const r = rig({ thread: { people: 4, merchantId: undefined } });
    // Bursts of 20 at a time (a busy relay), 1,000 children in all.
    for (let i = 0; i < 500; i++) {
      r.send({ messageSid: `IM${String(i).padStart(32, '0')}` }, chat(i % 2 === 0));
      r.inbox.send({ type: 'sms.post', conversationSid: conv, body: `outcome ${i}` });
      if (i % 10 !== 9) continue;
      expect(Object.keys(r.inbox.getSnapshot().children)).toHaveLength(20);
      await r.idle();
    }
    expect(r.finished).toHaveLength(1000);
    expect(Object.keys(r.inbox.getSnapshot().children)).toEqual([]);
    expect(new Set(r.finished.map((x) => x.actorId)).size).toBe(1000);
    expect(r.f.posted.filter((p) => p.body.startsWith('outcome'))).toHaveLength(500);
    expect(r.f.posted.filter((p) => p.body === 'an answer')).toHaveLength(250);
    r.inbox.stop();
  });

  it('a failing post child is reported and cleaned up too', async () => {
    const r = rig({ post: new Error('Twilio 500') });
    r.inbox.send({ type: 'sms.post', conversationSid: conv, body: 'Call to +1…: answered' });
    await r.idle();
    expect(r.finished).toEqual([{ actorId: 'post-0', outcome: 'post_failed' }]);
    expect(Object.keys(r.inbox.getSnapshot().children)).toEqual([]);
  });
});
