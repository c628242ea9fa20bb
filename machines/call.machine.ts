import { and, assertEvent, assign, emit, enqueueActions, setup, stopChild } from 'xstate';
import type { DoneActorEvent } from 'xstate';
import {
  MACHINE_ANSWERS,
  type CallCommand,
  type CallContext,
  type CallEvent,
  type CallInput,
  type EndReason,
  type ToolOutput,
} from './call.types.js';

import {
  bargeIn,
  closingTurn,
  conversationalTurn,
  directiveOf,
  endWith,
  runTool,
  stalled,
  takingTheFloor,
} from './call.turns.js';

// One actor per phone call: the control plane. It decides *when* the assistant may speak, when a
// barge-in happens, when tools run and how the call ends. Audio frames never come through here:
// the data plane forwards them and reads the `audioOut` tag to know whether assistant audio may
// reach the caller. The chart's only effects are the commands it emits (`CallCommand`) and the tool
// actors it spawns through the runner in its input, so one definition serves every call (no
// per-call `provide()`), tests and the inspector see exactly the chart that runs in production, and
// it cannot tell whether the audio passes through this process.

type ToolDone = DoneActorEvent<ToolOutput, `tool-${string}`>;
type Events = CallEvent | ToolDone;

export const callMachine = setup({
  types: {
    context: {} as CallContext,
    events: {} as Events,
    input: {} as CallInput,
    emitted: {} as CallCommand,
    tags: {} as 'audioOut' | 'live',
  },
  actors: { runTool },
  actions: {
    requestGreeting: emit({ type: 'requestGreeting' }),
    leaveVoicemail: emit({ type: 'leaveVoicemail' }),
    // Cancel only what the model is still producing (or was asked to produce), and only when the
    // relay owns barge-in: a model that stops itself has nothing to cancel or truncate.
    interrupt: emit(({ context }) => ({
      type: 'interrupt' as const,
      cancel: context.bargeIn === 'relay' && context.responseActive,
      truncate: context.bargeIn === 'relay',
    })),
    sendDtmf: emit((_, params: { digits: string; respond: boolean }) => ({ type: 'sendDtmf' as const, ...params })),
    sendToolOutputs: emit(({ context }) => ({ type: 'sendToolOutputs' as const, outputs: context.toolOutputs })),
    sayFiller: emit({ type: 'sayFiller' }),
    requestWrapUp: emit((_, params: { reason: EndReason | null }) => ({ type: 'requestWrapUp' as const, ...params })),
    promptSilence: emit({ type: 'promptSilence' }),
    transfer: emit(({ context }) => ({
      type: 'transfer' as const,
      target: context.transfer?.target ?? '',
      summary: context.transfer?.summary ?? '',
    })),
    transferFailed: emit(({ context }) => ({
      type: 'transferFailed' as const,
      target: context.transfer?.target ?? '',
    })),
    playApology: emit({ type: 'playApology' }),
    finish: emit(({ context }) => ({ type: 'finish' as const, endReason: context.endReason ?? 'twilio_closed' })),
    responseEnded: assign({ responseActive: false, awaitingAudio: false }),
    /** A response was requested: until its response.done a barge-in must cancel it. */
    markRequested: assign({ responseActive: true, awaitingAudio: true }),
    /** The model created a response (requested or on its own): its audio is owed from now. */
    responseOpened: assign({ responseActive: true, awaitingAudio: true }),
    /** The caller took the floor: whatever was owed is cancelled, not late, and nothing plays. */
    standDown: assign({ awaitingAudio: false, playing: false }),
    audioStarted: assign({ awaitingAudio: false, playing: true }),
    heard: assign({ playing: false }),
    callerSpoke: assign({ callerSpeaking: true, silences: 0 }),
    callerQuiet: assign({ callerSpeaking: false }),
    countSilence: assign({ silences: ({ context }) => context.silences + 1 }),
    /** The goodbye being said will end the call this way once it is heard. */
    closeAs: assign({ closing: (_, params: { reason: EndReason }) => params.reason }),
    /** The caller talked over the goodbye: the call goes on. */
    keepOpen: assign({ closing: null }),
    setEndReason: assign({
      endReason: ({ context }, params: { reason: EndReason }) => context.endReason ?? params.reason,
    }),
    /** The goodbye was heard: the reason it was said for becomes the call's. */
    endAsClosing: assign({ endReason: ({ context }) => context.endReason ?? context.closing ?? 'assistant_ended' }),
    collectCalls: assign({
      pendingCalls: ({ event }) => (event.type === 'model.responseDone' ? event.functionCalls : []),
      preambled: ({ event }) => event.type === 'model.responseDone' && event.spokeBeforeCalls,
      toolOutputs: [],
      responseActive: false,
      awaitingAudio: false,
    }),
    /** Outputs go back with one response.create; a transfer is remembered for after its line. */
    sendOutputs: enqueueActions(({ context, enqueue }) => {
      const transfer = directiveOf(context.toolOutputs, 'transfer');
      if (transfer?.type === 'transfer') {
        enqueue.assign({ transfer: { target: transfer.target, summary: transfer.summary } });
      }
      enqueue.emit({ type: 'sendToolOutputs', outputs: context.toolOutputs });
      // A response is owed from now (markRequested).
      enqueue.assign({ pendingCalls: [], toolOutputs: [], responseActive: true, awaitingAudio: true });
    }),
  },
  guards: {
    machineAnswered: ({ context }) => MACHINE_ANSWERS.some((a) => a === context.answeredBy),
    // A model that stops itself may stop any greeting: the relay then only follows.
    greetingInterruptible: ({ context }) => context.greetingInterruptible || context.bargeIn === 'model',
    modelStopsItself: ({ context }) => context.bargeIn === 'model',
    hasFunctionCalls: ({ event }) =>
      event.type === 'model.responseDone' && event.status === 'completed' && event.functionCalls.length > 0,
    noActiveResponse: ({ context }) => !context.responseActive,
    allToolsDone: ({ context }) => context.toolOutputs.length >= context.pendingCalls.length,
    fatalError: ({ event }) => event.type === 'model.error' && event.fatal,
    stalled: ({ context }) => context.awaitingAudio,
    transferAsked: ({ context }) => directiveOf(context.toolOutputs, 'transfer') !== undefined,
    hangUpAsked: ({ context }) => directiveOf(context.toolOutputs, 'hangUp') !== undefined,
    /** Nothing is being said, owed or played and the caller is not talking: a silence that counts. */
    quietLine: ({ context }) =>
      !context.callerSpeaking && !context.responseActive && !context.awaitingAudio && !context.playing,
    silentAgain: ({ context }) => context.silences >= 1,
    /** No response active and nothing left for the caller to hear. */
    floorFree: ({ context }) => !context.responseActive && !context.playing,
    preambled: ({ context }) => context.preambled,
  },
  delays: {
    connectTimeout: ({ context }) => context.connectTimeoutMs,
    responseTimeout: ({ context }) => context.responseTimeoutMs,
    maxCall: ({ context }) => context.maxCallMs,
    silence: ({ context }) => context.silenceMs,
    apologyHangup: 3000,
    toolFiller: 1500,
    bargeInSettle: 2000,
    wrapUpLimit: 20_000,
    voicemailLimit: 60_000,
    /** A long answer still playing when the call must end is cut after this, so the goodbye is heard. */
    cutLongAnswer: 4000,
    /** After the redirect Twilio stops the stream; if it does not, the transfer did not happen. */
    transferTimeout: 15_000,
  },
}).createMachine({
  id: 'call',
  context: ({ input }) => ({
    ...input,
    endReason: null,
    responseActive: false,
    awaitingAudio: false,
    pendingCalls: [],
    preambled: false,
    toolOutputs: [],
    playing: false,
    callerSpeaking: false,
    silences: 0,
    closing: null,
    transfer: null,
  }),
  initial: 'connecting',
  on: {
    'caller.hungUp': { target: '.teardown', actions: endWith('caller_hung_up') },
    'line.closed': { target: '.teardown', actions: endWith('twilio_closed') },
    'model.responseCreated': { actions: 'responseOpened' },
    'model.responseDone': { actions: 'responseEnded' },
    'model.audioStarted': { actions: 'audioStarted' },
    'playback.drained': { actions: 'heard' },
    'model.speechStarted': { actions: 'callerSpoke' },
    'model.speechStopped': { actions: 'callerQuiet' },
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
        'caller.dtmf': {
          actions: { type: 'sendDtmf', params: ({ event }) => ({ digits: event.digits, respond: false }) },
        },
      },
      states: {
        greeting: {
          ...conversationalTurn,
          entry: ['requestGreeting', 'markRequested'],
          on: { 'model.speechStarted': { guard: 'greetingInterruptible', target: 'bargeIn', actions: bargeIn } },
        },

        listening: {
          // Entered with a response owed after tool outputs; re-entered when keypad digits ask for one,
          // when the caller stops talking (the silence clock starts over) and after a re-prompt.
          after: {
            responseTimeout: stalled('#call.apologizing', 'model_stalled'),
            silence: [
              {
                guard: and(['quietLine', 'silentAgain']),
                target: 'ending',
                actions: [
                  { type: 'closeAs', params: { reason: 'caller_silent' } },
                  { type: 'requestWrapUp', params: { reason: 'caller_silent' } },
                  'markRequested',
                ],
              },
              {
                guard: 'quietLine',
                target: 'listening',
                reenter: true,
                actions: ['countSilence', 'promptSilence', 'markRequested'],
              },
            ],
          },
          on: {
            'model.responseCreated': { target: 'speaking', actions: 'responseOpened' },
            'model.speechStopped': { target: 'listening', reenter: true, actions: 'callerQuiet' },
            'caller.dtmf': {
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
          ...conversationalTurn,
          on: { 'model.speechStarted': { target: 'bargeIn', actions: bargeIn } },
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
              enqueue.spawnChild('runTool', { id: `tool-${call.callId}`, input: { call, run: context.tools } });
            }
          }),
          // Outputs go back once every tool is done and no filler is being spoken (a response.create
          // while a response is active would be rejected). The answer to them is then a transfer
          // line, a goodbye, or the conversation going on.
          always: [
            {
              guard: and(['allToolsDone', 'noActiveResponse', 'transferAsked']),
              target: 'transferring',
              actions: 'sendOutputs',
            },
            {
              guard: and(['allToolsDone', 'noActiveResponse', 'hangUpAsked']),
              target: 'ending',
              actions: [{ type: 'closeAs', params: { reason: 'assistant_ended' } }, 'sendOutputs'],
            },
            { guard: and(['allToolsDone', 'noActiveResponse']), target: 'listening', actions: 'sendOutputs' },
          ],
          on: {
            'xstate.done.actor.*': {
              actions: enqueueActions(({ event, enqueue }) => {
                assertEvent(event, 'xstate.done.actor.*');
                enqueue.assign({ toolOutputs: ({ context }) => [...context.toolOutputs, event.output] });
                enqueue(stopChild(event.actorId));
              }),
            },
            // Speech over a filler or a pre-tool sentence stops what is playing; the tools keep running.
            'model.speechStarted': { actions: bargeIn },
          },
          initial: 'working',
          states: {
            // The model's own preamble already told the caller it is checking: a filler would say it
            // twice. Without one (older models, xAI), a slow tool gets the filler.
            working: { always: { guard: 'preambled', target: 'waiting' }, after: { toolFiller: 'filler' } },
            filler: {
              entry: ['sayFiller', 'markRequested'],
              after: { responseTimeout: stalled('#call.apologizing', 'model_stalled') },
              on: { 'model.responseDone': { target: 'waiting', actions: 'responseEnded' } },
            },
            waiting: {},
          },
        },

        // The assistant's goodbye (endCall, or a caller silent twice). Once the caller has heard it
        // the call ends; a caller who talks over it is still there, and the call goes on.
        ending: {
          tags: ['audioOut'],
          initial: 'producing',
          on: { 'model.speechStarted': { target: 'bargeIn', actions: [...bargeIn, 'keepOpen'] } },
          states: {
            producing: {
              // A goodbye that never comes is not waited for.
              after: { responseTimeout: { guard: 'stalled', target: '#call.teardown', actions: 'endAsClosing' } },
              on: { 'model.responseDone': { target: 'draining', actions: 'responseEnded' } },
            },
            draining: {
              on: { 'playback.drained': { target: '#call.teardown', actions: ['heard', 'endAsClosing'] } },
            },
          },
        },

        // Putting the caller through: the short line is said in full (the caller talking over it does
        // not stop the transfer), then the live call is redirected to dial the person. Twilio then
        // stops this stream; a call that comes back starts a new one.
        transferring: {
          tags: ['audioOut'],
          initial: 'producing',
          states: {
            producing: {
              after: { responseTimeout: { guard: 'stalled', target: 'redirecting' } },
              on: { 'model.responseDone': { target: 'draining', actions: 'responseEnded' } },
            },
            draining: { on: { 'playback.drained': { target: 'redirecting', actions: 'heard' } } },
            redirecting: {
              entry: 'transfer',
              after: {
                transferTimeout: { target: '#call.session.listening', actions: ['transferFailed', 'markRequested'] },
              },
              on: {
                'caller.hungUp': { target: '#call.teardown', actions: endWith('transferred') },
                'line.closed': { target: '#call.teardown', actions: endWith('transferred') },
                'transfer.failed': { target: '#call.session.listening', actions: ['transferFailed', 'markRequested'] },
              },
            },
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
      // Nobody is listening live: a stalled model just ends the call.
      states: closingTurn('voicemail_left'),
    },

    // The relay ends the call (maximum length, shutdown): the floor first (takingTheFloor), then the
    // goodbye, heard before the 20 s limit.
    wrappingUp: {
      tags: ['audioOut'],
      initial: 'waitingTurn',
      after: { wrapUpLimit: 'teardown' },
      on: {
        'model.closed': 'teardown',
        'model.error': { guard: 'fatalError', target: 'teardown' },
      },
      states: {
        ...takingTheFloor,
        // The call is ending anyway: a stalled goodbye is skipped rather than waited out.
        ...closingTurn(),
        producing: {
          ...closingTurn().producing,
          entry: [{ type: 'requestWrapUp', params: ({ context }) => ({ reason: context.endReason }) }, 'markRequested'],
        },
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
