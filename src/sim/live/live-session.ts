// One connection to the fake GPT-Live server (live-server.ts): the Live protocol as openai-node's
// `src/resources/live/live.ts` describes it, with a simulated agent behind it. `session.start` first
// (the model in the config, `audio/pcmu` at 8000 Hz), then caller audio in, the agent's audio and
// transcripts out. The model owns the floor: an energy VAD hears the caller, and speech over the agent
// makes it stop on its own (nothing the client sends can cancel or truncate it). Tool work goes
// through a delegated Responses backend, whose events are wrapped in `response.event`.
import type { RawData, WebSocket } from 'ws';
import { AgentBrain, type AgentOptions } from '../model/model-agent.js';
import { voiceFor } from '../model/model-audio.js';
import type { ClientItem } from '../model/model-protocol.js';
import type { RespondOptions } from '../model/model-response-shape.js';
import type { AudioFormat, FunctionTool } from '../model/model-session-config.js';
import { EnergyVad } from '../model/model-vad.js';

const PCMU: AudioFormat = { type: 'audio/pcmu', rate: 8000 };
type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

export interface FakeLiveOptions {
  agent: AgentOptions;
  /** ms of audio per output delta. */
  chunkMs: number;
  /** Output pace: times faster than real time (Live streams at about real time: 1). */
  realtimeFactor: number;
  vadThresholdDbfs: number;
  /** Caller silence that ends their turn (the agent then answers). */
  silenceMs: number;
  /** ms between input transcript fragments while the caller talks. */
  transcriptEveryMs: number;
}

/** A client event as received (appends are counted, not kept). */
export interface LiveReceived {
  type: string;
  raw: Obj;
}

