import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import * as uWS from '../src/transports/uws.js';
import WebSocket, { WebSocketServer } from 'ws';
import { browserRelayRoutes } from '../src/browser/browser-relay.js';
import { log } from '../src/log.js';
import { openaiDialect } from '../src/providers/dialect.js';
import { parseTrustProxy } from '../src/security/client-ip.js';
import { createLimiters } from '../src/security/limiters.js';
import { createOriginCheck } from '../src/security/origin.js';
import { mintToken } from '../src/security/token.js';

// Per-frame CPU cost of the browser relay path (issue 4), to set next to the phone path's.
//   npx tsx bench/browser-relay-bench.ts [--frames 20000]
// Client, relay and sink share this process, so process.cpuUsage() sees all three. The same frames
// are therefore also sent client → sink directly (baseline), and the relay's cost is the difference:
// what the relay adds is one uWS receive, the bridge, and one `ws` send. Frames are the size of an
// input_audio_buffer.append of 20 ms of mu-law (~300 bytes of JSON), sent in windows of WINDOW so
// nothing queues without bound; each path runs ROUNDS times, alternating, and the lowest CPU counts.
// Prints one JSON line. `--frames` is clamped to 1,000..200,000 (per round, per direction).

const WINDOW = 200;
const ROUNDS = 3;
const MIN_FRAMES = 1_000;
const MAX_FRAMES = 200_000;

export interface DirectionResult {
  /** CPU µs per frame, everything in the process, through the relay. */
  totalUsPerFrame: number;
  /** CPU µs per frame for the same frames sent directly, no relay. */
  baselineUsPerFrame: number;
  /** totalUsPerFrame − baselineUsPerFrame: the relay's share. */
  relayUsPerFrame: number;
  relayedFramesPerSecond: number;
}

export interface BrowserRelayBenchResult {
  bench: 'browser-relay';
  frames: number;
  frameBytes: number;
  /** Browser → model (input audio). */
  up: DirectionResult;
  /** Model → browser (output audio deltas). */
  down: DirectionResult;
}

/** A counter that can be awaited until it reaches a value. */
class Counter {
  n = 0;
  private waiter: { target: number; resolve: () => void } | null = null;
  inc(): void {
    this.n++;
    if (this.waiter !== null && this.n >= this.waiter.target) {
      const w = this.waiter;
      this.waiter = null;
      w.resolve();
    }
  }
  until(target: number): Promise<void> {
    if (this.n >= target) return Promise.resolve();
    return new Promise((resolve) => (this.waiter = { target, resolve }));
  }
}

function audioFrame(i: number, type: string): string {
  const audio = randomBytes(160).toString('base64'); // 20 ms of 8 kHz mu-law
  return JSON.stringify({
    type,
    event_id: `evt_${String(i).padStart(8, '0')}`,
    audio,
    item_id: 'item_0001',
    content_index: 0,
  });
}

interface Sink {
  url: string;
  received: Counter;
  /** The latest socket the sink accepted (the relay's upstream, or the client in the baseline). */
  latest: () => WebSocket | undefined;
  close(): Promise<void>;
}

function startSink(): Promise<Sink> {
  return new Promise((resolve) => {
    const received = new Counter();
    let latest: WebSocket | undefined;
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
    server.on('connection', (ws) => {
      latest = ws;
      ws.on('message', () => received.inc());
    });
    server.on('listening', () => {
      const a = server.address();
      const port = typeof a === 'object' && a !== null ? a.port : 0;
      resolve({
        url: `ws://127.0.0.1:${port}/v1/realtime`,
        received,
        latest: () => latest,
        close: () =>
          new Promise((r) => {
            for (const c of server.clients) c.terminate();
            server.close(() => r());
          }),
      });
    });
  });
}

function connect(url: string, origin: string): Promise<{ ws: WebSocket; received: Counter }> {
  return new Promise((resolve, reject) => {
    const received = new Counter();
    const ws = new WebSocket(url, { origin, perMessageDeflate: false });
    ws.on('message', () => received.inc());
    ws.once('open', () => resolve({ ws, received }));
    ws.once('error', reject);
  });
}

/** Sends `frames` through `send` in windows, waiting for `counter` each time; returns CPU µs and wall ms. */
async function pump(
  frames: readonly string[],
  send: (f: string) => void,
  counter: Counter,
): Promise<{ cpuUs: number; wallMs: number }> {
  const start = counter.n;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < frames.length; i += WINDOW) {
    const end = Math.min(frames.length, i + WINDOW);
    for (let j = i; j < end; j++) send(frames[j] ?? '');
    await counter.until(start + end);
  }
  const d = process.cpuUsage(cpu0);
  return { cpuUs: d.user + d.system, wallMs: performance.now() - t0 };
}

