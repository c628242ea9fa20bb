import type * as uWS from './transports/uws.js';
import { readEnv, relayEnv, type Config } from './config.js';
import { loadApologyClip } from './audio/apology.js';
import { MemoryCallRecorder, type CallRecorder, type CallSummary } from './call/recorder.js';
import type { Call } from './call/call.js';
import type { ToolExecutor } from './tools/tool.js';
import { StaticMerchantDirectory, type MerchantDirectory } from './merchants/directory.js';
import { demoMerchant } from './merchants/demo-merchant.js';
import type { Merchant } from './merchants/merchant.js';
import type { ToolSpec } from './tools/tool.js';
import { createModelOpener } from './providers/endpoint.js';
import { startServer, type RelayServer } from './server.js';
import { lineControlFromEnv } from './transports/twilio/twilio-line-control.js';
import type { LineControl } from './call/line-control.js';
import { FakeModelServer } from './sim/model/model-server.js';
import { loadEdgeConfig, logEdgeConfig, type EdgeConfig } from './http/edge-config.js';
import { createLimiters } from './security/limiters.js';
import { RelayMetrics } from './obs/metrics.js';
import type { Store } from './store/store.js';
import { DEFAULT_DATA_DIR, openStoreAtStart, storeConfigFromEnv } from './store/open-store.js';
import { CallRecordWriter } from './store/outbox.js';
import { StoreCallRecorder } from './store/store-call-recorder.js';
import { StoreMerchantDirectory } from './store/merchant-directory.js';
import { seedIfEmpty } from './store/seed.js';
import { applyMerchantFiles } from './store/merchant-files.js';
import { createCallInspector } from './obs/inspect.js';
import { installTools } from './tools/index.js';
import { installOwnerServices, type OwnerServices } from './notify/index.js';
import { ToolCallLog } from './store/tool-call-log.js';
import { installConsole } from './console/index.js';
import { consoleConfigFromEnv } from './console/console-config.js';
import { consoleGate } from './http/console-gate.js';
import { gatedApp } from './http/gated-routes.js';
import { log } from './log.js';

// Composition root: builds the relay's parts from configuration. main.ts, the demo, the benchmark
// and the integration tests all start the relay through here, so they run the same wiring.

export interface RelayOverrides {
  edge?: EdgeConfig;
  /** A store to use; `null` runs without one (in-memory directory and recorder); default: from env. */
  store?: Store | null;
  directory?: MerchantDirectory;
  recorder?: CallRecorder;
  runTool?: ToolExecutor;
  toolSpecs?: (m: Merchant) => ToolSpec[];
  onCallState?: (call: Call, state: string) => void;
  routes?: (app: uWS.TemplatedApp) => void;
  metrics?: RelayMetrics;
  /** The telephone line's control (transfers, hang-ups); default: Twilio REST when configured. */
  line?: LineControl;
  /** Told about every finished call after its record was handed to the recorder. */
  onCallEnded?: (summary: CallSummary) => void;
  /** Called on close after the server stopped (flush stores, close pools). */
  onClose?: () => Promise<void>;
  /** How post-call webhooks are POSTed (tests reach a local receiver); default the global fetch. */
  webhookFetch?: typeof fetch;
}

export interface Relay {
  server: RelayServer;
  port: number;
  recorder: CallRecorder;
  metrics: RelayMetrics;
  store: Store | null;
  directory: MerchantDirectory;
  /** The local simulated agent, when no model API key is configured. */
  simAgent: FakeModelServer | null;
  /** Owner SMS, post-call webhooks and call recording (src/notify); null without a store. */
  owner: OwnerServices | null;
  /** Graceful shutdown: drain (see RelayServer.drain), then close everything. */
  shutdown(drainSeconds: number): Promise<void>;
  close(): Promise<void>;
}

