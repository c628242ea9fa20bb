import WebSocket, { type RawData } from 'ws';
import type { Logger } from '../log.js';
import type { RelayEndpoint } from './browser-endpoint.js';
import { browserCloseForModelClose, clampReason, modelCloseForBrowserClose, type CloseFrame } from './close-codes.js';
import { startHeartbeat } from '../providers/heartbeat.js';

// One browser ↔ model bridge. The relay is transparent: frames are forwarded byte for byte in both
// directions (text stays text, binary stays binary), nothing is parsed or rewritten; the only thing
// the relay adds is the API key, on the outbound handshake, where the browser never sees it.

/** The browser side, as the relay's uWS socket exposes it (kept abstract so this file has no uWS). */
export interface BrowserSocket {
  /** uWS semantics: 1 sent, 0 sent but buffered (backpressure), 2 dropped (over maxBackpressure). */
  send(data: Uint8Array, isBinary: boolean): number;
  end(code: number, reason: string): void;
  bufferedAmount(): number;
}

export interface SessionLimits {
  /** Frames held while the model socket is still connecting (issue: 256). */
  maxQueuedMessages: number;
  /** Bytes held while connecting (issue: 4 MiB). */
  maxQueuedBytes: number;
  /** The model is not taking what the browser sends: past this many unsent bytes, give up. */
  maxUpstreamBufferedBytes: number;
  /** Stop reading the model while this many bytes wait for the browser; resume below half. */
  downstreamHighWaterBytes: number;
  /** Keep-alive ping on the model socket (proxies cut idle sockets after 60–100 s). */
  pingIntervalMs: number;
  connectTimeoutMs: number;
}

export const DEFAULT_SESSION_LIMITS: SessionLimits = {
  maxQueuedMessages: 256,
  maxQueuedBytes: 4 * 1024 * 1024,
  maxUpstreamBufferedBytes: 8 * 1024 * 1024,
  downstreamHighWaterBytes: 1024 * 1024,
  pingIntervalMs: 25_000,
  connectTimeoutMs: 10_000,
};

export interface BrowserSessionOptions {
  endpoint: RelayEndpoint;
  /** Polite close (1000 "session time limit reached") after this long. */
  maxSessionMs: number;
  limits: SessionLimits;
  log: Logger;
  onEnd?: (session: BrowserSession) => void;
}

export const SESSION_TIME_LIMIT_REASON = 'session time limit reached';

interface Queued {
  data: Buffer;
  isBinary: boolean;
}

function toBytes(data: RawData): Uint8Array {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return new Uint8Array(data);
}

export class BrowserSession {
  private readonly upstream: WebSocket;
  private state: 'connecting' | 'open' | 'closed' = 'connecting';
  private queue: Queued[] = [];
  private queuedBytes = 0;
  private everOpened = false;
  private paused = false;
  private readonly lifetime: NodeJS.Timeout;
  private stopHeartbeat: () => void = () => {};
  private readonly startedAt = Date.now();
  readonly stats = { up: 0, down: 0, upBytes: 0, downBytes: 0 };
  /** How the session ended, once it has: who closed and the codes on each side. */
  ended: { by: 'browser' | 'model' | 'relay'; browserCode: number | null; modelCode: number | null } | null = null;

  constructor(
    private readonly browser: BrowserSocket,
    private readonly opts: BrowserSessionOptions,
  ) {
    const { endpoint, limits } = opts;
    this.upstream = new WebSocket(endpoint.dialect.url(endpoint.baseUrl, endpoint.model), {
      headers: endpoint.dialect.headers(endpoint.apiKey),
      // Audio is incompressible and compression would make sends asynchronous; keep frames as they are.
      perMessageDeflate: false,
      handshakeTimeout: limits.connectTimeoutMs,
    });
    this.upstream.on('open', () => this.onUpstreamOpen());
    this.upstream.on('message', (data, isBinary) => this.onUpstreamMessage(data, isBinary));
    this.upstream.on('close', (code, reason) => this.onUpstreamClose(code, reason.toString('utf8')));
    // The message says what failed ("Unexpected server response: 401", ECONNREFUSED); never a header.
    this.upstream.on('error', (err) => opts.log.warn({ err: err.message }, 'model socket error'));
    this.lifetime = setTimeout(
      () => this.endByRelay({ code: 1000, reason: SESSION_TIME_LIMIT_REASON }),
      opts.maxSessionMs,
    );
    this.lifetime.unref();
  }

  get isOpen(): boolean {
    return this.state === 'open';
  }

  get isClosed(): boolean {
    return this.state === 'closed';
  }

