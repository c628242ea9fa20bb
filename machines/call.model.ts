import { assign, setup } from 'xstate';
import type { SnapshotFrom } from 'xstate';
import type { EndReason } from './call.types.js';

// Abstract test model of `callMachine` (call.machine.ts) for model-based testing with
// `createTestModel` from 'xstate/graph'. Same state ids and nesting as the chart, plus a leading
// `init` whose `call.start` carries the SUT's configuration. `createTestModel` refuses `after` and
// `invoke`, so every timer is an explicit `timer.*` event and a finished tool is `tool.done`
// (one tool, oldest first). The model is written from the spec, not copied from the chart: it says
// what must happen, the harness checks that the real actor does it.

export interface CallModelContext {
  /** Twilio AMD said a machine answered (voicemail instead of a conversation). */
  machine: boolean;
  greetingInterruptible: boolean;
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
  /** First cause wins. */
  endReason: EndReason | null;
}

export type CallModelEvent =
  | { type: 'call.start'; machine: boolean; interruptible: boolean }
  | { type: 'caller.hungUp' }
  | { type: 'line.closed' }
  | { type: 'caller.dtmf' }
  | { type: 'model.ready' }
  | { type: 'model.closed' }
  | { type: 'model.error'; fatal: boolean }
  | { type: 'model.responseCreated' }
  /** Without tool calls; a cancelled one may still carry a half-written call that must be ignored. */
  | { type: 'model.responseDone'; status: 'completed' | 'cancelled' }
  | { type: 'model.responseDoneWithTools'; calls: 1 | 2 }
  | { type: 'model.audioStarted' }
  | { type: 'model.speechStarted' }
  | { type: 'playback.drained' }
  | { type: 'server.shutdown' }
  | { type: 'tool.done' }
  | { type: 'timer.connectTimeout' }
  | { type: 'timer.maxCall' }
  | { type: 'timer.apologyHangup' }
  | { type: 'timer.bargeInSettle' }
  | { type: 'timer.wrapUpLimit' }
  | { type: 'timer.voicemailLimit' }
  | { type: 'timer.toolFiller' }
  | { type: 'timer.responseTimeout' };

/** Payload variants the traversal tries (event types without payload are discovered by itself). */
export const callModelEventCases: CallModelEvent[] = [
  { type: 'call.start', machine: false, interruptible: true },
  { type: 'call.start', machine: false, interruptible: false },
  // AMD → voicemail: the greeting flag is irrelevant there.
  { type: 'call.start', machine: true, interruptible: false },
  { type: 'model.error', fatal: true },
  { type: 'model.error', fatal: false },
  { type: 'model.responseDone', status: 'completed' },
  { type: 'model.responseDone', status: 'cancelled' },
  { type: 'model.responseDoneWithTools', calls: 1 },
  { type: 'model.responseDoneWithTools', calls: 2 },
];

const noop = () => {};
const endWith = (reason: EndReason) => ({ type: 'endWith' as const, params: { reason } });

// States that wait for the model to speak arm the response watchdog on entry; when it fires, a
// response that is owed and silent means a stalled model. Spread into those states.
const watches = { entry: 'arm' as const, exit: 'disarm' as const };
const watchdog = (target: string, reason?: EndReason) => ({
  'timer.responseTimeout': [
    { guard: 'stalled' as const, target, actions: reason ? [endWith(reason), 'disarm' as const] : ['disarm' as const] },
    { actions: 'disarm' as const },
  ],
});

// A conversational turn (greeting or answer): produced under the watchdog, a response with tool
// calls starts the tools, then the caller hears the rest; a response created meanwhile is spoken.
const turn = {
  tags: ['audioOut' as const],
  initial: 'producing' as const,
  states: {
    producing: {
      ...watches,
      on: {
        ...watchdog('#call.apologizing', 'model_stalled'),
        'model.responseDoneWithTools': { target: '#call.session.toolPending', actions: 'startTools' as const },
        'model.responseDone': { target: 'draining', actions: 'responseEnded' as const },
      },
    },
    draining: {
      on: {
        'playback.drained': '#call.session.listening',
        'model.responseCreated': { target: '#call.session.speaking.producing', actions: 'responseStarted' as const },
      },
    },
  },
};

// A closing turn (voicemail, goodbye): produced under the watchdog, drained, then the call ends.
const closing = (reason?: EndReason) => ({
  producing: {
    ...watches,
    on: {
      ...watchdog('#call.teardown', reason && 'model_stalled'),
      'model.responseDone': 'draining',
      'model.responseDoneWithTools': 'draining',
    },
  },
  draining: {
    on: { 'playback.drained': { target: '#call.teardown', ...(reason ? { actions: endWith(reason) } : {}) } },
  },
});

