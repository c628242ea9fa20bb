import WebSocket from 'ws';
import { log as rootLog, type Logger } from '../log.js';
import type { SessionSpec } from './dialect.js';
import { startHeartbeat } from './heartbeat.js';
import { parseLiveEvent, type LiveEvent } from './live-events.js';
import { LIVE_APPEND_MAX_CHARS, type LiveClientEvent, type LiveSessionConfig } from './live-protocol.js';
import { LIVE_TURN_TIMING, LiveTurns, type LiveTurnTiming } from './live-turns.js';
import type { ModelEvent } from './model-events.js';
import type { LinkHandlers, ModelLink } from './reconnecting-connection.js';

// One call's socket to OpenAI GPT-Live (PROVIDER=openai-live), with the same surface as a Realtime
// connection (ModelLink), so Call, the chart and the data plane do not know which one they have.
// What the relay asks maps onto Live as follows (the protocol: live-protocol.ts):
//
// - caller audio → `session.input_audio.append` (held, bounded, until `session.started`);
// - a response with instructions (greeting, filler, wrap-up, silence prompt) → those instructions
//   appended (`session.instructions.append`): the model decides when it speaks;
// - text for the model (keypad digits, notes) → appended instructions as well;
// - a function output → `response.item.create`, and the next response request → `response.create`,
//   which continues the delegated backend response that asked for it;
// - cancel and truncate → nothing: Live has neither, the model stops itself (the chart is told so
//   through `bargeIn: 'model'` and never asks);
// - the model's audio and transcripts come back as turns (live-turns.ts).
//
// No reconnect: a Live session cannot be seeded with more than 500 tokens once started, so a dropped
// socket ends the call with the apology, as on the first connect.

export interface LiveConnectionOptions {
  url: string;
  apiKey?: string;
  model: string;
  /** The Responses model the session delegates tool calls to. */
  toolsModel: string;
  session: SessionSpec;
  pingIntervalMs?: number;
  /** Caller audio held until the session has started (ms of mu-law). */
  maxPendingAudioMs?: number;
  timing?: LiveTurnTiming;
  log?: Logger;
}

export class LiveConnection implements ModelLink {
  readonly provider = 'openai-live' as const;
  readonly openedAt = Date.now();
  readyAt: number | null = null;
  droppedAudioBytes = 0;
  private readonly ws: WebSocket;
  private readonly turns: LiveTurns;
  private readonly log: Logger;
  private handlers: LinkHandlers | null = null;
  private early: ModelEvent[] = [];
  private closedWith: { code: number; reason: string } | null = null;
  private pending: string[] = [];
  private pendingBytes = 0;
  private readonly maxPendingBytes: number;
  /** Function outputs went to the backend since the last `response.create`. */
  private outputsWaiting = false;
  private closedByUs = false;
  private stopHeartbeat: () => void = () => {};

  constructor(opts: LiveConnectionOptions) {
    this.log = opts.log ?? rootLog.child({ component: 'live-connection', provider: 'openai-live' });
    this.maxPendingBytes = (opts.maxPendingAudioMs ?? 10_000) * 8;
    this.turns = new LiveTurns((e) => this.emit(e), opts.timing ?? LIVE_TURN_TIMING);
    this.ws = new WebSocket(opts.url, {
      headers: opts.apiKey ? { Authorization: `Bearer ${opts.apiKey}` } : {},
      perMessageDeflate: false,
      handshakeTimeout: 10_000,
    });
    this.ws.on('open', () => {
      this.send({ type: 'session.start', session: sessionConfig(opts) });
      const every = opts.pingIntervalMs ?? 25_000;
      this.stopHeartbeat = startHeartbeat(this.ws, every, () => {
        this.log.warn({ everyMs: every }, 'GPT-Live socket did not answer a ping; terminating it');
        this.ws.terminate();
      });
    });
    this.ws.on('message', (data, isBinary) => {
      if (isBinary) return this.emit({ type: 'invalid', reason: 'binary frame' });
      this.handle(parseLiveEvent(data.toString()));
    });
    this.ws.on('error', () => {
      // 'close' follows and reports.
    });
    this.ws.on('unexpected-response', (_req, res) => {
      this.finish(4000 + Math.min(999, res.statusCode ?? 0), `HTTP ${res.statusCode ?? '?'} on upgrade`);
      this.ws.terminate();
    });
    this.ws.on('close', (code, reason) =>
      this.finish(code, reason.toString() || (this.closedByUs ? 'closed by relay' : 'closed by model')),
    );
  }

  attach(handlers: LinkHandlers): void {
    this.handlers = handlers;
    for (const e of this.early.splice(0)) this.deliver(handlers, e);
    if (this.closedWith) handlers.onClose(this.closedWith.code, this.closedWith.reason);
  }

