import type { InspectionEvent, Observer } from 'xstate';
import type { Config } from './config.js';
import type { Call } from './call/call.js';
import type { CallRecorder } from './call/recorder.js';
import type { MerchantDirectory } from './merchants/directory.js';
import type { Merchant } from './merchants/merchant.js';
import type { ModelOpener } from './providers/endpoint.js';
import type { ToolExecutor, ToolSpec } from './tools/tool.js';
import type { NotifyOwner } from './notify/owner-sms.js';
import { mountMediaStreams } from './transports/twilio/media-stream-route.js';
import { mountVoiceWebhook } from './transports/twilio/voice-route.js';
import { mountTransferRoutes, type TransferMissed } from './transports/twilio/transfer-routes.js';
import { mountSipCalls } from './transports/openai-sip/sip-calls.js';
import { TransferLedger } from './call/transfer-ledger.js';
import type { LineControl } from './call/line-control.js';
import { callControlSpecs, withCallControl } from './tools/call-control.js';
import { browserRelayRoutes, type BrowserRelay } from './browser/browser-relay.js';
import { browserEndpointResolver } from './browser/browser-endpoint.js';
import type { EdgeConfig } from './http/edge-config.js';
import type { Limiters } from './security/limiters.js';
import type { TrustProxy } from './security/client-ip.js';
import { rateLimitedRoute } from './http/edge-guard.js';
import { json } from './http/uws-http.js';
import { isOriginAllowed } from './security/origin.js';
import type { RelayMetrics } from './obs/metrics.js';
import { mountMetrics } from './obs/metrics-endpoint.js';
import * as uWS from './transports/uws.js';
import { log } from './log.js';
import { ConfigError } from './config/config-error.js';
import { listenExclusive } from './http/listen.js';

// The relay's HTTP and WebSocket surface, served by uWebSockets.js: it mounts each route (each in its
// own module), listens, and drains or closes the whole surface.

export interface ServerDeps {
  config: Config;
  edge: EdgeConfig;
  limiters: Limiters;
  metrics: RelayMetrics;
  directory: MerchantDirectory;
  recorder: CallRecorder;
  openModel: ModelOpener;
  apologyClip: Buffer;
  simUrl?: string;
  runTool?: ToolExecutor;
  toolSpecs?: (m: Merchant) => ToolSpec[];
  onCallState?: (call: Call, state: string) => void;
  /** Transfers and hang-ups over the telephone provider's API (Twilio REST); unset: no transfers. */
  line?: LineControl;
  /** Statechart inspection per call (dev only; see src/obs/inspect.ts). */
  inspect?: (callSid: string) => Observer<InspectionEvent> | undefined;
  /** Extra routes (Twilio Conversations webhook, …) mounted before the 404 fallback. */
  routes?: (app: uWS.TemplatedApp) => void;
  /** Owner SMS (src/notify/owner-sms.ts), for what the call side tells the owner (a failed transfer). */
  notifyOwner?: NotifyOwner;
}

