import type { Logger } from '../../log.js';
import type { ModelControlEvent, ModelConnection } from '../../providers/realtime-connection.js';
import {
  DEFAULT_RECONNECT,
  type LinkHandlers,
  type ModelLink,
  type ReconnectPolicy,
} from '../../providers/reconnecting-connection.js';

// The control channel of one SIP call: OpenAI's sideband socket (`?call_id=`). Unlike a Media Streams
// model socket, the session lives on at OpenAI when the socket drops (the caller still hears the model),
// so a drop is answered by attaching again to the same call, not by a new session seeded with the
// conversation. Three endings:
// - attached again within the window: the call goes on; the record notes the reattach;
// - OpenAI refuses the call id (404): the call is over there (the caller hung up, or a refer or our
//   hang-up took it away): the data plane reports a hang-up;
// - nothing within the window: the call is told the model is gone (apology path: hung up over REST,
//   recorded as model_dropped).
// Events OpenAI sent while no socket was attached are lost; the chart's response timeout covers a lost
// response.done.

/** An upgrade refused with HTTP 404 (ModelConnection reports 4000 + status). */
const CALL_GONE = 4404;
/** Refusals another attempt will not change. */
const PERMANENT = new Set([4401, 4403]);

export interface SidebandHooks {
  /** Every control event, before the call sees it (the plane reads speech and response starts). */
  event(e: ModelControlEvent): void;
  /** OpenAI no longer knows the call. */
  gone(): void;
}

export class SidebandLink implements ModelLink {
  readonly provider = 'openai' as const;
  readonly openedAt: number;
  readonly droppedAudioBytes = 0;
  /** Sockets replaced after a drop. */
  reattaches = 0;
  private current: ModelConnection;
  private handlers: LinkHandlers | null = null;
  private closedByUs = false;
  private readyAtFirst: number | null = null;
  private gap: { since: number; attempts: number; code: number; reason: string; deadline: NodeJS.Timeout } | null =
    null;
  private retry: NodeJS.Timeout | null = null;
  /** Control writes made while detached, sent in order once attached again. */
  private queued: ((c: ModelConnection) => void)[] = [];

  constructor(
    private readonly open: () => ModelConnection,
    private readonly hooks: SidebandHooks,
    private readonly log: Logger,
    private readonly policy: ReconnectPolicy = DEFAULT_RECONNECT,
  ) {
    this.current = open();
    this.openedAt = this.current.openedAt;
  }

  get readyAt(): number | null {
    return this.readyAtFirst ?? this.current.readyAt;
  }

  /** False between a drop and the next attach. */
  get attached(): boolean {
    return this.gap === null && !this.closedByUs;
  }

  attach(handlers: LinkHandlers): void {
    this.handlers = handlers;
    this.listen(this.current);
  }

  /** Never called on a SIP call: its audio does not pass through the relay. */
  appendAudio(): boolean {
    return false;
  }
  createResponse(instructions?: string): void {
    this.write((c) => c.createResponse(instructions));
  }
  cancelResponse(): void {
    // Nothing to cancel after a drop: OpenAI's own barge-in acts on the live session meanwhile.
    if (!this.gap) this.current.cancelResponse();
  }
  truncate(itemId: string, audioEndMs: number): void {
    if (!this.gap) this.current.truncate(itemId, audioEndMs);
  }
  addText(role: 'user' | 'system', text: string): void {
    this.write((c) => c.addText(role, text));
  }
  sendFunctionOutput(callId: string, output: string): void {
    this.write((c) => c.sendFunctionOutput(callId, output));
  }

  close(code?: number, reason?: string): void {
    this.closedByUs = true;
    this.clearTimers();
    this.current.close(code, reason);
  }

  private write(op: (c: ModelConnection) => void): void {
    if (this.gap) this.queued.push(op);
    else op(this.current);
  }

  private listen(conn: ModelConnection): void {
    conn.attach({
      onAudio: () => {},
      onEvent: (e) => {
        if (conn !== this.current) return;
        if (e.type === 'sessionUpdated') {
          if (this.gap) return this.reattached(conn);
          this.readyAtFirst ??= conn.readyAt;
        }
        this.hooks.event(e);
        this.handlers?.onEvent(e);
      },
      onClose: (code, reason) => {
        if (conn === this.current) this.onClose(code, reason);
      },
    });
  }

  private onClose(code: number, reason: string): void {
    if (this.closedByUs) return;
    if (code === CALL_GONE) {
      this.clearTimers();
      this.log.info({ code, reason }, 'OpenAI no longer knows the call: it ended there');
      this.gap = null;
      this.closedByUs = true;
      return this.hooks.gone();
    }
    if (PERMANENT.has(code)) return this.giveUp(code, reason);
    if (this.gap) return this.scheduleAttempt();
    this.log.warn({ code, reason }, 'sideband socket closed; attaching to the call again');
    this.gap = {
      since: Date.now(),
      attempts: 0,
      code,
      reason,
      deadline: setTimeout(() => this.giveUp(code, reason), this.policy.windowMs),
    };
    this.scheduleAttempt();
  }

  private scheduleAttempt(): void {
    const gap = this.gap;
    if (!gap) return;
    const delays = this.policy.delaysMs;
    const wait = delays[Math.min(gap.attempts, delays.length - 1)] ?? 0;
    this.retry = setTimeout(() => {
      this.retry = null;
      if (!this.gap || this.closedByUs) return;
      this.gap.attempts++;
      this.current = this.open();
      this.listen(this.current);
    }, wait);
  }

  private reattached(conn: ModelConnection): void {
    const gap = this.gap;
    if (!gap) return;
    clearTimeout(gap.deadline);
    this.gap = null;
    this.reattaches++;
    const gapMs = Date.now() - gap.since;
    this.log.info({ gapMs, attempts: gap.attempts }, 'sideband attached again; the call goes on');
    for (const op of this.queued.splice(0)) op(conn);
    const report = { ok: true, resumed: true, gapMs, attempts: gap.attempts, code: gap.code, reason: gap.reason };
    this.handlers?.onReconnect?.(report);
  }

  private giveUp(code: number, reason: string): void {
    const gap = this.gap;
    this.clearTimers();
    this.gap = null;
    this.queued = [];
    this.closedByUs = true;
    this.current.close();
    if (gap) {
      const report = { ok: false, resumed: false, gapMs: Date.now() - gap.since, attempts: gap.attempts, code, reason };
      this.handlers?.onReconnect?.(report);
    }
    this.log.warn({ code, reason }, 'sideband lost for good');
    this.handlers?.onClose(code, reason);
  }

  private clearTimers(): void {
    if (this.gap) clearTimeout(this.gap.deadline);
    if (this.retry) clearTimeout(this.retry);
    this.retry = null;
  }
}
