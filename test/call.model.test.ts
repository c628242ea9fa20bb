import { afterAll, describe, expect, it } from 'vitest';
import { createTestModel } from 'xstate/graph';
import type { EventObject } from 'xstate';
import { callMachine } from '../machines/call.machine.js';
import { callModel, callModelEventCases, serializeModelState } from '../machines/call.model.js';
import type { CallModelEvent, CallModelSnapshot } from '../machines/call.model.js';
import { CallHarness, DELAYS, flattenValue, parseModelEvent } from './support/call-harness.js';
import type { ActionCall } from './support/call-harness.js';
import { ChartCoverage } from './support/chart-coverage.js';

// Model-based tests: every shortest path of the abstract model (machines/call.model.ts) to every
// (state, incoming transition) is replayed on the REAL call actor, and after each step the actor
// must agree with the model on everything a caller or the socket code would notice.

const coverage = new ChartCoverage(callMachine);

const testModel = createTestModel(callModel, {
  events: callModelEventCases,
  serializeState: serializeModelState,
  // xstate.* are internal (pitfall 2 in docs/xstate.md); a finished call takes no events; `init` only
  // starts the call.
  // The watchdog can only fire while it is armed.
  filterEvents: (snapshot, event) =>
    !event.type.startsWith('xstate.') &&
    snapshot.status === 'active' &&
    (snapshot.value !== 'init' || event.type === 'call.start') &&
    (event.type !== 'timer.responseTimeout' || snapshot.context.watchdog) &&
    (event.type !== 'timer.silence' || snapshot.context.silenceArmed) &&
    // A tool can only finish while one is running.
    (event.type !== 'tool.done' || snapshot.context.toolsLeft > 0),
});
const paths = testModel.getShortestPaths();

/** Delays of the timers the chart must have armed (and no others) in a model state. */
function expectedTimers(s: CallModelSnapshot): number[] {
  const watchdog = s.context.watchdog ? [DELAYS.responseTimeout] : [];
  const sorted = (delays: number[]) => [...delays, ...watchdog].sort((a, b) => a - b);
  if (s.matches('connecting')) return sorted([DELAYS.connectTimeout]);
  if (s.matches({ session: 'bargeIn' })) return sorted([DELAYS.bargeInSettle, DELAYS.maxCall]);
  if (s.matches({ session: { toolPending: 'working' } })) return sorted([DELAYS.toolFiller, DELAYS.maxCall]);
  if (s.matches({ session: 'listening' }))
    return sorted(s.context.silenceArmed ? [DELAYS.silence, DELAYS.maxCall] : [DELAYS.maxCall]);
  if (s.matches({ session: { transferring: 'redirecting' } })) return sorted([DELAYS.transferTimeout, DELAYS.maxCall]);
  if (s.matches('session')) return sorted([DELAYS.maxCall]);
  if (s.matches('voicemail')) return sorted([DELAYS.voicemailLimit]);
  if (s.matches({ wrappingUp: 'waitingTurn' })) return sorted([DELAYS.cutLongAnswer, DELAYS.wrapUpLimit]);
  if (s.matches('wrappingUp')) return sorted([DELAYS.wrapUpLimit]);
  if (s.matches('apologizing')) return sorted([DELAYS.apologyHangup]);
  return sorted([]);
}

/** A barge-in: only a relay that owns it cancels (what is still produced) and truncates. */
function interrupt(prev: CallModelSnapshot): ActionCall {
  const relay = prev.context.bargeIn === 'relay';
  return { type: 'interrupt', cancel: relay && prev.context.responseActive, truncate: relay };
}

/** Commands the chart must send to the sockets for this one step, in order. */
function expectedStepCalls(
  prev: CallModelSnapshot,
  event: CallModelEvent,
  next: CallModelSnapshot,
  sut: CallHarness,
): ActionCall[] {
  const calls: ActionCall[] = [];
  const entered = (state: Parameters<CallModelSnapshot['matches']>[0]) => !prev.matches(state) && next.matches(state);
  switch (event.type) {
    case 'model.speechStarted': {
      const greetingBargeIn =
        prev.matches({ session: 'greeting' }) &&
        (prev.context.greetingInterruptible || prev.context.bargeIn === 'model');
      // Speech over a pre-tool sentence stops playback (the tools keep running); over a goodbye it
      // cancels the hang-up. A transfer line is said in full.
      const stops = (['speaking', 'toolPending', 'ending'] as const).some((s) => prev.matches({ session: s }));
      if (greetingBargeIn || stops) calls.push(interrupt(prev));
      break;
    }
    case 'caller.dtmf':
      if (prev.matches('session'))
        calls.push({ type: 'sendDtmf', digits: '7#', respond: prev.matches({ session: 'listening' }) });
      break;
    case 'timer.toolFiller':
      if (next.matches({ session: { toolPending: 'filler' } })) calls.push({ type: 'sayFiller' });
      break;
    case 'timer.silence':
      if (next.matches({ session: 'ending' })) calls.push({ type: 'requestWrapUp', reason: 'caller_silent' });
      else if (next.context.silences > prev.context.silences) calls.push({ type: 'promptSilence' });
      break;
    case 'timer.cutLongAnswer':
      calls.push(interrupt(prev));
      break;
    case 'model.responseDone':
    case 'model.responseDoneWithTools':
    case 'tool.done': {
      // Outputs go back when the last tool is done and no filler is being spoken, whichever is last.
      const after = (['listening', 'transferring', 'ending'] as const).some((s) => next.matches({ session: s }));
      if (prev.matches({ session: 'toolPending' }) && after)
        calls.push({ type: 'sendToolOutputs', outputs: sut.takeCompletedOutputs() });
      break;
    }
    default:
      break;
  }
  if (entered({ wrappingUp: 'producing' })) calls.push({ type: 'requestWrapUp', reason: next.context.endReason });
  if (entered({ session: { transferring: 'redirecting' } }))
    calls.push({ type: 'transfer', target: 'Dr Patel', summary: 'a new patient' });
  if (prev.matches({ session: { transferring: 'redirecting' } }) && next.matches({ session: 'listening' }))
    calls.push({ type: 'transferFailed', target: 'Dr Patel' });
  return calls;
}