export class FakeLiveSession {
  readonly received: LiveReceived[] = [];
  readonly errors: { code: string; param: string | null }[] = [];
  readonly closed: Promise<void>;
  /** What the agent said, each line with how much of it went out before it stopped. */
  readonly said: { text: string; sentMs: number; totalMs: number; yielded: boolean }[] = [];
  appendedMs = 0;
  model = '';
  instructions = '';
  tools: FunctionTool[] = [];
  private started = false;
  private readonly brain: AgentBrain;
  private readonly vad = new EnergyVad();
  private speaking: { stop: () => void } | null = null;
  private callerTimer: NodeJS.Timeout | null = null;
  private prompt: NodeJS.Timeout | null = null;
  private seq = 0;
  private readonly startedAt = Date.now();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly ws: WebSocket,
    private readonly opts: FakeLiveOptions,
  ) {
    this.brain = new AgentBrain(opts.agent);
    this.closed = new Promise((resolve) => ws.once('close', () => resolve(this.cleanup())));
    ws.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    ws.on('error', () => undefined);
  }

  get isSpeaking(): boolean {
    return this.speaking !== null;
  }

  /** Resolves once an event of `type` has arrived (already received ones count). */
  async waitFor(type: string, timeoutMs = 3000): Promise<LiveReceived> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.received.find((e) => e.type === type);
      if (hit) return hit;
      if (Date.now() > end) throw new Error(`no ${type} within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Closes the socket without a close frame (a dropped connection). */
  drop(): void {
    this.ws.terminate();
  }

  // ---- protocol ----------------------------------------------------------------------------------

  private onMessage(data: RawData, isBinary: boolean): void {
    if (isBinary) return this.error('invalid_event', 'Binary frames are not supported.', null);
    let ev: unknown;
    try {
      ev = JSON.parse(data.toString());
    } catch {
      return this.error('invalid_json', 'The message is not JSON.', null);
    }
    if (!isObj(ev) || typeof ev.type !== 'string') return this.error('invalid_event', 'Missing type.', 'type');
    if (ev.type === 'session.input_audio.append') return this.append(ev.audio);
    this.received.push({ type: ev.type, raw: ev });
    if (!this.started && ev.type !== 'session.start')
      return this.error('session_not_started', 'Send session.start first and wait for session.started.', null);
    switch (ev.type) {
      case 'session.start':
        return this.start(ev.session);
      case 'session.instructions.append':
        return this.instructionsAppended(typeof ev.content === 'string' ? ev.content : '');
      case 'response.item.create':
        return this.itemCreated(ev.item);
      case 'response.create':
        return this.later(150, () => this.say(this.brain.decide({ trigger: 'turn' }, this.tools)));
      case 'session.close':
        this.send({ type: 'session.closed', reason: 'close_requested', usage: this.usage() });
        return void this.ws.close(1000, 'session closed');
      default:
        // No response.cancel, no conversation.item.truncate: Live has neither.
        return this.error('unknown_event', `Unknown event type '${ev.type}'.`, 'type');
    }
  }

  private start(session: unknown): void {
    if (this.started) return this.error('session_already_started', 'The session has already started.', null);
    if (!isObj(session) || typeof session.model !== 'string' || !session.model)
      return this.error('missing_required_parameter', "Missing required parameter: 'session.model'.", 'session.model');
    const format = isObj(session.audio) && isObj(session.audio.format) ? session.audio.format : {};
    if (format.type !== 'audio/pcmu' || format.rate !== 8000)
      return this.error('invalid_value', 'This fake accepts audio/pcmu at 8000 Hz only.', 'session.audio.format');
    this.model = session.model;
    this.instructions = typeof session.instructions === 'string' ? session.instructions : '';
    const delegation =
      isObj(session.delegation) && isObj(session.delegation.responses) ? session.delegation.responses : {};
    this.tools = (Array.isArray(delegation.tools) ? delegation.tools : []).filter(isObj).map((t) => ({
      name: typeof t.name === 'string' ? t.name : '',
      description: typeof t.description === 'string' ? t.description : '',
      parameters: isObj(t.parameters) ? (t.parameters as FunctionTool['parameters']) : null,
    }));
    this.started = true;
    this.send({
      type: 'session.started',
      event_id: this.id('event'),
      session: {
        id: this.id('live'),
        model: this.model,
        status: 'active',
        expires_at: Math.floor(this.startedAt / 1000) + 3600,
        audio: { format: { type: 'audio/pcmu', rate: 8000 } },
        instructions: this.instructions,
      },
    });
  }

  private instructionsAppended(content: string): void {
    this.send({ type: 'session.instructions.appended', event_id: this.id('event'), start_ms: 0, end_ms: 0 });
    const caller = /^The caller: (.*)$/s.exec(content);
    if (caller) {
      // Keypad digits reach the agent as what the caller did; it answers them as a turn.
      const item: ClientItem = {
        type: 'message',
        role: 'user',
        content: [{ type: 'input_text', text: caller[1] ?? '' }],
      };
      this.brain.noteItem(item);
      return this.later(150, () => this.say(this.brain.decide({ trigger: 'turn' }, this.tools)));
    }
    // The relay's prompts (greeting, filler, wrap-up): the agent says what they ask for. Notes sent
    // together (a conversation so far, then what to say) make one answer, to the last of them.
    const event = { type: 'response.create' as const, response: { instructions: content } };
    if (this.prompt) clearTimeout(this.prompt);
    this.prompt = setTimeout(() => {
      this.prompt = null;
      this.say(this.brain.decide({ trigger: 'client', event }, this.tools));
    }, 100);
  }

  private itemCreated(item: unknown): void {
    if (!isObj(item) || item.type !== 'function_call_output' || typeof item.call_id !== 'string')
      return this.error('invalid_value', 'Only function_call_output items are supported here.', 'item.type');
    const output = typeof item.output === 'string' ? item.output : '';
    this.brain.noteItem({ type: 'function_call_output', call_id: item.call_id, output });
  }

  // ---- the agent's voice -----------------------------------------------------------------------

  /** Speaks a decision; its function calls go to the delegated backend once the words are out. */
  private say(decision: RespondOptions): void {
    this.speaking?.stop();
    const text = decision.text ?? '';
    const calls = decision.functionCalls ?? [];
    const audio = text ? voiceFor(text, PCMU) : Buffer.alloc(0);
    const chunk = Math.max(8, Math.round(this.opts.chunkMs * 8));
    const every = this.opts.chunkMs / this.opts.realtimeFactor;
    const line = { text, sentMs: 0, totalMs: audio.length / 8, yielded: false };
    this.said.push(line);
    const words = text.split(' ');
    let sent = 0;
    let wordsSent = 0;
    const timer = setInterval(() => {
      const piece = audio.subarray(sent, sent + chunk);
      sent += piece.length;
      line.sentMs = sent / 8;
      this.send({ type: 'session.output_audio.delta', delta: piece.toString('base64') });
      const due = Math.ceil((words.length * sent) / Math.max(1, audio.length));
      if (due > wordsSent) {
        const delta = `${words.slice(wordsSent, due).join(' ')}${due < words.length ? ' ' : ''}`;
        this.send({
          type: 'session.output_transcript.delta',
          event_id: this.id('event'),
          delta,
          start_ms: 0,
          end_ms: 0,
        });
        wordsSent = due;
      }
      if (sent >= audio.length) finish(false);
    }, every);
    const finish = (yielded: boolean) => {
      clearInterval(timer);
      line.yielded = yielded;
      if (this.speaking === handle) this.speaking = null;
      this.send({ type: 'session.usage.updated', event_id: this.id('event'), usage: this.usage() });
      if (!yielded && calls.length > 0) this.delegate(calls);
    };
    const handle = { stop: () => finish(true) };
    this.speaking = handle;
    if (audio.length === 0) finish(false);
  }

  private delegate(calls: NonNullable<RespondOptions['functionCalls']>): void {
    const responseId = this.id('resp');
    const delegationId = this.id('dlg');
    const wrap = (event: Obj) =>
      this.send({ type: 'response.event', event_id: this.id('event'), delegation_id: delegationId, event });
    this.send({
      type: 'session.delegation.created',
      event_id: this.id('event'),
      offset_ms: 0,
      delegation: { id: delegationId, type: 'delegation', target: 'responses', response_id: responseId },
    });
    wrap({ type: 'response.created', response: { id: responseId, status: 'in_progress' } });
    for (const call of calls) {
      const item = {
        type: 'function_call',
        id: this.id('fc'),
        status: 'completed',
        call_id: call.callId ?? this.id('call'),
        name: call.name,
        arguments: call.arguments,
      };
      wrap({ type: 'response.output_item.done', response_id: responseId, output_index: 0, item });
    }
    wrap({
      type: 'response.completed',
      response: {
        id: responseId,
        status: 'completed',
        usage: { input_tokens: 40, output_tokens: 12, total_tokens: 52 },
      },
    });
  }

  // ---- the caller --------------------------------------------------------------------------------

  private append(audio: unknown): void {
    if (typeof audio !== 'string') return this.error('invalid_value', 'audio must be base64.', 'audio');
    if (!this.started) return this.error('session_not_started', 'Audio before session.started.', null);
    const bytes = Buffer.from(audio, 'base64');
    const params = {
      thresholdDbfs: this.opts.vadThresholdDbfs,
      startMs: 60,
      silenceMs: this.opts.silenceMs,
      prefixPaddingMs: 0,
    };
    this.vad.push(bytes, PCMU, this.appendedMs, params, (e) =>
      e.kind === 'start' ? this.callerStarted() : this.callerStopped(e.speechMs),
    );
    this.appendedMs += bytes.length / 8;
  }

  private callerStarted(): void {
    // Full duplex: the model hears the caller and stops itself. Fragments keep coming while they
    // talk (empty: the simulated words arrive whole at the end of the turn).
    this.speaking?.stop();
    const fragment = () =>
      this.send({
        type: 'session.input_transcript.delta',
        event_id: this.id('event'),
        delta: '',
        start_ms: 0,
        end_ms: 0,
      });
    fragment();
    if (this.callerTimer) clearInterval(this.callerTimer);
    this.callerTimer = setInterval(fragment, this.opts.transcriptEveryMs);
  }

  private callerStopped(ms: number): void {
    if (this.callerTimer) clearInterval(this.callerTimer);
    this.callerTimer = null;
    this.send({
      type: 'session.input_transcript.delta',
      event_id: this.id('event'),
      delta: this.brain.callerTranscript(ms),
      start_ms: 0,
      end_ms: 0,
    });
    this.later(200, () => this.say(this.brain.decide({ trigger: 'turn' }, this.tools)));
  }

  // ---- plumbing ----------------------------------------------------------------------------------

  private usage(): { seconds: number } {
    return { seconds: Math.round((Date.now() - this.startedAt) / 100) / 10 };
  }

  private error(code: string, message: string, param: string | null): void {
    this.errors.push({ code, param });
    this.send({
      type: 'error',
      event_id: this.id('event'),
      error: { type: 'invalid_request_error', code, message, ...(param ? { param } : {}) },
    });
  }

  private send(ev: Obj): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(JSON.stringify(ev));
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  private id(prefix: string): string {
    return `${prefix}_${++this.seq}`;
  }

  private cleanup(): void {
    this.speaking?.stop();
    if (this.callerTimer) clearInterval(this.callerTimer);
    if (this.prompt) clearTimeout(this.prompt);
    for (const t of this.timers) clearTimeout(t);
  }
}
