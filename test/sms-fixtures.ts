import type { CallSummary } from '../src/call/recorder.js';
import { streamOf } from '../src/sim/twilio-rest/call-redirects.js';
import { loadConfig } from '../src/config.js';
import { loadEdgeConfig, type EdgeConfig } from '../src/http/edge-config.js';
import { StaticMerchantDirectory } from '../src/merchants/directory.js';
import { demoMerchant } from '../src/merchants/demo-merchant.js';
import type { Merchant } from '../src/merchants/merchant.js';
import { installSms, type Sms } from '../src/sms/index.js';
import { loadSmsConfig, type SmsConfig } from '../src/sms/sms-config.js';
import { FakeOpenAIServer } from '../src/sim/openai-http/openai-http-server.js';
import { FakeTwilioRestServer } from '../src/sim/twilio-rest/twilio-rest-server.js';
import { startHarness, type Harness } from './support/relay-harness.js';

// The SMS feature on a real relay (startRelay through the relay harness), with the real `twilio`
// client talking to the local Twilio REST fake and the real `openai` client to the local OpenAI fake.

export const PUBLIC_HOST = 'relay.test';
export const BUSINESS_NUMBER = '+15005550006'; // the demo merchant's number and our Twilio caller ID
export const ALICE = '+14155550100';
export const BOT = 'gateframes-bot';
export const BOT_PROJECTED = '+14082605145';

export interface SmsRigOptions {
  /** Extra SMS env (BOT_IDENTITY, MAX_NUMBERS_PER_COMMAND, OPENAI_API_KEY: '' for simulated, …). */
  env?: Record<string, string>;
  /** Edge env (TWILIO_AUTH_TOKEN to turn signature checks on, REDIS_URL). */
  edgeEnv?: Record<string, string>;
  /** Share one REST fake between rigs (multi-instance tests); else a fresh one, closed with the rig. */
  rest?: FakeTwilioRestServer;
  merchant?: Partial<Merchant>;
  dedupePrefix?: string;
}

export interface SmsRig {
  h: Harness;
  sms: Sms;
  smsConfig: SmsConfig;
  rest: FakeTwilioRestServer;
  ai: FakeOpenAIServer;
  edge: EdgeConfig;
  base: string;
  /** POSTs the webhook form to /twilio/convo. */
  post(params: Record<string, string>, headers?: Record<string, string>, path?: string): Promise<Response>;
  /** A one-to-one SMS thread with Alice (address + proxy address). */
  oneToOne(): string;
  /** A group MMS thread: the given numbers (address only) and the bot with its projected address. */
  group(numbers: string[]): string;
  close(): Promise<void>;
}

export async function startSmsRig(opts: SmsRigOptions = {}): Promise<SmsRig> {
  const rest = opts.rest ?? (await FakeTwilioRestServer.start());
  const ai = await FakeOpenAIServer.start({ apiKey: 'sk-sms-test' });
  const env = {
    PORT: '0',
    HOST: '127.0.0.1',
    PUBLIC_HOST,
    METRICS_PORT: '0',
    PROVIDER: 'openai',
    OPENAI_API_KEY: 'sk-test',
  };
  const config = loadConfig(env);
  const edge = loadEdgeConfig(opts.edgeEnv ?? {}, config);
  const smsConfig = loadSmsConfig({
    TWILIO_ACCOUNT_SID: rest.accountSid,
    TWILIO_AUTH_TOKEN: rest.authToken,
    TWILIO_PHONE_NUMBER: BUSINESS_NUMBER,
    BOT_IDENTITY: BOT,
    BOT_PROJECTED_ADDRESS: BOT_PROJECTED,
    TWILIO_API_BASE_URL: rest.url,
    OPENAI_API_KEY: 'sk-sms-test',
    OPENAI_BASE_URL: ai.baseUrl,
    OPENAI_TEXT_MODEL: 'gpt-test-mini',
    ...opts.env,
  });
  if (!smsConfig) throw new Error('SMS config expected');
  const merchant: Merchant = { ...demoMerchant, ...opts.merchant };
  const sms = await installSms({
    config,
    sms: smsConfig,
    edge,
    directory: new StaticMerchantDirectory([merchant], merchant.id),
    dedupePrefix: opts.dedupePrefix,
  });
  let h: Harness;
  try {
    h = await startHarness({ env, merchant, overrides: { edge, routes: sms.routes, onCallEnded: sms.onCallEnded } });
  } catch (err) {
    await sms.close();
    throw err;
  }
  const base = `http://127.0.0.1:${h.relay.port}`;
  return {
    h,
    sms,
    smsConfig,
    rest,
    ai,
    edge,
    base,
    post: (params, headers = {}, path = '/twilio/convo') =>
      fetch(`${base}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        body: new URLSearchParams(params).toString(),
      }),
    oneToOne: () => rest.createConversation({ participants: [{ address: ALICE, proxyAddress: BUSINESS_NUMBER }] }).sid,
    group: (numbers) =>
      rest.createConversation({
        participants: [
          ...numbers.map((address) => ({ address })),
          { identity: smsConfig.botIdentity, projectedAddress: BOT_PROJECTED },
        ],
      }).sid,
    async close() {
      await h.close();
      await sms.close();
      await ai.close();
      if (!opts.rest) await rest.close();
    },
  };
}

/** `<Parameter name="x" value="y"/>` of a TwiML answer, as the stream's customParameters. */
export function twimlParameters(xml: string): Record<string, string> {
  // Read the way the Twilio imitation reads a <Connect><Stream> answer.
  return streamOf(xml)?.params ?? {};
}

export async function verdict(res: Response): Promise<string> {
  const body = (await res.json()) as { verdict?: unknown };
  return typeof body.verdict === 'string' ? body.verdict : `(status ${res.status})`;
}

/** A finished call's record, as the relay hands it to onCallEnded. */
export function callSummary(overrides: Partial<CallSummary> = {}): CallSummary {
  return {
    callSid: 'CA1',
    streamSid: 'MZ1',
    merchantId: 'demo',
    callerPhone: '+14155550100',
    calledNumber: BUSINESS_NUMBER,
    direction: 'outbound',
    provider: 'openai',
    model: 'm',
    startedAt: new Date(0),
    endedAt: new Date(0),
    durationMs: 0,
    endReason: 'caller_hung_up',
    transcript: [],
    transcriptText: '',
    timeline: [],
    usage: {},
    stats: {
      framesIn: 0,
      framesOut: 0,
      bargeIns: 0,
      assistantAudioMs: 0,
      droppedCallerAudioMs: 0,
      lateDeltasDropped: 0,
      modelConnectMs: null,
      badTwilioMessages: 0,
      twilioSendRefused: 0,
    },
    ...overrides,
  };
}