const STEP_CALLS: ReadonlyArray<ActionCall['type']> = [
  'interrupt',
  'sendDtmf',
  'sendToolOutputs',
  'sayFiller',
  'requestWrapUp',
  'promptSilence',
  'transfer',
  'transferFailed',
];

/** Replays one path; holds the SUT and what the model says happened so far. */
class PathRun {
  private harness: CallHarness | undefined;
  private before: CallModelSnapshot | undefined;
  private current: CallModelSnapshot | undefined;
  /** Every state (and ancestor) the model went through, "session", "session.greeting", … */
  private readonly visited = new Set<string>();

  get sut(): CallHarness {
    if (!this.harness) throw new Error('call not started');
    return this.harness;
  }

  get hasSut(): boolean {
    return this.harness !== undefined;
  }

  get prev(): CallModelSnapshot {
    if (!this.before) throw new Error('no previous model state');
    return this.before;
  }

  readonly exec = async (step: { event: EventObject; state: CallModelSnapshot }): Promise<void> => {
    const event = parseModelEvent(step.event);
    const next = step.state;
    this.before = this.current;
    this.current = next;
    if (event.type === 'call.start') {
      expect(this.harness, 'call.start happens once').toBeUndefined();
      this.harness = new CallHarness(
        { machine: event.machine, interruptible: event.interruptible, bargeIn: event.bargeIn },
        { inspect: coverage.inspect },
      );
      this.markVisited(next);
      return this.check(next);
    }
    const sut = this.sut;
    const mark = sut.calls.length;
    await sut.apply(event);
    this.markVisited(next);
    this.check(next);
    expect(
      sut.calls.slice(mark).filter((c) => STEP_CALLS.includes(c.type)),
      `commands for ${event.type}`,
    ).toEqual(expectedStepCalls(this.prev, event, next, sut));
  };

  private markVisited(s: CallModelSnapshot): void {
    const parts = flattenValue(s.value).split('.');
    for (let i = 0; i < parts.length; i++) this.visited.add(parts.slice(0, i + 1).join('.'));
  }

  /** The generic oracle: the real actor agrees with the model after every step. */
  private check(model: CallModelSnapshot): void {
    const sut = this.sut;
    const snap = sut.actor.getSnapshot();
    expect(sut.value(), 'state value').toBe(flattenValue(model.value));
    expect(snap.hasTag('audioOut'), 'audioOut tag (assistant audio may reach the caller)').toBe(
      model.hasTag('audioOut'),
    );
    expect(snap.hasTag('live'), 'live tag').toBe(model.hasTag('live'));
    expect(sut.clock.pending(), 'armed timers').toEqual(expectedTimers(model));
    expect(snap.status, 'actor status').toBe(model.status === 'done' ? 'done' : 'active');
    expect(snap.context.endReason, 'endReason').toBe(model.context.endReason);
    // Entry commands: exactly once, and only once their state was entered.
    const once = (state: string) => (this.visited.has(state) ? 1 : 0);
    expect(sut.callsOf('requestGreeting').length, 'requestGreeting calls').toBe(once('session'));
    expect(sut.callsOf('leaveVoicemail').length, 'leaveVoicemail calls').toBe(once('voicemail'));
    expect(sut.callsOf('playApology').length, 'playApology calls').toBe(once('apologizing'));
    expect(sut.callsOf('finish').length, 'finish calls').toBe(once('teardown'));
  }

