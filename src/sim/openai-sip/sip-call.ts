// One call as the OpenAI SIP imitation holds it: ringing until the application accepts or rejects it
// (or it rings out), then a live model session fed by the caller's line and watched through sideband
// sockets, until the caller hangs up, the application refers or hangs it up, or the session expires.
// Tests drive the caller's side (say, pressDigit, hangUp) and the network (dropSideband, refuseSideband).
import type { CallAcceptParams } from 'openai/resources/realtime/calls';
import type { WebSocket } from 'ws';
import type { FrameClock } from '../clock/frame-clock.js';
import type { JsonObject } from '../model/model-protocol.js';
import type { FakeModelSession } from '../model/model-server.js';
import { ConditionWaiters } from '../twilio/condition-waiters.js';
import { CallerLine } from './caller-line.js';
import { SidebandHub } from './sideband-hub.js';
import { ServerPlayback } from './server-playback.js';
import { bytesPerMs } from '../model/model-audio.js';

export type SimSipCallState = 'ringing' | 'accepted' | 'rejected' | 'referred' | 'ended' | 'missed';

export interface SimSipCall {
  readonly callId: string;
  readonly state: SimSipCallState;
  /** The application's HTTP answer to the webhook (0: no answer, e.g. connection refused). */
  readonly webhookStatus: number;
  /** performance.now() when the webhook left (the bench's webhook-to-accept figure). */
  readonly webhookSentAt: number;
  /** The webhook as sent, for replay tests. */
  readonly webhook: { headers: Record<string, string>; body: string };
  readonly rejectStatus: number | undefined;
  readonly referTarget: string | undefined;
  readonly acceptBody: CallAcceptParams | undefined;
  /** The live model session once accepted (closed once the call ends). */
  readonly session: FakeModelSession | undefined;
  readonly sidebandsOpened: number;
  /** Sideband sockets attached now. */
  readonly sidebandsAttached: number;
  /** Session events sent while no sideband was attached (dropped). */
  readonly eventsDropped: number;
  /** What the caller heard the assistant say: one transcript per spoken item, as far as it was spoken. */
  readonly heard: readonly string[];
  /**
   * The caller speaks: resolves when the audio has been "spoken" (at once if the call is over).
   * Throws while the call rings: nobody is on the line to hear it.
   */
  say(text: string): Promise<void>;
  /** DTMF: `input_audio_buffer.dtmf_event_received` on the sideband (SIP only). */
  pressDigit(digit: string): void;
  /** The caller hangs up: sidebands closed (1000), later upgrades for this call get 404. */
  hangUp(): void;
  /** Network drop of the attached sideband(s): the call stays up, a reattach is allowed. */
  dropSideband(): void;
  /** The next n sideband upgrades for this call are refused with 503 (or all of them). */
  refuseSideband(n: number | 'forever'): void;
  waitFor(state: SimSipCallState, timeoutMs?: number): Promise<void>;
  /** Resolves when a sideband is attached (now or later). */
  waitForSideband(timeoutMs?: number): Promise<void>;
}

export interface SipCallDeps {
  ringTimeoutMs: number;
  clock: FrameClock;
  /** Makes the call's model session on accept, writing to `hub`. */
  makeSession(hub: SidebandHub, session: JsonObject, callerTranscript: () => string | undefined): FakeModelSession;
}

