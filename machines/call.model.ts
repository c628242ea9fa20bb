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
  /** Tool calls still running in toolPending. */
  toolsLeft: number;
  /** First cause wins. */
  endReason: EndReason | null;
}

export type CallModelEvent =
  | { type: 'call.start'; machine: boolean; interruptible: boolean }
  | { type: 'twilio.stop' }
  | { type: 'twilio.closed' }
  | { type: 'twilio.dtmf' }
  | { type: 'model.ready' }
  | { type: 'model.closed' }
  | { type: 'model.error'; fatal: boolean }
  | { type: 'model.responseCreated' }
  /** Without tool calls; a cancelled one may still carry a half-written call that must be ignored. */
  | { type: 'model.responseDone'; status: 'completed' | 'cancelled' }
  | { type: 'model.responseDoneWithTools'; calls: 1 | 2 }
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
  | { type: 'timer.toolFiller' };

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

export const callModel = setup({
  types: {
    context: {} as CallModelContext,
    events: {} as CallModelEvent,
    tags: {} as 'audioOut' | 'live',
  },
  actions: {
    endWith: assign({ endReason: ({ context }, params: { reason: EndReason }) => context.endReason ?? params.reason }),
    responseStarted: assign({ responseActive: true }),
    responseEnded: assign({ responseActive: false }),
    // A completed response asked for tools: they all start now.
    startTools: assign({ responseActive: false, toolsLeft: ({ event }) => (event.type === 'model.responseDoneWithTools' ? event.calls : 0) }),
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
  },
}).createMachine({
  id: 'call',
  context: { machine: false, greetingInterruptible: false, responseActive: false, toolsLeft: 0, endReason: null },
  initial: 'init',
  // `init` never sees these: the test model's filterEvents only offers call.start there.
  on: {
    'twilio.stop': { target: '.teardown', actions: endWith('caller_hung_up') },
    'twilio.closed': { target: '.teardown', actions: endWith('twilio_closed') },
    'model.responseCreated': { actions: 'responseStarted' },
    // Any response.done ends the active response, whether or not it asked for tools.
    'model.responseDone': { actions: 'responseEnded' },
    'model.responseDoneWithTools': { actions: 'responseEnded' },
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
        'twilio.dtmf': { actions: { type: 'forwardDtmf', params: { respond: false } } },
      },
      states: {
        greeting: {
          tags: ['audioOut'],
          // The greeting is requested on entry: a barge-in before response.created must cancel it.
          entry: 'responseStarted',
          initial: 'producing',
          on: { 'model.speechStarted': { guard: 'greetingInterruptible', target: 'bargeIn' } },
          states: {
            producing: {
              on: {
                'model.responseDoneWithTools': {
                  target: '#call.session.toolPending',
                  actions: 'startTools',
                },
                'model.responseDone': { target: 'draining', actions: 'responseEnded' },
              },
            },
            draining: {
              on: {
                'playback.drained': '#call.session.listening',
                'model.responseCreated': { target: '#call.session.speaking.producing', actions: 'responseStarted' },
              },
            },
          },
        },

        listening: {
          on: {
            'model.responseCreated': { target: 'speaking', actions: 'responseStarted' },
            'twilio.dtmf': { actions: [{ type: 'forwardDtmf', params: { respond: true } }, 'responseStarted'] },
          },
        },

        speaking: {
          tags: ['audioOut'],
          initial: 'producing',
          on: { 'model.speechStarted': 'bargeIn' },
          states: {
            producing: {
              on: {
                'model.responseDoneWithTools': {
                  target: '#call.session.toolPending',
                  actions: 'startTools',
                },
                'model.responseDone': { target: 'draining', actions: 'responseEnded' },
              },
            },
            draining: {
              on: {
                'playback.drained': '#call.session.listening',
                'model.responseCreated': { target: 'producing', actions: 'responseStarted' },
              },
            },
          },
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
              { guard: 'lastToolAndQuiet', target: 'listening', actions: assign({ toolsLeft: 0, responseActive: true }) },
              { actions: assign({ toolsLeft: ({ context }) => Math.max(0, context.toolsLeft - 1) }) },
            ],
            // Speech over a filler or a pre-tool sentence stops playback; the tools keep running.
            'model.speechStarted': { actions: 'stopPlayback' },
            // A response the model started by itself (the caller spoke) ended after the last tool.
            'model.responseDone': [
              { guard: 'allToolsDone', target: '#call.session.listening', actions: assign({ responseActive: true }) },
              { actions: 'responseEnded' },
            ],
            'model.responseDoneWithTools': [
              { guard: 'allToolsDone', target: '#call.session.listening', actions: assign({ responseActive: true }) },
              { actions: 'responseEnded' },
            ],
          },
          states: {
            working: { on: { 'timer.toolFiller': 'filler' } },
            filler: {
              entry: 'responseStarted',
              on: {
                'model.responseDone': [
                  { guard: 'allToolsDone', target: '#call.session.listening', actions: assign({ responseActive: true }) },
                  { target: 'waiting', actions: 'responseEnded' },
                ],
                // The filler itself must not start tools: its calls are ignored.
                'model.responseDoneWithTools': [
                  { guard: 'allToolsDone', target: '#call.session.listening', actions: assign({ responseActive: true }) },
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
      initial: 'producing',
      on: {
        'timer.voicemailLimit': { target: 'teardown', actions: endWith('voicemail_left') },
        'model.closed': { target: 'teardown', actions: endWith('model_dropped') },
        'model.error': { guard: 'fatal', target: 'teardown', actions: endWith('model_error') },
      },
      states: {
        producing: { on: { 'model.responseDone': 'draining', 'model.responseDoneWithTools': 'draining' } },
        draining: { on: { 'playback.drained': { target: '#call.teardown', actions: endWith('voicemail_left') } } },
      },
    },

    wrappingUp: {
      tags: ['audioOut'],
      initial: 'waitingTurn',
      on: { 'timer.wrapUpLimit': 'teardown', 'model.closed': 'teardown', 'model.error': { guard: 'fatal', target: 'teardown' } },
      states: {
        waitingTurn: {
          always: { guard: 'noActiveResponse', target: 'saying' },
          on: {
            'model.responseDone': { target: 'saying', actions: 'responseEnded' },
            'model.responseDoneWithTools': { target: 'saying', actions: 'responseEnded' },
          },
        },
        saying: { entry: 'responseStarted', on: { 'model.responseDone': 'draining', 'model.responseDoneWithTools': 'draining' } },
        draining: { on: { 'playback.drained': '#call.teardown' } },
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
    greetingInterruptible: snapshot.matches('connecting') || snapshot.matches({ session: 'greeting' }) ? c.greetingInterruptible : undefined,
    responseActive: snapshot.matches('session') || snapshot.matches('connecting') || snapshot.matches('wrappingUp') ? c.responseActive : undefined,
    toolsLeft: snapshot.matches({ session: 'toolPending' }) ? c.toolsLeft : undefined,
    endReason: c.endReason,
  };
  const via = event ? ` via ${JSON.stringify(event)} from ${JSON.stringify(prev?.value)}` : '';
  return JSON.stringify([snapshot.value, relevant]) + via;
}
