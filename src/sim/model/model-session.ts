// One connection to the fake realtime model server. It speaks the dialect's protocol (OpenAI GA or xAI
// Grok Voice): handshake events, session.update validation, input audio + VAD turns, conversation
// items, responses, truncation, pings, session expiry. Tests drive it through the scripted control API
// (speechStarted, respond, userTranscript, drop, …); agent mode answers on its own from a script.
import type { IncomingHttpHeaders } from 'node:http';
import type { RawData } from 'ws';
import { log, type Logger } from '../../log.js';
import type { FrameClock } from '../clock/frame-clock.js';
import { AgentBrain, type AgentOptions, type ResponseRequest } from './model-agent.js';
import { expiredError, handlingError, readClientFrame } from './model-client-frames.js';
import { Conversation, type ConvItem, type TruncateRecord } from './model-conversation.js';
import { IdGen } from './model-ids.js';
import { ItemEvents } from './model-items.js';
import type { ClientEvent, Dialect, ErrorBody, JsonObject, ServerEvent } from './model-protocol.js';
import { Responder, type ResponseDecision } from './model-responder.js';
import type { RespondOptions, RespondResult } from './model-response-shape.js';
import { SessionConfig, type RefusedFields, type SessionView } from './model-session-config.js';
import type { SessionTransport } from './model-transport.js';
import { replayItems, resumptionEnabled, type KeptConversation } from './model-resumption.js';
import { InputTurns } from './model-turns.js';
import { EventWaiters, type EventOf, type WaitableType } from './model-waiters.js';

export type { ResponseRequest } from './model-agent.js';
export type { ResponseDecision } from './model-responder.js';
export type ResponseHandler = (
  req: ResponseRequest,
  session: FakeModelSession,
) => ResponseDecision | Promise<ResponseDecision>;

export interface FakeSessionOptions {
  dialect: Dialect;
  mode: 'scripted' | 'agent';
  model: string;
  /** false: conversation.item.truncate is answered with an error (xAI's documented behaviour). */
  truncateSupported: boolean;
  /** xAI keep-alive `{"type":"ping"}` period; 0 = none. */
  pingIntervalMs: number;
  /** Run the energy VAD in scripted mode too (agent mode always does). */
  vad: boolean;
  vadThresholdDbfs: number;
  speechStartMs: number;
  chunkMs: number;
  realtimeFactor: number;
  recordAudioBytes: number;
  /** After this the server sends session_expired and closes with 1001 (0 = never). */
  maxSessionMs: number;
  refuseSessionFields?: RefusedFields;
  agent: AgentOptions;
  clock: FrameClock;
  requestHeaders: IncomingHttpHeaders;
  onAudioAppended: ((bytes: Buffer, session: FakeModelSession) => void) | undefined;
  beforeSendDelta: ((bytes: Buffer, session: FakeModelSession) => void) | undefined;
  /** Applied before session.created, as a SIP accept's session is (already validated). */
  initialSession?: JsonObject;
  /** Agent mode: the caller transcript of a committed turn of `ms`, when the caller's words are known. */
  callerTranscript?: (ms: number) => string | undefined;
  resume?: KeptConversation; // xAI: the kept conversation this socket resumes
}

const SCRIPTED_LINE = 'Hello! How can I help you today?';

export class FakeModelSession {
  readonly ids = new IdGen();
  readonly id = this.ids.next('sess');
  readonly dialect: Dialect;
  readonly mode: 'scripted' | 'agent';
  readonly model: string;
  readonly requestHeaders: IncomingHttpHeaders;
  /** Every parsed client event except appends, in arrival order. */
  readonly received: ClientEvent[] = [];
  /** Every error event sent to the client (protocol rejections and injected ones). */
  readonly errors: ErrorBody[] = [];
  /** Appends that arrived before any session.updated was sent (audio in the wrong default format). */
  appendsBeforeSessionUpdated = 0;
  readonly closed: Promise<{ code: number; reason: string }>;