export async function startRelay(config: Config, overrides: RelayOverrides = {}): Promise<Relay> {
  const edge = overrides.edge ?? loadEdgeConfig(relayEnv(), config);
  logEdgeConfig(edge, log);
  let simAgent: FakeModelServer | null = null;
  if (config.provider === 'sim') {
    simAgent = await FakeModelServer.start({ dialect: 'openai', mode: 'agent' });
    log.warn(
      { url: simAgent.url },
      'SIMULATED AGENT: no model API key is configured, ' +
        'calls are answered by the local simulated agent (not a real AI)',
    );
  }
  // Dev-only statechart inspection (INSPECT=1 or jsonl:<dir>); refused in production.
  const pickInspector = await createCallInspector(relayEnv());
  const limiters = createLimiters({ redisUrl: edge.redisUrl });
  await limiters.ready();
  // Storage: PGlite in DATA_DIR by default, a Postgres server with DATABASE_URL, or Supabase.
  const storeConfig = storeConfigFromEnv(relayEnv());
  const store = overrides.store === undefined ? await openStoreAtStart(storeConfig) : overrides.store;
  let writer: CallRecordWriter | null = null;
  if (store) {
    // MERCHANT_FILES first: a store that gets merchants from files is not empty, so no demo is seeded.
    const merchantFiles = readEnv(relayEnv(), (r) => r.get('MERCHANT_FILES'));
    if (merchantFiles) {
      const applied = await applyMerchantFiles(store, merchantFiles);
      log.info({ merchants: applied.map((m) => m.id) }, `merchant files applied (${applied.length})`);
    }
    if (config.nodeEnv !== 'production' && (await seedIfEmpty(store)))
      log.info('seeded the demo merchant (Sunny Side Dental, +15005550006)');
    if (config.nodeEnv === 'production' && (await store.listMerchants()).length === 0) {
      log.warn(
        'NO MERCHANTS: every call will hear "this number is not in service". ' +
          'Give the relay merchant files (MERCHANT_FILES) or add them with npm run merchant',
      );
    }
    writer = await CallRecordWriter.open({
      store,
      dir: storeConfig.dataDir === 'memory://' ? './data' : (storeConfig.dataDir ?? DEFAULT_DATA_DIR),
    });
    log.info({ outboxDepth: writer.depth() }, 'call-record outbox ready');
  }
  // The owner's side (owner SMS, post-call webhook, call recording): like the tools, it needs the store.
  let directoryRef: MerchantDirectory | undefined;
  const owner: OwnerServices | null = store
    ? await installOwnerServices({
        config,
        env: relayEnv(),
        store,
        directory: () => directoryRef,
        dataDir: storeConfig.dataDir === 'memory://' ? './data' : (storeConfig.dataDir ?? DEFAULT_DATA_DIR),
        webhookFetch: overrides.webhookFetch,
      })
    : null;
  // Receptionist tools need the store; without one, every tool call gets an `unknown_tool` answer.
  const tools = store ? installTools(store, relayEnv(), owner?.notifyOwner) : null;
  // Each tool call's arguments and output go into the call's record (the console's call page).
  const toolLog = new ToolCallLog();
  const runTool = overrides.runTool ?? tools?.runTool;
  const baseRecorder: CallRecorder =
    overrides.recorder ??
    (writer
      ? new StoreCallRecorder(owner ? owner.wrapSink(writer) : writer, {
          toolCalls: (sid, startedAt) => toolLog.take(sid, startedAt),
        })
      : new MemoryCallRecorder());
  const onCallEnded = overrides.onCallEnded;
  const recorder: CallRecorder = onCallEnded
    ? {
        started: (call) => baseRecorder.started?.(call),
        record: async (summary) => {
          await baseRecorder.record(summary);
          try {
            onCallEnded(summary);
          } catch (err) {
            log.error({ err, callSid: summary.callSid }, 'call-ended listener failed');
          }
        },
      }
    : baseRecorder;
  const fallbackId =
    readEnv(relayEnv(), (r) => r.get('DEFAULT_MERCHANT_ID')) ??
    (config.nodeEnv !== 'production' ? demoMerchant.id : undefined);
  let directory: MerchantDirectory;
  if (overrides.directory) directory = overrides.directory;
  else if (store) {
    const fromStore = new StoreMerchantDirectory(store, fallbackId);
    await fromStore.preload();
    directory = fromStore;
  } else directory = new StaticMerchantDirectory([demoMerchant], demoMerchant.id);
  directoryRef = directory;
  let server: RelayServer | null = null;
  const metrics =
    overrides.metrics ??
    new RelayMetrics({ liveCalls: () => server?.calls.size ?? 0, outboxDepth: () => writer?.depth() ?? 0 });
  // The web console at /console (CONSOLE_TOKEN): live calls follow the chart's state changes.
  const webConsole = installConsole({
    config,
    env: relayEnv(),
    store,
    metrics,
    trustProxy: edge.trustProxy,
    calls: () => server?.calls.values() ?? [],
  });
  const onCallState = webConsole
    ? (call: Call, state: string) => {
        overrides.onCallState?.(call, state);
        webConsole.onCallState(call, state);
      }
    : overrides.onCallState;
  // The console's routes pass the HTTP limit first: per session when signed in, else per IP.
  const consoleSettings = webConsole ? consoleConfigFromEnv(relayEnv(), config) : null;
  const routes = webConsole
    ? (app: uWS.TemplatedApp) => {
        overrides.routes?.(app);
        const gate = consoleSettings
          ? consoleGate({ token: consoleSettings.token, secure: consoleSettings.secure, limiters })
          : null;
        webConsole.routes(gate ? gatedApp(app, edge.trustProxy, gate) : app);
      }
    : overrides.routes;
  server = await startServer({
    config,
    edge,
    limiters,
    metrics,
    directory,
    recorder,
    openModel: createModelOpener(config, simAgent?.url),
    apologyClip: loadApologyClip(),
    simUrl: simAgent?.url,
    runTool: runTool && writer && !overrides.recorder ? toolLog.wrap(runTool) : runTool,
    toolSpecs: overrides.toolSpecs ?? tools?.toolSpecs,
    onCallState,
    routes: owner
      ? (app) => {
          routes?.(app);
          owner.routes(app, { edge, httpPerIp: limiters.httpPerIp });
        }
      : routes,
    inspect: pickInspector,
    notifyOwner: owner?.notifyOwner,
    // Transfers and outbound hang-ups through Twilio's REST API, when its credentials are set.
    line: overrides.line ?? lineControlFromEnv(relayEnv(), config.publicHost),
  });
  const started = server;
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await started.close();
    webConsole?.close();
    await simAgent?.close();
    await limiters.close();
    await pickInspector.close();
    await overrides.onClose?.();
    if (writer) {
      // Records of calls that just ended are stored (or stay in the durable outbox for next start).
      const left = await writer.flush(10_000);
      if (left > 0) log.warn({ left }, 'call records left in the outbox; they are replayed at the next start');
      await writer.close();
    }
    if (owner) {
      // Owner SMS and webhooks still queued stay on disk and go out after the next start.
      const left = await owner.flush(5000);
      if (left > 0) log.warn({ left }, 'owner SMS or webhooks still queued; they are sent after the next start');
      await owner.close();
    }
    await store?.close();
  };
  return {
    server: started,
    port: started.port,
    recorder: baseRecorder,
    metrics,
    store,
    directory,
    simAgent,
    owner,
    async shutdown(drainSeconds: number) {
      await started.drain(drainSeconds);
      await close();
    },
    close,
  };
}
