import { log as rootLog, type Logger } from '../log.js';
import type { ModelControlEvent, ModelConnection, ModelHandlers } from './realtime-connection.js';
import { finishInstructions, seedText } from './reconnect-text.js';
import { namesResumption, stopResuming } from './resume-refusal.js';

// A model connection that survives its socket dropping. It owns successive ModelConnections and
// shows a call the same surface as one: when the socket closes without the relay asking, it opens a
// new one at once, seeds the new session with the conversation so far as text, and carries on. On xAI
// the new socket first resumes the dropped conversation (dialect.ts): nothing is seeded then, and a
// refused resumption (resume-refusal.ts) falls back to a seeded fresh session. The caller hears a
// pause. Only if no session is ready within `windowMs` (or the endpoint refuses us outright:
// 401/403/404) does the call hear of the close, and apologise.
//
// What a new session cannot know is handled here, not in the call:
// - a response cut off by the drop is ended for the call (status `incomplete`) and, unless the call
//   already asked for another, the new session is asked to finish it briefly (a resumed one too);
// - response.create requests the old session never answered are sent again;
// - tool outputs for calls made before a fresh session become text (it has no such call_id);
// - cancel and truncate while no session is up have nothing to act on and are dropped.
// Before the first session is ready a drop is passed on as it is: the chart's connect timeout and
// apology already cover a model that cannot be reached at all.

/** What Call and the data plane use of a model connection. */
export interface ModelLink {
  readonly provider: ModelConnection['provider'];
  readonly openedAt: number;
  readonly readyAt: number | null;
  readonly droppedAudioBytes: number;
  attach(handlers: LinkHandlers): void;
  appendAudio(b64: string): boolean;
  createResponse(instructions?: string): void;
  cancelResponse(): void;
  truncate(itemId: string, audioEndMs: number): void;
  addText(role: 'user' | 'system', text: string): void;
  sendFunctionOutput(callId: string, output: string): void;
  close(code?: number, reason?: string): void;
}

export interface ReconnectReport {
  ok: boolean;
  /** The same conversation continued (xAI resumption, a SIP sideband attached again), nothing seeded. */
  resumed: boolean;
  /** From the drop to the new session being ready (or to giving up). */
  gapMs: number;
  attempts: number;
  /** Why the previous socket closed. */
  code: number;
  reason: string;
}

export interface LinkHandlers extends ModelHandlers {
  onReconnect?(report: ReconnectReport): void;
}

export interface ReconnectPolicy {
  /** From the drop: a new session must be ready within this, else the call apologises. */
  windowMs: number;
  /** Pause before each attempt (the last repeats); the first is immediate. */
  delaysMs: readonly number[];
}

/**
 * 5 s: a pause of a few seconds on a phone line passes for thinking; longer, callers say "hello?"
 * and the apology is the better answer. Loopback reconnects take a few ms, real ones ~0.3–1 s.
 */
export const DEFAULT_RECONNECT: ReconnectPolicy = { windowMs: 5000, delaysMs: [0, 250, 500, 1000] };

/** Upgrade refusals that another attempt will not change (ModelConnection reports 4000 + HTTP status). */
const PERMANENT = new Set([4401, 4403, 4404]);

/** Bounds the seed: the newest lines win; a long call's start matters least to what comes next. */
const MAX_NOTES = 80;
const MAX_NOTE_CHARS = 12_000;

export class ReconnectingModelConnection implements ModelLink {
  readonly provider: ModelConnection['provider'];
  readonly openedAt: number;
  private current: ModelConnection;
  private handlers: LinkHandlers | null = null;
  private closedByUs = false;
  private everReady = false;
  private readyAtFirst: number | null = null;
  private droppedBefore = 0;
  /** Set while no session is up after a drop. */
  private gap: Gap | null = null;
  /** The conversation the provider keeps for us (xAI's conversation.created), resumed after a drop. */
  private conversationId = '';
  private retry: NodeJS.Timeout | null = null;
  /** Session generation: tool call ids belong to the session that made them. */
  private generation = 0;
  private readonly callNames = new Map<string, { name: string; generation: number }>();
  private readonly notes: string[] = [];
  private readonly partial = new Map<string, string>();
  private openResponse = '';
  private openItem = '';
  /** response.create sent (or owed) that no response.created answered yet. */
  private pendingCreates: (string | undefined)[] = [];
  /** Responses the drop ended for the call: anything a resumed conversation still says of them is dropped. */
  private readonly gone = new Set<string>();
  /** What the cut-off response had said, to be finished by the next session. */
  private cutOff: string | null = null;
  /** Control writes made while no session was up, replayed in order once one is. */
  private queued: ((c: ModelConnection) => void)[] = [];
  private readonly log: Logger;

  constructor(
    private readonly open: (resumeConversationId?: string) => ModelConnection,
    private readonly policy: ReconnectPolicy = DEFAULT_RECONNECT,
    log?: Logger,
  ) {
    this.current = open();
    this.provider = this.current.provider;
    this.openedAt = this.current.openedAt;
    this.log = log ?? rootLog.child({ component: 'model-reconnect', provider: this.provider });
  }

