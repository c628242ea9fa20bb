import { createActor, type Actor, type InspectionEvent, type Observer } from 'xstate';
import { callRuntimeMachine, registerCallPort, unregisterCallPort, type CallPort } from './call-runtime.js';
import type { CallContext, Direction, FunctionCall, ToolOutput } from '../../machines/call.types.js';
import type { Merchant } from '../merchants/merchant.js';
import { addUsage, type ModelEvent, type Usage } from '../providers/model-events.js';
import { ModelConnection } from '../providers/realtime-connection.js';
import type { ModelEndpoint } from '../providers/endpoint.js';
import { base64ByteLength, outbound } from '../twilio/messages.js';
import { log, maskPhone, type Logger } from '../log.js';
import { Playback } from './playback.js';
import { stateName } from './state-name.js';
import { runToolSafely } from './run-tool.js';
import { Transcript } from './transcript.js';
import { RecentIds } from './recent-ids.js';
import { DtmfBatcher } from './dtmf-batcher.js';
import type { CallRecorder, CallStart, CallStats, CallSummary } from './recorder.js';
import type { HotCounters, RelayMetrics } from '../obs/metrics.js';
import {
  greetingInstructions,
  voicemailInstructions,
  WRAP_UP_NOTE,
  SHUTDOWN_NOTE,
  FILLER_INSTRUCTIONS,
  dtmfNote,
} from './prompts.js';

// The data plane of one call. Audio frames go straight through here (caller → model, model →
// caller) without touching the actor; only control events are sent to it. The actor's `audioOut`
// tag is mirrored into a boolean that gates assistant audio per frame.

export interface TwilioPort {
  send(text: string): void;
  close(code: number, reason: string): void;
  /** Batches the sends made inside `fn` into one write (uWS cork); plain call when unsupported. */
  cork?(fn: () => void): void;
}

export interface CallInfo {
  callSid: string;
  streamSid: string;
  merchant: Merchant;
  callerPhone?: string;
  calledNumber?: string;
  direction: Direction;
  answeredBy?: string;
  /** Set on calls placed from an SMS thread (@call): where the outcome is posted back. */
  conversationSid?: string;
  requester?: string;
}

export type { ToolExecutor } from './run-tool.js';
import type { ToolExecutor } from './run-tool.js';

export interface CallSessionDeps {
  model: { connection: ModelConnection; endpoint: ModelEndpoint };
  recorder: CallRecorder;
  apologyClip: Buffer;
  maxCallMs: number;
  connectTimeoutMs: number;
  /** Default 10 s (MODEL_RESPONSE_TIMEOUT_MS). */
  responseTimeoutMs?: number;
  runTool?: ToolExecutor;
  onEnded?: (s: CallSession) => void;
  /** Called on every state change (demo output, metrics). */
  onState?: (s: CallSession, state: string) => void;
  inspect?: Observer<InspectionEvent>;
  markEveryMs?: number;
  dtmfGapMs?: number;
  metrics?: RelayMetrics;
}

export class CallSession {
  readonly actor: Actor<typeof callRuntimeMachine>;
  private readonly port: CallPort;
  readonly log: Logger;
  readonly transcript: Transcript;
  readonly startedAt = Date.now();
  readonly playback: Playback;
  state = 'connecting';
  /** Mirrors the chart's `audioOut` tag; read on every model audio frame. */
  private gate = false;
  private ended = false;
  private readonly cancelled = new RecentIds();
  /** Responses already ended (xAI may end one twice: response.cancelled, then response.done). */
  private readonly finished = new RecentIds();
  private currentResponse = '';
  /** The response whose first audio the chart was told about (its response watchdog stands down). */
  private audioResponse = '';
  /** A response is between response.created and response.done. */
  private responseOpen = false;
  /** response.create sent, response.created not seen yet. */
  private requested = 0;
  /** Requested responses a barge-in already cancelled: drop them as soon as they are created. */
  private cancelPending = 0;
  private readonly dtmf: DtmfBatcher;
  private speechStartedAt = 0;
  private warned = new Set<string>();
  private usage: Required<Usage> = { inputTokens: 0, outputTokens: 0, totalTokens: 0 };
  readonly stats: CallStats = {
    framesIn: 0,
    framesOut: 0,
    bargeIns: 0,
    assistantAudioMs: 0,
    droppedCallerAudioMs: 0,
    lateDeltasDropped: 0,
    modelConnectMs: null,
    badTwilioMessages: 0,
    twilioSendRefused: 0,
  };
  /** Milliseconds from each speech_started to the Twilio `clear` leaving the relay. */
  readonly bargeInReactionMs: number[] = [];
  private readonly model: ModelConnection;
  private readonly hot: HotCounters;
  /** When the caller last stopped talking; cleared by the first assistant audio after it. */
  private speechStoppedAt = 0;

