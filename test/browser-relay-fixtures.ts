import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import net from 'node:net';
import * as uWS from '../src/transports/uws.js';
import WebSocket, { WebSocketServer, type RawData } from 'ws';
import { loadConfig } from '../src/config.js';
import { browserEndpointResolver, type EndpointResolver } from '../src/browser/browser-endpoint.js';
import { browserRelayRoutes, type BrowserRelay, type BrowserRelayDeps } from '../src/browser/browser-relay.js';
import { openaiDialect } from '../src/providers/dialect.js';
import { mountUpgradeRequired } from '../src/http/edge-guard.js';
import { parseTrustProxy } from '../src/security/client-ip.js';
import { createLimiters } from '../src/security/limiters.js';
import { createOriginCheck } from '../src/security/origin.js';
import { mintToken } from '../src/security/token.js';

// Shared by the browser relay tests: a fake model (a plain `ws` server that records what it gets),
// client helpers, and the relay mounted on its own uWS app on 127.0.0.1, port 0.

export const KEY = randomBytes(32);
export const OPENAI_KEY = 'sk-test-SECRET-openai-0123';
export const XAI_KEY = 'xai-test-SECRET-0456';
export const ORIGIN = 'http://localhost:5173';

export function toBuffer(data: RawData): Buffer {
  return Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
}

export interface Frame {
  data: Buffer;
  isBinary: boolean;
}

export interface ModelConn {
  url: string;
  headers: IncomingHttpHeaders;
  socket: WebSocket;
  received: Frame[];
  closed: Promise<{ code: number; reason: string }>;
}

export const SESSION_CREATED =
  '{"type":"session.created","event_id":"evt_1","session":{"type":"realtime","model":"gpt-realtime"}}';

export class FakeModel {
  readonly conns: ModelConn[] = [];
  /** Handshakes that reached the server, including held ones. */
  attempts = 0;
  /** While true, handshakes wait until release(). */
  hold = false;
  private held: ((ok: boolean) => void)[] = [];

  private constructor(
    readonly server: WebSocketServer,
    readonly port: number,
  ) {
    server.on('connection', (socket, req) => {
      const received: Frame[] = [];
      const closed = new Promise<{ code: number; reason: string }>((resolve) => {
        socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
      });
      this.conns.push({ url: req.url ?? '', headers: req.headers, socket, received, closed });
      socket.on('message', (data, isBinary) => {
        const buf = toBuffer(data);
        received.push({ data: buf, isBinary });
        if (isBinary) return;
        const text = buf.toString();
        if (text.includes('"session.update"')) {
          const parsed: unknown = JSON.parse(text);
          const session = typeof parsed === 'object' && parsed !== null && 'session' in parsed ? parsed.session : null;
          socket.send(JSON.stringify({ type: 'session.updated', event_id: 'evt_2', session }));
        }
      });
      socket.send(SESSION_CREATED);
    });
  }

