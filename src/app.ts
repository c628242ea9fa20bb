import type uWS from 'uWebSockets.js';
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
import { loadEdgeConfig, logEdgeConfig, type EdgeConfig } from './http/edge-config.js';
import { createLimiters } from './security/limiters.js';
import { RelayMetrics } from './obs/metrics.js';
import { log } from './log.js';

// Composition root: builds the relay's parts from configuration. main.ts, the demo, the benchmark
// and the integration tests all start the relay through here, so they run the same wiring.

export interface RelayOverrides {
  edge?: EdgeConfig;
  directory?: MerchantDirectory;
  recorder?: CallRecorder;
  runTool?: ToolExecutor;
  toolSpecs?: (m: Merchant) => ToolSpec[];
  onCallState?: (s: CallSession, state: string) => void;
  routes?: (app: uWS.TemplatedApp) => void;
  metrics?: RelayMetrics;
  /** Called on close after the server stopped (flush stores, close pools). */
  onClose?: () => Promise<void>;
}

export interface Relay {
  server: RelayServer;
  port: number;
  recorder: CallRecorder;
  metrics: RelayMetrics;
  /** The local simulated agent, when no model API key is configured. */
  simAgent: FakeModelServer | null;
  /** Graceful shutdown: drain (see RelayServer.drain), then close everything. */
  shutdown(drainSeconds: number): Promise<void>;
  close(): Promise<void>;
}

export async function startRelay(config: Config, overrides: RelayOverrides = {}): Promise<Relay> {
  const edge = overrides.edge ?? loadEdgeConfig(process.env, config);
  logEdgeConfig(edge, log);
  let simAgent: FakeModelServer | null = null;
  if (config.provider === 'sim') {
    simAgent = await FakeModelServer.start({ dialect: 'openai', mode: 'agent' });
    log.warn({ url: simAgent.url }, 'SIMULATED AGENT: no model API key is configured, calls are answered by the local simulated agent (not a real AI)');
  }
  const limiters = createLimiters({ redisUrl: edge.redisUrl });
  await limiters.ready();
  const recorder = overrides.recorder ?? new MemoryCallRecorder();
  let server: RelayServer | null = null;
  const metrics = overrides.metrics ?? new RelayMetrics({ liveCalls: () => server?.calls.size ?? 0 });
  server = await startServer({
    config,
    edge,
    limiters,
    metrics,
    directory: overrides.directory ?? new StaticMerchantDirectory([demoMerchant], demoMerchant.id),
    recorder,
    openModel: createModelOpener(config, simAgent?.url),
    apologyClip: loadApologyClip(),
    simUrl: simAgent?.url,
    runTool: overrides.runTool,
    toolSpecs: overrides.toolSpecs,
    onCallState: overrides.onCallState,
    routes: overrides.routes,
  });
  const started = server;
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await started.close();
    await simAgent?.close();
    await limiters.close();
    await overrides.onClose?.();
  };
  return {
    server: started,
    port: started.port,
    recorder,
    metrics,
    simAgent,
    async shutdown(drainSeconds: number) {
      await started.drain(drainSeconds);
      await close();
    },
    close,
  };
}
