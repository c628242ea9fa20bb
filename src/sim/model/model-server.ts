// A fake realtime voice model server (OpenAI Realtime GA or xAI Grok Voice) on loopback: the test
// double for the relay's integration tests, the no-API-key demo agent, and the model side of the load
// generator. It accepts `ws://HOST:PORT/v1/realtime?model=…` upgrades the way the real endpoints do
// (Bearer auth → HTTP 401 when wrong; GA refuses the dead beta header) and runs one FakeModelSession
// per connection. xAI sessions can be resumed by their conversation id (model-resumption.ts).
import { STATUS_CODES, createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { log } from '../../log.js';
import { sharedFrameClock, type FrameClock } from '../clock/frame-clock.js';
import type { AgentOptions } from './model-agent.js';
import type { Dialect } from './model-protocol.js';
import { ConversationKeeper, type KeptConversation, type ResumeRefusal } from './model-resumption.js';
import type { RefusedFields } from './model-session-config.js';
import { FakeModelSession, type FakeSessionOptions } from './model-session.js';
import { WsTransport } from './model-transport.js';

export { FakeModelSession } from './model-session.js';
export type { ResponseDecision, ResponseHandler, ResponseRequest } from './model-session.js';
export type { FunctionCallSpec, RespondOptions, RespondResult } from './model-response-shape.js';
export type { AgentOptions } from './model-agent.js';

export interface FakeModelServerOptions {
  dialect: Dialect;
  /** scripted (default): tests drive turns and answers; agent: VAD turns + a receptionist script. */
  mode?: 'scripted' | 'agent';
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (ephemeral). */
  port?: number;
  /** When set, upgrades whose Bearer token (or key subprotocol) differs get HTTP 401. */
  apiKey?: string;
  agent?: AgentOptions;
  /** xAI keep-alive ping period (default 15000; 0 = off). Ignored for OpenAI. */
  pingIntervalMs?: number;
  /** Accept conversation.item.truncate (default: OpenAI true, xAI false → error event). */
  truncateSupported?: boolean;
  /** Run the energy VAD in scripted mode too (agent mode always runs it). Default false. */
  vad?: boolean;
  /** VAD threshold in dBFS (default -40). */
  vadThresholdDbfs?: number;
  /** Loud audio needed before speech_started (default 60 ms). */
  speechStartMs?: number;
  /** ms of audio per output delta (default 100). */
  chunkMs?: number;
  /** Output audio pace: times faster than real time (default 4; Infinity = burst). */
  realtimeFactor?: number;
  /** Raw appended bytes kept per session for tests (default: scripted 4 MiB, agent 0). */
  recordAudioBytes?: number;
  /** Session lifetime before session_expired + close 1001 (default 60 min; 0 = unlimited). */
  maxSessionMs?: number;
  /** session.update fields refused with this error code (e.g. `{'session.reasoning.effort': 'unknown_parameter'}`). */
  refuseSessionFields?: RefusedFields;
  /** xAI: how long a closed session's conversation can be resumed (default 30 min, pydantic-ai's figure). */
  resumptionKeepMs?: number;
  /** Model when the URL has no ?model= (default gpt-realtime / grok-voice-latest). */
  defaultModel?: string;
  /** Frame clock for continuous streams (default: the process-wide 20 ms clock). */
  clock?: FrameClock;
  onSession?: (session: FakeModelSession) => void;
  /** Per appended chunk (decoded bytes): keep it cheap, it runs 50×/s per session under load. */
  onAudioAppended?: (bytes: Buffer, session: FakeModelSession) => void;
  /** Per output delta, before base64: may read or stamp the bytes (they are a private copy). */
  beforeSendDelta?: (bytes: Buffer, session: FakeModelSession) => void;
}

const PATH = '/v1/realtime';

function rejectUpgrade(socket: Duplex, status: number, body: object): void {
  const text = JSON.stringify(body);
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
  );
}

function offeredProtocols(req: IncomingMessage): string[] {
  const h = req.headers['sec-websocket-protocol'];
  return typeof h === 'string'
    ? h
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean)
    : [];
}

