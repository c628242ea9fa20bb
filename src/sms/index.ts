import type * as uWS from '../transports/uws.js';
import { createActor, type ActorRefFrom } from 'xstate';
import type { SmsInboxMachine } from '../../machines/sms.machine.js';
import { relayEnv, type Config } from '../config.js';
import type { CallSummary } from '../call/recorder.js';
import type { MerchantDirectory } from '../merchants/directory.js';
import { loadEdgeConfig, type EdgeConfig } from '../http/edge-config.js';
import { json } from '../http/uws-http.js';
import { createLimiters, type Limiters } from '../security/limiters.js';
import { log, maskPhone } from '../log.js';
import { createReplyWriter, type ReplyWriter } from './ai-reply.js';
import { describeCallOutcome, describeUnansweredCall } from './call-outcome.js';
import { parseCommand } from './commands.js';
import { ConversationsGateway } from './conversations.js';
import { dedupeKey, mountConvoWebhook, type MessageAdded, type Verdict } from './convo-webhook.js';
import { createDeduper, RedisDeduper, type Deduper } from './dedupe.js';
import { mountFormWebhook } from './form-webhook.js';
import { CALL_STATUS_PATH, CallPlacer } from './outbound-calls.js';
import { provideSmsInbox } from './sms-actors.js';
import type { SmsConfig } from './sms-config.js';
import { createTwilioClient, type TwilioClient } from './twilio-rest.js';

// SMS group chats (issue 5), assembled: the Conversations webhook and the call-status callback, the
// dedupe and per-conversation limit in front of them, and the inbox actor that does the work after
// Twilio has its 200. Mount with startRelay(config, { routes: sms.routes, onCallEnded: sms.onCallEnded }).

export interface SmsDeps {
  config: Config;
  sms: SmsConfig;
  /** Default: loadEdgeConfig(relayEnv(), config), as startRelay does. Pass the relay's own to share it. */
  edge?: EdgeConfig;
  /** The merchant directory, or a getter for one that exists only after the relay started. */
  directory: MerchantDirectory | (() => MerchantDirectory | undefined);
  /** Default: created here on edge.redisUrl (closed by close()). */
  limiters?: Pick<Limiters, 'httpPerIp' | 'conversationEvents'>;
  /** Default: Redis SET NX on edge.redisUrl, else memory (closed by close()). */
  deduper?: Deduper;
  /** Redis key prefix for the dedupe set (default 'callrelay:sms:seen:'). */
  dedupePrefix?: string;
  twilio?: TwilioClient;
  writeReply?: ReplyWriter;
}

export interface FinishedWork {
  actorId: string;
  outcome: string;
}

export interface Sms {
  /** Mounts POST /twilio/convo and POST /twilio/convo/call-status (pass as RelayOverrides.routes). */
  routes: (app: uWS.TemplatedApp) => void;
  /** Posts the outcome of a call placed by @call to its thread (pass as RelayOverrides.onCallEnded). */
  onCallEnded: (summary: CallSummary) => void;
  /** Resolves when no message or post is being worked on (rejects after `timeoutMs`). */
  idle: (timeoutMs?: number) => Promise<void>;
  /** Lets running work finish (bounded), then stops the inbox and closes what was opened here. */
  close: () => Promise<void>;
  /** The last 200 finished children and their outcome, oldest first. */
  readonly finished: readonly FinishedWork[];
  readonly deduper: Deduper;
  readonly inbox: ActorRefFrom<SmsInboxMachine>;
}

const smsLog = log.child({ component: 'sms' });
const CONVERSATION_SID = /^CH[0-9a-fA-F]{32}$/;

