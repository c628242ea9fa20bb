// A fake OpenAI GPT-Live server on loopback (`ws://HOST:PORT/v1/live/sessions`): the test double for
// PROVIDER=openai-live and the model side of `npm run demo -- --provider openai-live`. Upgrades with
// a wrong Bearer key get HTTP 401, a `?model=` in the URL is refused (Live takes the model in
// `session.start`), and each connection runs one FakeLiveSession with the simulated agent.
import { STATUS_CODES, createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { AgentOptions } from '../model/model-agent.js';
import { FakeLiveSession, type FakeLiveOptions } from './live-session.js';

export { FakeLiveSession } from './live-session.js';

export interface FakeLiveServerOptions extends Partial<Omit<FakeLiveOptions, 'agent'>> {
  host?: string;
  port?: number;
  /** When set, upgrades whose Bearer token differs get HTTP 401. */
  apiKey?: string;
  agent?: AgentOptions;
}

const PATH = '/v1/live/sessions';

function refuse(socket: Duplex, status: number, message: string): void {
  const body = JSON.stringify({ error: { message, type: 'invalid_request_error' } });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

export class FakeLiveServer {
  readonly url: string;
  readonly sessions: FakeLiveSession[] = [];
  rejectedUpgrades = 0;
  private handedOut = 0;

  private constructor(
    readonly port: number,
    host: string,
    private readonly http: Server,
    private readonly wss: WebSocketServer,
    private readonly opts: FakeLiveServerOptions,
  ) {
    this.url = `ws://${host}:${port}${PATH}`;
  }

  static async start(opts: FakeLiveServerOptions = {}): Promise<FakeLiveServer> {
    const host = opts.host ?? '127.0.0.1';
    const http = createServer((_req, res) => {
      res.writeHead(426, { 'Content-Type': 'application/json' });
      res.end('{"error":{"message":"Expected a WebSocket upgrade.","type":"invalid_request_error"}}');
    });
    const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(opts.port ?? 0, host, () => resolve());
    });
    const server = new FakeLiveServer((http.address() as AddressInfo).port, host, http, wss, opts);
    http.on('upgrade', (req, socket, head) => server.onUpgrade(req, socket, head));
    return server;
  }

  /** The next session not yet handed out, in connection order. */
  async nextSession(timeoutMs = 3000): Promise<FakeLiveSession> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const s = this.sessions[this.handedOut];
      if (s) {
        this.handedOut++;
        return s;
      }
      if (Date.now() > end) throw new Error(`no GPT-Live session within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  async close(): Promise<void> {
    for (const ws of this.wss.clients) ws.terminate();
    await Promise.all(this.sessions.map((s) => s.closed));
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const url = new URL(req.url ?? '/', 'http://x');
    const key = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    let refusal: [number, string] | null = null;
    if (url.pathname !== PATH) refusal = [404, `Invalid URL (GET ${url.pathname})`];
    else if (url.searchParams.has('model')) refusal = [400, 'The model goes in session.start, not in the URL.'];
    else if (this.opts.apiKey !== undefined && key !== this.opts.apiKey) refusal = [401, 'Incorrect API key provided.'];
    if (refusal) {
      this.rejectedUpgrades++;
      return refuse(socket, ...refusal);
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws));
  }

  private accept(ws: WebSocket): void {
    const o = this.opts;
    const session = new FakeLiveSession(ws, {
      agent: o.agent ?? {},
      chunkMs: o.chunkMs ?? 100,
      realtimeFactor: o.realtimeFactor ?? 1,
      vadThresholdDbfs: o.vadThresholdDbfs ?? -40,
      silenceMs: o.silenceMs ?? 500,
      transcriptEveryMs: o.transcriptEveryMs ?? 300,
    });
    this.sessions.push(session);
  }
}
