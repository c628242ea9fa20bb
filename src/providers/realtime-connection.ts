import type {
  ConversationItemCreateEvent,
  InputAudioBufferAppendEvent,
  RealtimeClientEvent,
} from 'openai/resources/realtime/realtime';
import WebSocket from 'ws';
import { log as rootLog, type Logger } from '../log.js';
import type { Dialect, OutboundSessionUpdate, SessionSpec } from './dialect.js';
import { parseModelEvent, type ModelEvent } from './model-events.js';
import { startHeartbeat } from './heartbeat.js';
import { rejectedOption, withoutOption } from './rejected-option.js';

// One outbound socket to the model (OpenAI GA or xAI), opened as soon as a call is known. Audio
// appended before the session is configured is held (bounded) and flushed in order once
// session.updated arrives: audio sent earlier would be read in the server's default format.
// A model that stops reading (stalled, overloaded) must not make the relay queue caller audio without
// bound: past maxBufferedBytes waiting in the socket, new caller frames are dropped and counted.

/** Everything the relay writes to a model socket: the SDK's client events, or xAI's session.update. */
export type OutboundEvent = RealtimeClientEvent | OutboundSessionUpdate;

/**
 * The hot path writes appends as a template string (no JSON.stringify per frame); this pins the
 * template's field names to the SDK's InputAudioBufferAppendEvent so a rename fails to compile.
 */
const APPEND: Pick<InputAudioBufferAppendEvent, 'type'> & Record<keyof InputAudioBufferAppendEvent, string> = {
  type: 'input_audio_buffer.append',
  audio: 'audio',
  event_id: 'event_id',
};
const appendFrame = (b64: string): string => `{"type":"${APPEND.type}","${APPEND.audio}":"${b64}"}`;

export interface ModelConnectionOptions {
  dialect: Dialect;
  baseUrl: string;
  model: string;
  apiKey?: string;
  session: SessionSpec;
  /** Resume this conversation instead of starting one (only where the dialect has a resumeUrl). */
  resumeConversationId?: string;
  /** Keep-alive ping (heartbeat.ts); a half-open socket is terminated and the call hears the apology. */
  pingIntervalMs?: number;
  /** How much caller audio to hold while the session is being set up (ms of mu-law). */
  maxPendingAudioMs?: number;
  /**
   * Caller audio is dropped while more than this many bytes wait unsent in the socket (default
   * 64 KiB, about 5 s of appends: the kernel's own buffers come on top). Older audio is worth less
   * than a bounded memory and a model that catches up with the present.
   */
  maxBufferedBytes?: number;
  /** Where the drop decision is logged (default: the root logger with the provider). */
  log?: Logger;
  /**
   * The session was sent again without an option the provider refused (rejected-option.ts): the
   * next socket of the same call starts from this one, so the refusal is met and logged once.
   */
  onSessionRevised?: (session: SessionSpec) => void;
}

/** Every model event but audio: what the call's control plane reads. */
export type ModelControlEvent = Exclude<ModelEvent, { type: 'audio' }>;

export interface ModelHandlers {
  /** Hot path: one assistant audio delta (base64 mu-law, already checked), for the data plane. */
  onAudio(responseId: string, itemId: string, delta: string): void;
  onEvent(e: ModelControlEvent): void;
  onClose(code: number, reason: string): void;
}

export class ModelConnection {
  readonly provider: Dialect['name'];
  private ws: WebSocket;
  private handlers: ModelHandlers | null = null;
  private early: ModelEvent[] = [];
  private earlyClose: { code: number; reason: string } | null = null;
  private pendingAudio: string[] = [];
  private pendingAudioBytes = 0;
  private readonly maxPendingBytes: number;
  private stopHeartbeat: () => void = () => {};
  private closedByUs = false;
  /** Why we terminated the socket ourselves, reported as the close reason. */
  private terminatedFor = '';
  /** A drop was logged for the current stall; reset once the socket drains. */
  private stallLogged = false;
  /** session.updated seen: caller audio may flow. */
  ready = false;
  /** Caller audio dropped: hold buffer full, or the model not reading (reported in the call record). */
  droppedAudioBytes = 0;
  /** Caller frames dropped because the model socket was backed up past maxBufferedBytes. */
  backpressureDrops = 0;
  private readonly maxBufferedBytes: number;
  private readonly log: Logger;
  openedAt = Date.now();
  readyAt: number | null = null;
  /** What session.update carries: the options given, less any the provider refused. */
  private session: SessionSpec;