/** The key a client presented: `Authorization: Bearer …`, or a browser-style key subprotocol. */
function presentedKey(req: IncomingMessage): string | undefined {
  const auth = req.headers.authorization;
  const m = typeof auth === 'string' ? /^Bearer\s+(.+)$/i.exec(auth.trim()) : null;
  if (m) return m[1];
  for (const p of offeredProtocols(req)) {
    for (const prefix of ['openai-insecure-api-key.', 'xai-client-secret.'])
      if (p.startsWith(prefix)) return p.slice(prefix.length);
  }
  return undefined;
}

export class FakeModelServer {
  readonly url: string;
  /** Every session accepted, in connection order (closed ones included). */
  readonly sessions: FakeModelSession[] = [];
  /** Upgrades refused (401/404) or beta-header sockets closed: tests assert these. */
  rejectedUpgrades = 0;
  private handedOut = 0;
  private pending: ((s: FakeModelSession) => void)[] = [];
  private closing = false;
  /** xAI conversations kept after their socket closed, and the resumptions asked for. */
  readonly resumption: ConversationKeeper;

  private constructor(
    readonly port: number,
    readonly host: string,
    readonly dialect: Dialect,
    private readonly http: Server,
    private readonly wss: WebSocketServer,
    private readonly opts: FakeModelServerOptions,
  ) {
    this.url = `ws://${host}:${port}${PATH}`;
    this.resumption = new ConversationKeeper(opts.resumptionKeepMs ?? 30 * 60_000);
  }

