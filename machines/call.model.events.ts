import type { BargeInOwner, EndReason } from './call.types.js';

// The abstract test model's context and events (call.model.ts): what the model tracks of a call and
// every step a generated path can take, timers and tool completions included.

export interface CallModelContext {
  /** Twilio AMD said a machine answered (voicemail instead of a conversation). */
  machine: boolean;
  greetingInterruptible: boolean;
  /** Who stops the assistant when the caller talks over it (the chart's `bargeIn` input). */
  bargeIn: BargeInOwner;
  /** From the relay requesting a response (or model.responseCreated) to model.responseDone. */
  responseActive: boolean;
  /** A response was requested or created and has produced no audio yet; cleared by its audio, its end or a barge-in. */
  awaiting: boolean;
  /**
   * The response watchdog timer is armed: entering a state that waits for the model to speak arms
   * it, leaving it or firing disarms it.
   */
  watchdog: boolean;
  /** Tool calls still running in toolPending. */
  toolsLeft: number;
  /** The response that started the running tools spoke first (a preamble): no filler. */
  preambled: boolean;
  /** A finished tool's output asked for a transfer / a hang-up (cleared when the outputs go back). */
  transferAsked: boolean;
  hangUpAsked: boolean;
  /** Assistant audio has started and the caller has not finished hearing it. */
  playing: boolean;
  /** Between the caller's speech started and stopped. */
  callerSpeaking: boolean;
  /** Silences re-prompted since the caller last spoke. */
  silences: number;
  /** The silence timer is armed (listening arms it; firing, with or without effect, disarms it). */
  silenceArmed: boolean;
  /** How the call ends once the goodbye being said is heard. */
  closing: EndReason | null;
  /** First cause wins. */
  endReason: EndReason | null;
}

export type CallModelEvent =
  | { type: 'call.start'; machine: boolean; interruptible: boolean; bargeIn: BargeInOwner }
  | { type: 'caller.hungUp' }
  | { type: 'line.closed' }
  | { type: 'caller.dtmf' }
  | { type: 'model.ready' }
  | { type: 'model.closed' }
  | { type: 'model.error'; fatal: boolean }
  | { type: 'model.responseCreated' }
  /** Without tool calls; a cancelled one may still carry a half-written call that must be ignored. */
  | { type: 'model.responseDone'; status: 'completed' | 'cancelled' }
  /** `spoke`: the response said something before its calls (a preamble), so no filler is owed. */
  | { type: 'model.responseDoneWithTools'; calls: 1 | 2; spoke: boolean }
  | { type: 'model.audioStarted' }
  | { type: 'model.speechStarted' }
  | { type: 'model.speechStopped' }
  | { type: 'playback.drained' }
  | { type: 'server.shutdown' }
  | { type: 'transfer.failed' }
  /** The oldest running tool finished; its output may ask for a transfer or a hang-up. */
  | { type: 'tool.done'; directive: 'none' | 'transfer' | 'hangUp' }
  | { type: 'timer.connectTimeout' }
  | { type: 'timer.maxCall' }
  | { type: 'timer.apologyHangup' }
  | { type: 'timer.bargeInSettle' }
  | { type: 'timer.wrapUpLimit' }
  | { type: 'timer.voicemailLimit' }
  | { type: 'timer.toolFiller' }
  | { type: 'timer.responseTimeout' }
  | { type: 'timer.silence' }
  | { type: 'timer.cutLongAnswer' }
  | { type: 'timer.transferTimeout' };

/** Payload variants the traversal tries (event types without payload are discovered by itself). */
export const callModelEventCases: CallModelEvent[] = [
  { type: 'call.start', machine: false, interruptible: true, bargeIn: 'relay' },
  { type: 'call.start', machine: false, interruptible: false, bargeIn: 'relay' },
  // A model that stops itself (GPT-Live, SIP): the greeting flag cannot hold it to its greeting.
  { type: 'call.start', machine: false, interruptible: false, bargeIn: 'model' },
  // AMD → voicemail: the greeting flag is irrelevant there.
  { type: 'call.start', machine: true, interruptible: false, bargeIn: 'relay' },
  { type: 'model.error', fatal: true },
  { type: 'model.error', fatal: false },
  { type: 'model.responseDone', status: 'completed' },
  { type: 'model.responseDone', status: 'cancelled' },
  { type: 'model.responseDoneWithTools', calls: 1, spoke: false },
  { type: 'model.responseDoneWithTools', calls: 2, spoke: false },
  { type: 'model.responseDoneWithTools', calls: 1, spoke: true },
  { type: 'tool.done', directive: 'none' },
  { type: 'tool.done', directive: 'transfer' },
  { type: 'tool.done', directive: 'hangUp' },
];