const DTMF = /^[0-9*#A-D]$/;

export class SipCall implements SimSipCall {
  state: SimSipCallState = 'ringing';
  webhookStatus = 0;
  webhookSentAt = 0;
  webhook: { headers: Record<string, string>; body: string } = { headers: {}, body: '' };
  rejectStatus: number | undefined;
  referTarget: string | undefined;
  acceptBody: CallAcceptParams | undefined;
  session: FakeModelSession | undefined;
  private readonly hub: SidebandHub;
  private readonly line: CallerLine;
  private readonly waiters = new ConditionWaiters();
  private readonly ringTimer: NodeJS.Timeout;
  private refusals = 0;

  constructor(
    readonly callId: string,
    private readonly deps: SipCallDeps,
  ) {
    this.line = new CallerLine(deps.clock);
    this.hub = new SidebandHub(
      () => this.waiters.notify(),
      (code, reason) => this.end('ended', code, reason),
    );
    // OpenAI does not say how long an unanswered call rings; the sim's default is in sip-server.ts.
    this.ringTimer = setTimeout(() => this.end('missed', 1000, 'ring timeout'), deps.ringTimeoutMs);
    this.ringTimer.unref();
  }

  get sidebandsOpened(): number {
    return this.hub.attachedEver;
  }
  get sidebandsAttached(): number {
    return this.hub.attached;
  }
  get eventsDropped(): number {
    return this.hub.dropped;
  }
  get heard(): readonly string[] {
    return this.hub.heard;
  }
  get live(): boolean {
    return this.state === 'ringing' || this.state === 'accepted';
  }

  // ---- the application's side (REST and sideband) ------------------------------------------------

  /** `params`: the accept body as the SDK types it; `session`: the same, validated, for the session. */
  accept(params: CallAcceptParams, session: JsonObject): void {
    clearTimeout(this.ringTimer);
    this.acceptBody = params;
    const made = this.deps.makeSession(this.hub, session, () => this.line.takeSaid());
    this.session = made;
    this.hub.playback = new ServerPlayback(
      (event) => this.hub.send(JSON.stringify(event)),
      (bytes) => bytes / bytesPerMs(made.view.outputFormat),
    );
    this.line.start(made);
    this.setState('accepted');
  }

  reject(statusCode: number): void {
    this.rejectStatus = statusCode;
    this.end('rejected', 1000, 'rejected');
  }

  /** The call leaves OpenAI for `target`: the sidebands close, the session ends. */
  refer(target: string): void {
    this.referTarget = target;
    this.end('referred', 1000, 'call referred');
  }

  hangupByApplication(): void {
    this.end('ended', 1000, 'call hung up');
  }

  /** 503 for this upgrade when the test asked for refusals (counts one down). */
  refusesUpgrade(): boolean {
    if (this.refusals <= 0) return false;
    this.refusals--;
    return true;
  }

  /** A sideband socket for this accepted call: it gets session.created with the session as it is now. */
  attach(ws: WebSocket): void {
    const session = this.session;
    if (!session || this.state !== 'accepted') {
      ws.close(1000, 'call ended');
      return;
    }
    // OpenAI does not document what an attaching sideband receives first; a session.created with the
    // current session (as a new realtime socket gets) lets the application see the accepted config.
    const created = { type: 'session.created', event_id: session.ids.next('event'), session: session.sessionConfig };
    this.hub.attach(ws, [JSON.stringify(created)]);
  }

  // ---- the caller's and the network's side --------------------------------------------------------

  async say(text: string): Promise<void> {
    if (this.state === 'ringing') throw new Error(`call ${this.callId} is not answered yet: nobody hears the caller`);
    if (this.state !== 'accepted') return;
    await this.line.say(text);
  }

  pressDigit(digit: string): void {
    if (!DTMF.test(digit)) throw new Error(`invalid DTMF digit ${JSON.stringify(digit)}`);
    if (this.state !== 'accepted' || !this.session) throw new Error(`call ${this.callId} is ${this.state}`);
    // The shape of openai's InputAudioBufferDtmfEventReceivedEvent: no event_id in the SDK type.
    const received_at = Math.floor(Date.now() / 1000);
    this.session.sendRaw({ type: 'input_audio_buffer.dtmf_event_received', event: digit, received_at });
  }

  hangUp(): void {
    this.end('ended', 1000, 'caller hung up');
  }

  dropSideband(): void {
    this.hub.dropSidebands();
  }

  refuseSideband(n: number | 'forever'): void {
    this.refusals = n === 'forever' ? Number.POSITIVE_INFINITY : n;
  }

  waitFor(state: SimSipCallState, timeoutMs = 5000): Promise<void> {
    if (this.state !== state && !this.live) {
      return Promise.reject(new Error(`call ${this.callId} is ${this.state}; it will never be ${state}`));
    }
    return this.waiters.wait(() => this.state === state, timeoutMs, `call ${state}`);
  }

  waitForSideband(timeoutMs = 5000): Promise<void> {
    return this.waiters.wait(() => this.hub.attached > 0, timeoutMs, 'sideband attached');
  }

  /** The sim is closing: a live call ends as if the network went away. */
  shutdown(): void {
    this.end('ended', 1001, 'server shutting down');
  }

  private end(state: SimSipCallState, code: number, reason: string): void {
    if (!this.live) return;
    clearTimeout(this.ringTimer);
    this.line.stop();
    this.state = state;
    this.hub.end(code, reason);
    this.waiters.notify();
    this.waiters.finish(`call ${this.callId} is ${state}`);
  }

  private setState(state: SimSipCallState): void {
    this.state = state;
    this.waiters.notify();
  }
}
