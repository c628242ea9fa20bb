import { and, assign, assertEvent, enqueueActions, fromPromise, setup, stopChild } from 'xstate';
import type { DoneActorEvent } from 'xstate';
import {
  MACHINE_ANSWERS,
  type CallContext,
  type CallEvent,
  type CallInput,
  type EndReason,
  type FunctionCall,
  type ToolOutput,
} from './call.types.js';

// One actor per phone call: the control plane. It decides *when* the assistant may speak, when a
// barge-in happens, when tools run and how the call ends. Audio frames never come through here:
// the socket code forwards them and reads the `audioOut` tag to know whether assistant audio may
// reach the caller. All I/O is injected through the actions/actors below (`machine.provide`), so
// tests and the inspector see exactly the chart that runs in production.

type ToolDone = DoneActorEvent<ToolOutput, `tool-${string}`>;
type Events = CallEvent | ToolDone;

const noop = () => {};

/** Default tool runner: no tools are installed, so every call gets an error the model can speak. */
const unknownTool = fromPromise<ToolOutput, { call: FunctionCall; callSid: string }>(async ({ input }) => ({
  callId: input.call.callId,
  ok: false,
  output: JSON.stringify({
    error: 'unknown_tool',
    message: `The tool "${input.call.name}" is not available on this line.`,
  }),
}));

// The first cause wins: a hang-up during the apology is still a model drop.
const endWith = (reason: EndReason) => ({ type: 'setEndReason' as const, params: { reason } });

// Response watchdog. Where the relay waits for the model to speak (a response requested or created),
// `responseTimeout` after entering the state the model must have produced audio or finished the
// response (or the caller talked over it); otherwise it is stalled (socket open, session accepted,
// nothing coming) and the caller would sit in silence until MAX_CALL_SECONDS. The guard
// (`awaitingAudio`), not the timer, decides: a timer that fires after the audio started does nothing.
const stalled = { guard: 'stalled' as const, target: '#call.apologizing', actions: endWith('model_stalled') };

