import { createActor } from 'xstate';
import type { Actor, ActorOptions, AnyActorLogic, EventObject, InspectionEvent, StateValue } from 'xstate';
import { callMachine } from '../../machines/call.machine.js';
import type { CallMachine } from '../../machines/call.machine.js';
import type {
  BargeInOwner,
  CallCommand,
  CallEvent,
  CallInput,
  FunctionCall,
  ToolOutput,
} from '../../machines/call.types.js';
import type { CallModelEvent } from '../../machines/call.model.js';

// The system under test for the call chart: the REAL `callMachine`, with recording fakes for its
// actions, a deferred tool runner and a manual clock, driven by abstract model events.

/** Every timer of the chart has its own delay, so each one can be fired by its `ms` alone. */
export const DELAYS = {
  connectTimeout: 8001,
  maxCall: 600_002,
  apologyHangup: 3000,
  bargeInSettle: 2000,
  wrapUpLimit: 20_000,
  voicemailLimit: 60_000,
  toolFiller: 1500,
  responseTimeout: 10_003,
  silence: 8004,
  cutLongAnswer: 4000,
  transferTimeout: 15_000,
} as const;

export interface SutConfig {
  machine: boolean;
  interruptible: boolean;
  bargeIn: BargeInOwner;
}

/** xstate's `Clock` (setTimeout/clearTimeout); the interface itself is not exported. */
type Clock = NonNullable<ActorOptions<AnyActorLogic>['clock']>;

interface Timer {
  fn: () => void;
  ms: number;
  due: number;
}

/**
 * xstate `Clock` that only runs a timer when told to. `fire(ms)` runs exactly the pending timer
 * with that delay (unlike SimulatedClock, advancing never fires unrelated shorter timers);
 * `advance(ms)` moves virtual time and fires whatever falls due, in order.
 */
export class ManualClock implements Clock {
  now = 0;
  private seq = 0;
  private readonly timers = new Map<number, Timer>();

  setTimeout(fn: () => void, ms: number): number {
    const id = ++this.seq;
    this.timers.set(id, { fn, ms, due: this.now + ms });
    return id;
  }

  clearTimeout(id: unknown): void {
    if (typeof id === 'number') this.timers.delete(id);
  }

  /** Delays of the armed timers, ascending. */
  pending(): number[] {
    return [...this.timers.values()].map((t) => t.ms).sort((a, b) => a - b);
  }

  /** Runs the pending timer armed with `ms`; throws if the chart did not arm one. */
  fire(ms: number): void {
    const entry = [...this.timers.entries()].find(([, t]) => t.ms === ms);
    if (!entry) throw new Error(`no pending ${ms} ms timer (pending: [${this.pending().join(', ')}])`);
    const [id, timer] = entry;
    this.timers.delete(id);
    this.now = Math.max(this.now, timer.due);
    timer.fn();
  }

  /** Moves virtual time forward by `ms`, firing due timers in due order (bounded by the timer count). */
  advance(ms: number): void {
    const until = this.now + ms;
    for (;;) {
      const next = [...this.timers.entries()]
        .filter(([, t]) => t.due <= until)
        .sort(([, a], [, b]) => a.due - b.due)[0];
      if (!next) break;
      this.timers.delete(next[0]);
      this.now = next[1].due;
      next[1].fn();
    }
    this.now = until;
  }
}

/** One command the chart emitted: what the sockets would have been told. */
export type ActionCall = CallCommand;

interface PendingTool {
  call: FunctionCall;
  resolve: (output: ToolOutput) => void;
}

export interface HarnessOptions {
  inspect?: (event: InspectionEvent) => void;
}

/** Settles promise actors: their resolution and the done event both run on later ticks. */
export const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export function sutInput(config: SutConfig): Omit<CallInput, 'tools'> {
  return {
    callSid: 'CA00000000000000000000000000000001',
    streamSid: 'MZ00000000000000000000000000000001',
    direction: 'inbound',
    answeredBy: config.machine ? 'machine_end_beep' : undefined,
    greetingInterruptible: config.interruptible,
    maxCallMs: DELAYS.maxCall,
    connectTimeoutMs: DELAYS.connectTimeout,
    responseTimeoutMs: DELAYS.responseTimeout,
    silenceMs: DELAYS.silence,
    bargeIn: config.bargeIn,
  };
}