  /** State checks: what a caller would notice in these states. */
  readonly states = {
    init: () => {
      expect(this.hasSut).toBe(false);
    },
    connecting: () => {
      expect(this.sut.actor.getSnapshot().hasTag('audioOut'), 'no assistant audio before the model is ready').toBe(
        false,
      );
    },
    'session.greeting': () => {
      expect(this.sut.callsOf('requestGreeting')).toHaveLength(1);
      expect(this.sut.callsOf('leaveVoicemail')).toHaveLength(0);
    },
    'session.listening': () => {
      expect(this.sut.actor.getSnapshot().hasTag('audioOut'), 'listening: assistant audio is dropped').toBe(false);
    },
    'session.bargeIn': () => {
      expect(this.sut.actor.getSnapshot().hasTag('audioOut'), 'barge-in: assistant audio is dropped').toBe(false);
      const prev = this.prev;
      if (prev.matches({ session: 'bargeIn' })) return; // stayed (an event bargeIn ignores)
      const last = this.sut.callsOf('interrupt').at(-1);
      // Interrupting a response still being produced cancels it; a drained one only stops playback.
      // A model that stops itself is never cancelled or truncated by the relay.
      const relay = prev.context.bargeIn === 'relay';
      if (prev.matches({ session: { speaking: 'producing' } }))
        expect(last).toEqual({ type: 'interrupt', cancel: relay, truncate: relay });
      else if (prev.matches({ session: { speaking: 'draining' } }))
        expect(last).toEqual({ type: 'interrupt', cancel: false, truncate: relay });
      else expect(last).toEqual(interrupt(prev));
    },
    voicemail: () => {
      expect(this.sut.callsOf('leaveVoicemail')).toHaveLength(1);
      expect(this.sut.callsOf('requestGreeting'), 'no greeting to an answering machine').toHaveLength(0);
    },
    apologizing: () => {
      expect(this.sut.callsOf('playApology')).toHaveLength(1);
      expect(this.sut.actor.getSnapshot().hasTag('audioOut'), 'model audio is off during the apology').toBe(false);
    },
    teardown: () => {
      const snap = this.sut.actor.getSnapshot();
      expect(this.sut.callsOf('finish')).toHaveLength(1);
      expect(snap.status).toBe('done');
      expect(snap.context.endReason).not.toBeNull();
      expect(snap.context.endReason).toBe(this.current?.context.endReason);
    },
  };

  readonly events: Record<CallModelEvent['type'], PathRun['exec']> = {
    'call.start': this.exec,
    'caller.hungUp': this.exec,
    'line.closed': this.exec,
    'caller.dtmf': this.exec,
    'model.ready': this.exec,
    'model.closed': this.exec,
    'model.error': this.exec,
    'model.responseCreated': this.exec,
    'model.responseDone': this.exec,
    'model.responseDoneWithTools': this.exec,
    'model.audioStarted': this.exec,
    'model.speechStarted': this.exec,
    'model.speechStopped': this.exec,
    'transfer.failed': this.exec,
    'timer.silence': this.exec,
    'timer.cutLongAnswer': this.exec,
    'timer.transferTimeout': this.exec,
    'playback.drained': this.exec,
    'server.shutdown': this.exec,
    'tool.done': this.exec,
    'timer.connectTimeout': this.exec,
    'timer.maxCall': this.exec,
    'timer.apologyHangup': this.exec,
    'timer.bargeInSettle': this.exec,
    'timer.wrapUpLimit': this.exec,
    'timer.voicemailLimit': this.exec,
    'timer.toolFiller': this.exec,
    'timer.responseTimeout': this.exec,
  };

  stop(): void {
    this.harness?.stop();
  }
}

describe('call chart: generated paths on the real actor', () => {
  it('generates enough paths to mean something', () => {
    // 2,690 with the current model; a broken model (no call.start, filtered events) gives ~0.
    expect(paths.length).toBeGreaterThan(300);
  });

  it('walks the chart with each owner of barge-in (the relay, and a model that stops itself)', () => {
    const owners = new Set(
      paths.map((p) => {
        const start = p.steps.find((s) => s.event.type === 'call.start')?.event;
        return start && 'bargeIn' in start ? start.bargeIn : undefined;
      }),
    );
    expect(owners).toEqual(new Set(['relay', 'model']));
    // The wrap-up state only a model that stops itself reaches.
    expect(paths.some((p) => p.state.matches({ wrappingUp: 'waitingFloor' }))).toBe(true);
  });

  for (const path of paths) {
    it(path.description, async () => {
      const run = new PathRun();
      try {
        await path.test({ events: run.events, states: run.states });
      } finally {
        run.stop();
      }
    });
  }
});

// Transitions no path can take by construction. Keep empty unless a comment explains why.
const UNREACHABLE: readonly string[] = [];

describe('call chart coverage', () => {
  afterAll(() => {
    console.log(coverage.line('call chart'));
  });

  it('visits every state and takes every transition of the real chart', () => {
    const r = coverage.report();
    expect(r.states.uncovered).toEqual([]);
    expect(r.transitions.uncovered).toEqual(UNREACHABLE);
  });
});