export const callModel = setup({
  types: {
    context: {} as CallModelContext,
    events: {} as CallModelEvent,
    tags: {} as 'audioOut' | 'live',
  },
  actions: {
    endWith: assign({ endReason: ({ context }, params: { reason: EndReason }) => context.endReason ?? params.reason }),
    // Requested by the relay or created by the model: its audio is owed from now.
    responseStarted: assign({ responseActive: true, awaiting: true }),
    standDown: assign({ awaiting: false }),
    arm: assign({ watchdog: true }),
    disarm: assign({ watchdog: false }),
    // Tool outputs went back with one response.create.
    outputsSent: assign({ toolsLeft: 0, responseActive: true, awaiting: true }),
    responseEnded: assign({ responseActive: false, awaiting: false }),
    // A completed response asked for tools: they all start now.
    startTools: assign({
      responseActive: false,
      awaiting: false,
      toolsLeft: ({ event }) => (event.type === 'model.responseDoneWithTools' ? event.calls : 0),
    }),
    // Markers only: an empty transition is "inert" and the traversal would never try its event.
    forwardDtmf: (_: unknown, _params: { respond: boolean }) => {},
    stopPlayback: noop,
  },
  guards: {
    machineAnswered: ({ context }) => context.machine,
    greetingInterruptible: ({ context }) => context.greetingInterruptible,
    noActiveResponse: ({ context }) => !context.responseActive,
    lastToolAndQuiet: ({ context }) => context.toolsLeft <= 1 && !context.responseActive,
    allToolsDone: ({ context }) => context.toolsLeft === 0,
    fatal: ({ event }) => event.type === 'model.error' && event.fatal,
    stalled: ({ context }) => context.awaiting,
  },
}).createMachine({
  id: 'call',
  context: {
    machine: false,
    greetingInterruptible: false,
    responseActive: false,
    awaiting: false,
    watchdog: false,
    toolsLeft: 0,
    endReason: null,
  },
  initial: 'init',
  // `init` never sees these: the test model's filterEvents only offers call.start there.
  on: {
    'caller.hungUp': { target: '.teardown', actions: endWith('caller_hung_up') },
    'line.closed': { target: '.teardown', actions: endWith('twilio_closed') },
    'model.responseCreated': { actions: 'responseStarted' },
    // Any response.done ends the active response, whether or not it asked for tools.
    'model.responseDone': { actions: 'responseEnded' },
    'model.responseDoneWithTools': { actions: 'responseEnded' },
    'model.audioStarted': { actions: 'standDown' },
  },
  states: {
    init: {
      on: {
        'call.start': {
          target: 'connecting',
          actions: assign(({ event }) => ({ machine: event.machine, greetingInterruptible: event.interruptible })),
        },
      },
    },

    connecting: {
      on: {
        'timer.connectTimeout': { target: 'apologizing', actions: endWith('model_connect_timeout') },
        'model.ready': [{ guard: 'machineAnswered', target: 'voicemail' }, { target: 'session' }],
        'model.closed': { target: 'apologizing', actions: endWith('model_dropped') },
        'model.error': { guard: 'fatal', target: 'apologizing', actions: endWith('model_error') },
        'server.shutdown': { target: 'teardown', actions: endWith('server_shutdown') },
      },
    },

    session: {
      tags: ['live'],
      initial: 'greeting',
      on: {
        'timer.maxCall': { target: 'wrappingUp', actions: endWith('max_duration') },
        'model.closed': { target: 'apologizing', actions: endWith('model_dropped') },
        'model.error': { guard: 'fatal', target: 'apologizing', actions: endWith('model_error') },
        'server.shutdown': { target: 'wrappingUp', actions: endWith('server_shutdown') },
        'caller.dtmf': { actions: { type: 'forwardDtmf', params: { respond: false } } },
      },
      states: {
        greeting: {
          ...turn,
          // The greeting is requested on entry: a barge-in before response.created must cancel it.
          entry: 'responseStarted',
          // A barge-in cancels what was owed: the watchdog stands down.
          on: { 'model.speechStarted': { guard: 'greetingInterruptible', target: 'bargeIn', actions: 'standDown' } },
        },

        listening: {
          ...watches,
          on: {
            ...watchdog('#call.apologizing', 'model_stalled'),
            'model.responseCreated': { target: 'speaking', actions: 'responseStarted' },
            // Keypad digits ask for a response: the watchdog starts over.
            'caller.dtmf': {
              target: 'listening',
              reenter: true,
              actions: [{ type: 'forwardDtmf', params: { respond: true } }, 'responseStarted'],
            },
          },
        },

        speaking: {
          ...turn,
          on: { 'model.speechStarted': { target: 'bargeIn', actions: 'standDown' } },
        },

        bargeIn: {
          on: {
            'timer.bargeInSettle': 'listening',
            'model.responseDone': { target: 'listening', actions: 'responseEnded' },
            // Completed before the cancel landed: the tools still run.
            'model.responseDoneWithTools': {
              target: 'toolPending',
              actions: 'startTools',
            },
            'model.responseCreated': { target: 'speaking', actions: 'responseStarted' },
          },
        },

        toolPending: {
          tags: ['audioOut'],
          initial: 'working',
          on: {
            'tool.done': [
              // Outputs go back with one response.create (a response is requested again), but not
              // while the filler is still being spoken.
              { guard: 'lastToolAndQuiet', target: 'listening', actions: 'outputsSent' },
              { actions: assign({ toolsLeft: ({ context }) => Math.max(0, context.toolsLeft - 1) }) },
            ],
            // Speech over a filler or a pre-tool sentence stops playback; the tools keep running.
            'model.speechStarted': { actions: ['stopPlayback', 'standDown'] },
            // A response the model started by itself (the caller spoke) ended after the last tool.
            'model.responseDone': [
              { guard: 'allToolsDone', target: '#call.session.listening', actions: 'outputsSent' },
              { actions: 'responseEnded' },
            ],
            'model.responseDoneWithTools': [
              { guard: 'allToolsDone', target: '#call.session.listening', actions: 'outputsSent' },
              { actions: 'responseEnded' },
            ],
          },
          states: {
            working: { on: { 'timer.toolFiller': 'filler' } },
            filler: {
              entry: ['responseStarted', 'arm'],
              exit: 'disarm',
              on: {
                ...watchdog('#call.apologizing', 'model_stalled'),
                'model.responseDone': [
                  { guard: 'allToolsDone', target: '#call.session.listening', actions: 'outputsSent' },
                  { target: 'waiting', actions: 'responseEnded' },
                ],
                // The filler itself must not start tools: its calls are ignored.
                'model.responseDoneWithTools': [
                  { guard: 'allToolsDone', target: '#call.session.listening', actions: 'outputsSent' },
                  { target: 'waiting', actions: 'responseEnded' },
                ],
              },
            },
            waiting: {},
          },
        },
      },
    },

    voicemail: {
      tags: ['audioOut'],
      // The voicemail message is requested on entry.
      entry: 'responseStarted',
      initial: 'producing',
      on: {
        'timer.voicemailLimit': { target: 'teardown', actions: endWith('voicemail_left') },
        'model.closed': { target: 'teardown', actions: endWith('model_dropped') },
        'model.error': { guard: 'fatal', target: 'teardown', actions: endWith('model_error') },
      },
      states: closing('voicemail_left'),
    },

    wrappingUp: {
      tags: ['audioOut'],
      initial: 'waitingTurn',
      on: {
        'timer.wrapUpLimit': 'teardown',
        'model.closed': 'teardown',
        'model.error': { guard: 'fatal', target: 'teardown' },
      },
      states: {
        waitingTurn: {
          always: { guard: 'noActiveResponse', target: 'producing' },
          on: {
            'model.responseDone': { target: 'producing', actions: 'responseEnded' },
            'model.responseDoneWithTools': { target: 'producing', actions: 'responseEnded' },
          },
        },
        ...closing(),
        producing: { ...closing().producing, entry: ['responseStarted', 'arm'] },
      },
    },

    apologizing: { on: { 'timer.apologyHangup': 'teardown' } },

    teardown: { type: 'final' },
  },
});

