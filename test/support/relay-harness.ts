import { loadConfig } from '../../src/config.js';
import { loadEdgeConfig } from '../../src/http/edge-config.js';
import { startRelay, type Relay, type RelayOverrides } from '../../src/app.js';
import { MemoryCallRecorder } from '../../src/call/recorder.js';
import type { Call } from '../../src/call/call.js';
import { StaticMerchantDirectory } from '../../src/merchants/directory.js';
import { demoMerchant } from '../../src/merchants/demo-merchant.js';
import type { Merchant } from '../../src/merchants/merchant.js';
import {
  FakeModelServer,
  type FakeModelSession,
  type FakeModelServerOptions,
} from '../../src/sim/model/model-server.js';
import { SimCaller, type SimCallerOptions } from '../../src/sim/twilio/caller.js';

// The real relay (uWS server, call actors, providers) between a simulated Twilio caller and the
// fake realtime model, all on loopback. Each test gets its own instance.

export interface HarnessOptions {
  dialect?: 'openai' | 'xai';
  env?: Record<string, string>;
  merchant?: Partial<Merchant>;
  model?: Partial<FakeModelServerOptions>;
  overrides?: RelayOverrides;
}

export interface Harness {
  relay: Relay;
  model: FakeModelServer;
  recorder: MemoryCallRecorder;
  merchant: Merchant;
  states: Map<string, string[]>;
  sessions: Map<string, Call>;
  url: string;
  /** Dials one call and waits until the model side has its session. */
  call(opts?: Partial<SimCallerOptions>): Promise<{ caller: SimCaller; model: FakeModelSession }>;
  close(): Promise<void>;
}

export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const dialect = opts.dialect ?? 'openai';
  const model = await FakeModelServer.start({ dialect, mode: 'scripted', ...opts.model });
  // The demo's transfer target stays with the demo: a test's merchant offers transferCall only when asked.
  const { transferTargets: _demoTargets, ...demo } = demoMerchant;
  const merchant: Merchant = { ...demo, greeting: 'Hello from the test line.', ...opts.merchant };
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    PUBLIC_HOST: 'relay.test',
    METRICS_PORT: '0',
    PROVIDER: dialect,
    OPENAI_API_KEY: 'sk-test',
    XAI_API_KEY: 'xai-test',
    OPENAI_REALTIME_URL: model.url,
    XAI_REALTIME_URL: model.url,
    ...opts.env,
  });
  const recorder = new MemoryCallRecorder();
  const states = new Map<string, string[]>();
  const sessions = new Map<string, Call>();
  // Rate-limit buckets stay private to this relay unless the test asks for Redis: with CI's
  // REDIS_URL every test process would otherwise share one 10-upgrades-a-minute bucket for 127.0.0.1.
  const edge = loadEdgeConfig({ ...process.env, REDIS_URL: '', ...opts.env }, config);
  const relay = await startRelay(config, {
    edge,
    store: null,
    recorder,
    directory: new StaticMerchantDirectory([merchant], merchant.id),
    ...opts.overrides,
    onCallState: (s, st) => {
      sessions.set(s.info.callSid, s);
      const list = states.get(s.info.callSid) ?? [];
      list.push(st);
      states.set(s.info.callSid, list);
    },
  });
  const url = `ws://127.0.0.1:${relay.port}/media-stream`;
  const callers: SimCaller[] = [];
  return {
    relay,
    model,
    recorder,
    merchant,
    states,
    sessions,
    url,
    async call(callerOpts = {}) {
      const next = model.nextSession(5000);
      const caller = await SimCaller.connect({
        url,
        customParameters: { merchantId: merchant.id, callerPhone: '+14155550100', direction: 'inbound' },
        ...callerOpts,
      });
      callers.push(caller);
      return { caller, model: await next };
    },
    async close() {
      for (const c of callers) if (c.state !== 'closed') await c.drop().catch(() => undefined);
      await relay.close();
      await model.close();
    },
  };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls until `fn` is true (the relay acts asynchronously across sockets). */
export async function until(fn: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}
