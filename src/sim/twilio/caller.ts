// A simulated phone call as Twilio Media Streams presents it to the relay: the WebSocket client
// side (docs/protocols.md, "Twilio Media Streams"). It sends connected/start, then one inbound media
// frame per 20 ms for as long as the call is up (what the caller says, else mu-law silence), plays
// what the relay sends at real pace, echoes marks when their audio has played, honours clear, and
// records everything a test, the demo or the load generator wants to check. Per-frame work is kept
// small: hundreds of these run in one process off one shared FrameClock.
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { log } from '../../log.js';
import { type FrameClock, sharedFrameClock } from '../clock/frame-clock.js';
import { Playback, type EchoedMark, type HeardSegment } from './caller-playback.js';
import { Speech } from './caller-speech.js';
import { ConditionWaiters } from './condition-waiters.js';
import { parseRelayFrame, type ProtocolError, type RelayFrame } from './relay-frames.js';

export type { EchoedMark, HeardSegment, ProtocolError, RelayFrame };

export interface SimCallerOptions {
  /** ws:// URL of the relay's media-stream endpoint. */
  url: string;
  /** Extra handshake headers, e.g. { 'X-Twilio-Signature': sig }. */
  headers?: Record<string, string>;
  /** <Parameter>s of the TwiML, delivered in start.customParameters. */
  customParameters?: Record<string, string>;
  accountSid?: string;
  callSid?: string;
  streamSid?: string;
  /** Shared ticker; default the process-wide one for frameMs. */
  clock?: FrameClock;
  /** Audio per media frame (default 20 ms = 160 bytes); the clock should tick at the same period. */
  frameMs?: number;
  /**
   * Keep heavy records (all frames received, media receive times, marks, heard audio).
   * Default true; off for load runs.
   */
  record?: boolean;
  /**
   * Called on each outgoing 160-byte frame before it is encoded; may write into it (latency stamps).
   * seq = media chunk number.
   */
  onBeforeSendFrame?: (frame: Buffer, seq: number) => void;
  /** Called for each frame of relay audio as it plays (at = tick time, performance.now()). */
  onHeardFrame?: (frame: Buffer, at: number) => void;
  /** Called for each valid media message as it arrives, before decoding. */
  onMediaReceived?: (payloadBase64: string, receivedAtMs: number) => void;
}

export interface CloseInfo {
  code: number;
  reason: string;
  at: number;
}

export interface SimCallerEvents {
  open: [];
  /** Each valid media message; startsBurst = nothing was playing or buffered when it arrived. */
  media: [info: { bytes: number; receivedAt: number; startsBurst: boolean }];
  mark: [info: { name: string; receivedAt: number }];
  markEchoed: [mark: EchoedMark];
  clear: [info: { at: number; echoed: string[] }];
  protocolError: [err: ProtocolError];
  close: [code: number, reason: string];
}

/** 'closing': hangUp/drop was called; nothing more is sent or acted on. */
export type CallerState = 'connecting' | 'open' | 'closing' | 'closed';

const MAX_PROTOCOL_ERRORS_KEPT = 1000;
const sid = (prefix: string): string => prefix + randomBytes(16).toString('hex');

export class SimCaller extends EventEmitter<SimCallerEvents> {
  readonly accountSid: string;
  readonly callSid: string;
  readonly streamSid: string;
  readonly frameMs: number;
  readonly ready: Promise<void>;

  state: CallerState = 'connecting';
  /** performance.now() when the socket opened (stream start); NaN before. */
  openedAt = Number.NaN;
  closeInfo: CloseInfo | undefined;

  // Records. Heavy lists are filled only with `record` on.
  readonly received: Array<{ at: number; frame: RelayFrame }> = [];
  readonly mediaReceivedAt: number[] = [];
  readonly marksReceived: Array<{ name: string; at: number }> = [];
  readonly marksEchoed: EchoedMark[] = [];
  readonly clearsAt: number[] = [];
  readonly protocolErrors: ProtocolError[] = [];
  protocolErrorCount = 0;
  mediaMessagesReceived = 0;
  bytesReceived = 0;
  framesSent = 0;

  private readonly ws: WebSocket;
  private readonly opts: SimCallerOptions;
  private readonly record: boolean;
  private readonly clock: FrameClock;
  private readonly playback: Playback;
  private readonly speech: Speech;
  private readonly mediaPrefix: string;
  private readonly waiters = new ConditionWaiters();
  private unsubscribe: (() => void) | undefined;
  private seq = 0;
  private chunk = 0;