/** "session.speaking.producing" for `{ session: { speaking: 'producing' } }`. */
export function flattenValue(value: StateValue): string {
  if (typeof value === 'string') return value;
  return Object.entries(value)
    .map(([key, child]) =>
      child === undefined || (typeof child === 'object' && Object.keys(child).length === 0)
        ? key
        : `${key}.${flattenValue(child)}`,
    )
    .join(',');
}

export class CallHarness {
  readonly clock = new ManualClock();
  readonly calls: ActionCall[] = [];
  /** Tools spawned by the chart and not completed yet, oldest first. */
  readonly tools: PendingTool[] = [];
  /** Function calls of the last response that asked for tools. */
  lastFunctionCalls: FunctionCall[] = [];
  readonly actor: Actor<CallMachine>;
  private seq = 0;
  private responseId = 'resp_0';

  constructor(
    readonly config: SutConfig,
    options: HarnessOptions = {},
  ) {
    this.actor = createActor(callMachine, {
      id: 'call-test',
      input: {
        ...sutInput(config),
        // A deferred tool runner: each spawned tool waits until the test completes it.
        tools: (call) => new Promise<ToolOutput>((resolve) => this.tools.push({ call, resolve })),
      },
      clock: this.clock,
      inspect: options.inspect,
    });
    // The chart's effects are the commands it emits; record each as the sockets would receive it.
    this.actor.on('*', (command) => {
      this.calls.push(command.type === 'sendToolOutputs' ? { ...command, outputs: [...command.outputs] } : command);
    });
    this.actor.start();
  }

  send(event: CallEvent): void {
    this.actor.send(event);
  }

  /** Fires the chart's timer armed with `ms` (fails if it is not armed). */
  fire(ms: number): void {
    this.clock.fire(ms);
  }

  /** Outputs of tools completed since the oracle last took them (what the next sendToolOutputs carries). */
  private completed: ToolOutput[] = [];

  /**
   * Completes the oldest running tool and lets the done event reach the chart; its output may ask
   * the call to transfer or to hang up, as transferCall and endCall do.
   */
  async completeTool(directive: 'none' | 'transfer' | 'hangUp' = 'none'): Promise<void> {
    const tool = this.tools.shift();
    if (!tool) throw new Error('no tool is running');
    const output: ToolOutput = {
      callId: tool.call.callId,
      ok: true,
      output: JSON.stringify({ result: `${tool.call.name} ok` }),
    };
    if (directive === 'transfer') output.directive = { type: 'transfer', target: 'Dr Patel', summary: 'a new patient' };
    if (directive === 'hangUp') output.directive = { type: 'hangUp', reason: 'conversation over' };
    this.completed.push(output);
    tool.resolve(output);
    await settle();
  }

  /** The outputs completed since the last call, in completion order. */
  takeCompletedOutputs(): ToolOutput[] {
    return this.completed.splice(0);
  }

  callsOf<T extends ActionCall['type']>(type: T): Array<Extract<ActionCall, { type: T }>> {
    return this.calls.filter((c): c is Extract<ActionCall, { type: T }> => c.type === type);
  }

  value(): string {
    return flattenValue(this.actor.getSnapshot().value);
  }

  functionCalls(count: number): FunctionCall[] {
    const n = ++this.seq;
    return Array.from({ length: count }, (_, i) => ({
      callId: `call_${n}_${i}`,
      name: i ? 'book_slot' : 'check_calendar',
      arguments: `{"slot":${i}}`,
    }));
  }