export async function runBrowserRelayBench(opts: { frames?: number } = {}): Promise<BrowserRelayBenchResult> {
  const asked = opts.frames !== undefined && Number.isFinite(opts.frames) ? Math.floor(opts.frames) : 20_000;
  const n = Math.max(MIN_FRAMES, Math.min(MAX_FRAMES, asked));
  const upFrames = Array.from({ length: n }, (_, i) => audioFrame(i, 'input_audio_buffer.append'));
  const downFrames = Array.from({ length: n }, (_, i) => audioFrame(i, 'response.output_audio.delta'));
  const warm = upFrames.slice(0, MIN_FRAMES);
  const origin = 'http://localhost:5173';
  const key = randomBytes(32);

  const sink = await startSink();
  const app = uWS.App();
  browserRelayRoutes(app, {
    encryptionKey: key,
    originAllowed: createOriginCheck(undefined),
    limiters: createLimiters(),
    trustProxy: parseTrustProxy(undefined),
    endpoint: () => ({
      ok: true,
      endpoint: { provider: 'openai', dialect: openaiDialect, baseUrl: sink.url, apiKey: 'sk-bench', model: 'bench' },
    }),
    maxSessionSeconds: 3600,
    log: log.child({}, { level: 'silent' }),
  });
  const listen = await new Promise<uWS.us_listen_socket>((resolve, reject) => {
    app.listen('127.0.0.1', 0, (t) => (t ? resolve(t) : reject(new Error('listen failed'))));
  });
  const port = uWS.us_socket_local_port(listen);

  try {
    const open = async (viaRelay: boolean) => {
      const before = sink.latest();
      const url = viaRelay ? `ws://127.0.0.1:${port}/token/${mintToken(key, { ttlSeconds: 300 })}` : sink.url;
      const client = await connect(url, origin);
      // The relay opens its upstream after the browser socket: wait until the sink has it.
      while (sink.latest() === before) await new Promise((r) => setTimeout(r, 5));
      const model = sink.latest();
      if (model === undefined) throw new Error('sink saw no connection');
      return { client, model };
    };
    const direct = await open(false);
    const relayed = await open(true);
    const paths = [direct, relayed];
    for (const p of paths) {
      await pump(warm, (f) => p.client.ws.send(f), sink.received);
      await pump(warm, (f) => p.model.send(f), p.client.received);
    }
    // Alternating rounds, best of each: other processes on the machine only ever add CPU time.
    const best = { up: [Infinity, Infinity], down: [Infinity, Infinity], upWall: Infinity, downWall: Infinity };
    for (let round = 0; round < ROUNDS; round++) {
      for (const [i, p] of paths.entries()) {
        const up = await pump(upFrames, (f) => p.client.ws.send(f), sink.received);
        const down = await pump(downFrames, (f) => p.model.send(f), p.client.received);
        best.up[i] = Math.min(best.up[i] ?? Infinity, up.cpuUs);
        best.down[i] = Math.min(best.down[i] ?? Infinity, down.cpuUs);
        if (i === 1) {
          best.upWall = Math.min(best.upWall, up.wallMs);
          best.downWall = Math.min(best.downWall, down.wallMs);
        }
      }
    }
    for (const p of paths) p.client.ws.close();
    const round2 = (x: number) => Math.round(x * 100) / 100;
    const result = ([baseUs = 0, relayUs = 0]: number[], wallMs: number): DirectionResult => ({
      totalUsPerFrame: round2(relayUs / n),
      baselineUsPerFrame: round2(baseUs / n),
      relayUsPerFrame: round2((relayUs - baseUs) / n),
      relayedFramesPerSecond: Math.round(n / (wallMs / 1000)),
    });
    return {
      bench: 'browser-relay',
      frames: n,
      frameBytes: Buffer.byteLength(upFrames[0] ?? ''),
      up: result(best.up, best.upWall),
      down: result(best.down, best.downWall),
    };
  } finally {
    uWS.us_listen_socket_close(listen);
    await sink.close();
  }
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly) {
  const { values } = parseArgs({ options: { frames: { type: 'string' } } });
  const result = await runBrowserRelayBench({
    frames: values.frames === undefined ? undefined : Number(values.frames),
  });
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
}