  get readyAt(): number | null {
    return this.readyAtFirst ?? this.current.readyAt;
  }

  get droppedAudioBytes(): number {
    return this.droppedBefore + this.current.droppedAudioBytes;
  }

  /** Sockets replaced so far. */
  reconnects = 0;

  attach(handlers: LinkHandlers): void {
    this.handlers = handlers;
    this.listen(this.current);
  }

  appendAudio(b64: string): boolean {
    // During a gap the replacement holds audio until its session is ready (bounded), like the first.
    return this.current.appendAudio(b64);
  }

  createResponse(instructions?: string): void {
    this.pendingCreates.push(instructions);
    if (!this.gap) this.current.createResponse(instructions);
  }

  cancelResponse(): void {
    // The caller spoke: a cut-off answer is not to be finished any more.
    this.cutOff = null;
    if (!this.gap) this.current.cancelResponse();
  }

  truncate(itemId: string, audioEndMs: number): void {
    if (!this.gap) this.current.truncate(itemId, audioEndMs);
  }

  addText(role: 'user' | 'system', text: string): void {
    this.note(role === 'user' ? 'Caller' : 'Note', text);
    this.write((c) => c.addText(role, text));
  }

  sendFunctionOutput(callId: string, output: string): void {
    const call = this.callNames.get(callId);
    this.note(`Tool ${call?.name ?? 'result'}`, output);
    // Decided when written: a resumed conversation still knows the call_id, a fresh session does not.
    this.write((c) => {
      if (!call || call.generation === this.generation) return c.sendFunctionOutput(callId, output);
      c.addText('system', `Result of the ${call.name} call made before the reconnect: ${output}`);
    });
  }

  close(code = 1000, reason = 'call ended'): void {
    this.closedByUs = true;
    this.clearTimers();
    this.gap = null;
    this.current.close(code, reason);
  }

  // ---- the sockets ------------------------------------------------------------------------------

  private write(op: (c: ModelConnection) => void): void {
    if (this.gap) this.queued.push(op);
    else op(this.current);
  }

  private listen(conn: ModelConnection): void {
    conn.attach({
      onAudio: (responseId, itemId, delta) => {
        if (conn === this.current && !this.gone.has(responseId)) this.handlers?.onAudio(responseId, itemId, delta);
      },
      onEvent: (e) => {
        if (conn === this.current) this.onEvent(conn, e);
      },
      onClose: (code, reason) => {
        if (conn === this.current) this.onClose(code, reason);
      },
    });
  }

  private onEvent(conn: ModelConnection, e: ModelControlEvent): void {
    if ('responseId' in e && this.gone.has(e.responseId)) return;
    switch (e.type) {
      case 'conversationCreated':
        if (this.gap?.mode === 'resume' && e.conversationId !== this.conversationId)
          // A new, empty conversation: this socket is the fresh session, to be seeded once ready.
          this.refused(`conversation.created named ${e.conversationId || 'no id'}`);
        if (e.conversationId) this.conversationId = e.conversationId;
        break;
      case 'sessionUpdated':
        if (!this.everReady) {
          this.everReady = true;
          this.readyAtFirst = conn.readyAt;
          break;
        }
        if (this.gap) return this.resumed(conn);
        break;
      case 'responseCreated':
        this.pendingCreates.shift();
        this.openResponse = e.responseId;
        this.openItem = '';
        break;
      case 'assistantItem':
        this.openItem = e.itemId;
        break;
      case 'assistantTranscriptDelta':
        this.partial.set(e.itemId, (this.partial.get(e.itemId) ?? '') + e.delta);
        break;
      case 'assistantTranscript':
        this.partial.delete(e.itemId);
        this.note('Assistant', e.text);
        break;
      case 'userTranscript':
        this.note('Caller', e.text);
        break;
      case 'error':
        if (this.gap?.mode === 'resume' && namesResumption(e)) {
          this.refused(`${e.code}: ${e.message}`);
          this.attempt();
          return;
        }
        // The session cap (OpenAI: 60 minutes) is not the call's end: the next session carries on.
        if (e.code === 'session_expired' && this.everReady && !this.gap && !this.closedByUs) {
          this.log.info({ detail: e.message }, 'model session expired; continuing in a new one');
          this.beginGap(1000, 'session expired');
          return;
        }
        break;
      case 'responseDone':
        if (e.responseId === this.openResponse) this.openResponse = '';
        for (const c of e.functionCalls) {
          this.callNames.set(c.callId, { name: c.name, generation: this.generation });
          this.note('Assistant called', `${c.name}(${c.arguments})`);
        }
        break;
      default:
        break;
    }
    this.handlers?.onEvent(e);
  }

  private onClose(code: number, reason: string): void {
    if (this.closedByUs || !this.everReady) return this.handlers?.onClose(code, reason);
    if (this.gap) {
      // An attempt failed before its session was ready.
      if (this.gap.mode === 'resume' && stopResuming(code, ++this.gap.resumeFailures)) {
        this.refused(`${code} ${reason}`);
        return this.attempt();
      }
      if (PERMANENT.has(code)) return this.giveUp(code, reason);
      return this.scheduleAttempt();
    }
    this.log.warn({ code, reason }, 'model socket dropped mid-call; reconnecting');
    this.beginGap(code, reason);
  }