  /** Performs one abstract model event on the real actor. */
  async apply(event: CallModelEvent): Promise<void> {
    switch (event.type) {
      case 'call.start':
        throw new Error('call.start creates the harness; it is not sent to a running call');
      case 'caller.dtmf':
        return this.send({ type: 'caller.dtmf', digits: '7#' });
      case 'model.error':
        return this.send({
          type: 'model.error',
          code: event.fatal ? 'session_expired' : 'invalid_value',
          fatal: event.fatal,
        });
      case 'model.responseCreated':
        this.responseId = `resp_${++this.seq}`;
        return this.send({ type: 'model.responseCreated', responseId: this.responseId });
      case 'model.responseDone': {
        // A cancelled response can end mid-way through a function call: never run that tool.
        const functionCalls =
          event.status === 'cancelled' ? [{ ...this.functionCalls(1)[0]!, arguments: '{"slot":' }] : [];
        return this.send({
          type: 'model.responseDone',
          responseId: this.responseId,
          status: event.status,
          functionCalls,
          spokeBeforeCalls: false,
        });
      }
      case 'model.responseDoneWithTools': {
        const calls = this.functionCalls(event.calls);
        const sent = this.send({
          type: 'model.responseDone',
          responseId: this.responseId,
          status: 'completed',
          functionCalls: calls,
          spokeBeforeCalls: event.spoke,
        });
        // Only calls the chart collected get outputs (a response ending while tools run is ignored).
        if (this.actor.getSnapshot().context.pendingCalls[0]?.callId === calls[0]?.callId)
          this.lastFunctionCalls = calls;
        return sent;
      }
      case 'tool.done':
        return this.completeTool(event.directive);
      case 'timer.connectTimeout':
        return this.fire(DELAYS.connectTimeout);
      case 'timer.maxCall':
        return this.fire(DELAYS.maxCall);
      case 'timer.apologyHangup':
        return this.fire(DELAYS.apologyHangup);
      case 'timer.bargeInSettle':
        return this.fire(DELAYS.bargeInSettle);
      case 'timer.wrapUpLimit':
        return this.fire(DELAYS.wrapUpLimit);
      case 'timer.voicemailLimit':
        return this.fire(DELAYS.voicemailLimit);
      case 'timer.toolFiller':
        return this.fire(DELAYS.toolFiller);
      case 'timer.responseTimeout':
        return this.fire(DELAYS.responseTimeout);
      case 'timer.silence':
        return this.fire(DELAYS.silence);
      case 'timer.cutLongAnswer':
        return this.fire(DELAYS.cutLongAnswer);
      case 'timer.transferTimeout':
        return this.fire(DELAYS.transferTimeout);
      default:
        // The remaining model events carry no payload and are the chart's own events.
        return this.send(event);
    }
  }

  stop(): void {
    this.actor.stop();
  }
}

/**
 * Types a traversal step's event: `path.test` hands executors `{ type }` only, the payload is
 * there at runtime. Unknown shapes throw, so a model change cannot slip through silently.
 */
export function parseModelEvent(event: EventObject): CallModelEvent {
  const bool = (v: unknown): v is boolean => typeof v === 'boolean';
  switch (event.type) {
    case 'call.start':
      if (
        'machine' in event &&
        'interruptible' in event &&
        'bargeIn' in event &&
        bool(event.machine) &&
        bool(event.interruptible) &&
        (event.bargeIn === 'relay' || event.bargeIn === 'model')
      ) {
        return {
          type: 'call.start',
          machine: event.machine,
          interruptible: event.interruptible,
          bargeIn: event.bargeIn,
        };
      }
      break;
    case 'model.error':
      if ('fatal' in event && bool(event.fatal)) return { type: 'model.error', fatal: event.fatal };
      break;
    case 'model.responseDone':
      if ('status' in event && (event.status === 'completed' || event.status === 'cancelled'))
        return { type: 'model.responseDone', status: event.status };
      break;
    case 'model.responseDoneWithTools':
      if ('calls' in event && (event.calls === 1 || event.calls === 2) && 'spoke' in event && bool(event.spoke))
        return { type: 'model.responseDoneWithTools', calls: event.calls, spoke: event.spoke };
      break;
    case 'tool.done':
      if (
        'directive' in event &&
        (event.directive === 'none' || event.directive === 'transfer' || event.directive === 'hangUp')
      )
        return { type: 'tool.done', directive: event.directive };
      break;
    case 'caller.hungUp':
    case 'line.closed':
    case 'caller.dtmf':
    case 'model.ready':
    case 'model.closed':
    case 'model.responseCreated':
    case 'model.audioStarted':
    case 'model.speechStarted':
    case 'playback.drained':
    case 'model.speechStopped':
    case 'transfer.failed':
    case 'timer.silence':
    case 'timer.cutLongAnswer':
    case 'timer.transferTimeout':
    case 'server.shutdown':
    case 'timer.connectTimeout':
    case 'timer.maxCall':
    case 'timer.apologyHangup':
    case 'timer.bargeInSettle':
    case 'timer.wrapUpLimit':
    case 'timer.voicemailLimit':
    case 'timer.toolFiller':
    case 'timer.responseTimeout':
      return { type: event.type };
  }
  throw new Error(`not a call model event: ${JSON.stringify(event)}`);
}
