import { assertEvent, assign, enqueueActions, fromPromise, setup, stopChild } from 'xstate';
import type { DoneActorEvent, ErrorActorEvent } from 'xstate';
import type { SmsCommand } from '../src/sms/commands.js';

// SMS group chats (issue 5). Two charts:
//
// - `smsMessageMachine`: what the bot does with ONE text that arrived in a conversation: ignore its
//   own (and API/system) messages, make sure it is a participant, look at the thread (how many people,
//   which merchant), then run the command (@call, @group), refuse it, answer (@ai or a one-to-one
//   thread) or stay quiet, and post the result as the bot.
// - `smsInboxMachine`: the long-lived parent. The webhook answers Twilio at once and sends the text
//   here; the inbox spawns one message child per text (and one `post` child per call outcome) and
//   stops each child when it is done, so finished children do not pile up in the snapshot.
//
// Both are pure: every Twilio/OpenAI call is an injected actor (`provide`), texts are composed
// outside (commands.ts, the actor implementations), so tests and diagrams see the chart that runs.

export interface InboundMessage {
  conversationSid: string;
  messageSid?: string | undefined;
  index?: number | undefined;
  /** Identity, address or 'system'. */
  author: string;
  body: string;
  /** Upper-cased Source (SMS, API, SDK, …). */
  source?: string | undefined;
}

export interface ThreadInfo {
  /** Participants other than the bot (two or more: a group, where only @ai gets an answer). */
  people: number;
  /** The merchant behind the conversation's Twilio number, if any. */
  merchantId: string | undefined;
}

export type MessageOutcome =
  | 'own_message'
  | 'empty'
  | 'not_addressed'
  | 'replied'
  | 'called'
  | 'grouped'
  | 'refused'
  | 'failed';

export interface MessageInput {
  message: InboundMessage;
  command: SmsCommand;
  botIdentity: string;
}

interface MessageContext extends MessageInput {
  thread: ThreadInfo | null;
  reply: string | null;
  outcome: MessageOutcome;
}

/** Work on the thread: what the command implementations receive. */
export interface CommandWork {
  message: InboundMessage;
  command: SmsCommand;
  merchantId: string | undefined;
}

export const SORRY_NO_ANSWER = "Sorry, I couldn't come up with an answer just now. Please try again in a minute.";
export const SORRY_NO_CALLS = "Sorry, I couldn't place the calls just now. Nothing was dialled.";
export const SORRY_NO_GROUP = "Sorry, I couldn't create the group just now.";

const notInstalled = (what: string) => () =>
  Promise.reject(new Error(`${what} is not installed (provide it with machine.provide)`));

const outcome = (value: MessageOutcome) => ({ type: 'setOutcome' as const, params: { outcome: value } });
const report = (stage: string) => ({
  type: 'reportError' as const,
  params: ({ event }: { event: { error?: unknown } }) => ({ stage, error: event.error }),
});

export const smsMessageMachine = setup({
  types: {
    context: {} as MessageContext,
    input: {} as MessageInput,
    output: {} as MessageOutcome,
  },
  actors: {
    /** Adds the bot participant unless it is known to be there. */
    ensureBot: fromPromise<void, { conversationSid: string }>(notInstalled('ensureBot')),
    inspectThread: fromPromise<ThreadInfo, { conversationSid: string }>(notInstalled('inspectThread')),
    /** The AI answer to the thread, ready to post (≤ 1,600 characters). */
    writeReply: fromPromise<string, CommandWork>(notInstalled('writeReply')),
    /** Places the calls; resolves with the line to post (placed, failed, skipped numbers). */
    placeCalls: fromPromise<string, CommandWork>(notInstalled('placeCalls')),
    /** Creates the group conversation; resolves with the line to post in this thread. */
    createGroup: fromPromise<string, CommandWork>(notInstalled('createGroup')),
    postMessage: fromPromise<void, { conversationSid: string; body: string }>(notInstalled('postMessage')),
  },
  actions: {
    reportError: (_: unknown, _params: { stage: string; error: unknown }) => {},
    setOutcome: assign((_, params: { outcome: MessageOutcome }) => ({ outcome: params.outcome })),
  },
  guards: {
    /** Loop prevention: the bot's own texts, REST/API-created and system messages never get a reply. */
    ownMessage: ({ context: { message, botIdentity } }) =>
      message.author === botIdentity || message.author === 'system' || message.source === 'API',
    empty: ({ context }) => context.command.kind === 'none',
    isCall: ({ context }) => context.command.kind === 'call',
    isGroup: ({ context }) => context.command.kind === 'group',
    isRefusal: ({ context }) => context.command.kind === 'refuse',
    /** @ai always; otherwise only one-to-one threads (unknown thread size: stay quiet). */
    addressed: ({ context: { command, thread } }) =>
      command.kind === 'chat' && (command.mentionsAi || (thread !== null && thread.people <= 1)),
  },
}).createMachine({
  id: 'smsMessage',
  context: ({ input }) => ({ ...input, thread: null, reply: null, outcome: 'failed' }),
  initial: 'screening',
  output: ({ context }) => context.outcome,
  states: {
    screening: {
      always: [
        { guard: 'ownMessage', target: 'done', actions: outcome('own_message') },
        { guard: 'empty', target: 'done', actions: outcome('empty') },
        { target: 'ensuringBot' },
      ],
    },
    ensuringBot: {
      invoke: {
        src: 'ensureBot',
        input: ({ context }) => ({ conversationSid: context.message.conversationSid }),
        onDone: 'inspecting',
        // Posting as the bot may still work (and the author hears about a failure); go on.
        onError: { target: 'inspecting', actions: report('ensureBot') },
      },
    },
    inspecting: {
      invoke: {
        src: 'inspectThread',
        input: ({ context }) => ({ conversationSid: context.message.conversationSid }),
        onDone: { target: 'routing', actions: assign({ thread: ({ event }) => event.output }) },
        onError: { target: 'routing', actions: report('inspectThread') },
      },
    },
    routing: {
      always: [
        { guard: 'isCall', target: 'calling' },
        { guard: 'isGroup', target: 'grouping' },
        {
          guard: 'isRefusal',
          target: 'posting',
          actions: assign({
            reply: ({ context }) => (context.command.kind === 'refuse' ? context.command.reply : null),
            outcome: 'refused',
          }),
        },
        { guard: 'addressed', target: 'replying' },
        { target: 'done', actions: outcome('not_addressed') },
      ],
    },
    replying: {
      invoke: {
        src: 'writeReply',
        input: ({ context }) => work(context),
        onDone: { target: 'posting', actions: assign({ reply: ({ event }) => event.output, outcome: 'replied' }) },
        onError: {
          target: 'posting',
          actions: [assign({ reply: SORRY_NO_ANSWER, outcome: 'failed' }), report('writeReply')],
        },
      },
    },
    calling: {
      invoke: {
        src: 'placeCalls',
        input: ({ context }) => work(context),
        onDone: { target: 'posting', actions: assign({ reply: ({ event }) => event.output, outcome: 'called' }) },
        onError: {
          target: 'posting',
          actions: [assign({ reply: SORRY_NO_CALLS, outcome: 'failed' }), report('placeCalls')],
        },
      },
    },
    grouping: {
      invoke: {
        src: 'createGroup',
        input: ({ context }) => work(context),
        onDone: { target: 'posting', actions: assign({ reply: ({ event }) => event.output, outcome: 'grouped' }) },
        onError: {
          target: 'posting',
          actions: [assign({ reply: SORRY_NO_GROUP, outcome: 'failed' }), report('createGroup')],
        },
      },
    },
    posting: {
      invoke: {
        src: 'postMessage',
        input: ({ context }) => ({ conversationSid: context.message.conversationSid, body: context.reply ?? '' }),
        onDone: 'done',
        // Nobody can be told in the thread: the log is all there is. Never retried (no double posts).
        onError: { target: 'done', actions: [outcome('failed'), report('postMessage')] },
      },
    },
    done: { type: 'final' },
  },
});