  private readonly conversation: Conversation;
  private readonly config: SessionConfig;
  private readonly turns: InputTurns;
  private readonly itemEvents: ItemEvents;
  private readonly waiters = new EventWaiters(this.received);
  private readonly brain: AgentBrain | undefined;
  private readonly responder: Responder;
  private readonly log: Logger;
  private readonly timers = new Set<NodeJS.Timeout>();
  private handler: ResponseHandler;
  private sessionUpdated = false;
  private pingTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly transport: SessionTransport,
    private readonly opts: FakeSessionOptions,
  ) {
    this.dialect = opts.dialect;
    this.mode = opts.mode;
    this.model = opts.model;
    this.requestHeaders = opts.requestHeaders;
    this.conversation = opts.resume?.conversation ?? new Conversation();
    const expiresAt = Math.floor((Date.now() + (opts.maxSessionMs > 0 ? opts.maxSessionMs : 3_600_000)) / 1000);
    this.config = new SessionConfig(opts.dialect, opts.model, this.id, expiresAt, opts.refuseSessionFields);
    if (opts.initialSession) this.config.apply(opts.initialSession, false);
    this.turns = new InputTurns(
      {
        ids: this.ids,
        dialect: this.dialect,
        conversation: this.conversation,
        view: () => this.config.view,
        send: (ev) => this.send(ev),
        // Caller speech cancels the playing response when interrupt_response allows.
        onSpeechStarted: () => {
          if (this.config.view.turnDetection?.interruptResponse) this.responder.bargeIn();
        },
        onCommitted: (itemId, ms, byVad) => this.onCommitted(itemId, ms, byVad),
      },
      opts.recordAudioBytes,
    );
    const brain = opts.mode === 'agent' ? new AgentBrain(opts.agent) : undefined;
    this.brain = brain;
    this.handler = brain ? (req) => brain.decide(req, this.config.view.tools) : () => ({ text: SCRIPTED_LINE });
    this.log = log.child({ component: 'fake-model', dialect: opts.dialect, session: this.id });
    const beforeSendDelta = opts.beforeSendDelta;
    this.responder = new Responder(
      {
        ids: this.ids,
        dialect: this.dialect,
        conversation: this.conversation,
        conversationId: opts.resume?.conversationId ?? this.ids.next('conv'),
        view: () => this.config.view,
        send: (ev) => this.send(ev),
        sendText: (json) => this.sendText(json),
        clock: () => opts.clock,
        beforeSendDelta: beforeSendDelta ? (bytes) => beforeSendDelta(bytes, this) : undefined,
        defaults: { chunkMs: opts.chunkMs, realtimeFactor: opts.realtimeFactor },
      },
      (req) => this.handler(req, this),
      () => this.refreshVad(),
      this.log,
    );
    this.itemEvents = new ItemEvents({
      ids: this.ids,
      dialect: this.dialect,
      conversation: this.conversation,
      truncateSupported: opts.truncateSupported,
      send: (ev) => this.send(ev),
      noteItem: (item) => brain?.noteItem(item),
      speak: (text) => void this.responder.play({ text }),
    });
    this.closed = new Promise((resolve) =>
      transport.bind({
        message: (data, isBinary) => this.onMessage(data, isBinary),
        error: (err) => this.log.debug({ err }, 'fake model socket error'),
        closed: (code, reason) => {
          this.cleanup();
          resolve({ code, reason });
        },
      }),
    );
    this.refreshVad();
    this.greet();
  }

  // ---- state for tests ---------------------------------------------------------------------------

  get isOpen(): boolean {
    return this.transport.isOpen;
  }
  get appendedBytes(): number {
    return this.turns.buffer.appendedBytes;
  }
  get appendedMs(): number {
    return this.turns.buffer.appendedMs;
  }
  get appendCount(): number {
    return this.turns.buffer.appendCount;
  }
  /** The raw appended bytes (bounded by the server's recordAudioBytes). */
  appendedAudio(): Buffer {
    return this.turns.buffer.recorded();
  }
  /** The last user item committed (by VAD, speechStopped() or a client commit). */
  get lastUserItemId(): string | undefined {
    return this.turns.lastUserItemId;
  }
  /** The merged session object, as the last session.updated (or session.created) carried it. */
  get sessionConfig(): JsonObject {
    return this.config.value;
  }
  get view(): SessionView {
    return this.config.view;
  }
  get items(): readonly ConvItem[] {
    return this.conversation.items;
  }
  /** Every conversation.item.truncate received, accepted or not (with the audio sent at the time). */
  get truncates(): readonly TruncateRecord[] {
    return this.itemEvents.truncates;
  }
  get activeResponseId(): string | undefined {
    return this.responder.activeId;
  }
  /** This session's conversation, when its session.update enabled resumption (xAI); else undefined. */
  get resumable(): KeptConversation | undefined {
    if (this.dialect !== 'xai' || !resumptionEnabled(this.config.value)) return undefined;
    return { conversationId: this.responder.conversationId, conversation: this.conversation };
  }

  waitFor<T extends WaitableType>(
    type: T,
    predicate?: (e: EventOf<T>) => boolean,
    timeoutMs = 2000,
  ): Promise<EventOf<T>> {
    return this.waiters.waitFor(type, predicate, timeoutMs);
  }

  waitForAppendedMs(ms: number, timeoutMs = 2000): Promise<void> {
    return this.waiters.waitForMs(ms, this.turns.buffer.appendedMs, timeoutMs);
  }

  // ---- scripted control ----------------------------------------------------------------------------

  /** What to do when a response is due (client response.create, or a VAD turn with create_response). */
  onResponseCreate(handler: ResponseHandler): void {
    this.handler = handler;
  }

  /** Starts a response as if the server decided to; resolves when response.done went out. */
  respond(opts: RespondOptions = {}): Promise<RespondResult> {
    const busy = this.responder.activeId;
    if (busy) return Promise.reject(new Error(`response ${busy} is still active`));
    return this.responder.play(opts);
  }

  /** Emits speech_started (and barge-in) as the server VAD would; returns the pending user item id. */
  speechStarted(): string {
    return this.turns.speechStarted();
  }

  /** Emits speech_stopped + committed + item added (+ a response when create_response); returns the item id. */
  speechStopped(): string {
    return this.turns.speechStopped();
  }

  /** Sends the caller transcript for a user item (default: the last committed one). */
  userTranscript(itemId: string | undefined, text: string): void {
    this.turns.transcript(itemId, text);
  }

  /** Sends as is: a string or object as a text frame, a Buffer as a binary frame. */
  sendRaw(msg: object | string | Buffer): void {
    if (this.isOpen) this.transport.send(typeof msg === 'string' || Buffer.isBuffer(msg) ? msg : JSON.stringify(msg));
  }

  /** Caller audio that reaches the model without a client event (SIP: from the trunk), in the input format. */
  appendInput(bytes: Buffer): void {
    if (!this.sessionUpdated) this.appendsBeforeSessionUpdated++;
    this.turns.append(bytes);
    this.opts.onAudioAppended?.(bytes, this);
    if (this.waiters.wantsAudioProgress) this.waiters.audioProgress(this.turns.buffer.appendedMs);
  }

  /** Sends an `error` event (the session stays open, as with the real APIs). */
  error(code: string, message: string, type: ErrorBody['type'] = 'invalid_request_error'): void {
    this.sendError({ type, code, message, param: null, event_id: null });
  }

  /** Closes the socket: no code (or 1006) = abruptly, without a close frame; else a close frame. */
  drop(code?: number, reason = ''): void {
    if (code === undefined || code === 1006) this.transport.terminate();
    else this.transport.close(code, reason);
  }

  // ---- protocol ------------------------------------------------------------------------------------

  private greet(): void {
    const conversation = {
      type: 'conversation.created',
      event_id: this.ids.next('event'),
      conversation: { id: this.responder.conversationId, object: 'realtime.conversation' },
    };
    const session = { type: 'session.created', event_id: this.ids.next('event'), session: this.config.value };
    // xAI announces the conversation first; GA leads with the session.
    if (this.dialect === 'xai') this.send(conversation);
    this.send(session);
    if (this.opts.resume) replayItems(this.opts.resume, this.ids, (ev) => this.send(ev));
    if (this.dialect === 'openai') this.send(conversation);
    if (this.dialect === 'xai' && this.opts.pingIntervalMs > 0) {
      this.pingTimer = setInterval(() => this.sendText('{"type":"ping"}'), this.opts.pingIntervalMs);
      this.pingTimer.unref();
    }
    if (this.opts.maxSessionMs > 0) {
      this.later(this.opts.maxSessionMs, () => {
        const error = expiredError(this.opts.maxSessionMs);
        this.sendError(error);
        this.transport.close(1001, error.message);
      }).unref();
    }
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    const parsed = readClientFrame(data, isBinary, this.dialect);
    if (!parsed.ok) {
      this.sendError(parsed.error);
      return;
    }
    const ev = parsed.event;
    if (ev.type === 'input_audio_buffer.append') return this.appendInput(Buffer.from(ev.audio, 'base64'));
    this.received.push(ev);
    try {
      this.dispatch(ev);
    } catch (err) {
      this.sendError(handlingError(err, ev, this.log));
    }
    this.waiters.notify(ev);
  }

  private dispatch(ev: Exclude<ClientEvent, { type: 'input_audio_buffer.append' }>): void {
    switch (ev.type) {
      case 'session.update':
        this.config.apply(ev.session, this.conversation.assistantAudioPresent);
        this.sessionUpdated = true;
        this.refreshVad();
        this.send({ type: 'session.updated', event_id: this.ids.next('event'), session: this.config.value });
        return;
      case 'input_audio_buffer.commit':
        return this.turns.commit();
      case 'input_audio_buffer.clear':
        return this.turns.clear();
      case 'conversation.item.create':
        return this.itemEvents.create(ev);
      case 'conversation.item.truncate':
        return this.itemEvents.truncate(ev);
      case 'conversation.item.delete':
        return this.itemEvents.delete(ev);
      case 'conversation.item.retrieve':
        return this.itemEvents.retrieve(ev);
      case 'response.create':
        return this.responder.start({ trigger: 'client', event: ev }, ev.response);
      case 'response.cancel':
        return this.responder.cancel(ev.response_id);
    }
  }

  private onCommitted(itemId: string, ms: number, byVad: boolean): void {
    const brain = this.brain;
    if (brain && this.config.view.transcription) {
      const text = this.opts.callerTranscript?.(ms) ?? brain.callerTranscript(ms);
      this.later(brain.transcriptDelayMs, () => this.turns.transcript(itemId, text));
    }
    const td = this.config.view.turnDetection;
    if (byVad && td?.createResponse && this.responder.activeId === undefined)
      this.responder.start({ trigger: 'turn', itemId }, undefined);
  }

  private refreshVad(): void {
    const td = this.config.view.turnDetection;
    // Continuous load streams run for the whole call: no VAD (and so no barge-in) while they play.
    const on = (this.mode === 'agent' || this.opts.vad) && td !== null && !this.responder.streaming;
    this.turns.vadParams =
      on && td
        ? {
            thresholdDbfs: this.opts.vadThresholdDbfs,
            startMs: this.opts.speechStartMs,
            silenceMs: td.silenceMs,
            prefixPaddingMs: td.prefixPaddingMs,
          }
        : null;
  }

  // ---- plumbing ------------------------------------------------------------------------------------

  private send(ev: ServerEvent): void {
    if (this.isOpen) this.transport.send(JSON.stringify(ev));
  }

  private sendText(json: string): void {
    if (this.isOpen) this.transport.send(json);
  }

  private sendError(body: ErrorBody): void {
    this.errors.push(body);
    this.log.debug({ code: body.code, message: body.message }, 'fake model error event');
    this.send({ type: 'error', event_id: this.ids.next('event'), error: body });
  }

  private later(ms: number, fn: () => void): NodeJS.Timeout {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
    return t;
  }
  private cleanup(): void {
    if (this.pingTimer) clearInterval(this.pingTimer);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.responder.abort();
    this.waiters.close();
  }
}
