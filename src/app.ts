import type { Config } from './config.js';
import { loadApologyClip } from './audio/apology.js';
import { MemoryCallRecorder, type CallRecorder } from './call/recorder.js';
import type { CallSession, ToolExecutor } from './call/call-session.js';
import { StaticMerchantDirectory, type MerchantDirectory } from './merchants/directory.js';
import { demoMerchant } from './merchants/demo-merchant.js';
import type { Merchant } from './merchants/merchant.js';
import type { ToolSpec } from './providers/dialect.js';
import { createModelOpener } from './providers/endpoint.js';
import { startServer, type RelayServer } from './server.js';
import { FakeModelServer } from './sim/model-server.js';
import { log } from './log.js';

// Composition root: builds the relay's parts from configuration. main.ts, the demo, the benchmark
// and the integration tests all start the relay through here, so they run the same wiring.

export interface RelayOverrides {
  directory?: MerchantDirectory;
  recorder?: CallRecorder;
  runTool?: ToolExecutor;
  toolSpecs?: (m: Merchant) => ToolSpec[];
  onCallState?: (s: CallSession, state: string) => void;
}

export interface Relay {
  server: RelayServer;
  port: number;
  recorder: CallRecorder;
  /** The local simulated agent, when no model API key is configured. */
  simAgent: FakeModelServer | null;
  close(): Promise<void>;
}

export async function startRelay(config: Config, overrides: RelayOverrides = {}): Promise<Relay> {
  let simAgent: FakeModelServer | null = null;
  if (config.provider === 'sim') {
    simAgent = await FakeModelServer.start({ dialect: 'openai', mode: 'agent' });
    log.warn({ url: simAgent.url }, 'SIMULATED AGENT: no model API key is configured, calls are answered by the local simulated agent (not a real AI)');
  }
  const recorder = overrides.recorder ?? new MemoryCallRecorder();
  const server = await startServer({
    config,
    directory: overrides.directory ?? new StaticMerchantDirectory([demoMerchant], demoMerchant.id),
    recorder,
    openModel: createModelOpener(config, simAgent?.url),
    apologyClip: loadApologyClip(),
    runTool: overrides.runTool,
    toolSpecs: overrides.toolSpecs,
    onCallState: overrides.onCallState,
  });
  return {
    server,
    port: server.port,
    recorder,
    simAgent,
    close: async () => {
      await server.close();
      await simAgent?.close();
    },
  };
}
