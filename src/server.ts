import uWS from 'uWebSockets.js';
import type { Config } from './config.js';
import { CallSession, type ToolExecutor } from './call/call-session.js';
import type { CallRecorder } from './call/recorder.js';
import type { MerchantDirectory } from './merchants/directory.js';
import type { Merchant } from './merchants/merchant.js';
import type { ToolSpec } from './providers/dialect.js';
import type { ModelOpener } from './providers/endpoint.js';
import { MediaStreamConnection, type SessionFactory } from './twilio/media-stream.js';
import { answerVoiceWebhook } from './twilio/voice-webhook.js';
import { BodyTooLarge, guard, json, readBody, write } from './http/uws-http.js';
import { log } from './log.js';

// The relay's HTTP and WebSocket surface, served by uWebSockets.js.

export interface ServerDeps {
  config: Config;
  directory: MerchantDirectory;
  recorder: CallRecorder;
  openModel: ModelOpener;
  apologyClip: Buffer;
  runTool?: ToolExecutor;
  toolSpecs?: (m: Merchant) => ToolSpec[];
  onCallState?: (s: CallSession, state: string) => void;
}

export interface RelayServer {
  port: number;
  calls: Map<string, CallSession>;
  close(): Promise<void>;
}

interface StreamUserData {
  conn: MediaStreamConnection | null;
  closed: boolean;
  remote: string;
}

const decoder = new TextDecoder();

export function startServer(deps: ServerDeps): Promise<RelayServer> {
  const { config } = deps;
  const calls = new Map<string, CallSession>();
  const sockets = new Set<uWS.WebSocket<StreamUserData>>();
  const app = uWS.App();

  app.get('/health', (res) => {
    res.writeHeader('Content-Type', 'application/json').end(JSON.stringify({ status: 'ok', calls: calls.size }));
  });

  app.post('/twilio/voice', (res, req) => {
    const state = guard(res);
    const contentType = req.getHeader('content-type');
    readBody(res, state, 64 * 1024)
      .then(async (body) => {
        if (!contentType.startsWith('application/x-www-form-urlencoded')) {
          return write(res, state, json(415, { error: 'expected application/x-www-form-urlencoded (a Twilio voice webhook)' }));
        }
        const params = new URLSearchParams(body.toString('utf8'));
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
    const merchant = (p.merchantId ? await deps.directory.byId(p.merchantId) : undefined) ?? (await deps.directory.fallback());
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
      },
      socket,
      {
        model: deps.openModel(merchant, deps.toolSpecs?.(merchant) ?? []),
        recorder: deps.recorder,
        apologyClip: deps.apologyClip,
        maxCallMs: config.maxCallSeconds * 1000,
        connectTimeoutMs: config.connectTimeoutMs,
        runTool: deps.runTool,
        onEnded: (s) => calls.delete(s.info.callSid),
        onState: deps.onCallState,
      },
    );
    if (!session.isEnded) calls.set(callSid, session);
    return session;
  };

  app.ws<StreamUserData>('/media-stream', {
    compression: uWS.DISABLED,
    // Transport limit: beyond this uWS closes the socket (1009). Smaller oversized frames are
    // dropped by MediaStreamConnection and the call goes on.
    maxPayloadLength: 1024 * 1024,
    maxBackpressure: 1024 * 1024,
    idleTimeout: 60,
    upgrade: (res, req, context) => {
      const remote = decoder.decode(res.getRemoteAddressAsText());
      res.upgrade<StreamUserData>(
        { conn: null, closed: false, remote },
        req.getHeader('sec-websocket-key'),
        req.getHeader('sec-websocket-protocol'),
        req.getHeader('sec-websocket-extensions'),
        context,
      );
    },
    open: (ws) => {
      sockets.add(ws);
      const data = ws.getUserData();
      data.conn = new MediaStreamConnection(
        {
          send: (text) => {
            if (!data.closed) ws.send(text, false);
          },
          close: (code, reason) => {
            if (data.closed) return;
            data.closed = true;
            ws.end(code, reason);
          },
        },
        createSession,
        data.remote,
      );
    },
    message: (ws, message, isBinary) => {
      const conn = ws.getUserData().conn;
      if (!conn) return;
      const bytes = message.byteLength;
      conn.onMessage(isBinary || bytes > 64 * 1024 ? null : decoder.decode(message), bytes, isBinary);
    },
    close: (ws, code) => {
      sockets.delete(ws);
      const data = ws.getUserData();
      data.closed = true;
      data.conn?.onClose(code);
    },
  });

  app.any('/*', (res) => {
    res.writeStatus('404 Not Found').writeHeader('Content-Type', 'application/json').end(JSON.stringify({ error: 'not found' }));
  });

  return new Promise((resolve, reject) => {
    app.listen(config.host, config.port, (token) => {
      if (!token) return reject(new Error(`could not listen on ${config.host}:${config.port}`));
      const port = uWS.us_socket_local_port(token);
      resolve({
        port,
        calls,
        close: async () => {
          uWS.us_listen_socket_close(token);
          for (const ws of [...sockets]) {
            const data = ws.getUserData();
            if (!data.closed) {
              data.closed = true;
              ws.end(1001, 'server closing');
            }
          }
        },
      });
    });
  });
}