  /** `autoPong: false`: pings go unanswered, like a half-open connection. */
  static start(opts: { autoPong?: boolean } = {}): Promise<FakeModel> {
    return new Promise((resolve) => {
      let fake: FakeModel | undefined;
      const server = new WebSocketServer({
        host: '127.0.0.1',
        port: 0,
        autoPong: opts.autoPong ?? true,
        verifyClient: (_info, cb) => {
          if (fake === undefined) return cb(false);
          fake.attempts++;
          if (fake.hold) fake.held.push(cb);
          else cb(true);
        },
      });
      server.on('listening', () => {
        const addr = server.address();
        fake = new FakeModel(server, typeof addr === 'object' && addr !== null ? addr.port : 0);
        resolve(fake);
      });
    });
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}/v1/realtime`;
  }

  release(): void {
    this.hold = false;
    for (const cb of this.held.splice(0)) cb(true);
  }

  /** Refuses held handshakes: the relay abandoned them, and they must not become late connections. */
  refuseHeld(): void {
    this.hold = false;
    for (const cb of this.held.splice(0)) cb(false);
  }

  close(): Promise<void> {
    this.refuseHeld();
    for (const c of this.conns) c.socket.terminate();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

export async function waitFor(cond: () => boolean, what: string, timeoutMs = 4000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

let ipCounter = 0;
/** A fresh client IP (the relay trusts X-Forwarded-For in these tests), so limits never leak between tests. */
export const freshIp = () => `10.1.${Math.floor(++ipCounter / 250)}.${ipCounter % 250}`;

export interface Client {
  ws: WebSocket;
  received: Frame[];
  upgradeHeaders: IncomingHttpHeaders;
  closed: Promise<{ code: number; reason: string }>;
}
export type Attempt =
  | { kind: 'open'; client: Client }
  | { kind: 'refused'; status: number; headers: IncomingHttpHeaders; body: string };

export function attempt(
  port: number,
  path: string,
  opts: { ip?: string; origin?: string | null; protocols?: string[]; headers?: Record<string, string> } = {},
): Promise<Attempt> {
  return new Promise((resolve, reject) => {
    const origin = opts.origin === null ? undefined : (opts.origin ?? ORIGIN);
    const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, opts.protocols ?? [], {
      headers: { 'X-Forwarded-For': opts.ip ?? freshIp(), ...opts.headers },
      ...(origin === undefined ? {} : { origin }),
      perMessageDeflate: false,
    });
    const received: Frame[] = [];
    let upgradeHeaders: IncomingHttpHeaders = {};
    const closed = new Promise<{ code: number; reason: string }>((res) =>
      ws.on('close', (code, reason) => res({ code, reason: reason.toString() })),
    );
    ws.on('upgrade', (res) => (upgradeHeaders = res.headers));
    ws.on('message', (data, isBinary) => received.push({ data: toBuffer(data), isBinary }));
    ws.on('open', () => resolve({ kind: 'open', client: { ws, received, upgradeHeaders, closed } }));
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => {
        resolve({ kind: 'refused', status: res.statusCode ?? 0, headers: res.headers, body });
        ws.terminate();
      });
    });
    ws.on('error', (err) => reject(err));
  });
}

export type AttemptOptions = Parameters<typeof attempt>[2];

export const token = (ttlSeconds = 60): string => mintToken(KEY, { ttlSeconds, sub: 'user-1', merchantId: 'm-1' });

export interface Running {
  port: number;
  relay: BrowserRelay;
  stop(): void;
}

export function startRelay(overrides: Partial<BrowserRelayDeps>, endpoint: EndpointResolver): Promise<Running> {
  const app = uWS.App();
  const limiters = createLimiters();
  const trustProxy = parseTrustProxy('X-Forwarded-For');
  const relay = browserRelayRoutes(app, {
    encryptionKey: KEY,
    originAllowed: createOriginCheck(undefined),
    limiters,
    trustProxy,
    endpoint,
    maxSessionSeconds: 600,
    ...overrides,
  });
  // What the lead's server adds around it: the 426 for /media-stream and the 404 fallback.
  mountUpgradeRequired(app, ['/media-stream'], limiters.httpPerIp, trustProxy);
  app.any('/*', (res) => void res.writeStatus('404 Not Found').end('not found'));
  return new Promise((resolve, reject) => {
    app.listen('127.0.0.1', 0, (listen) => {
      if (!listen) return reject(new Error('listen failed'));
      resolve({
        port: uWS.us_socket_local_port(listen),
        relay,
        stop: () => {
          relay.closeAll();
          uWS.us_listen_socket_close(listen);
        },
      });
    });
  });
}

export interface World {
  model: FakeModel;
  xaiModel: FakeModel;
  /** Relay with both providers configured; `?provider=dead` points at a closed port. */
  main: Running;
  /** Opens a client (or throws); it is terminated after the test. */
  open(port: number, path: string, opts?: AttemptOptions): Promise<Client>;
  /** Terminates `ws` after the test, like the clients `open` makes. */
  track(ws: WebSocket): void;
  afterEach(): void;
  stop(): Promise<void>;
}

export async function startWorld(): Promise<World> {
  const model = await FakeModel.start();
  const xaiModel = await FakeModel.start();
  // A port nothing listens on, for the "model unreachable" case.
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
  const a = probe.address();
  const deadPort = typeof a === 'object' && a !== null ? a.port : 1;
  await new Promise<void>((r) => probe.close(() => r()));

  const config = loadConfig({
    NODE_ENV: 'test',
    PROVIDER: 'openai',
    OPENAI_API_KEY: OPENAI_KEY,
    OPENAI_REALTIME_URL: model.url,
    XAI_API_KEY: XAI_KEY,
    XAI_REALTIME_URL: xaiModel.url,
  });
  const real = browserEndpointResolver(config);
  const resolver: EndpointResolver = (p) =>
    p === 'dead'
      ? {
          ok: true,
          endpoint: {
            provider: 'openai',
            dialect: openaiDialect,
            baseUrl: `ws://127.0.0.1:${deadPort}/v1/realtime`,
            apiKey: OPENAI_KEY,
            model: 'gpt-realtime',
          },
        }
      : real(p);
  const main = await startRelay({}, resolver);
  const clients: WebSocket[] = [];
  return {
    model,
    xaiModel,
    main,
    open: async (port, path, opts = {}) => {
      const at = await attempt(port, path, opts);
      if (at.kind !== 'open') throw new Error(`expected an open socket, got HTTP ${at.status} ${at.body}`);
      clients.push(at.client.ws);
      return at.client;
    },
    track: (ws) => void clients.push(ws),
    afterEach: () => {
      model.refuseHeld();
      for (const ws of clients.splice(0)) ws.terminate();
    },
    stop: async () => {
      main.stop();
      await model.close();
      await xaiModel.close();
    },
  };
}