  /** Dial: starts connecting at once. Await `ready` (or use SimCaller.connect) before relying on it. */
  constructor(opts: SimCallerOptions) {
    super();
    this.opts = opts;
    this.accountSid = opts.accountSid ?? sid('AC');
    this.callSid = opts.callSid ?? sid('CA');
    this.streamSid = opts.streamSid ?? sid('MZ');
    this.frameMs = opts.frameMs ?? 20;
    const frameBytes = this.frameMs * 8;
    this.record = opts.record ?? true;
    this.clock = opts.clock ?? sharedFrameClock(this.frameMs);
    this.speech = new Speech(frameBytes);
    this.mediaPrefix = `{"event":"media","streamSid":${JSON.stringify(this.streamSid)},"sequenceNumber":"`;
    this.playback = new Playback(
      frameBytes,
      { echoMark: (name, cleared) => this.echoMark(name, cleared), onHeardFrame: opts.onHeardFrame },
      this.record,
    );

    // Twilio's requests carry this User-Agent; a relay uses it (with the signature) to tell Twilio apart.
    this.ws = new WebSocket(opts.url, {
      headers: { 'User-Agent': 'TwilioProxy/1.1', ...opts.headers },
      perMessageDeflate: false,
    });
    this.ready = new Promise<void>((resolve, reject) => {
      this.ws.once('open', () => {
        this.onOpen();
        resolve();
      });
      this.ws.on('error', (err) => {
        log.debug({ err: err.message, callSid: this.callSid }, 'sim caller socket error');
        reject(err); // no-op once open
      });
      this.ws.once('close', () => reject(new Error('SimCaller: socket closed before it opened')));
    });
    this.ready.catch(() => undefined); // a caller that never awaits `ready` must not crash the process
    this.ws.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    this.ws.on('close', (code, reason) => this.onClose(code, reason.toString()));
  }

  /** Dial and wait until the stream has started. Rejects if the handshake fails (e.g. 403). */
  static async connect(opts: SimCallerOptions): Promise<SimCaller> {
    const c = new SimCaller(opts);
    await c.ready;
    return c;
  }

  /** Relay audio received but not yet played. */
  get queuedPlaybackBytes(): number {
    return this.playback.queuedBytes;
  }
  get heardBytes(): number {
    return this.playback.heardBytes;
  }
  get heardSegments(): readonly HeardSegment[] {
    return this.playback.segments;
  }
  /** True while relay audio is playing (the last tick played some). */
  get hearing(): boolean {
    return this.playback.playing;
  }
  /** True while say() audio is still being sent. */
  get speaking(): boolean {
    return this.speech.speaking;
  }
  get bytesSpoken(): number {
    return this.speech.bytesSpoken;
  }
  /** Everything the caller heard, silence included, as 8 kHz mu-law (empty with record off). */
  heardAudio(): Buffer {
    return this.playback.heardAudio();
  }

  /** Queue mu-law audio to say at real pace; resolves true once fully sent, false if the call ended first. */
  say(mulaw: Buffer): Promise<boolean> {
    if (this.state === 'closed' || this.state === 'closing') return Promise.resolve(false);
    return this.speech.say(mulaw);
  }

  /** Stop saying whatever is queued (the caller goes quiet). Pending say() promises resolve false. */
  stopSaying(): void {
    this.speech.stop();
  }

