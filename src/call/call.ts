import { createActor, type Actor } from 'xstate';
import { callMachine } from '../../machines/call.machine.js';
import type { CallCommand, EndReason, FunctionCall, ToolOutput } from '../../machines/call.types.js';
import { addUsage, type Usage } from '../providers/model-events.js';
import type { ModelControlEvent } from '../providers/realtime-connection.js';
import type { ModelLink } from '../providers/reconnecting-connection.js';
import { log, maskPhone, type Logger } from '../log.js';
import { runToolSafely } from '../tools/run-safely.js';
import type { CallerSide, DataPlane } from './data-plane.js';
import { DtmfBatcher } from './dtmf-batcher.js';
import * as prompts from './prompts.js';
import type { CallStart, CallSummary } from './recorder.js';
import { ResponseLifecycle } from './response-lifecycle.js';
import { stateName } from './state-name.js';
import { Timeline } from './timeline.js';
import { ToolTiming } from './tool-timing.js';
import { Transcript } from './transcript.js';
import { CallLine } from './call-line.js';
import { assertNever } from '../util/never.js';
import { joinHalves } from './returned-call.js';
import type { CallDeps, CallInfo } from './call-deps.js';

// The control plane of one call: its chart actor, the model's control events, the response
// lifecycle, tools, transcript and record. Audio never comes through here: the data plane (behind
// `DataPlane`) carries it, and this class cannot tell whether it passes through this process.

export type { CallDeps, CallInfo } from './call-deps.js';

export class Call {
  readonly actor: Actor<typeof callMachine>;
  readonly log: Logger;
  readonly transcript: Transcript;
  readonly timeline: Timeline;
  readonly startedAt = Date.now();
  state = 'connecting';
  /** Milliseconds from each speech_started to the data plane having stopped the caller's audio. */
  readonly bargeInReactionMs: number[] = [];
  readonly toolTiming = new ToolTiming(); // the relay's own time per tool round trip
  private readonly responses = new ResponseLifecycle();
  private readonly model: ModelLink;
  private readonly dtmf: DtmfBatcher;
  private readonly line: CallLine;
  private ended = false;
  private warned = new Set<string>();
  private usage: Required<Omit<Usage, 'audioSeconds'>> & Usage = { inputTokens: 0, outputTokens: 0, totalTokens: 0 };
  private bargeIns = 0;
  private modelConnectMs: number | null = null;
  private speechStartedAt = 0;
  /** When the caller last stopped talking; cleared by the first assistant audio after it. */
  private speechStoppedAt = 0;

