import { fromPromise } from 'xstate';
import type { CountryCode } from 'libphonenumber-js';
import {
  smsInboxMachine,
  smsMessageMachine,
  type CommandWork,
  type SmsInboxMachine,
  type ThreadInfo,
} from '../../machines/sms.machine.js';
import type { MerchantDirectory } from '../merchants/directory.js';
import type { Merchant } from '../merchants/merchant.js';
import { log } from '../log.js';
import type { ReplyWriter } from './ai-reply.js';
import { invalidSentence, joinList, unsupportedSentence } from './commands.js';
import type { ConversationsGateway, GroupMember, ThreadMessage } from './conversations.js';
import type { CallPlacer } from './outbound-calls.js';
import { isNanp, toE164 } from './phone-numbers.js';
import { describeTwilioError } from './twilio-rest.js';

// The SMS charts with their I/O plugged in: each injected actor of machines/sms.machine.ts is
// implemented here on top of the Twilio gateway, the call placer and the reply writer, and the texts
// the bot posts after a command are composed here.

export interface SmsActorDeps {
  gateway: ConversationsGateway;
  calls: CallPlacer;
  writeReply: ReplyWriter;
  /** Resolved per use: the relay's directory may only exist once the relay has started. */
  merchants: () => MerchantDirectory | undefined;
  region: CountryCode;
  /** Messages of the thread given to the model (default 10). */
  historySize?: number;
}

const smsLog = log.child({ component: 'sms' });

async function merchantFor(deps: SmsActorDeps, merchantId: string | undefined): Promise<Merchant | undefined> {
  const dir = deps.merchants();
  if (!dir) return undefined;
  return (merchantId ? await dir.byId(merchantId) : undefined) ?? (await dir.fallback());
}

/** People in the thread (the bot excluded) and the merchant behind its Twilio number(s). */
async function inspectThread(deps: SmsActorDeps, conversationSid: string): Promise<ThreadInfo> {
  const participants = await deps.gateway.participants(conversationSid);
  const people = participants.filter((p) => p.identity !== deps.gateway.botIdentity).length;
  const numbers = [
    ...participants.map((p) => p.proxyAddress),
    ...participants.filter((p) => p.identity !== deps.gateway.botIdentity).map((p) => p.projectedAddress),
    ...participants.filter((p) => p.identity === deps.gateway.botIdentity).map((p) => p.projectedAddress),
  ].filter((n): n is string => n !== undefined);
  const dir = deps.merchants();
  let merchant: Merchant | undefined;
  for (const n of new Set(numbers)) {
    merchant = await dir?.byNumber(n);
    if (merchant) break;
  }
  merchant ??= await dir?.fallback();
  return { people, merchantId: merchant?.id };
}

async function writeReply(deps: SmsActorDeps, w: CommandWork, signal: AbortSignal): Promise<string> {
  const history: ThreadMessage[] = await deps.gateway.recentMessages(w.message.conversationSid, deps.historySize ?? 10);
  // The list may lag the webhook by a moment: the message being answered must be in it.
  const present = history.some((m) =>
    w.message.messageSid !== undefined ? m.sid === w.message.messageSid : m.index === w.message.index,
  );
  if (!present)
    history.push({
      sid: w.message.messageSid ?? '',
      index: w.message.index ?? Number.MAX_SAFE_INTEGER,
      author: w.message.author,
      body: w.message.body,
    });
  return deps.writeReply(
    { merchant: await merchantFor(deps, w.merchantId), history, botIdentity: deps.gateway.botIdentity },
    signal,
  );
}

async function placeCalls(deps: SmsActorDeps, w: CommandWork): Promise<string> {
  if (w.command.kind !== 'call') throw new Error(`placeCalls got a ${w.command.kind} command`);
  const placed: string[] = [];
  const failed: string[] = [];
  // One after the other (at most MAX_NUMBERS_PER_COMMAND): each number gets exactly one attempt.
  for (const to of w.command.numbers) {
    const p = await deps.calls.place({
      to,
      conversationSid: w.message.conversationSid,
      requester: w.message.author,
      merchantId: w.merchantId,
    });
    (p.ok ? placed : failed).push(to);
  }
  const lines: string[] = [];
  if (placed.length > 0)
    lines.push(
      `Calling ${joinList(placed)} now. I'll post here how ${placed.length === 1 ? 'the call' : 'each call'} goes.`,
    );
  if (failed.length > 0)
    lines.push(`I couldn't place the call${failed.length === 1 ? '' : 's'} to ${joinList(failed)}.`);
  const skipped = invalidSentence(w.command.invalid);
  if (skipped) lines.push(skipped);
  return lines.join(' ');
}