  constructor(private readonly opts: ModelConnectionOptions) {
    this.provider = opts.dialect.name;
    this.session = opts.session;
    this.maxPendingBytes = (opts.maxPendingAudioMs ?? 10_000) * 8;
    this.maxBufferedBytes = opts.maxBufferedBytes ?? 64 * 1024;
    this.log = opts.log ?? rootLog.child({ component: 'model-connection', provider: opts.dialect.name });
    const { resumeUrl } = opts.dialect;
    const resumeId = opts.resumeConversationId;
    const url = resumeId && resumeUrl ? resumeUrl(opts.baseUrl, opts.model, resumeId) : undefined;
    this.ws = new WebSocket(url ?? opts.dialect.url(opts.baseUrl, opts.model), {
      headers: opts.dialect.headers(opts.apiKey),
      perMessageDeflate: false,
      handshakeTimeout: 10_000,
    });
    this.ws.on('open', () => {
      if (opts.dialect.updateOn === 'open') this.sendSessionUpdate();
      const every = opts.pingIntervalMs ?? 25_000;
      this.stopHeartbeat = startHeartbeat(this.ws, every, () => {
        this.terminatedFor = `no pong within ${every} ms (half-open connection)`;
        this.log.warn({ everyMs: every }, 'model socket did not answer a ping; terminating it');
        this.ws.terminate();
      });
    });
    this.ws.on('message', (data, isBinary) => {
      if (isBinary) return this.emit({ type: 'invalid', reason: 'binary frame' });
      this.handle(parseModelEvent(data.toString()));
    });
    this.ws.on('error', () => {
      // 'close' always follows; the reason is reported there.
    });
    this.ws.on('unexpected-response', (_req, res) => {
      this.finish(4000 + Math.min(999, res.statusCode ?? 0), `HTTP ${res.statusCode ?? '?'} on upgrade`);
      this.ws.terminate();
    });
    this.ws.on('close', (code, reason) =>
      this.finish(
        code,
        reason.toString() || this.terminatedFor || (this.closedByUs ? 'closed by relay' : 'closed by model'),
      ),
    );
  }

  /** Handlers are attached once the call actor exists; anything that arrived before is replayed. */
  attach(handlers: ModelHandlers): void {
    this.handlers = handlers;
    for (const e of this.early.splice(0)) this.deliver(handlers, e);
    if (this.earlyClose) handlers.onClose(this.earlyClose.code, this.earlyClose.reason);
  }