export interface RelayServer {
  port: number;
  calls: Map<string, Call>;
  metricsPort: number | null;
  readonly draining: boolean;
  /** Stop taking calls, let live ones finish for up to `seconds`, then ask the rest to wrap up. */
  drain(seconds: number): Promise<void>;
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function startServer(deps: ServerDeps): Promise<RelayServer> {
  const { config, edge, limiters, metrics } = deps;
  const calls = new Map<string, Call>();
  const app = uWS.App();
  const originAllowed = (o: string | undefined) => isOriginAllowed(o, edge.allowedOrigins);
  let draining = false;
  const isDraining = () => draining;

  const transfers = new TransferLedger();
  mountHealth(app, () => ({ draining, calls: calls.size }));
  mountVoiceWebhook(app, {
    ...deps,
    publicHost: config.publicHost,
    draining: isDraining,
    sipUri: config.sip.sipUri,
    busy: () => config.maxLiveCalls > 0 && calls.size >= config.maxLiveCalls,
  });
  mountTransferRoutes(app, {
    ...deps,
    transfers,
    publicHost: config.publicHost,
    onMissed: (miss) => void tellOwner(deps, miss),
  });
  // Every merchant's model gets the call-control tools (endCall; transferCall with targets).
  const toolSpecs = (m: Merchant) => [...(deps.toolSpecs?.(m) ?? []), ...callControlSpecs(m)];
  // What every call shares, on either path.
  const callDeps = {
    recorder: deps.recorder,
    maxCallMs: config.maxCallSeconds * 1000,
    connectTimeoutMs: config.connectTimeoutMs,
    responseTimeoutMs: config.responseTimeoutMs,
    silenceMs: config.silenceRepromptMs,
    runTool: withCallControl(deps.runTool),
    metrics,
    onState: deps.onCallState,
  };
  const mediaStreams = mountMediaStreams(app, {
    ...deps,
    calls,
    originAllowed,
    draining: isDraining,
    toolSpecs,
    call: { ...callDeps, transfers, ...(deps.line ? { line: deps.line } : {}) },
  });
  // SIP calls (OPENAI_WEBHOOK_SECRET): the same calls map, limits, tools and record; no audio here.
  const sipCalls = await mountSipCalls(app, { ...deps, calls, draining: isDraining, toolSpecs, call: callDeps });
  const browserRelay: BrowserRelay | null = edge.encryptionKey
    ? browserRelayRoutes(app, {
        encryptionKey: edge.encryptionKey,
        originAllowed,
        limiters,
        trustProxy: edge.trustProxy,
        endpoint: browserEndpointResolver(config, deps.simUrl),
        maxSessionSeconds: edge.maxSessionSeconds,
        limits: { connectTimeoutMs: config.connectTimeoutMs },
      })
    : null;
  const metricsEndpoint = await mountMetrics(app, config, metrics, {
    httpPerIp: limiters.httpPerIp,
    trust: edge.trustProxy,
  });
  deps.routes?.(app);
  mountNotFound(app, limiters, edge.trustProxy);

  // Exclusive (src/http/listen.ts): a second relay on a busy port fails here instead of sharing it.
  const token = await listenExclusive(app, config.host, config.port);
  if (!token) {
    throw new ConfigError(
      'PORT',
      `${config.port} on ${config.host} is already in use (another relay?): stop it or choose another PORT`,
    );
  }
  let listening = true;
  const stopListening = () => {
    if (listening) uWS.us_listen_socket_close(token);
    listening = false;
  };

  return {
    port: uWS.us_socket_local_port(token),
    calls,
    metricsPort: metricsEndpoint.port,
    get draining() {
      return draining;
    },
    async drain(seconds: number) {
      draining = true;
      log.info({ calls: calls.size, seconds }, 'draining: no new calls; waiting for live calls to finish');
      const deadline = Date.now() + seconds * 1000;
      while (calls.size > 0 && Date.now() < deadline) await sleep(250);
      if (calls.size > 0) {
        log.warn({ calls: calls.size }, 'drain window over: asking remaining calls to wrap up');
        for (const call of calls.values()) call.shutdown();
        // Wrap-up is bounded by the chart (20 s); then anything left is closed.
        const hard = Date.now() + 25_000;
        while (calls.size > 0 && Date.now() < hard) await sleep(100);
      }
      browserRelay?.closeAll(1001, 'server shutting down');
    },
    async close() {
      draining = true;
      stopListening();
      metricsEndpoint.close();
      browserRelay?.closeAll(1001, 'server closing');
      mediaStreams.closeAll(1001, 'server closing');
      await sipCalls?.close();
    },
  };
}

/** The owner hears about a transfer nobody answered (when the merchant has owner SMS). */
async function tellOwner(deps: ServerDeps, miss: TransferMissed): Promise<void> {
  const first = miss.entry?.summary;
  const merchant = first ? await deps.directory.byId(first.merchantId) : undefined;
  if (!deps.notifyOwner || !merchant || !miss.entry) return;
  await deps
    .notifyOwner(merchant, {
      kind: 'transfer_failed',
      callSid: miss.callSid,
      callerName: null,
      callerPhone: first?.callerPhone ?? null,
      target: miss.entry.target,
      outcome: miss.outcome,
      reason: miss.entry.whisper,
      ...(miss.dialCallSid ? { dialCallSid: miss.dialCallSid } : {}),
    })
    .catch((err: unknown) => log.warn({ err }, 'owner not told about the missed transfer'));
}

/** GET/HEAD /health: 503 while draining tells the load balancer to stop routing new calls here. */
function mountHealth(app: uWS.TemplatedApp, status: () => { draining: boolean; calls: number }): void {
  const health = (res: uWS.HttpResponse, req: uWS.HttpRequest) => {
    const { draining, calls } = status();
    res.writeStatus(draining ? '503 Service Unavailable' : '200 OK').writeHeader('Content-Type', 'application/json');
    if (req.getMethod() === 'head') res.endWithoutBody();
    else res.end(JSON.stringify({ status: draining ? 'draining' : 'ok', calls }));
  };
  app.get('/health', health);
  app.head('/health', health);
}

/** Anything no route took: 404, under the HTTP limit so a scan of unknown paths is not free. */
function mountNotFound(app: uWS.TemplatedApp, limiters: Limiters, trust: TrustProxy): void {
  app.any(
    '/*',
    rateLimitedRoute(limiters.httpPerIp, trust, () => json(404, { error: 'not found' })),
  );
}