function work(context: MessageContext): CommandWork {
  return { message: context.message, command: context.command, merchantId: context.thread?.merchantId };
}

export type SmsMessageMachine = typeof smsMessageMachine;

// ---------------------------------------------------------------------------------------------

export type InboxEvent =
  | { type: 'sms.message'; message: InboundMessage; command: SmsCommand }
  /** Post a line in a thread as the bot (the outcome of a call placed by @call). */
  | { type: 'sms.post'; conversationSid: string; body: string }
  | DoneActorEvent<MessageOutcome, `sms-${number}`>
  | DoneActorEvent<void, `post-${number}`>
  | ErrorActorEvent<unknown, `sms-${number}`>
  | ErrorActorEvent<unknown, `post-${number}`>;

export type InboxEmitted = {
  type: 'finished';
  actorId: string;
  outcome: MessageOutcome | 'posted' | 'post_failed' | 'crashed';
};

interface InboxContext {
  botIdentity: string;
  /** Sequence for child ids. */
  next: number;
}

export const smsInboxMachine = setup({
  types: {
    context: {} as InboxContext,
    input: {} as { botIdentity: string },
    events: {} as InboxEvent,
    emitted: {} as InboxEmitted,
  },
  actors: {
    message: smsMessageMachine,
    post: fromPromise<void, { conversationSid: string; body: string }>(notInstalled('post')),
  },
  actions: {
    reportCrash: (_: unknown, _params: { actorId: string; error: unknown }) => {},
  },
}).createMachine({
  id: 'smsInbox',
  context: ({ input }) => ({ botIdentity: input.botIdentity, next: 0 }),
  initial: 'listening',
  states: {
    listening: {
      on: {
        'sms.message': {
          actions: enqueueActions(({ context, event, enqueue }) => {
            enqueue.spawnChild('message', {
              id: `sms-${context.next}`,
              input: { message: event.message, command: event.command, botIdentity: context.botIdentity },
            });
            enqueue.assign({ next: context.next + 1 });
          }),
        },
        'sms.post': {
          actions: enqueueActions(({ context, event, enqueue }) => {
            enqueue.spawnChild('post', {
              id: `post-${context.next}`,
              input: { conversationSid: event.conversationSid, body: event.body },
            });
            enqueue.assign({ next: context.next + 1 });
          }),
        },
        // Finished children stay in snapshot.children until stopped: stop each one as it ends.
        'xstate.done.actor.*': {
          actions: enqueueActions(({ event, enqueue }) => {
            assertEvent(event, 'xstate.done.actor.*');
            const result = typeof event.output === 'string' ? event.output : 'posted';
            enqueue.emit({ type: 'finished', actorId: event.actorId, outcome: result });
            enqueue(stopChild(event.actorId));
          }),
        },
        'xstate.error.actor.*': {
          actions: enqueueActions(({ event, enqueue }) => {
            assertEvent(event, 'xstate.error.actor.*');
            enqueue({ type: 'reportCrash', params: { actorId: event.actorId, error: event.error } });
            enqueue.emit({
              type: 'finished',
              actorId: event.actorId,
              outcome: event.actorId.startsWith('post-') ? 'post_failed' : 'crashed',
            });
            enqueue(stopChild(event.actorId));
          }),
        },
      },
    },
  },
});

export type SmsInboxMachine = typeof smsInboxMachine;