  /** A frame from the browser. `data` belongs to uWS and is neutered after this call returns. */
  fromBrowser(data: ArrayBuffer, isBinary: boolean): void {
    if (this.state === 'closed') return;
    const n = data.byteLength;
    if (this.state === 'open') {
      this.stats.up++;
      this.stats.upBytes += n;
      // Copied: a send the socket cannot flush at once keeps a reference to the bytes.
      this.upstream.send(Buffer.from(new Uint8Array(data)), { binary: isBinary });
      if (this.upstream.bufferedAmount > this.opts.limits.maxUpstreamBufferedBytes) {
        this.endByRelay({ code: 1013, reason: 'model link congested' });
      }
      return;
    }
    const { maxQueuedMessages, maxQueuedBytes } = this.opts.limits;
    if (this.queue.length >= maxQueuedMessages || this.queuedBytes + n > maxQueuedBytes) {
      this.opts.log.warn(
        { queued: this.queue.length, queuedBytes: this.queuedBytes },
        'browser sent too much before the model connected',
      );
      this.endByRelay({
        code: 1009,
        reason:
          `too much sent before the model connected (limit ${maxQueuedMessages} messages / ` +
          `${maxQueuedBytes >> 20} MiB)`,
      });
      return;
    }
    this.queue.push({ data: Buffer.from(new Uint8Array(data)), isBinary });
    this.queuedBytes += n;
  }

  /** uWS drained the browser socket: read the model again once the backlog is small. */
  onBrowserDrain(): void {
    if (
      this.paused &&
      this.state === 'open' &&
      this.browser.bufferedAmount() < this.opts.limits.downstreamHighWaterBytes / 2
    ) {
      this.paused = false;
      this.upstream.resume();
    }
  }

  /** The browser socket closed (any reason); close the model socket with a code a client may send. */
  onBrowserClose(code: number): void {
    if (this.state === 'closed') return;
    this.finish(
      { by: 'browser', browserCode: code, modelCode: modelCloseForBrowserClose(code) },
      null,
      'client closed',
    );
  }

  /** Ends both sides from the relay's side (time limit, overflow, shutdown). */
  endByRelay(frame: CloseFrame): void {
    if (this.state === 'closed') return;
    this.finish({ by: 'relay', browserCode: frame.code, modelCode: 1000 }, frame, frame.reason);
  }

  private onUpstreamOpen(): void {
    if (this.state !== 'connecting') return;
    this.everOpened = true;
    // Flush in arrival order before anything new can be sent directly, so order is preserved.
    for (const q of this.queue) {
      this.stats.up++;
      this.stats.upBytes += q.data.byteLength;
      this.upstream.send(q.data, { binary: q.isBinary });
    }
    const flushed = this.queue.length;
    this.queue = [];
    this.queuedBytes = 0;
    this.state = 'open';
    this.stopHeartbeat = startHeartbeat(this.upstream, this.opts.limits.pingIntervalMs, () => {
      this.opts.log.warn(
        { pingIntervalMs: this.opts.limits.pingIntervalMs },
        'model socket did not answer a ping; ending the session',
      );
      this.upstream.terminate();
      this.endByRelay({ code: 1011, reason: 'model connection lost' });
    });
    this.opts.log.info({ connectMs: Date.now() - this.startedAt, flushed }, 'model connected');
  }

  private onUpstreamMessage(data: RawData, isBinary: boolean): void {
    if (this.state !== 'open') return;
    const bytes = toBytes(data);
    this.stats.down++;
    this.stats.downBytes += bytes.byteLength;
    const sent = this.browser.send(bytes, isBinary);
    if (sent === 2) {
      this.endByRelay({ code: 1013, reason: 'client is not reading fast enough' });
      return;
    }
    if (sent === 0 && !this.paused && this.browser.bufferedAmount() >= this.opts.limits.downstreamHighWaterBytes) {
      this.paused = true;
      this.upstream.pause();
    }
  }

  private onUpstreamClose(code: number, reason: string): void {
    if (this.state === 'closed') return;
    const frame = browserCloseForModelClose(code, reason, this.everOpened);
    this.finish({ by: 'model', browserCode: frame.code, modelCode: code }, frame, reason);
  }

  private finish(ended: NonNullable<BrowserSession['ended']>, toBrowser: CloseFrame | null, modelReason: string): void {
    this.state = 'closed';
    this.ended = ended;
    clearTimeout(this.lifetime);
    this.stopHeartbeat();
    this.queue = [];
    this.queuedBytes = 0;
    const up = this.upstream;
    if (up.readyState === WebSocket.CONNECTING) up.terminate();
    else if (up.readyState === WebSocket.OPEN) up.close(ended.modelCode ?? 1000, clampReason(modelReason));
    if (toBrowser !== null) this.browser.end(toBrowser.code, toBrowser.reason);
    this.opts.log.info({ ...ended, durationMs: Date.now() - this.startedAt, ...this.stats }, 'browser session ended');
    this.opts.onEnd?.(this);
  }
}