  static async start(opts: FakeModelServerOptions): Promise<FakeModelServer> {
    const host = opts.host ?? '127.0.0.1';
    const http = createServer((req, res) => {
      const upgradeRequired = new URL(req.url ?? '/', 'http://x').pathname === PATH;
      res.writeHead(upgradeRequired ? 426 : 404, { 'Content-Type': 'application/json' });
      res.end(
        JSON.stringify({
          error: {
            message: upgradeRequired ? 'Expected a WebSocket upgrade.' : 'Not found.',
            type: 'invalid_request_error',
          },
        }),
      );
    });
    const wss = new WebSocketServer({
      noServer: true,
      perMessageDeflate: false,
      // Browser clients offer `realtime` next to the key subprotocol; echo it as the real API does.
      handleProtocols: (protocols) =>
        protocols.has('realtime') ? 'realtime' : (protocols.values().next().value ?? false),
    });
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(opts.port ?? 0, host, () => {
        http.off('error', reject);
        resolve();
      });
    });
    const port = (http.address() as AddressInfo).port;
    const server = new FakeModelServer(port, host, opts.dialect, http, wss, opts);
    http.on('upgrade', (req, socket, head) => server.onUpgrade(req, socket, head));
    log.debug({ url: server.url, dialect: opts.dialect, mode: opts.mode ?? 'scripted' }, 'fake model server listening');
    return server;
  }

  private refusing: number | null = null;

  /** From now on every upgrade is answered with this HTTP status (null: accept again). */
  refuseUpgrades(status: number | null): void {
    this.refusing = status;
  }

  /** From now on every xAI resumption is refused: HTTP 404, or a fresh conversation (null: resume again). */
  refuseResumption(how: ResumeRefusal | null): void {
    this.resumption.refuse(how);
  }

  /** The next session not yet returned by nextSession (already connected ones count), in order. */
  nextSession(timeoutMs = 2000): Promise<FakeModelSession> {
    const ready = this.sessions[this.handedOut];
    if (ready) {
      this.handedOut++;
      return Promise.resolve(ready);
    }
    return new Promise((resolve, reject) => {
      const take = (s: FakeModelSession): void => {
        clearTimeout(timer);
        resolve(s);
      };
      const timer = setTimeout(() => {
        this.pending = this.pending.filter((p) => p !== take);
        reject(new Error(`no model session connected within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.push(take);
    });
  }

  /** Closes every session (1001 "going away", then terminate stragglers) and the listener. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    await Promise.all(
      this.sessions.map(async (s) => {
        if (!s.isOpen) return;
        s.drop(1001, 'server shutting down');
        const timer = setTimeout(() => s.drop(), 500);
        await s.closed;
        clearTimeout(timer);
      }),
    );
    for (const ws of this.wss.clients) ws.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const url = new URL(req.url ?? '/', 'http://x');
    if (this.closing || url.pathname !== PATH) {
      this.rejectedUpgrades++;
      rejectUpgrade(socket, 404, {
        error: { message: `Invalid URL (GET ${url.pathname})`, type: 'invalid_request_error', code: null, param: null },
      });
      return;
    }
    if (this.refusing !== null) {
      this.rejectedUpgrades++;
      const status = this.refusing;
      rejectUpgrade(socket, status, {
        error: { message: `refused by the test (HTTP ${status})`, type: 'server_error', code: null, param: null },
      });
      return;
    }
    if (this.opts.apiKey !== undefined && presentedKey(req) !== this.opts.apiKey) {
      this.rejectedUpgrades++;
      rejectUpgrade(socket, 401, {
        error: {
          message: 'Incorrect API key provided. You can find your API key in your account settings.',
          type: 'invalid_request_error',
          code: 'invalid_api_key',
          param: null,
        },
      });
      return;
    }
    const resumeId = this.dialect === 'xai' ? url.searchParams.get('conversation_id') : null;
    const outcome = resumeId ? this.resumption.take(resumeId) : undefined;
    if (outcome?.kind === 'notFound') {
      this.rejectedUpgrades++;
      const message = `Conversation ${resumeId} not found or expired`;
      rejectUpgrade(socket, 404, { error: { message, type: 'invalid_request_error', code: 'not_found', param: null } });
      return;
    }
    const resume = outcome?.kind === 'resume' ? outcome.kept : undefined;
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, req, url, resume));
  }

  private accept(ws: WebSocket, req: IncomingMessage, url: URL, resume?: KeptConversation): void {
    const { opts } = this;
    const beta = req.headers['openai-beta'];
    if (this.dialect === 'openai' && typeof beta === 'string' && beta.includes('realtime=v1')) {
      // The beta interface is shut down: the real API answers with this error and closes (4000).
      this.rejectedUpgrades++;
      ws.send(
        JSON.stringify({
          type: 'error',
          event_id: null,
          error: {
            type: 'invalid_request_error',
            code: 'beta_api_shape_disabled',
            message: 'The Realtime Beta API is no longer supported. Please use /v1/realtime for the GA API.',
            param: null,
            event_id: null,
          },
        }),
      );
      ws.close(4000, 'beta_api_shape_disabled');
      return;
    }
    const mode = opts.mode ?? 'scripted';
    const sessionOpts: FakeSessionOptions = {
      dialect: this.dialect,
      mode,
      model:
        url.searchParams.get('model') ??
        opts.defaultModel ??
        (this.dialect === 'xai' ? 'grok-voice-latest' : 'gpt-realtime'),
      truncateSupported: opts.truncateSupported ?? this.dialect === 'openai',
      pingIntervalMs: this.dialect === 'xai' ? (opts.pingIntervalMs ?? 15_000) : 0,
      vad: opts.vad ?? false,
      vadThresholdDbfs: opts.vadThresholdDbfs ?? -40,
      speechStartMs: opts.speechStartMs ?? 60,
      chunkMs: opts.chunkMs ?? 100,
      realtimeFactor: opts.realtimeFactor ?? 4,
      recordAudioBytes: opts.recordAudioBytes ?? (mode === 'agent' ? 0 : 4 * 1024 * 1024),
      maxSessionMs: opts.maxSessionMs ?? 3_600_000,
      refuseSessionFields: opts.refuseSessionFields,
      agent: opts.agent ?? {},
      clock: opts.clock ?? sharedFrameClock(20),
      requestHeaders: req.headers,
      onAudioAppended: opts.onAudioAppended,
      beforeSendDelta: opts.beforeSendDelta,
      ...(resume ? { resume } : {}),
    };
    const session = new FakeModelSession(new WsTransport(ws), sessionOpts);
    this.sessions.push(session);
    void session.closed.then(() => {
      const kept = session.resumable;
      if (kept) this.resumption.keep(kept);
    });
    opts.onSession?.(session);
    const waiter = this.pending.shift();
    if (waiter) {
      this.handedOut++;
      waiter(session);
    }
  }
}