  appendAudio(b64: string): boolean {
    if (this.readyAt !== null && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(`{"type":"session.input_audio.append","audio":"${b64}"}`);
      return true;
    }
    if (this.ws.readyState > WebSocket.OPEN) return false;
    const bytes = (b64.length * 3) >> 2;
    if (this.pendingBytes + bytes > this.maxPendingBytes) {
      this.droppedAudioBytes += bytes;
      return false;
    }
    this.pending.push(b64);
    this.pendingBytes += bytes;
    return true;
  }

  createResponse(instructions?: string): void {
    if (instructions) return this.appendInstructions(instructions);
    // After tool outputs: the delegated response goes on and the model speaks its result.
    if (this.outputsWaiting) {
      this.outputsWaiting = false;
      this.send({ type: 'response.create' });
    }
    // Otherwise (keypad digits, a failed transfer): the text already appended is what it answers.
  }

  cancelResponse(): void {
    // Live has no cancel: the model stops when it hears the caller.
  }

  truncate(_itemId: string, _audioEndMs: number): void {
    // Live has no truncate: its context follows what it actually said.
  }

  addText(role: 'user' | 'system', text: string): void {
    this.appendInstructions(role === 'user' ? `The caller: ${text}` : text);
  }

  sendFunctionOutput(callId: string, output: string): void {
    this.outputsWaiting = true;
    this.send({ type: 'response.item.create', item: { type: 'function_call_output', call_id: callId, output } });
  }

  close(code = 1000, reason = 'call ended'): void {
    this.closedByUs = true;
    this.stopHeartbeat();
    this.turns.stop();
    if (this.ws.readyState === WebSocket.CONNECTING) return this.ws.terminate();
    if (this.ws.readyState !== WebSocket.OPEN) return;
    // Lets the server finalise the session (usage, recording) before the socket goes.
    this.send({ type: 'session.close' });
    this.ws.close(code, reason);
  }

  private appendInstructions(text: string): void {
    // The append is limited to 500 tokens: the newest part matters most (a conversation so far ends
    // with what was said last).
    const content = text.length > LIVE_APPEND_MAX_CHARS ? text.slice(-LIVE_APPEND_MAX_CHARS) : text;
    this.send({ type: 'session.instructions.append', content, delegation_id: null });
  }

  private handle(e: LiveEvent): void {
    switch (e.type) {
      case 'started':
        if (this.readyAt !== null) return;
        this.readyAt = Date.now();
        for (const b64 of this.pending.splice(0)) this.appendAudio(b64);
        this.pendingBytes = 0;
        return this.emit({ type: 'sessionUpdated' });
      case 'audio':
        return this.turns.audio(e.delta);
      case 'outputText':
        return this.turns.outputText(e.delta);
      case 'inputText':
        return this.turns.inputText(e.delta);
      case 'functionCall':
        return this.turns.functionCall(e.responseId, e.call);
      case 'delegationDone':
        return this.turns.delegationDone(e.responseId, e.usage);
      case 'usage':
        return this.emit({ type: 'usage', usage: { audioSeconds: e.audioSeconds } });
      case 'closed':
        this.log.info({ reason: e.reason }, 'GPT-Live session closed');
        return;
      case 'error':
        return this.emit({
          type: 'error',
          code: e.code,
          message: e.message,
          severity: e.severity,
          ...(e.param ? { param: e.param } : {}),
        });
      case 'ignored':
        return this.emit({ type: 'ignored', eventType: e.eventType });
      case 'invalid':
        return this.emit({ type: 'invalid', reason: e.reason });
    }
  }

  private send(msg: LiveClientEvent): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
  }

  private emit(e: ModelEvent): void {
    if (this.handlers) this.deliver(this.handlers, e);
    else if (this.early.length < 1000) this.early.push(e);
  }

  private deliver(handlers: LinkHandlers, e: ModelEvent): void {
    if (e.type === 'audio') handlers.onAudio(e.responseId, e.itemId, e.delta);
    else handlers.onEvent(e);
  }

  private finish(code: number, reason: string): void {
    this.stopHeartbeat();
    this.turns.stop();
    if (this.closedWith) return;
    this.closedWith = { code, reason };
    this.pending = [];
    this.handlers?.onClose(code, reason);
  }
}

/** `session.start`'s config: the model in it, Twilio's format both ways, tools on the backend. */
export function sessionConfig(
  opts: Pick<LiveConnectionOptions, 'model' | 'toolsModel' | 'session'>,
): LiveSessionConfig {
  const { session } = opts;
  const tools = session.tools.map((t) => ({
    type: 'function' as const,
    name: t.name,
    description: t.description,
    parameters: t.parameters,
  }));
  return {
    model: opts.model,
    instructions: session.instructions,
    audio: { format: { type: 'audio/pcmu', rate: 8000 }, output: { voice: session.voice } },
    // The backend gets the same business rules: it decides the calls, the Live model speaks them.
    ...(tools.length > 0
      ? {
          delegation: {
            type: 'responses',
            responses: { model: opts.toolsModel, instructions: session.instructions, tools },
          },
        }
      : {}),
  };
}