  constructor(
    readonly info: CallInfo,
    private readonly plane: DataPlane,
    private readonly deps: CallDeps,
  ) {
    this.model = deps.model.connection;
    this.log = log.child({ callSid: info.callSid, streamSid: info.streamSid });
    this.transcript = new Transcript(this.startedAt);
    this.timeline = new Timeline(this.startedAt);
    this.line = new CallLine(info, this.log, deps.line, deps.transfers);
    this.timeline.state(this.state);
    this.dtmf = new DtmfBatcher(deps.dtmfGapMs ?? 700, (digits) => this.send({ type: 'caller.dtmf', digits }));
    this.actor = createActor(callMachine, {
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
        silenceMs: deps.silenceMs ?? 8000,
        tools: (call) => this.runTool(call),
        bargeIn: deps.bargeIn ?? deps.model.endpoint.bargeIn,
      },
      inspect: deps.inspect,
    });
    this.actor.on('*', (command) => this.perform(command));
    this.actor.subscribe({
      next: (snap) => {
        this.plane.setGate(snap.hasTag('audioOut'));
        const state = stateName(snap.value);
        if (state === this.state) return;
        this.state = state;
        this.timeline.state(state);
        this.log.debug({ state }, 'state');
        deps.onState?.(this, state);
      },
      error: (err) => this.log.error({ err }, 'call actor failed'),
    });
    plane.attach(this.callerSide(), this.responses);
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
      // Straight to the data plane: the hot path does not pass through the control plane.
      onAudio: plane.assistantAudio.bind(plane),
      onEvent: (e) => this.onModelEvent(e),
      onClose: (code, reason) => this.onModelClose(code, reason),
      onReconnect: (r) => this.timeline.reconnect(r.gapMs, r.attempts, r.ok, r.resumed),
    });
  }

  get isEnded(): boolean {
    return this.ended;
  }

  /** Graceful shutdown: the assistant wraps up, then the call ends. */
  shutdown(): void {
    this.send({ type: 'server.shutdown' });
  }

  private send(event: Parameters<Actor<typeof callMachine>['send']>[0]): void {
    if (!this.ended) this.actor.send(event);
  }

  private callerSide(): CallerSide {
    return {
      drained: () => {
        if (!this.ended) this.timeline.heard();
        this.send({ type: 'playback.drained' });
      },
      audioStarted: () => {
        this.send({ type: 'model.audioStarted' });
        if (this.speechStoppedAt === 0) return;
        this.deps.metrics?.firstAudio.observe((performance.now() - this.speechStoppedAt) / 1000);
        this.speechStoppedAt = 0;
      },
      dtmf: (digit) => this.dtmf.push(digit),
      hungUp: () => this.send({ type: 'caller.hungUp' }),
      lineClosed: () => this.send({ type: 'line.closed' }),
    };
  }

  // ---- model → call -----------------------------------------------------------------------------

  private onModelEvent(e: ModelControlEvent): void {
    if (this.ended) return;
    switch (e.type) {
      case 'sessionUpdated':
        if (this.modelConnectMs !== null) return;
        this.modelConnectMs = (this.model.readyAt ?? Date.now()) - this.model.openedAt;
        this.deps.metrics?.modelConnect.observe(
          { provider: this.deps.model.endpoint.provider },
          this.modelConnectMs / 1000,
        );
        return this.send({ type: 'model.ready' });
      case 'responseCreated':
        if (this.responses.created(e.responseId) === 'cancelled') {
          // The caller barged in before this requested response existed: it is already over.
          this.model.cancelResponse();
          return;
        }
        return this.send({ type: 'model.responseCreated', responseId: e.responseId });
      case 'responseDone': {
        const verdict = this.responses.ended(e.responseId);
        if (verdict === 'duplicate') return;
        addUsage(this.usage, e.usage);
        // The plane reports `drained` once the caller has heard the whole response.
        if (verdict === 'ended') this.plane.responseEnded();
        for (const c of e.functionCalls) this.transcript.note('tool', `${c.name}(${c.arguments})`);
        if (e.functionCalls.length > 0 && verdict === 'ended') this.toolTiming.asked();
        return this.send({
          type: 'model.responseDone',
          responseId: e.responseId,
          status: e.status,
          functionCalls: e.functionCalls,
          spokeBeforeCalls: e.spokeBeforeCalls,
        });
      }
      case 'speechStarted':
        this.speechStartedAt = performance.now();
        return this.send({ type: 'model.speechStarted' });
      case 'speechStopped':
        this.speechStoppedAt = performance.now();
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
        if (e.severity === 'fatal') this.send({ type: 'model.error', code: e.code, fatal: true });
        return;
      case 'usage':
        return addUsage(this.usage, e.usage);
      case 'invalid':
        return this.warnOnce(`model:${e.reason}`, 'invalid message from model; ignored', { reason: e.reason });
      // Read by the connection itself (session set-up, keep-alive) or not needed by a call: the
      // function calls arrive complete in response.done, truncation confirms what we asked.
      case 'conversationCreated':
      case 'sessionCreated':
      case 'audioDone':
      case 'functionCall':
      case 'truncated':
      case 'dtmf': // a SIP call's keypad and playback: its data plane reports them (src/transports/openai-sip)
      case 'outputBuffer':
      case 'ping':
      case 'ignored':
        return;
      default:
        return assertNever(e);
    }
  }

  private onModelClose(code: number, reason: string): void {
    if (this.ended) return;
    this.log.warn({ code, reason }, 'model socket closed');
    this.send({ type: 'model.closed' });
  }

  // ---- chart → outside --------------------------------------------------------------------------

  private perform(command: CallCommand): void {
    const { merchant, direction } = this.info;
    switch (command.type) {
      case 'requestGreeting': {
        const back = this.deps.resumed;
        if (!back) return this.requestResponse(prompts.greetingInstructions(merchant, direction));
        // The call came back from a transfer nobody answered: the model hears the conversation so far.
        this.model.addText('system', prompts.conversationSoFar(back.first.transcript));
        return this.requestResponse(prompts.returnedInstructions(merchant, back.target, back.outcome));
      }
      case 'leaveVoicemail':
        return this.requestResponse(prompts.voicemailInstructions(merchant));
      case 'interrupt':
        return this.interrupt(command.cancel, command.truncate);
      case 'sendDtmf':
        this.model.addText('user', prompts.dtmfNote(command.digits));
        this.transcript.note('caller', `[keypad: ${command.digits}]`);
        if (command.respond) this.requestResponse();
        return;
      case 'sendToolOutputs':
        for (const o of command.outputs) this.model.sendFunctionOutput(o.callId, o.output);
        this.toolTiming.sent();
        return this.requestResponse();
      case 'sayFiller':
        return this.requestResponse(prompts.FILLER_INSTRUCTIONS);
      case 'requestWrapUp':
        this.model.addText('system', prompts.wrapUpNote(command.reason));
        return this.requestResponse();
      case 'promptSilence':
        this.transcript.note('system', 'The caller was silent; the assistant asked if they are still there.');
        return this.requestResponse(prompts.SILENCE_PROMPT);
      case 'transfer':
        this.transcript.note('system', `Transfer to ${command.target} requested.`);
        return this.line.transfer(command.target, command.summary, {
          failed: () => this.send({ type: 'transfer.failed' }),
          progress: (outcome) => this.timeline.transfer(command.target, outcome),
        });
      case 'transferFailed':
        this.timeline.transfer(command.target, 'failed');
        this.model.addText('system', prompts.transferFailedNote(command.target));
        return this.requestResponse();
      case 'playApology':
        this.model.close(1000, 'apologizing');
        this.plane.playApology();
        this.transcript.note('system', 'The model connection was lost; the caller heard an apology.');
        return;
      case 'finish':
        return this.finish(command.endReason);
      default:
        return assertNever(command);
    }
  }

  private requestResponse(instructions?: string): void {
    this.responses.requested();
    this.model.createResponse(instructions);
  }

  private interrupt(cancel: boolean, truncate: boolean): void {
    const truncations = this.plane.interrupt();
    if (this.speechStartedAt) {
      const ms = performance.now() - this.speechStartedAt;
      this.bargeInReactionMs.push(ms);
      this.deps.metrics?.bargeInReaction.observe(ms / 1000);
    }
    this.deps.metrics?.bargeIns.inc();
    this.bargeIns++;
    this.timeline.bargeIn();
    if (cancel) this.model.cancelResponse();
    this.responses.interrupt(cancel);
    for (const t of truncations) {
      if (truncate) this.model.truncate(t.itemId, t.audioEndMs);
      this.transcript.interrupted(t.itemId, t.audioEndMs, t.sentMs);
    }
  }

  private async runTool(call: FunctionCall): Promise<ToolOutput> {
    const started = this.toolTiming.started();
    const out = await runToolSafely(this.deps.runTool, call, this.info, this.log); // CallInfo is a ToolCallContext
    const ms = this.toolTiming.ended() - started;
    this.log.info({ tool: call.name, ok: out.ok, ms: Math.round(ms) }, 'tool call');
    this.deps.metrics?.toolLatency.observe({ tool: call.name, outcome: out.ok ? 'ok' : 'error' }, ms / 1000);
    this.transcript.note('tool', `${call.name} → ${out.ok ? 'ok' : 'error'}`);
    this.timeline.tool(call.name, ms, out.ok);
    return out;
  }

  private warnOnce(key: string, msg: string, extra: Record<string, unknown>): void {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.log.warn(extra, msg);
  }

  private callStart(): CallStart {
    const { merchant, ...ids } = this.info;
    const { provider, model } = this.deps.model.endpoint;
    return { ...ids, merchantId: merchant.id, provider, model, startedAt: new Date(this.startedAt) };
  }

  private finish(endReason: EndReason): void {
    if (this.ended) return;
    this.ended = true;
    this.dtmf.stop();
    // Hung up mid-sentence: the transcript keeps what the caller heard of it.
    for (const t of this.plane.finish()) this.transcript.interrupted(t.itemId, t.audioEndMs, t.sentMs);
    this.model.close();
    this.timeline.end(endReason);
    const endedAt = new Date();
    const half: CallSummary = {
      ...this.callStart(),
      endedAt,
      durationMs: endedAt.getTime() - this.startedAt,
      endReason,
      transcript: this.transcript.entries(),
      transcriptText: this.transcript.text(),
      timeline: this.timeline.entries(),
      usage: { ...this.usage },
      stats: {
        ...this.plane.stats(),
        bargeIns: this.bargeIns,
        modelConnectMs: this.modelConnectMs,
        droppedCallerAudioMs: Math.round(this.model.droppedAudioBytes / 8),
      },
    };
    // A call that came back from a transfer is recorded as one conversation with its first half.
    const summary = this.deps.resumed ? joinHalves(this.deps.resumed, half) : half;
    this.line.ended(endReason, summary);
    this.log.info({ endReason, durationMs: summary.durationMs, bargeIns: this.bargeIns }, 'call ended');
    this.deps.metrics?.callsEnded.inc({ reason: endReason });
    this.deps.recorder
      .record(summary)
      .catch((err: unknown) => this.log.error({ err }, 'call record could not be saved'));
    this.deps.onEnded?.(this);
  }
}