export const callMachine = setup({
  types: {
    context: {} as CallContext,
    events: {} as Events,
    input: {} as CallInput,
    tags: {} as 'audioOut' | 'live',
  },
  actors: { runTool: unknownTool },
  actions: {
    /** response.create with the merchant's inbound or outbound greeting. */
    requestGreeting: noop,
    /** response.create that speaks the merchant's voicemail template. */
    leaveVoicemail: noop,
    /** Twilio clear + truncate at the heard point (+ response.cancel when `cancel`); drops late audio. */
    interrupt: (_: unknown, _params: { cancel: boolean }) => {},
    /** DTMF digits as a user text item; `respond` adds a response.create. */
    sendDtmf: (_: unknown, _params: { digits: string; respond: boolean }) => {},
    /** function_call_output items, then one response.create. */
    sendToolOutputs: (_: unknown, _params: { outputs: ToolOutput[] }) => {},
    /** A tool is slow: a short spoken filler so the caller never sits in silence. */
    sayFiller: noop,
    /** Ask the model to close the call politely (max length, shutdown). */
    requestWrapUp: noop,
    /** Spoken apology clip from the relay itself (the model is gone), Twilio closes ~3 s later. */
    playApology: noop,
    /** Close both sockets, stop timers, hand the summary to the CallRecorder. */
    finish: noop,
    countBargeIn: assign({ bargeIns: ({ context }) => context.bargeIns + 1 }),
    responseEnded: assign({ responseActive: false, awaitingAudio: false }),
    /** A response was requested: until its response.done a barge-in must cancel it. */
    markRequested: assign({ responseActive: true, awaitingAudio: true }),
    /** The model created a response (requested or on its own): its audio is owed from now. */
    responseOpened: assign({ responseActive: true, awaitingAudio: true }),
    /** The caller took the floor: whatever was owed is cancelled, not late. */
    standDown: assign({ awaitingAudio: false }),
    setEndReason: assign({
      endReason: ({ context }, params: { reason: EndReason }) => context.endReason ?? params.reason,
    }),
    collectCalls: assign({
      pendingCalls: ({ event }) => (event.type === 'model.responseDone' ? event.functionCalls : []),
      toolOutputs: [],
      responseActive: false,
      awaitingAudio: false,
    }),
  },
  guards: {
    machineAnswered: ({ context }) => MACHINE_ANSWERS.some((a) => a === context.answeredBy),
    greetingInterruptible: ({ context }) => context.greetingInterruptible,
    hasFunctionCalls: ({ event }) =>
      event.type === 'model.responseDone' && event.status === 'completed' && event.functionCalls.length > 0,
    noActiveResponse: ({ context }) => !context.responseActive,
    allToolsDone: ({ context }) => context.toolOutputs.length >= context.pendingCalls.length,
    fatalError: ({ event }) => event.type === 'model.error' && event.fatal,
    stalled: ({ context }) => context.awaitingAudio,
  },
  delays: {
    connectTimeout: ({ context }) => context.connectTimeoutMs,
    responseTimeout: ({ context }) => context.responseTimeoutMs,
    maxCall: ({ context }) => context.maxCallMs,
    apologyHangup: 3000,
    toolFiller: 1500,
    bargeInSettle: 2000,
    wrapUpLimit: 20_000,
    voicemailLimit: 60_000,
  },
}).createMachine({
  id: 'call',
  context: ({ input }) => ({
    ...input,
    endReason: null,
    responseActive: false,
    awaitingAudio: false,
    pendingCalls: [],
    toolOutputs: [],
    bargeIns: 0,
  }),
  initial: 'connecting',
  on: {
    'twilio.stop': { target: '.teardown', actions: endWith('caller_hung_up') },
    'twilio.closed': { target: '.teardown', actions: endWith('twilio_closed') },
    'model.responseCreated': { actions: 'responseOpened' },
    'model.responseDone': { actions: 'responseEnded' },
    'model.audioStarted': { actions: 'standDown' },
  },
  states: {
    connecting: {
      after: { connectTimeout: { target: 'apologizing', actions: endWith('model_connect_timeout') } },
      on: {
        'model.ready': [{ guard: 'machineAnswered', target: 'voicemail' }, { target: 'session' }],
        'model.closed': { target: 'apologizing', actions: endWith('model_dropped') },
        'model.error': { guard: 'fatalError', target: 'apologizing', actions: endWith('model_error') },
        // Nothing has been said yet: a shutdown simply ends the call.
        'server.shutdown': { target: 'teardown', actions: endWith('server_shutdown') },
      },
    },

    session: {
      tags: ['live'],
      initial: 'greeting',
      after: { maxCall: { target: 'wrappingUp', actions: endWith('max_duration') } },
      on: {
        'model.closed': { target: 'apologizing', actions: endWith('model_dropped') },
        'model.error': { guard: 'fatalError', target: 'apologizing', actions: endWith('model_error') },
        'server.shutdown': { target: 'wrappingUp', actions: endWith('server_shutdown') },
        'model.responseCreated': { actions: 'responseOpened' },
        'twilio.dtmf': {
          actions: { type: 'sendDtmf', params: ({ event }) => ({ digits: event.digits, respond: false }) },
        },
      },
      states: {
        greeting: {
          tags: ['audioOut'],
          entry: ['requestGreeting', 'markRequested'],
          initial: 'producing',
          on: {
            'model.speechStarted': {
              guard: 'greetingInterruptible',
              target: 'bargeIn',
              // Cancel only what the model is still producing (or was asked to produce).
              actions: [
                'countBargeIn',
                { type: 'interrupt', params: ({ context }) => ({ cancel: context.responseActive }) },
                'standDown',
              ],
            },
          },
          states: {
            producing: {
              after: { responseTimeout: stalled },
              on: {
                'model.responseDone': [
                  { guard: 'hasFunctionCalls', target: '#call.session.toolPending', actions: 'collectCalls' },
                  { target: 'draining', actions: 'responseEnded' },
                ],
              },
            },
            draining: {
              on: {
                'playback.drained': '#call.session.listening',
                // The caller answered the greeting while it was still playing: that response (and
                // any tool it calls) is handled like any other.
                'model.responseCreated': { target: '#call.session.speaking.producing', actions: 'responseOpened' },
              },
            },
          },
        },

        listening: {
          // Entered with a response owed after tool outputs; re-entered when keypad digits ask for one.
          after: { responseTimeout: stalled },
          on: {
            'model.responseCreated': { target: 'speaking', actions: 'responseOpened' },
            'twilio.dtmf': {
              target: 'listening',
              reenter: true,
              actions: [
                { type: 'sendDtmf', params: ({ event }) => ({ digits: event.digits, respond: true }) },
                'markRequested',
              ],
            },
          },
        },

        speaking: {
          tags: ['audioOut'],
          initial: 'producing',
          on: {
            'model.speechStarted': {
              target: 'bargeIn',
              // Cancel only what the model is still producing (or was asked to produce).
              actions: [
                'countBargeIn',
                { type: 'interrupt', params: ({ context }) => ({ cancel: context.responseActive }) },
                'standDown',
              ],
            },
          },
          states: {
            producing: {
              after: { responseTimeout: stalled },
              on: {
                'model.responseDone': [
                  { guard: 'hasFunctionCalls', target: '#call.session.toolPending', actions: 'collectCalls' },
                  { target: 'draining', actions: 'responseEnded' },
                ],
              },
            },
            draining: {
              on: {
                'playback.drained': '#call.session.listening',
                // The model can start its next response before our playback drained (e.g. after DTMF).
                'model.responseCreated': { target: 'producing', actions: 'responseOpened' },
              },
            },
          },
        },

        bargeIn: {
          // The caller is talking over the assistant; wait for the cancelled response to finish
          // (a new response.create before that would be rejected) or for the next one to start.
          after: { bargeInSettle: 'listening' },
          on: {
            'model.responseDone': [
              // The response completed before the cancel landed: its tool calls still run.
              { guard: 'hasFunctionCalls', target: 'toolPending', actions: 'collectCalls' },
              { target: 'listening', actions: 'responseEnded' },
            ],
            'model.responseCreated': { target: 'speaking', actions: 'responseOpened' },
          },
        },

        toolPending: {
          tags: ['audioOut'],
          entry: enqueueActions(({ context, enqueue }) => {
            for (const call of context.pendingCalls) {
              enqueue.spawnChild('runTool', { id: `tool-${call.callId}`, input: { call, callSid: context.callSid } });
            }
          }),
          // Outputs go back once every tool is done and no filler is being spoken (a response.create
          // while a response is active would be rejected).
          always: {
            guard: and(['allToolsDone', 'noActiveResponse']),
            target: 'listening',
            actions: [
              { type: 'sendToolOutputs', params: ({ context }) => ({ outputs: context.toolOutputs }) },
              assign({ pendingCalls: [], toolOutputs: [] }),
              'markRequested',
            ],
          },
          on: {
            'xstate.done.actor.*': {
              actions: enqueueActions(({ event, enqueue }) => {
                assertEvent(event, 'xstate.done.actor.*');
                enqueue.assign({ toolOutputs: ({ context }) => [...context.toolOutputs, event.output] });
                enqueue(stopChild(event.actorId));
              }),
            },
            // Speech over a filler or a pre-tool sentence stops what is playing; the tools keep running.
            'model.speechStarted': {
              actions: [
                { type: 'interrupt', params: ({ context }) => ({ cancel: context.responseActive }) },
                'standDown',
              ],
            },
          },
          initial: 'working',
          states: {
            working: { after: { toolFiller: 'filler' } },
            filler: {
              entry: ['sayFiller', 'markRequested'],
              after: { responseTimeout: stalled },
              on: { 'model.responseDone': { target: 'waiting', actions: 'responseEnded' } },
            },
            waiting: {},
          },
        },
      },
    },

    voicemail: {
      tags: ['audioOut'],
      entry: ['leaveVoicemail', 'markRequested'],
      initial: 'producing',
      after: { voicemailLimit: { target: 'teardown', actions: endWith('voicemail_left') } },
      on: {
        'model.closed': { target: 'teardown', actions: endWith('model_dropped') },
        'model.error': { guard: 'fatalError', target: 'teardown', actions: endWith('model_error') },
      },
      states: {
        producing: {
          // Nobody is listening live: a stalled model just ends the call.
          after: { responseTimeout: { guard: 'stalled', target: '#call.teardown', actions: endWith('model_stalled') } },
          on: { 'model.responseDone': 'draining' },
        },
        draining: { on: { 'playback.drained': { target: '#call.teardown', actions: endWith('voicemail_left') } } },
      },
    },

    wrappingUp: {
      tags: ['audioOut'],
      initial: 'waitingTurn',
      after: { wrapUpLimit: 'teardown' },
      on: {
        'model.closed': 'teardown',
        'model.error': { guard: 'fatalError', target: 'teardown' },
      },
      states: {
        waitingTurn: {
          always: { guard: 'noActiveResponse', target: 'saying' },
          on: { 'model.responseDone': { target: 'saying', actions: 'responseEnded' } },
        },
        saying: {
          entry: ['requestWrapUp', 'markRequested'],
          // The call is ending anyway: a stalled goodbye is skipped rather than waited out.
          after: { responseTimeout: { guard: 'stalled', target: '#call.teardown' } },
          on: { 'model.responseDone': 'draining' },
        },
        draining: { on: { 'playback.drained': '#call.teardown' } },
      },
    },

    apologizing: {
      entry: 'playApology',
      after: { apologyHangup: 'teardown' },
    },

    teardown: {
      type: 'final',
      entry: 'finish',
    },
  },
});

export type CallMachine = typeof callMachine;