  constructor(
    readonly info: CallInfo,
    private readonly twilio: TwilioPort,
    private readonly deps: CallSessionDeps,
  ) {
    this.model = deps.model.connection;
    this.hot = deps.metrics?.hot ?? { framesIn: 0, framesOut: 0 };
    this.log = log.child({ callSid: info.callSid, streamSid: info.streamSid });
    this.transcript = new Transcript(this.startedAt);
    this.playback = new Playback(deps.markEveryMs ?? 100);
    this.dtmf = new DtmfBatcher(deps.dtmfGapMs ?? 700, (digits) => {
      if (!this.ended) this.actor.send({ type: 'twilio.dtmf', digits });
    });
    this.port = {
      requestGreeting: () => this.requestResponse(greetingInstructions(info.merchant, info.direction)),
      leaveVoicemail: () => this.requestResponse(voicemailInstructions(info.merchant)),
      interrupt: (cancel) => this.interrupt(cancel),
      sendDtmf: (digits, respond) => {
        this.model.addText('user', dtmfNote(digits));
        this.transcript.note('caller', `[keypad: ${digits}]`);
        if (respond) this.requestResponse();
      },
      sendToolOutputs: (outputs) => {
        for (const o of outputs) this.model.sendFunctionOutput(o.callId, o.output);
        this.requestResponse();
      },
      requestWrapUp: (context) => {
        this.model.addText('system', context.endReason === 'server_shutdown' ? SHUTDOWN_NOTE : WRAP_UP_NOTE);
        this.requestResponse();
      },
      sayFiller: () => this.requestResponse(FILLER_INSTRUCTIONS),
      playApology: () => this.playApology(),
      finish: (context) => this.finish(context),
      runTool: (call) => this.runTool(call),
    };
    registerCallPort(info.callSid, this.port);
    this.actor = createActor(callRuntimeMachine, {
      id: `call-${info.callSid}`,
      input: {
        callSid: info.callSid,
        streamSid: info.streamSid,
        direction: info.direction,
        answeredBy: info.answeredBy,
        greetingInterruptible: info.merchant.greetingInterruptible,
        maxCallMs: deps.maxCallMs,
        connectTimeoutMs: deps.connectTimeoutMs,
        responseTimeoutMs: deps.responseTimeoutMs ?? 10_000,
      },
      inspect: deps.inspect,
    });
    this.actor.subscribe({
      next: (snap) => {
        this.gate = snap.hasTag('audioOut');
        const state = stateName(snap.value);
        if (state !== this.state) {
          this.state = state;
          this.log.debug({ state }, 'state');
          deps.onState?.(this, state);
        }
      },
      error: (err) => this.log.error({ err }, 'call actor failed'),
    });
    this.log.info(
      {
        merchant: info.merchant.id,
        caller: maskPhone(info.callerPhone),
        direction: info.direction,
        answeredBy: info.answeredBy,
        provider: deps.model.endpoint.provider,
      },
      'call started',
    );
    deps.recorder.started?.(this.callStart());
    this.actor.start();
    this.model.attach({
      onEvent: (e) => this.onModelEvent(e),
      onClose: (code, reason) => this.onModelClose(code, reason),
    });
  }

  get isEnded(): boolean {
    return this.ended;
  }

  // ---- Twilio → relay ---------------------------------------------------------------------------

  /** Hot path: one 20 ms caller frame, base64 mu-law, forwarded untouched. */
  onCallerAudio(payload: string): void {
    this.stats.framesIn++;
    this.hot.framesIn++;
    if (!ModelConnection.isBase64(payload))
      return this.warnOnce('bad-payload', 'media payload is not base64; frame dropped');
    this.model.appendAudio(payload);
  }

  onMark(name: string): void {
    if (name === 'apology') return;
    if (this.playback.echo(name, Date.now()) === 'drained') this.actor.send({ type: 'playback.drained' });
  }

  onDtmf(digit: string): void {
    this.dtmf.push(digit);
  }

  onStop(): void {
    if (!this.ended) this.actor.send({ type: 'twilio.stop' });
  }

  onTwilioClosed(): void {
    if (!this.ended) this.actor.send({ type: 'twilio.closed' });
  }

  /** Graceful shutdown: the assistant wraps up, then the call ends. */
  shutdown(): void {
    if (!this.ended) this.actor.send({ type: 'server.shutdown' });
  }