  sendDtmf(digit: string): void {
    if (!/^[0-9*#A-D]$/.test(digit)) throw new Error(`invalid DTMF digit ${JSON.stringify(digit)}`);
    this.sendEvent(`"event":"dtmf","dtmf":{"track":"inbound_track","digit":"${digit}"}`);
  }

  /** Caller hangs up: media stops, `stop` is sent, then the socket closes 1000. */
  hangUp(timeoutMs = 3000): Promise<CloseInfo> {
    if (this.state === 'open') {
      this.state = 'closing';
      this.stopTicking();
      this.sendEvent(`"event":"stop","stop":{"accountSid":"${this.accountSid}","callSid":"${this.callSid}"}`);
      this.ws.close(1000);
    } else if (this.state === 'connecting') {
      this.state = 'closing';
      this.ws.terminate();
    }
    return this.closeWithin(timeoutMs);
  }

  /** The call vanishes: no stop, no close handshake (TCP torn down). */
  drop(timeoutMs = 3000): Promise<CloseInfo> {
    if (this.state !== 'closed') this.state = 'closing';
    this.stopTicking();
    this.ws.terminate();
    return this.closeWithin(timeoutMs);
  }

  /** Send anything (text frame for a string, binary for a Buffer): for bad-input tests. */
  sendRaw(data: string | Buffer): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(data, { binary: typeof data !== 'string' });
  }

  /**
   * Resolve once predicate(this) holds; it is checked on every received message, tick and close.
   * Rejects on timeout, or when the call closes with the predicate still false.
   */
  waitFor(predicate: (c: SimCaller) => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
    if (this.state === 'closed' && !predicate(this)) {
      return Promise.reject(new Error(`SimCaller: call already closed; ${what} will not hold`));
    }
    return this.waiters.wait(() => predicate(this), timeoutMs, `SimCaller ${this.callSid.slice(0, 10)}: ${what}`);
  }

  waitForClose(timeoutMs = 5000): Promise<CloseInfo> {
    if (this.closeInfo) return Promise.resolve(this.closeInfo);
    return new Promise<CloseInfo>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`SimCaller: no close within ${timeoutMs} ms`)), timeoutMs);
      this.once('close', () => {
        clearTimeout(timer);
        if (this.closeInfo) resolve(this.closeInfo);
      });
    });
  }

  private closeWithin(timeoutMs: number): Promise<CloseInfo> {
    if (this.closeInfo) return Promise.resolve(this.closeInfo);
    // A relay that never answers the close handshake must not hold the caller for ws's 30 s default.
    const t = setTimeout(() => this.ws.terminate(), timeoutMs);
    return this.waitForClose(timeoutMs + 1000).finally(() => clearTimeout(t));
  }

  private onOpen(): void {
    if (this.state !== 'connecting') return;
    this.state = 'open';
    this.openedAt = performance.now();
    const start = {
      event: 'start',
      sequenceNumber: String(++this.seq),
      start: {
        accountSid: this.accountSid,
        streamSid: this.streamSid,
        callSid: this.callSid,
        tracks: ['inbound'],
        mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
        customParameters: this.opts.customParameters ?? {},
      },
      streamSid: this.streamSid,
    };
    this.ws.send('{"event":"connected","protocol":"Call","version":"1.0.0"}');
    this.ws.send(JSON.stringify(start));
    this.unsubscribe = this.clock.subscribe(this.onTick);
    this.emit('open');
  }

  private readonly onTick = (_tickNo: number, now: number): void => {
    if (this.state !== 'open') return;
    this.playback.tick(now);
    this.sendFrame();
    this.notify();
  };

  /** One inbound media frame: the next 20 ms of what the caller says, padded with silence. */
  private sendFrame(): void {
    const f = this.speech.nextFrame();
    const chunk = ++this.chunk;
    this.opts.onBeforeSendFrame?.(f, chunk);
    // timestamp = media time since stream start, which is what Twilio's presentation timestamp tracks.
    const ts = (chunk - 1) * this.frameMs;
    const media = `{"track":"inbound","chunk":"${chunk}","timestamp":"${ts}","payload":"${f.toString('base64')}"}`;
    this.ws.send(`${this.mediaPrefix}${++this.seq}","media":${media}}`);
    this.framesSent++;
    this.speech.frameSent();
  }

  private sendEvent(body: string): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    this.ws.send(`{${body},"sequenceNumber":"${++this.seq}","streamSid":${JSON.stringify(this.streamSid)}}`);
  }

  private echoMark(name: string, cleared: boolean): void {
    this.sendEvent(`"event":"mark","mark":{"name":${JSON.stringify(name)}}`);
    const m: EchoedMark = { name, at: performance.now(), cleared };
    if (this.record) this.marksEchoed.push(m);
    this.emit('markEchoed', m);
  }

  private onMessage(data: WebSocket.RawData, isBinary: boolean): void {
    const at = performance.now();
    if (this.state !== 'open') return;
    const buf = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
    if (isBinary) {
      this.protocolError(at, 'binary frame (Twilio accepts JSON text only: 31950)', `<${buf.length} binary bytes>`);
      return;
    }
    const text = buf.toString('utf8');
    const r = parseRelayFrame(text, this.streamSid);
    if (!r.ok) {
      this.protocolError(at, r.error, text);
      return;
    }
    const frame = r.frame;
    if (this.record) this.received.push({ at, frame });
    switch (frame.event) {
      case 'media': {
        const b64 = frame.media.payload;
        this.opts.onMediaReceived?.(b64, at);
        const audio = Buffer.from(b64, 'base64');
        const startsBurst = !this.playback.playing && this.playback.queuedBytes === 0;
        this.mediaMessagesReceived++;
        this.bytesReceived += audio.length;
        if (this.record) this.mediaReceivedAt.push(at);
        this.playback.enqueueAudio(audio);
        this.emit('media', { bytes: audio.length, receivedAt: at, startsBurst });
        break;
      }
      case 'mark':
        if (this.record) this.marksReceived.push({ name: frame.mark.name, at });
        this.emit('mark', { name: frame.mark.name, receivedAt: at });
        this.playback.enqueueMark(frame.mark.name);
        break;
      case 'clear': {
        this.clearsAt.push(at);
        const echoed = this.playback.clear();
        this.emit('clear', { at, echoed });
        break;
      }
    }
    this.notify();
  }

  private protocolError(at: number, reason: string, sample: string): void {
    this.protocolErrorCount++;
    const err: ProtocolError = { at, reason, sample: sample.slice(0, 200) };
    if (this.protocolErrors.length < MAX_PROTOCOL_ERRORS_KEPT) this.protocolErrors.push(err);
    log.debug(
      { callSid: this.callSid, reason },
      'sim caller: relay sent an invalid frame (Twilio would drop it: 31951)',
    );
    this.emit('protocolError', err);
    this.notify();
  }

  private stopTicking(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  private onClose(code: number, reason: string): void {
    this.state = 'closed';
    this.stopTicking();
    this.closeInfo = { code, reason, at: performance.now() };
    this.stopSaying();
    this.emit('close', code, reason);
    this.waiters.finish(`SimCaller: call closed (${code}) before the awaited condition held`);
  }

  private notify(): void {
    this.waiters.notify();
  }
}