  /** The provider keeps a dropped session's conversation to be resumed (xAI). */
  get canResume(): boolean {
    return this.opts.dialect.resumeUrl !== undefined;
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  /** Hot path: caller audio, base64 mu-law straight from Twilio. Returns false if it was dropped. */
  appendAudio(b64: string): boolean {
    if (this.ready && this.ws.readyState === WebSocket.OPEN) {
      if (this.ws.bufferedAmount > this.maxBufferedBytes) return this.dropBackedUp(b64);
      if (this.stallLogged) {
        this.stallLogged = false;
        this.log.info({ droppedBytes: this.droppedAudioBytes }, 'model socket draining again; caller audio flows');
      }
      this.ws.send(appendFrame(b64));
      return true;
    }
    if (this.ws.readyState > WebSocket.OPEN) return false;
    const bytes = (b64.length * 3) >> 2;
    if (this.pendingAudioBytes + bytes > this.maxPendingBytes) {
      this.droppedAudioBytes += bytes;
      return false;
    }
    this.pendingAudio.push(b64);
    this.pendingAudioBytes += bytes;
    return true;
  }

  private dropBackedUp(b64: string): false {
    this.droppedAudioBytes += (b64.length * 3) >> 2;
    this.backpressureDrops++;
    // One line per stall, not one per frame.
    if (!this.stallLogged) {
      this.stallLogged = true;
      this.log.warn(
        { bufferedBytes: this.ws.bufferedAmount, limit: this.maxBufferedBytes },
        'model socket is not draining; dropping caller audio until it does',
      );
    }
    return false;
  }

  createResponse(instructions?: string): void {
    this.send(instructions ? { type: 'response.create', response: { instructions } } : { type: 'response.create' });
  }

  cancelResponse(): void {
    this.send({ type: 'response.cancel' });
  }

  truncate(itemId: string, audioEndMs: number): void {
    this.send({
      type: 'conversation.item.truncate',
      item_id: itemId,
      content_index: 0,
      audio_end_ms: Math.max(0, Math.floor(audioEndMs)),
    });
  }

  addText(role: 'user' | 'system', text: string): void {
    // The SDK types user and system messages apart, so each role is built on its own.
    const content = [{ type: 'input_text' as const, text }];
    const item: ConversationItemCreateEvent['item'] =
      role === 'user' ? { type: 'message', role, content } : { type: 'message', role, content };
    this.send({ type: 'conversation.item.create', item });
  }

  sendFunctionOutput(callId: string, output: string): void {
    this.send({ type: 'conversation.item.create', item: { type: 'function_call_output', call_id: callId, output } });
  }

  close(code = 1000, reason = 'call ended'): void {
    this.closedByUs = true;
    this.stopHeartbeat();
    if (this.ws.readyState === WebSocket.CONNECTING) this.ws.terminate();
    else if (this.ws.readyState === WebSocket.OPEN) this.ws.close(code, reason);
  }

  /** Bytes queued in the socket but not yet written: grows when the model reads slowly. */
  get bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }

  private send(msg: OutboundEvent): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
  }

  private sendSessionUpdate(): void {
    this.send(this.opts.dialect.sessionUpdate(this.session, this.opts.model));
  }

  /**
   * A session.update refused over one merchant option: sent again without it, so the call goes on
   * with the provider's default. The error is passed on as benign (it was dealt with here).
   */
  private dropRefusedOption(e: Extract<ModelEvent, { type: 'error' }>): ModelEvent {
    const refused = this.ready ? undefined : rejectedOption(this.session, e.code, e.param);
    if (!refused) return e;
    this.log.warn(
      { field: refused.field, option: refused.option, code: e.code, detail: e.message },
      'the provider refused a session option; continuing with its default',
    );
    this.session = withoutOption(this.session, refused.option);
    this.opts.onSessionRevised?.(this.session);
    this.sendSessionUpdate();
    return { ...e, severity: 'benign' };
  }

  private handle(e: ModelEvent): void {
    if (e.type === 'error') e = this.dropRefusedOption(e);
    if (e.type === 'conversationCreated' && this.opts.dialect.updateOn === 'conversationCreated')
      this.sendSessionUpdate();
    if (e.type === 'sessionUpdated' && !this.ready) {
      this.ready = true;
      this.readyAt = Date.now();
      for (const b64 of this.pendingAudio.splice(0)) this.ws.send(appendFrame(b64));
      this.pendingAudioBytes = 0;
    }
    this.emit(e);
  }

  private emit(e: ModelEvent): void {
    if (this.handlers) this.deliver(this.handlers, e);
    else if (this.early.length < 1000) this.early.push(e);
  }

  private deliver(handlers: ModelHandlers, e: ModelEvent): void {
    if (e.type === 'audio') handlers.onAudio(e.responseId, e.itemId, e.delta);
    else handlers.onEvent(e);
  }

  private finish(code: number, reason: string): void {
    this.stopHeartbeat();
    if (this.earlyClose) return;
    this.earlyClose = { code, reason };
    this.pendingAudio = [];
    this.handlers?.onClose(code, reason);
  }
}
