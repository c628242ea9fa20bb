import uWS from 'uWebSockets.js';
import type { InspectionEvent, Observer } from 'xstate';
import type { Config } from './config.js';
import { CallSession, type ToolExecutor } from './call/call-session.js';
import type { CallRecorder } from './call/recorder.js';
import type { MerchantDirectory } from './merchants/directory.js';
import type { Merchant } from './merchants/merchant.js';
import type { ToolSpec } from './providers/dialect.js';
import type { ModelOpener } from './providers/endpoint.js';
import { MediaStreamConnection, MAX_FRAME_BYTES, type SessionFactory } from './twilio/media-stream.js';
import { answerVoiceWebhook } from './twilio/voice-webhook.js';
import { BodyTooLarge, guard, json, readBody, write } from './http/uws-http.js';
import { browserRelayRoutes, type BrowserRelay } from './browser/browser-relay.js';
import { browserEndpointResolver } from './browser/browser-endpoint.js';
import type { EdgeConfig } from './http/edge-config.js';
import {
  guardStreamUpgrade,
  guardTwilioWebhook,
  guardedUpgrade,
  mountUpgradeRequired,
  readEdgeRequest,
} from './http/edge-guard.js';
import type { Limiters } from './security/limiters.js';
import { isOriginAllowed } from './security/origin.js';
import type { RelayMetrics } from './obs/metrics.js';
import { mountMetrics, type MetricsEndpoint } from './obs/metrics-endpoint.js';
import { log } from './log.js';

// The relay's HTTP and WebSocket surface, served by uWebSockets.js.

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
  onCallState?: (s: CallSession, state: string) => void;
  /** Statechart inspection per call (dev only; see src/obs/inspect.ts). */
  inspect?: (callSid: string) => Observer<InspectionEvent> | undefined;
  /** Extra routes (Twilio Conversations webhook, …) mounted before the 404 fallback. */
  routes?: (app: uWS.TemplatedApp) => void;
}

export interface RelayServer {
  port: number;
  calls: Map<string, CallSession>;
  metricsPort: number | null;
  readonly draining: boolean;
  /** Stop taking calls, let live ones finish for up to `seconds`, then ask the rest to wrap up. */
  drain(seconds: number): Promise<void>;
  close(): Promise<void>;
}

interface StreamUserData {
  conn: MediaStreamConnection | null;
  /** No more sends: the call closed it, or Twilio stopped reading. */
  closed: boolean;
  remote: string;
}

