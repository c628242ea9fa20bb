import type { CallerSide, DataPlane, PlaneStats, ResponseReader } from '../../call/data-plane.js';
import type { Truncation } from '../../call/playback.js';
import type { Logger } from '../../log.js';
import type { ModelControlEvent } from '../../providers/realtime-connection.js';

// The data plane of a SIP call: there is none in this process. The caller's audio goes between the
// trunk and OpenAI, so nothing is gated, cleared or truncated here, and OpenAI stops its own playback
// when the caller talks (interrupt_response, src/providers/sip-session.ts). What the call still needs
// from a plane it gets from the sideband's events:
// - the assistant started speaking: the response's first message item;
// - the caller heard the response: when OpenAI says its playback stopped (`output_audio_buffer.stopped`,
//   SIP and WebRTC only), else as soon as the response ended. Generation runs ahead of the caller's ear,
//   so without waiting a goodbye would be cut by the hang-up and a transfer line by the refer;
// - the caller's keypad: `input_audio_buffer.dtmf_event_received`;
// - the caller hung up: OpenAI no longer knows the call (src/transports/openai-sip/sideband-link.ts).
// Ending the call, or giving up on it after the sideband is lost, is a hang-up over OpenAI's REST API.

/** Longer than any one answer a receptionist plays; past it the response counts as heard. */
const MAX_PLAYBACK_WAIT_MS = 30_000;

export class SidebandPlane implements DataPlane {
  private side: CallerSide | null = null;
  private responses: ResponseReader | null = null;
  /** The call is over at OpenAI (hung up, referred, or hung up by us): no REST hang-up is owed. */
  private over = false;
  /** Responses whose speech start was reported. */
  private started = new Set<string>();
  /** OpenAI's output audio buffer is playing to the caller (between `started` and `stopped`). */
  private playing = false;
  /** A response ended while its audio still played: `drained` waits for the playback to stop. */
  private owed: NodeJS.Timeout | null = null;

  constructor(
    private readonly hangUp: () => Promise<void>,
    private readonly log: Logger,
  ) {}

  attach(side: CallerSide, responses: ResponseReader): void {
    this.side = side;
    this.responses = responses;
  }

  /** Sideband events, before the call reads them. */
  modelEvent(e: ModelControlEvent): void {
    // The caller's keypad reaches the relay on the sideband (SIP's RFC 4733 events, decoded by OpenAI).
    if (e.type === 'dtmf') return this.side?.dtmf(e.digit);
    if (e.type === 'outputBuffer') return this.playback(e.phase);
    if (e.type !== 'assistantItem' || this.started.has(e.responseId)) return;
    if (this.responses?.isCancelled(e.responseId)) return;
    this.started.add(e.responseId);
    this.side?.audioStarted();
  }

  /** OpenAI ended the call (the caller hung up, or a refer took it away). */
  callGone(): void {
    this.forgetOwed();
    if (this.over) return;
    this.over = true;
    this.side?.hungUp();
  }

  assistantAudio(): void {
    // Never called: no assistant audio comes over a sideband socket.
  }

  setGate(): void {
    // Nothing to gate: OpenAI plays its audio to the caller itself.
  }

  responseEnded(): void {
    if (this.playing) {
      // Bounded: a `stopped` lost with a dropped sideband must not hold the call in draining for ever.
      this.forgetOwed();
      this.owed = setTimeout(() => this.heard(), MAX_PLAYBACK_WAIT_MS);
      return;
    }
    // After the call has read the response's end (this runs from inside that handling).
    queueMicrotask(() => this.side?.drained());
  }

  interrupt(): Truncation[] {
    return [];
  }

  playApology(): void {
    // No audio of ours reaches this caller: without its control channel the call is ended, not left
    // running with a model that can no longer book, transfer or be recorded.
    this.endLine('the sideband was lost');
  }

  finish(): Truncation[] {
    this.endLine('the call ended');
    return [];
  }

  stats(): PlaneStats {
    const none = { framesIn: 0, framesOut: 0, assistantAudioMs: 0, lateDeltasDropped: 0 };
    return { ...none, badTwilioMessages: 0, twilioSendRefused: 0 };
  }

  // One buffer, not one player per response: audio of a later response joins the run that plays, and
  // `stopped` comes once, when all of it has played, which is the same "all heard" a Twilio end mark gives.
  private playback(phase: 'started' | 'stopped' | 'cleared'): void {
    this.playing = phase === 'started';
    if (!this.playing && this.owed) this.heard();
  }

  private heard(): void {
    this.forgetOwed();
    this.playing = false;
    this.side?.drained();
  }

  private forgetOwed(): void {
    if (this.owed) clearTimeout(this.owed);
    this.owed = null;
  }

  private endLine(why: string): void {
    this.forgetOwed();
    if (this.over) return;
    this.over = true;
    this.hangUp().catch((err: unknown) =>
      this.log.warn({ err: err instanceof Error ? err.message : String(err), why }, 'SIP hang-up over REST failed'),
    );
  }
}
