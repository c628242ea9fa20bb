import { and } from 'xstate';
import type { EndReason } from './call.types.js';

// The shapes the abstract test model (call.model.ts) repeats, written once: the watchdog's arming and
// firing, where tool outputs lead, a conversational turn and a closing turn.

export const endWith = (reason: EndReason) => ({ type: 'endWith' as const, params: { reason } });

// States that wait for the model to speak arm the response watchdog on entry; when it fires, a
// response that is owed and silent means a stalled model. Spread into those states.
export const watches = { entry: 'arm' as const, exit: 'disarm' as const };
export const watchdog = (target: string, then: ReadonlyArray<ReturnType<typeof endWith> | 'endAsClosing'> = []) => ({
  'timer.responseTimeout': [
    { guard: 'stalled' as const, target, actions: [...then, 'disarm' as const] },
    { actions: 'disarm' as const },
  ],
});

// Where tool outputs go back (with one response.create): a transfer line, a goodbye, or on with
// the conversation. `extra` are the conditions of the step that sends them.
export const outputsGo = (extra: ReadonlyArray<'lastToolQuiet' | 'allToolsDone'>) => [
  {
    guard: and([...extra, 'transferAsked']),
    target: '#call.session.transferring',
    actions: 'outputsSent' as const,
  },
  {
    guard: and([...extra, 'hangUpAsked']),
    target: '#call.session.ending',
    actions: [{ type: 'closeAs' as const, params: { reason: 'assistant_ended' as const } }, 'outputsSent' as const],
  },
  { guard: and([...extra]), target: '#call.session.listening', actions: 'outputsSent' as const },
];

// A conversational turn (greeting or answer): produced under the watchdog, a response with tool
// calls starts the tools, then the caller hears the rest; a response created meanwhile is spoken.
export const turn = {
  tags: ['audioOut' as const],
  initial: 'producing' as const,
  states: {
    producing: {
      ...watches,
      on: {
        ...watchdog('#call.apologizing', [endWith('model_stalled')]),
        'model.responseDoneWithTools': { target: '#call.session.toolPending', actions: 'startTools' as const },
        'model.responseDone': { target: 'draining', actions: 'responseEnded' as const },
      },
    },
    draining: {
      on: {
        'playback.drained': { target: '#call.session.listening', actions: 'heard' as const },
        'model.responseCreated': { target: '#call.session.speaking.producing', actions: 'responseStarted' as const },
      },
    },
  },
};

// A closing turn (voicemail, goodbye): produced under the watchdog, drained, then the call ends.
export const closing = (reason?: EndReason) => ({
  producing: {
    ...watches,
    on: {
      ...watchdog('#call.teardown', reason ? [endWith('model_stalled')] : []),
      'model.responseDone': 'draining',
      'model.responseDoneWithTools': 'draining',
    },
  },
  draining: {
    on: { 'playback.drained': { target: '#call.teardown', ...(reason ? { actions: endWith(reason) } : {}) } },
  },
});