const decoder = new TextDecoder();
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function startServer(deps: ServerDeps): Promise<RelayServer> {
  const { config, edge, limiters, metrics } = deps;
  const calls = new Map<string, CallSession>();
  const sockets = new Set<uWS.WebSocket<StreamUserData>>();
  const app = uWS.App();
  const originAllowed = (o: string | undefined) => isOriginAllowed(o, edge.allowedOrigins);
  let draining = false;

  const health = (res: uWS.HttpResponse, req: uWS.HttpRequest) => {
    // 503 while draining tells the load balancer to stop routing new calls here.
    res.writeStatus(draining ? '503 Service Unavailable' : '200 OK').writeHeader('Content-Type', 'application/json');
    if (req.getMethod() === 'head') res.endWithoutBody();
    else res.end(JSON.stringify({ status: draining ? 'draining' : 'ok', calls: calls.size }));
  };
  app.get('/health', health);
  app.head('/health', health);

  app.post('/twilio/voice', (res, req) => {
    const state = guard(res);
    const edgeReq = readEdgeRequest(res, req, edge.trustProxy);
    readBody(res, state, 64 * 1024)
      .then(async (body) => {
        const refused = await guardTwilioWebhook(edge, limiters.httpPerIp, edgeReq, body);
        if (refused) {
          metrics.rateLimited.inc({ limit: refused.status === 429 ? 'http' : 'twilio_signature' });
          return write(res, state, refused);
        }
        if (!(edgeReq.contentType ?? '').startsWith('application/x-www-form-urlencoded')) {
          return write(
            res,
            state,
            json(415, { error: 'expected application/x-www-form-urlencoded (a Twilio voice webhook)' }),
          );
        }
        // Draining: Twilio retries on the fallback URL / another instance.
        if (draining) return write(res, state, json(503, { error: 'draining' }, { 'Retry-After': '1' }));
        const params = new URLSearchParams(body.toString('utf8'));
        // Calls placed by @call carry their SMS thread in the webhook URL's query string.
        const query = new URLSearchParams(edgeReq.query ?? '');
        for (const key of ['conversationSid', 'requester', 'merchantId']) {
          const v = query.get(key);
          if (v && !params.has(key)) params.set(key, v);
        }
        if (!params.get('CallSid')) return write(res, state, json(400, { error: 'missing CallSid' }));
        const { twiml } = await answerVoiceWebhook(params, config.publicHost, deps.directory);
        write(res, state, { status: 200, headers: { 'Content-Type': 'text/xml' }, body: twiml });
      })
      .catch((err: unknown) => {
        if (err instanceof BodyTooLarge) return write(res, state, json(413, { error: err.message }));
        log.error({ err }, 'voice webhook failed');
        write(res, state, json(500, { error: 'internal error' }));
      });
  });

  const createSession: SessionFactory = async (start, socket) => {
    const p = start.start.customParameters;
    const merchant =
      (p.merchantId ? await deps.directory.byId(p.merchantId) : undefined) ?? (await deps.directory.fallback());
    if (!merchant) return { refused: 'no merchant for this call' };
    const callSid = start.start.callSid;
    if (calls.has(callSid)) return { refused: 'a stream for this call is already live' };
    const session = new CallSession(
      {
        callSid,
        streamSid: start.streamSid,
        merchant,
        callerPhone: p.callerPhone || undefined,
        calledNumber: p.calledNumber || undefined,
        direction: p.direction === 'outbound' ? 'outbound' : 'inbound',
        answeredBy: p.answeredBy || undefined,
        conversationSid: p.conversationSid || undefined,
        requester: p.requester || undefined,
      },
      socket,
      {
        model: deps.openModel(merchant, deps.toolSpecs?.(merchant) ?? []),
        recorder: deps.recorder,
        apologyClip: deps.apologyClip,
        maxCallMs: config.maxCallSeconds * 1000,
        connectTimeoutMs: config.connectTimeoutMs,
        responseTimeoutMs: config.responseTimeoutMs,
        runTool: deps.runTool,
        metrics,
        inspect: deps.inspect?.(callSid),
        onEnded: (s) => calls.delete(s.info.callSid),
        onState: deps.onCallState,
      },
    );
    if (!session.isEnded) calls.set(callSid, session);
    return session;
  };

  app.ws<StreamUserData>('/media-stream', {
    compression: uWS.DISABLED,
    // Transport limit: beyond this uWS closes the socket. Smaller oversized frames are dropped by
    // MediaStreamConnection and the call goes on.
    maxPayloadLength: 1024 * 1024,
    maxBackpressure: 1024 * 1024,
    idleTimeout: 60,
    upgrade: (res, req, context) =>
      guardedUpgrade<StreamUserData>(res, req, context, edge.trustProxy, async (r) => {
        if (draining) return { accept: false, reply: json(503, { error: 'draining' }) };
        // Refused before any model socket is opened: an unauthenticated socket must not spend the key.
        const refused = await guardStreamUpgrade(edge, limiters.wsUpgradePerIp, originAllowed, r);
        if (refused) {
          metrics.rateLimited.inc({ limit: refused.status === 429 ? 'ws_upgrade' : 'twilio_signature' });
          return { accept: false, reply: refused };
        }
        return { accept: true, userData: { conn: null, closed: false, remote: r.ip } };
      }),
    open: (ws) => {
      sockets.add(ws);
      const data = ws.getUserData();
      // uWS refuses a send (2) once maxBackpressure bytes wait unread: Twilio has stopped reading
      // (≈ a minute of audio is queued). Dropping frames silently would garble the call and lose the
      // marks the chart waits for, so the stream is closed and the call ends with its record.
      const refused = () => {
        if (data.closed) return;
        data.closed = true;
        metrics.twilioStalled.inc();
        data.conn?.onSendRefused(ws.getBufferedAmount());
        // Not from inside a send (it may be corked): the close handler runs synchronously. A socket
        // uWS already closed has left `sockets` and must not be touched.
        setImmediate(() => {
          if (sockets.has(ws)) ws.close();
        });
      };
      data.conn = new MediaStreamConnection(
        {
          send: (text) => {
            if (!data.closed && ws.send(text, false) === 2) refused();
          },
          cork: (fn) => {
            if (!data.closed) ws.cork(fn);
          },
          close: (code, reason) => {
            if (data.closed) return;
            data.closed = true;
            ws.end(code, reason);
          },
        },
        createSession,
        data.remote,
        () => metrics.badMessages.inc({ source: 'twilio' }),
      );
    },
    message: (ws, message, isBinary) => {
      const conn = ws.getUserData().conn;
      if (!conn) return;
      const bytes = message.byteLength;
      conn.onMessage(isBinary || bytes > MAX_FRAME_BYTES ? null : decoder.decode(message), bytes, isBinary);
    },
    close: (ws, code) => {
      sockets.delete(ws);
      const data = ws.getUserData();
      data.closed = true;
      data.conn?.onClose(code);
    },
  });
  mountUpgradeRequired(app, ['/media-stream'], limiters.httpPerIp, edge.trustProxy);

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

  const metricsEndpoint: MetricsEndpoint = await mountMetrics(app, config, metrics);
  deps.routes?.(app);

  app.any('/*', (res, req) => {
    res.writeStatus('404 Not Found').writeHeader('Content-Type', 'application/json');
    // HEAD answers carry headers only (a body would be read as the start of the next response).
    if (req.getMethod() === 'head') res.endWithoutBody();
    else res.end(JSON.stringify({ error: 'not found' }));
  });

  const token = await new Promise<uWS.us_listen_socket>((resolve, reject) => {
    app.listen(config.host, config.port, (t) =>
      t ? resolve(t) : reject(new Error(`could not listen on ${config.host}:${config.port}`)),
    );
  });
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
        for (const s of calls.values()) s.shutdown();
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
      for (const ws of [...sockets]) {
        const data = ws.getUserData();
        if (!data.closed) {
          data.closed = true;
          ws.end(1001, 'server closing');
        }
      }
    },
  };
}
