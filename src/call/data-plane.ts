import type { Truncation } from './playback.js';
import type { ResponseLifecycle } from './response-lifecycle.js';

// The seam between a call's control plane (the chart, the model's control events, tools, transcript,
// record: src/call/call.ts) and its data plane: whatever carries the audio between the caller and
// the model. Today that is a Twilio Media Stream whose frames pass through this process
// (src/transports/twilio/media-stream-plane.ts). A call whose audio never reaches the relay (SIP to
// the model) would be a plane with no audio at all: nothing to gate, nothing to clear, a response
// "heard" as soon as it ends. The call only ever talks to this interface.

/** What a data plane tells its call. */
export interface CallerSide {
  /** The caller has heard everything of the response last reported ended. */
  drained(): void;
  /** The first audio of a response reached the caller. */
  audioStarted(): void;
  /** One keypad digit. */
  dtmf(digit: string): void;
  /** The caller hung up (Twilio `stop`). */
  hungUp(): void;
  /** The caller's line went away without a hang-up (socket closed). */
  lineClosed(): void;
}

/** Counters a data plane keeps for the call record. */
export interface PlaneStats {
  framesIn: number;
  framesOut: number;
  /** Assistant audio sent towards the caller, all responses. */
  assistantAudioMs: number;
  /** Model audio discarded: the gate was closed or the response was cancelled. */
  lateDeltasDropped: number;
  badTwilioMessages: number;
  twilioSendRefused: number;
}

/** What a data plane may ask of the response lifecycle: whether a delta is live, and first. */
export type ResponseReader = Pick<ResponseLifecycle, 'audio' | 'isCancelled'>;

/** What a call asks of its data plane. */
export interface DataPlane {
  /** Once, when the call exists: where to report, and whom to ask about responses. */
  attach(side: CallerSide, responses: ResponseReader): void;
  /** Hot path: one assistant audio delta from the model (never called on a plane without audio). */
  assistantAudio(responseId: string, itemId: string, delta: string): void;
  /** Mirrors the chart's `audioOut` tag: may assistant audio reach the caller now? */
  setGate(open: boolean): void;
  /** A response ended normally: report `drained` once the caller has heard all of it. */
  responseEnded(): void;
  /** Barge-in: stop what the caller hears now; how much of each unfinished item they heard. */
  interrupt(): Truncation[];
  /** The model is gone: play the relay's own apology. */
  playApology(): void;
  /** The call is over: what the caller heard of an unfinished answer, then close the caller's side. */
  finish(): Truncation[];
  stats(): PlaneStats;
}
