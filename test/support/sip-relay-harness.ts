import { startRelay, type Relay, type RelayOverrides } from '../../src/app.js';
import type { Call } from '../../src/call/call.js';
import { MemoryCallRecorder } from '../../src/call/recorder.js';
import { loadConfig } from '../../src/config.js';
import { loadEdgeConfig } from '../../src/http/edge-config.js';
import { demoMerchant } from '../../src/merchants/demo-merchant.js';
import type { MerchantDirectory } from '../../src/merchants/directory.js';
import type { Merchant } from '../../src/merchants/merchant.js';
import { until } from './relay-harness.js';
import { SimOpenAISip, type SimOpenAISipOptions, type SimSipCall } from '../../src/sim/openai-sip/sip-server.js';

// The real relay taking SIP calls from the OpenAI SIP imitation: signed webhooks in, accept/reject/
// refer/hangup over the `openai` SDK to the imitation's REST API, the sideband socket to its session.
// The caller's audio goes into the imitation's model session and never reaches the relay.

export const SIP_SECRET = `whsec_${Buffer.alloc(32, 42).toString('base64')}`;
export const SIP_KEY = 'sk-sip-test';
export const BUSINESS = '+15005550006';
export const CALLER = '+14155550100';

export interface SipHarnessOptions {
  env?: Record<string, string>;
  merchant?: Partial<Merchant>;
  /** Default: the merchant, with the fallback to it (numbers no merchant owns reach it). */
  directory?: (m: Merchant) => MerchantDirectory;
  sim?: Partial<SimOpenAISipOptions>;
  overrides?: RelayOverrides;
}

export interface SipHarness {
  relay: Relay;
  sip: SimOpenAISip;
  recorder: MemoryCallRecorder;
  merchant: Merchant;
  states: Map<string, string[]>;
  calls: Map<string, Call>;
  webhookUrl: string;
  /** A call to the merchant's number (or `to`); resolves once the relay answered the webhook. */
  dial(o?: { from?: string; to?: string; headers?: { name: string; value: string }[] }): Promise<SimSipCall>;
  /** Dials and waits until the call's chart listens after the greeting. */
  listening(o?: Parameters<SipHarness['dial']>[0]): Promise<SimSipCall>;
  close(): Promise<void>;
}

/** A directory with the merchant and no fallback: other numbers are refused. */
export function onlyMerchant(m: Merchant): MerchantDirectory {
  return {
    byNumber: async (n) => (m.phoneNumbers.includes(n) ? m : undefined),
    byId: async (id) => (id === m.id ? m : undefined),
    fallback: async () => undefined,
  };
}

export async function startSipHarness(opts: SipHarnessOptions = {}): Promise<SipHarness> {
  // The imitation needs the relay's URL and the relay the imitation's: the webhook URL is filled in
  // once the relay listens (the imitation reads it for each call).
  const simOpts: SimOpenAISipOptions = {
    webhookUrl: 'http://127.0.0.1:9/unset',
    webhookSecret: SIP_SECRET,
    apiKey: SIP_KEY,
    mode: 'scripted',
    ...opts.sim,
  };
  const sip = await SimOpenAISip.start(simOpts);
  const { transferTargets: _demoTargets, ...demo } = demoMerchant;
  const merchant: Merchant = {
    ...demo,
    phoneNumbers: [BUSINESS],
    transport: 'sip',
    greeting: 'Hello from the SIP line.',
    ...opts.merchant,
  };
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    PUBLIC_HOST: 'relay.test',
    METRICS_PORT: '0',
    PROVIDER: 'openai',
    OPENAI_API_KEY: SIP_KEY,
    OPENAI_REALTIME_URL: sip.realtimeUrl,
    OPENAI_BASE_URL: sip.apiBaseUrl,
    OPENAI_WEBHOOK_SECRET: SIP_SECRET,
    ...opts.env,
  });
  const recorder = new MemoryCallRecorder();
  const states = new Map<string, string[]>();
  const calls = new Map<string, Call>();
  const edge = loadEdgeConfig({ ...process.env, REDIS_URL: '', ...opts.env }, config);
  const relay = await startRelay(config, {
    edge,
    store: null,
    recorder,
    directory: opts.directory?.(merchant) ?? {
      ...onlyMerchant(merchant),
      fallback: async () => merchant,
    },
    ...opts.overrides,
    onCallState: (c, st) => {
      calls.set(c.info.callSid, c);
      const list = states.get(c.info.callSid) ?? [];
      list.push(st);
      states.set(c.info.callSid, list);
    },
  });
  const webhookUrl = `http://127.0.0.1:${relay.port}/openai/webhook`;
  simOpts.webhookUrl = webhookUrl;
  const h: SipHarness = {
    relay,
    sip,
    recorder,
    merchant,
    states,
    calls,
    webhookUrl,
    dial: (o = {}) => sip.dial({ from: o.from ?? CALLER, to: o.to ?? BUSINESS, headers: o.headers }),
    async listening(o) {
      const call = await h.dial(o);
      await call.waitFor('accepted', 10_000);
      await call.waitForSideband(10_000);
      // The greeting is asked for over the sideband; a scripted session answers it with one line.
      await until(() => states.get(call.callId)?.at(-1) === 'session.listening', 10_000, 'listening');
      return call;
    },
    async close() {
      await relay.close();
      await sip.close();
    },
  };
  return h;
}

export { until };
