import { and, assign, setup } from 'xstate';
import type { EndReason } from './call.types.js';
import type { CallModelContext, CallModelEvent } from './call.model.events.js';
import { closing, endWith, outputsGo, turn, watchdog, watches } from './call.model.turns.js';

export { callModelEventCases, type CallModelContext, type CallModelEvent } from './call.model.events.js';
export { serializeModelState, type CallModelSnapshot } from './call.model.serialize.js';

// Abstract test model of `callMachine` (call.machine.ts) for model-based testing with
// `createTestModel` from 'xstate/graph'. Same state ids and nesting as the chart, plus a leading
// `init` whose `call.start` carries the SUT's configuration. `createTestModel` refuses `after` and
// `invoke`, so every timer is an explicit `timer.*` event and a finished tool is `tool.done`
// (one tool, oldest first). The model is written from the spec, not copied from the chart: it says
// what must happen, the harness checks that the real actor does it.

const noop = () => {};

export const callModel = setup({
  types: {
    context: {} as CallModelContext,
    events: {} as CallModelEvent,
    tags: {} as 'audioOut' | 'live',
  },
  actions: {
    endWith: assign({ endReason: ({ context }, params: { reason: EndReason }) => context.endReason ?? params.reason }),
    endAsClosing: assign({ endReason: ({ context }) => context.endReason ?? context.closing }),
    closeAs: assign({ closing: (_, params: { reason: EndReason }) => params.reason }),
    keepOpen: assign({ closing: null }),
    // Requested by the relay or created by the model: its audio is owed from now.
    responseStarted: assign({ responseActive: true, awaiting: true }),
    // The caller took the floor: nothing is owed or playing any more.
    standDown: assign({ awaiting: false, playing: false }),
    audioStarted: assign({ awaiting: false, playing: true }),
    heard: assign({ playing: false }),
    callerSpoke: assign({ callerSpeaking: true, silences: 0 }),
    callerQuiet: assign({ callerSpeaking: false }),
    arm: assign({ watchdog: true }),
    disarm: assign({ watchdog: false }),
    armSilence: assign({ silenceArmed: true }),
    disarmSilence: assign({ silenceArmed: false }),
    countSilence: assign({ silences: ({ context }) => context.silences + 1 }),
    // Tool outputs went back with one response.create.
    outputsSent: assign({
      toolsLeft: 0,
      responseActive: true,
      awaiting: true,
      transferAsked: false,
      hangUpAsked: false,
    }),
    responseEnded: assign({ responseActive: false, awaiting: false }),
    // A completed response asked for tools: they all start now.
    startTools: assign({
      responseActive: false,
      awaiting: false,
      toolsLeft: ({ event }) => (event.type === 'model.responseDoneWithTools' ? event.calls : 0),
      preambled: ({ event }) => event.type === 'model.responseDoneWithTools' && event.spoke,
    }),
    // A tool finished: one fewer running, and what its output asked is remembered.
    toolFinished: assign(({ context, event }) => ({
      toolsLeft: Math.max(0, context.toolsLeft - 1),
      transferAsked: context.transferAsked || (event.type === 'tool.done' && event.directive === 'transfer'),
      hangUpAsked: context.hangUpAsked || (event.type === 'tool.done' && event.directive === 'hangUp'),
    })),
    // Markers only: an empty transition is "inert" and the traversal would never try its event.
    forwardDtmf: (_: unknown, _params: { respond: boolean }) => {},
    stopPlayback: noop,
  },
  guards: {
    machineAnswered: ({ context }) => context.machine,
    // A model that stops itself may stop any greeting; the relay follows.
    greetingInterruptible: ({ context }) => context.greetingInterruptible || context.bargeIn === 'model',
    modelStopsItself: ({ context }) => context.bargeIn === 'model',
    noActiveResponse: ({ context }) => !context.responseActive,
    // The last running tool finished and no filler is being spoken.
    lastToolQuiet: ({ context }) => context.toolsLeft <= 1 && !context.responseActive,
    allToolsDone: ({ context }) => context.toolsLeft === 0,
    // Counting the output of the tool that finishes in this step.
    transferAsked: ({ context, event }) =>
      context.transferAsked || (event.type === 'tool.done' && event.directive === 'transfer'),
    hangUpAsked: ({ context, event }) =>
      context.hangUpAsked || (event.type === 'tool.done' && event.directive === 'hangUp'),
    fatal: ({ event }) => event.type === 'model.error' && event.fatal,
    stalled: ({ context }) => context.awaiting,
    quietLine: ({ context }) =>
      !context.callerSpeaking && !context.responseActive && !context.awaiting && !context.playing,
    silentAgain: ({ context }) => context.silences >= 1,
    floorFree: ({ context }) => !context.responseActive && !context.playing,
    preambled: ({ context }) => context.preambled,
  },
}).createMachine({
  id: 'call',
  context: {
    machine: false,
    greetingInterruptible: false,
    bargeIn: 'relay',
    responseActive: false,
    awaiting: false,
    watchdog: false,
    toolsLeft: 0,
    preambled: false,
    transferAsked: false,
    hangUpAsked: false,
    playing: false,
    callerSpeaking: false,
    silences: 0,
    silenceArmed: false,
    closing: null,
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
    'model.audioStarted': { actions: 'audioStarted' },
    'playback.drained': { actions: 'heard' },
    'model.speechStarted': { actions: 'callerSpoke' },
    'model.speechStopped': { actions: 'callerQuiet' },
  },
  states: {
    init: {
      on: {
        'call.start': {
          target: 'connecting',
          actions: assign(({ event }) => ({
            machine: event.machine,
            greetingInterruptible: event.interruptible,
            bargeIn: event.bargeIn,
          })),
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
          on: {
            'model.speechStarted': {
              guard: 'greetingInterruptible',
              target: 'bargeIn',
              actions: ['standDown', 'callerSpoke'],
            },
          },
        },

        listening: {
          entry: ['arm', 'armSilence'],
          exit: ['disarm', 'disarmSilence'],
          on: {
            ...watchdog('#call.apologizing', [endWith('model_stalled')]),
            // Nobody has spoken for a while: ask once if they are there; the second time, say goodbye.
            'timer.silence': [
              {
                guard: and(['quietLine', 'silentAgain']),
                target: 'ending',
                actions: [{ type: 'closeAs', params: { reason: 'caller_silent' } }, 'responseStarted'],
              },
              {
                guard: 'quietLine',
                target: 'listening',
                reenter: true,
                actions: ['countSilence', 'responseStarted'],
              },
              { actions: 'disarmSilence' },
            ],
            'model.responseCreated': { target: 'speaking', actions: 'responseStarted' },
            // The caller stopped talking: the silence clock (and the watchdog) start over.
            'model.speechStopped': { target: 'listening', reenter: true, actions: 'callerQuiet' },
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
          on: { 'model.speechStarted': { target: 'bargeIn', actions: ['standDown', 'callerSpoke'] } },
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
              ...outputsGo(['lastToolQuiet']),
              { actions: 'toolFinished' },
            ],
            // Speech over a filler or a pre-tool sentence stops playback; the tools keep running.
            'model.speechStarted': { actions: ['stopPlayback', 'standDown', 'callerSpoke'] },
            // A response the model started by itself (the caller spoke) ended after the last tool.
            'model.responseDone': [...outputsGo(['allToolsDone']), { actions: 'responseEnded' }],
            'model.responseDoneWithTools': [...outputsGo(['allToolsDone']), { actions: 'responseEnded' }],
          },
          states: {
            // A preamble already told the caller: the filler would say it twice.
            working: { always: { guard: 'preambled', target: 'waiting' }, on: { 'timer.toolFiller': 'filler' } },
            filler: {
              entry: ['responseStarted', 'arm'],
              exit: 'disarm',
              on: {
                ...watchdog('#call.apologizing', [endWith('model_stalled')]),
                'model.responseDone': [...outputsGo(['allToolsDone']), { target: 'waiting', actions: 'responseEnded' }],
                // The filler itself must not start tools: its calls are ignored.
                'model.responseDoneWithTools': [
                  ...outputsGo(['allToolsDone']),
                  { target: 'waiting', actions: 'responseEnded' },
                ],
              },
            },
            waiting: {},
          },
        },

        // The assistant's goodbye: heard in full, it ends the call; talked over, the call goes on.
        ending: {
          tags: ['audioOut'],
          initial: 'producing',
          on: {
            'model.speechStarted': { target: 'bargeIn', actions: ['standDown', 'callerSpoke', 'keepOpen'] },
          },
          states: {
            producing: {
              ...watches,
              on: {
                ...watchdog('#call.teardown', ['endAsClosing']),
                'model.responseDone': { target: 'draining', actions: 'responseEnded' },
                'model.responseDoneWithTools': { target: 'draining', actions: 'responseEnded' },
              },
            },
            draining: { on: { 'playback.drained': { target: '#call.teardown', actions: ['heard', 'endAsClosing'] } } },
          },
        },

        // The transfer line is said in full (talking over it does not stop it), then the call is
        // redirected; the stream's stop is the transfer happening.
        transferring: {
          tags: ['audioOut'],
          initial: 'producing',
          states: {
            producing: {
              ...watches,
              on: {
                // A line that never comes is not waited for: the transfer goes ahead.
                ...watchdog('#call.session.transferring.redirecting'),
                'model.responseDone': { target: 'draining', actions: 'responseEnded' },
                'model.responseDoneWithTools': { target: 'draining', actions: 'responseEnded' },
              },
            },
            draining: { on: { 'playback.drained': { target: 'redirecting', actions: 'heard' } } },
            redirecting: {
              on: {
                'caller.hungUp': { target: '#call.teardown', actions: endWith('transferred') },
                'line.closed': { target: '#call.teardown', actions: endWith('transferred') },
                // The caller is still here: the model is told and owes an answer.
                'transfer.failed': { target: '#call.session.listening', actions: 'responseStarted' },
                'timer.transferTimeout': { target: '#call.session.listening', actions: 'responseStarted' },
              },
            },
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
        // The answer in progress may finish and be heard; a long one is cut so the goodbye is heard.
        waitingTurn: {
          always: [
            { guard: 'floorFree', target: 'producing' },
            // The relay cannot cut an answer the model owns: it waits for the floor.
            { guard: 'modelStopsItself', target: 'waitingFloor' },
          ],
          on: { 'timer.cutLongAnswer': { target: 'cutting', actions: ['stopPlayback', 'standDown'] } },
        },
        waitingFloor: { always: { guard: 'floorFree', target: 'producing' } },
        cutting: {
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
