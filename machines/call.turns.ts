import { fromPromise } from 'xstate';
import type { CallDirective, EndReason, FunctionCall, ToolOutput, ToolRunner } from './call.types.js';

// The pieces the call chart (call.machine.ts) is built from: the shape every spoken turn shares, the
// response watchdog's transition, the barge-in actions and the tool actor. Plain config objects the
// chart spreads into its states, so a turn's shape is written once.

/** One child actor per tool call; the runner never rejects (its failures are outputs). */
export const runTool = fromPromise<ToolOutput, { call: FunctionCall; run: ToolRunner }>(({ input }) =>
  input.run(input.call),
);

// The first cause wins: a hang-up during the apology is still a model drop.
export const endWith = (reason: EndReason) => ({ type: 'setEndReason' as const, params: { reason } });

// Response watchdog. Where the relay waits for the model to speak (a response requested or created),
// `responseTimeout` after entering the state the model must have produced audio or finished the
// response (or the caller talked over it); otherwise it is stalled (socket open, session accepted,
// nothing coming) and the caller would sit in silence until MAX_CALL_SECONDS. The guard
// (`awaitingAudio`), not the timer, decides: a timer that fires after the audio started does nothing.
export const stalled = (target: string, reason?: EndReason) => ({
  guard: 'stalled' as const,
  target,
  ...(reason ? { actions: endWith(reason) } : {}),
});

/** The caller took the floor: stop playback, cancel what is still being produced. */
export const bargeIn = ['interrupt', 'standDown', 'callerSpoke'] as const;

/**
 * A conversational turn (the greeting, or any answer): the model produces it under the watchdog, a
 * response that asks for tools goes to toolPending, and once the caller has heard it all the call
 * listens. A response the model starts while ours drains (the caller answered early) is spoken.
 */
export const conversationalTurn = {
  tags: ['audioOut' as const],
  initial: 'producing' as const,
  states: {
    producing: {
      after: { responseTimeout: stalled('#call.apologizing', 'model_stalled') },
      on: {
        'model.responseDone': [
          { guard: 'hasFunctionCalls' as const, target: '#call.session.toolPending', actions: 'collectCalls' as const },
          { target: 'draining', actions: 'responseEnded' as const },
        ],
      },
    },
    draining: {
      on: {
        'playback.drained': { target: '#call.session.listening', actions: 'heard' as const },
        'model.responseCreated': { target: '#call.session.speaking.producing', actions: 'responseOpened' as const },
      },
    },
  },
};

/**
 * A closing turn (voicemail, goodbye): produced under the watchdog, then drained, then the call ends.
 * Nobody may answer it, so a stalled model or a finished playback both simply end the call.
 */
export const closingTurn = (reason?: EndReason) => ({
  producing: {
    after: { responseTimeout: stalled('#call.teardown', reason && 'model_stalled') },
    on: { 'model.responseDone': 'draining' },
  },
  draining: {
    on: { 'playback.drained': { target: '#call.teardown', ...(reason ? { actions: endWith(reason) } : {}) } },
  },
});

/**
 * Before the goodbye at wrap-up: the answer in progress may finish and be heard; a long one is cut
 * (played audio cleared, response cancelled) so the goodbye is heard within the limit. An answer the
 * model owns (bargeIn `model`) cannot be cut: it is let finish (the 20 s limit still holds).
 */
export const takingTheFloor = {
  waitingTurn: {
    always: [
      { guard: 'floorFree' as const, target: 'producing' },
      { guard: 'modelStopsItself' as const, target: 'waitingFloor' },
    ],
    after: { cutLongAnswer: { target: 'cutting', actions: ['interrupt' as const, 'standDown' as const] } },
    on: { 'model.responseDone': { actions: 'responseEnded' as const } },
  },
  waitingFloor: {
    always: { guard: 'floorFree' as const, target: 'producing' },
    on: { 'model.responseDone': { actions: 'responseEnded' as const } },
  },
  cutting: {
    // The cancelled answer must end before the goodbye is asked for.
    always: { guard: 'noActiveResponse' as const, target: 'producing' },
    on: { 'model.responseDone': { target: 'producing', actions: 'responseEnded' as const } },
  },
};

/** What the tool outputs ask of the call, if anything (the first directive wins). */
export const directiveOf = (outputs: ToolOutput[], type: CallDirective['type']) =>
  outputs.find((o) => o.directive?.type === type)?.directive;