export async function installSms(deps: SmsDeps): Promise<Sms> {
  const { sms } = deps;
  const edge = deps.edge ?? loadEdgeConfig(relayEnv(), deps.config);
  const ownLimiters: Limiters | null = deps.limiters ? null : createLimiters({ redisUrl: edge.redisUrl });
  const limiters = deps.limiters ?? (ownLimiters as Limiters);
  await ownLimiters?.ready();
  const deduper = deps.deduper ?? createDeduper({ redisUrl: edge.redisUrl, prefix: deps.dedupePrefix });
  if (!deps.deduper && deduper instanceof RedisDeduper) await deduper.ready();

  const client =
    deps.twilio ??
    createTwilioClient({ accountSid: sms.accountSid, authToken: sms.authToken, apiBaseUrl: sms.twilioApiBaseUrl });
  const gateway = new ConversationsGateway(client, {
    botIdentity: sms.botIdentity,
    botProjectedAddress: sms.botProjectedAddress,
  });
  const calls = new CallPlacer(client, { from: sms.phoneNumber, publicHost: deps.config.publicHost });
  const writeReply =
    deps.writeReply ??
    createReplyWriter({ apiKey: sms.openai.apiKey, baseUrl: sms.openai.baseUrl, model: sms.openai.textModel });
  if (!sms.openai.apiKey) smsLog.warn('SMS replies are SIMULATED: OPENAI_API_KEY is not set');
  const directory = deps.directory;
  const merchants = typeof directory === 'function' ? directory : () => directory;

  const machine = provideSmsInbox({ gateway, calls, writeReply, merchants, region: sms.defaultRegion });
  const inbox = createActor(machine, { id: 'sms-inbox', input: { botIdentity: sms.botIdentity } });
  const finished: FinishedWork[] = [];
  inbox.on('finished', (e) => {
    finished.push({ actorId: e.actorId, outcome: e.outcome });
    if (finished.length > 200) finished.shift();
  });
  inbox.start();
  let closed = false;

  const accept = async (e: MessageAdded): Promise<Verdict> => {
    const fields = { conversationSid: e.conversationSid, messageSid: e.messageSid, author: maskPhone(e.author) };
    if (closed) return 'ignored';
    if (!(await deduper.firstSight(dedupeKey(e)))) {
      smsLog.info(fields, 'duplicate conversation event ignored');
      return 'duplicate';
    }
    let allowed = true;
    try {
      allowed = (await limiters.conversationEvents.take(e.conversationSid)).allowed;
    } catch (err) {
      smsLog.error({ err }, 'conversation limiter failed; event allowed');
    }
    if (!allowed) {
      smsLog.warn(fields, 'conversation over 12 events / 30 s; event ignored');
      return 'rate_limited';
    }
    inbox.send({
      type: 'sms.message',
      message: e,
      command: parseCommand(e.body, { region: sms.defaultRegion, maxNumbers: sms.maxNumbersPerCommand }),
    });
    return 'accepted';
  };

  const routes = (app: uWS.TemplatedApp) => {
    const webhookDeps = { edge, httpPerIp: limiters.httpPerIp };
    mountConvoWebhook(app, webhookDeps, accept);
    // Final status of calls placed by @call: busy / no-answer / failed never reach the voice URL,
    // so this is the only way the thread hears about them.
    mountFormWebhook(app, CALL_STATUS_PATH, webhookDeps, async (params, r) => {
      const query = new URLSearchParams(r.query);
      const conversationSid = query.get('conversationSid') ?? '';
      const callSid = params.get('CallSid') ?? '';
      const status = params.get('CallStatus') ?? '';
      if (!CONVERSATION_SID.test(conversationSid))
        return json(400, { error: 'missing or malformed conversationSid in the callback URL' });
      if (callSid === '' || status === '') return json(400, { error: 'missing CallSid or CallStatus' });
      const text = describeUnansweredCall(status, query.get('to') ?? params.get('To') ?? 'the number');
      if (text === null || closed) return json(200, { ok: true, verdict: 'ignored' });
      if (!(await deduper.firstSight(`status:${callSid}`))) return json(200, { ok: true, verdict: 'duplicate' });
      smsLog.info({ callSid, status, conversationSid }, '@call: call did not connect');
      inbox.send({ type: 'sms.post', conversationSid, body: text });
      return json(200, { ok: true, verdict: 'accepted' });
    });
  };

  const onCallEnded = (summary: CallSummary) => {
    if (!summary.conversationSid || closed) return;
    inbox.send({ type: 'sms.post', conversationSid: summary.conversationSid, body: describeCallOutcome(summary) });
  };

  const idle = (timeoutMs = 10_000) =>
    new Promise<void>((resolve, reject) => {
      const busy = () => Object.keys(inbox.getSnapshot().children).length > 0;
      if (!busy()) return resolve();
      const timer = setTimeout(() => {
        sub.unsubscribe();
        reject(new Error(`sms work still running after ${timeoutMs} ms`));
      }, timeoutMs);
      const sub = inbox.subscribe(() => {
        if (busy()) return;
        clearTimeout(timer);
        sub.unsubscribe();
        resolve();
      });
    });

  const close = async () => {
    if (closed) return;
    closed = true;
    await idle(15_000).catch((err: unknown) =>
      smsLog.warn({ err: err instanceof Error ? err.message : String(err) }, 'sms work abandoned at close'),
    );
    inbox.stop();
    if (!deps.deduper) await deduper.close();
    await ownLimiters?.close();
  };

  return { routes, onCallEnded, idle, close, finished, deduper, inbox };
}

export { loadSmsConfig, smsEnabled, type SmsConfig } from './sms-config.js';