  /** uWS refused a frame for Twilio (its backlog is full); the socket is closing. */
  noteSendRefused(): void {
    this.stats.twilioSendRefused++;
  }

  warnOnce(key: string, msg: string, extra?: Record<string, unknown>): void {
    if (key.startsWith('twilio:')) this.stats.badTwilioMessages++;
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.log.warn(extra ?? {}, msg);
  }

  // ---- model → relay ----------------------------------------------------------------------------

  private onModelEvent(e: ModelEvent): void {
    if (this.ended) return;
    switch (e.type) {
      case 'audio':
        return this.onModelAudio(e.responseId, e.itemId, e.delta);
      case 'sessionUpdated':
        if (this.stats.modelConnectMs === null) {
          this.stats.modelConnectMs = (this.model.readyAt ?? Date.now()) - this.model.openedAt;
          this.deps.metrics?.modelConnect.observe(
            { provider: this.deps.model.endpoint.provider },
            this.stats.modelConnectMs / 1000,
          );
          this.actor.send({ type: 'model.ready' });
        }
        return;
      case 'responseCreated':
        this.currentResponse = e.responseId;
        this.responseOpen = true;
        if (this.requested > 0) this.requested--;
        if (this.cancelPending > 0) {
          // The caller barged in before this requested response existed: it is already over.
          this.cancelPending--;
          this.cancelled.add(e.responseId);
          this.model.cancelResponse();
          return;
        }
        this.actor.send({ type: 'model.responseCreated', responseId: e.responseId });
        return;
      case 'responseDone': {
        if (e.responseId && this.finished.has(e.responseId)) return;
        this.finished.add(e.responseId);
        if (e.responseId === this.currentResponse) this.responseOpen = false;
        addUsage(this.usage, e.usage);
        // The end mark's echo tells the chart when the caller has heard the whole response.
        if (!this.cancelled.has(e.responseId))
          this.twilio.send(outbound.mark(this.info.streamSid, this.playback.endMark()));
        for (const c of e.functionCalls) this.transcript.note('tool', `${c.name}(${c.arguments})`);
        this.actor.send({
          type: 'model.responseDone',
          responseId: e.responseId,
          status: e.status,
          functionCalls: e.functionCalls,
        });
        return;
      }
      case 'speechStarted':
        this.speechStartedAt = performance.now();
        this.actor.send({ type: 'model.speechStarted' });
        return;
      case 'speechStopped':
        this.speechStoppedAt = performance.now();
        this.actor.send({ type: 'model.speechStopped' });
        return;
      case 'userItem':
        return this.transcript.callerTurn(e.itemId);
      case 'userTranscript':
        return this.transcript.callerText(e.itemId, e.text);
      case 'assistantItem':
        return this.transcript.assistantTurn(e.itemId);
      case 'assistantTranscript':
        return this.transcript.assistantText(e.itemId, e.text);
      case 'assistantTranscriptDelta':
        return this.transcript.assistantDelta(e.itemId, e.delta);
      case 'error':
        if (e.severity === 'benign') this.log.debug({ code: e.code, detail: e.message }, 'model error (benign)');
        else this.log.warn({ code: e.code, detail: e.message, severity: e.severity }, 'model error');
        if (e.severity === 'fatal') this.actor.send({ type: 'model.error', code: e.code, fatal: true });
        return;
      case 'invalid':
        return this.warnOnce(`model:${e.reason}`, 'invalid message from model; ignored', { reason: e.reason });
      case 'ignored':
        return;
      default:
        return;
    }
  }

  /** Hot path: assistant audio to the caller, unless the chart closed the gate or it is stale. */
  private onModelAudio(responseId: string, itemId: string, delta: string): void {
    if (!this.gate || this.cancelled.has(responseId)) {
      this.stats.lateDeltasDropped++;
      return;
    }
    this.stats.framesOut++;
    this.hot.framesOut++;
    if (responseId !== this.audioResponse) {
      this.audioResponse = responseId;
      this.actor.send({ type: 'model.audioStarted' });
    }
    if (this.speechStoppedAt !== 0) {
      this.deps.metrics?.firstAudio.observe((performance.now() - this.speechStoppedAt) / 1000);
      this.speechStoppedAt = 0;
    }
    const mark = this.playback.sent(responseId, itemId, base64ByteLength(delta), Date.now());
    const media = outbound.media(this.info.streamSid, delta);
    if (mark === null) return this.twilio.send(media);
    // Media and its mark leave in one write (this runs outside uWS's own callbacks, so uncorked
    // sends would be one system call each).
    const markText = outbound.mark(this.info.streamSid, mark);
    if (this.twilio.cork) this.twilio.cork(() => this.sendPair(media, markText));
    else this.sendPair(media, markText);
  }