function requesterMember(author: string, region: CountryCode): GroupMember | 'unsupported' {
  const n = toE164(author, region);
  if (n === undefined) return { identity: author };
  return isNanp(n) ? { address: n } : 'unsupported';
}

const memberLabel = (m: GroupMember) => ('address' in m ? m.address : m.identity);

async function createGroup(deps: SmsActorDeps, w: CommandWork): Promise<string> {
  if (w.command.kind !== 'group') throw new Error(`createGroup got a ${w.command.kind} command`);
  const requester = requesterMember(w.message.author, deps.region);
  const members: GroupMember[] = requester === 'unsupported' ? [] : [requester];
  for (const n of w.command.numbers)
    if (!members.some((m) => 'address' in m && m.address === n)) members.push({ address: n });
  const merchant = await merchantFor(deps, w.merchantId);
  const assistant = merchant ? `${merchant.name}'s assistant` : 'an assistant';
  const group = await deps.gateway.createGroup({
    friendlyName: `Group started from ${w.message.conversationSid}`,
    attributes: { startedFrom: w.message.conversationSid, requester: w.message.author },
    members,
    intro:
      `Hi everyone! ${w.message.author} started this group text. I'm ${assistant}: mention @ai in a ` +
      `message when you'd like me to answer.`,
  });
  smsLog.info(
    {
      conversationSid: group.conversationSid,
      from: w.message.conversationSid,
      added: group.added.length,
      failed: group.failed.length,
    },
    '@group: conversation created',
  );
  const others = group.added.filter((m) => m !== requester).map(memberLabel);
  const lines: string[] = [];
  if (others.length === 0) lines.push("I couldn't add anyone to the new group, so there is no group to join.");
  else
    lines.push(
      `I started a group text with ` +
        `${joinList(requester === 'unsupported' ? others : ['you', ...others])}.` +
        (group.introPosted
          ? ' Mention @ai there when you want me.'
          : " I couldn't post the introduction there, though."),
    );
  if (group.failed.length > 0) lines.push(`I couldn't add ${joinList(group.failed.map(memberLabel))}.`);
  const skipped = [invalidSentence(w.command.invalid), unsupportedSentence(w.command.unsupported)].filter(
    (s) => s !== '',
  );
  lines.push(...skipped);
  return lines.join(' ');
}

/** The inbox chart with every effect provided. */
export function provideSmsInbox(deps: SmsActorDeps): SmsInboxMachine {
  const message = smsMessageMachine.provide({
    actors: {
      ensureBot: fromPromise(async ({ input }) => {
        const r = await deps.gateway.ensureBot(input.conversationSid);
        if (r !== 'remembered')
          smsLog.info({ conversationSid: input.conversationSid, result: r }, 'bot participant ensured');
      }),
      inspectThread: fromPromise(({ input }) => inspectThread(deps, input.conversationSid)),
      writeReply: fromPromise(({ input, signal }) => writeReply(deps, input, signal)),
      placeCalls: fromPromise(({ input }) => placeCalls(deps, input)),
      createGroup: fromPromise(({ input }) => createGroup(deps, input)),
      postMessage: fromPromise(async ({ input }) => {
        await deps.gateway.post(input.conversationSid, input.body);
      }),
    },
    actions: {
      reportError: (_, params) =>
        smsLog.warn({ stage: params.stage, err: describeTwilioError(params.error) }, 'sms step failed'),
    },
  });
  return smsInboxMachine.provide({
    actors: {
      message,
      post: fromPromise(async ({ input }) => {
        await deps.gateway.post(input.conversationSid, input.body);
      }),
    },
    actions: {
      reportCrash: (_, params) =>
        smsLog.error({ actorId: params.actorId, err: describeTwilioError(params.error) }, 'sms child failed'),
    },
  });
}