export type CallModelSnapshot = SnapshotFrom<typeof callModel>;

/**
 * State identity for the traversal: the value plus only the context that can still change what
 * happens next or what the oracle expects (pitfall 3 in docs/xstate.md), plus the incoming
 * transition so that every transition, including targetless ones, gets its own path.
 */
export function serializeModelState(
  snapshot: CallModelSnapshot,
  event: { type: string } | undefined,
  prev: CallModelSnapshot | undefined,
): string {
  const c = snapshot.context;
  const relevant = {
    machine: snapshot.matches('connecting') ? c.machine : undefined,
    greetingInterruptible:
      snapshot.matches('connecting') || snapshot.matches({ session: 'greeting' }) ? c.greetingInterruptible : undefined,
    responseActive:
      snapshot.matches('session') || snapshot.matches('connecting') || snapshot.matches('wrappingUp')
        ? c.responseActive
        : undefined,
    toolsLeft: snapshot.matches({ session: 'toolPending' }) ? c.toolsLeft : undefined,
    awaiting: c.watchdog ? c.awaiting : undefined,
    watchdog: c.watchdog,
    endReason: c.endReason,
  };
  const via = event ? ` via ${JSON.stringify(event)} from ${JSON.stringify(prev?.value)}` : '';
  return JSON.stringify([snapshot.value, relevant]) + via;
}