  private sendPair(a: string, b: string): void {
    this.twilio.send(a);
    this.twilio.send(b);
  }

  private onModelClose(code: number, reason: string): void {
    if (this.ended) return;
    this.log.warn({ code, reason }, 'model socket closed');
    this.actor.send({ type: 'model.closed' });
  }

  // ---- actions (called by the chart) ------------------------------------------------------------

  private interrupt(cancel: boolean): void {
    this.twilio.send(outbound.clear(this.info.streamSid));
    if (this.speechStartedAt) {
      const ms = performance.now() - this.speechStartedAt;
      this.bargeInReactionMs.push(ms);
      this.deps.metrics?.bargeInReaction.observe(ms / 1000);
    }
    this.deps.metrics?.bargeIns.inc();
    this.stats.bargeIns++;
    if (cancel) {
      this.model.cancelResponse();
      if (!this.responseOpen && this.requested > 0) this.cancelPending = this.requested;
    }
    if (this.currentResponse) this.cancelled.add(this.currentResponse);
    for (const t of this.playback.interrupt(Date.now())) {
      this.model.truncate(t.itemId, t.audioEndMs);
      this.transcript.interrupted(t.itemId, t.audioEndMs, t.sentMs);
    }
  }

  private requestResponse(instructions?: string): void {
    this.requested++;
    this.model.createResponse(instructions);
  }

  private async runTool(call: FunctionCall): Promise<ToolOutput> {
    const started = performance.now();
    const out = await runToolSafely(
      this.deps.runTool,
      call,
      { merchant: this.info.merchant, callSid: this.info.callSid, callerPhone: this.info.callerPhone },
      this.log,
    );
    const ms = performance.now() - started;
    this.log.info({ tool: call.name, ok: out.ok, ms: Math.round(ms) }, 'tool call');
    this.deps.metrics?.toolLatency.observe({ tool: call.name, outcome: out.ok ? 'ok' : 'error' }, ms / 1000);
    this.transcript.note('tool', `${call.name} → ${out.ok ? 'ok' : 'error'}`);
    return out;
  }

  private playApology(): void {
    this.model.close(1000, 'apologizing');
    this.twilio.send(outbound.clear(this.info.streamSid));
    this.playback.interrupt(Date.now());
    const clip = this.deps.apologyClip;
    for (let i = 0; i < clip.length; i += 160)
      this.twilio.send(outbound.media(this.info.streamSid, clip.subarray(i, i + 160).toString('base64')));
    this.twilio.send(outbound.mark(this.info.streamSid, 'apology'));
    this.transcript.note('system', 'The model connection was lost; the caller heard an apology.');
  }

  private callStart(): CallStart {
    const { merchant, ...ids } = this.info;
    return {
      ...ids,
      merchantId: merchant.id,
      provider: this.deps.model.endpoint.provider,
      model: this.deps.model.endpoint.model,
      startedAt: new Date(this.startedAt),
    };
  }

  private finish(context: CallContext): void {
    if (this.ended) return;
    this.ended = true;
    unregisterCallPort(this.info.callSid, this.port);
    this.dtmf.stop();
    // Hung up mid-sentence: the transcript keeps what the caller heard of it.
    for (const t of this.playback.interrupt(Date.now())) this.transcript.interrupted(t.itemId, t.audioEndMs, t.sentMs);
    this.model.close();
    this.twilio.close(1000, 'call ended');
    const endedAt = new Date();
    const summary: CallSummary = {
      ...this.callStart(),
      endedAt,
      durationMs: endedAt.getTime() - this.startedAt,
      endReason: context.endReason ?? 'twilio_closed',
      transcript: this.transcript.entries(),
      transcriptText: this.transcript.text(),
      usage: { ...this.usage },
      stats: {
        ...this.stats,
        assistantAudioMs: Math.round(this.playback.totalSentMs),
        droppedCallerAudioMs: Math.round(this.model.droppedAudioBytes / 8),
      },
    };
    this.log.info(
      { endReason: summary.endReason, durationMs: summary.durationMs, bargeIns: this.stats.bargeIns },
      'call ended',
    );
    this.deps.metrics?.callsEnded.inc({ reason: summary.endReason });
    this.deps.recorder
      .record(summary)
      .catch((err: unknown) => this.log.error({ err }, 'call record could not be saved'));
    this.deps.onEnded?.(this);
  }
}