  /** No session from now on until a new one is ready (a drop, or the old session's cap). */
  private beginGap(code: number, reason: string): void {
    const deadline = setTimeout(
      () => this.giveUp(code, `${reason}; no new session within ${this.policy.windowMs} ms`),
      this.policy.windowMs,
    );
    deadline.unref();
    const mode = this.conversationId && this.current.canResume ? 'resume' : 'fresh';
    const cut = this.openResponse !== '';
    this.gap = { since: Date.now(), attempts: 0, code, reason, deadline, mode, resumeFailures: 0, cut };
    if (this.openResponse) {
      // The call must not wait for the end of a response whose socket is gone.
      const text = this.openItem ? (this.partial.get(this.openItem) ?? '') : '';
      this.cutOff = text;
      if (text) this.note('Assistant (cut off)', text);
      const responseId = this.openResponse;
      this.openResponse = '';
      this.gone.add(responseId);
      this.handlers?.onEvent({
        type: 'responseDone',
        responseId,
        status: 'incomplete',
        reason: 'reconnect',
        functionCalls: [],
        spokeBeforeCalls: false,
      });
    }
    this.attempt();
  }

  private scheduleAttempt(): void {
    const gap = this.gap;
    if (!gap) return;
    const delays = this.policy.delaysMs;
    const wait = delays[Math.min(gap.attempts, delays.length - 1)] ?? 0;
    this.retry = setTimeout(() => this.attempt(), wait);
    this.retry.unref();
  }

  private attempt(): void {
    const gap = this.gap;
    if (!gap || this.closedByUs) return;
    gap.attempts++;
    this.droppedBefore += this.current.droppedAudioBytes;
    this.current.close(1000, 'replaced');
    this.current = this.open(gap.mode === 'resume' ? this.conversationId : undefined);
    this.listen(this.current);
  }

  /** The provider would not resume the conversation: from now on this gap opens fresh sessions. */
  private refused(why: string): void {
    const gap = this.gap;
    if (gap?.mode !== 'resume') return;
    gap.mode = 'fresh';
    this.log.warn({ conversationId: this.conversationId, why }, 'resumption refused; seeding a fresh session');
  }

  /** A replacement session is ready: seed it unless it resumed, replay what waited, and carry on. */
  private resumed(conn: ModelConnection): void {
    const gap = this.gap;
    if (!gap) return;
    this.clearTimers();
    this.gap = null;
    this.reconnects++;
    const resumed = gap.mode === 'resume';
    if (!resumed) {
      this.generation++;
      if (this.notes.length > 0) conn.addText('system', seedText(this.notes));
    } else if (gap.cut) {
      // pydantic-ai reports (unconfirmed) that xAI carries a cut-off response on over the resumed
      // socket. Cancelled, so the caller never hears it twice; with none active the error is benign.
      conn.cancelResponse();
    }
    for (const op of this.queued.splice(0)) op(conn);
    for (const instructions of this.pendingCreates) conn.createResponse(instructions);
    if (this.cutOff !== null && this.pendingCreates.length === 0) {
      const instructions = finishInstructions(this.cutOff);
      this.pendingCreates.push(instructions);
      conn.createResponse(instructions);
    }
    this.cutOff = null;
    const gapMs = Date.now() - gap.since;
    this.log.info({ gapMs, attempts: gap.attempts, resumed }, 'model session replaced after a drop');
    const report = { ok: true, resumed, gapMs, attempts: gap.attempts, code: gap.code, reason: gap.reason };
    this.handlers?.onReconnect?.(report);
  }

  private giveUp(code: number, reason: string): void {
    const gap = this.gap;
    if (!gap || this.closedByUs) return;
    this.clearTimers();
    this.gap = null;
    this.closedByUs = true;
    this.current.close(1000, 'reconnect abandoned');
    const gapMs = Date.now() - gap.since;
    this.log.error({ gapMs, attempts: gap.attempts, code, reason }, 'model reconnect failed');
    this.handlers?.onReconnect?.({ ok: false, resumed: false, gapMs, attempts: gap.attempts, code, reason });
    this.handlers?.onClose(code, reason);
  }

  private clearTimers(): void {
    if (this.gap) clearTimeout(this.gap.deadline);
    if (this.retry) clearTimeout(this.retry);
    this.retry = null;
  }

  private note(who: string, text: string): void {
    if (!text) return;
    this.notes.push(`${who}: ${text}`);
    let chars = this.notes.reduce((n, l) => n + l.length, 0);
    while (this.notes.length > MAX_NOTES || (chars > MAX_NOTE_CHARS && this.notes.length > 1))
      chars -= this.notes.shift()?.length ?? 0;
  }
}

interface Gap {
  since: number;
  attempts: number;
  code: number;
  reason: string;
  deadline: NodeJS.Timeout;
  /** resume: the next socket asks for the dropped conversation; fresh: a new session, seeded. */
  mode: 'resume' | 'fresh';
  resumeFailures: number;
  /** A response was cut off by the drop. */
  cut: boolean;
}
