import type { FunctionCall } from '../../machines/call.types.js';
import type { ModelEvent, Usage } from './model-events.js';

// GPT-Live has no responses, items or speech events for the spoken conversation: only a stream of
// output audio, transcript fragments both ways, and the delegated backend's own events. The call's
// control plane (ResponseLifecycle, the chart, the transcript) works in responses and turns, so this
// class reads turns out of the stream and reports them in the Realtime vocabulary (ModelEvent):
//
// - the model's turn starts with its first audio (or transcript) after a pause, and ends when its
//   audio has paused for `turnGapMs`: `responseCreated` + `assistantItem`, then `responseDone`;
// - the caller's turn starts with their first transcript fragment and ends after `callerQuietMs`
//   without one: `speechStarted` + `userItem`, then `speechStopped` + `userTranscript`;
// - the model stopped *because the caller spoke* when its turn ends while the caller is talking, or
//   within `yieldWindowMs` of the caller's last fragment. Only then is the caller's speech reported
//   while the model held the floor (a "yes" under a sentence the model finishes is no barge-in), and
//   it is reported before the turn's end, so the chart stops what the caller hears and trims the
//   transcript exactly as after a relay barge-in, minus the cancel and truncate (bargeIn `model`);
// - function calls of the delegated backend join the turn that is speaking (they are said to have
//   been spoken before: a preamble, so no filler), or make a turn of their own.

export interface LiveTurnTiming {
  /** Model audio paused this long: its turn is over. */
  turnGapMs: number;
  /** No caller transcript for this long: the caller's turn is over. */
  callerQuietMs: number;
  /** The caller spoke this close to the model's last audio: the model stopped for them. */
  yieldWindowMs: number;
}

/** Transcripts lag speech by a few hundred ms, so the windows are generous. */
export const LIVE_TURN_TIMING: LiveTurnTiming = { turnGapMs: 600, callerQuietMs: 900, yieldWindowMs: 1500 };

interface ModelTurn {
  responseId: string;
  itemId: string;
  text: string;
  spoke: boolean;
  lastOutputAt: number;
  calls: FunctionCall[];
  gap: NodeJS.Timeout;
}

interface CallerTurn {
  itemId: string;
  text: string;
  /** speechStarted was reported (the model was quiet, or yielded to them). */
  reported: boolean;
  lastAt: number;
  quiet: NodeJS.Timeout;
}

export class LiveTurns {
  private seq = 0;
  private model: ModelTurn | null = null;
  private caller: CallerTurn | null = null;
  /** Function calls of delegated responses not yet reported, by response. */
  private readonly calls = new Map<string, FunctionCall[]>();
  private lastTurnEndedAt = -Infinity;

  constructor(
    private readonly emit: (e: ModelEvent) => void,
    private readonly timing: LiveTurnTiming = LIVE_TURN_TIMING,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** One output audio delta: the model's turn, opened if need be. */
  audio(delta: string): void {
    const turn = this.openModelTurn();
    turn.spoke = true;
    this.emit({ type: 'audio', responseId: turn.responseId, itemId: turn.itemId, delta });
  }

  outputText(delta: string): void {
    const turn = this.openModelTurn();
    turn.text += delta;
    this.emit({ type: 'assistantTranscriptDelta', itemId: turn.itemId, delta });
  }

  inputText(delta: string): void {
    const at = this.now();
    let turn = this.caller;
    if (!turn) {
      turn = { itemId: this.id('live_user'), text: '', reported: false, lastAt: at, quiet: this.quietTimer() };
      this.caller = turn;
      // Nobody else is talking: the caller simply has the floor.
      if (!this.model) this.reportCaller(turn);
    } else {
      clearTimeout(turn.quiet);
      turn.quiet = this.quietTimer();
      // Still talking after the model finished its turn: the floor is theirs now.
      if (!turn.reported && !this.model) this.reportCaller(turn);
    }
    turn.lastAt = at;
    turn.text += delta;
  }

  functionCall(responseId: string, call: FunctionCall): void {
    const list = this.calls.get(responseId) ?? [];
    list.push(call);
    this.calls.set(responseId, list);
  }

  /** A delegated response ended: its calls go to the call, with the turn speaking or as one of their own. */
  delegationDone(responseId: string, usage: Usage | undefined): void {
    const calls = this.calls.get(responseId) ?? [];
    this.calls.delete(responseId);
    if (calls.length === 0) {
      if (usage) this.emit({ type: 'usage', usage });
      return;
    }
    if (this.model) {
      this.model.calls.push(...calls);
      if (usage) this.emit({ type: 'usage', usage });
      return;
    }
    // The model announced the lookup in the turn that just ended, or said nothing at all.
    const spoke = this.now() - this.lastTurnEndedAt < this.timing.yieldWindowMs;
    const id = this.id('live_tools');
    this.emit({ type: 'responseCreated', responseId: id });
    this.emit({
      type: 'responseDone',
      responseId: id,
      status: 'completed',
      functionCalls: calls,
      spokeBeforeCalls: spoke,
      ...(usage ? { usage } : {}),
    });
  }

  /** The socket is gone: end what is open without waiting for timers. */
  stop(): void {
    if (this.model) clearTimeout(this.model.gap);
    if (this.caller) clearTimeout(this.caller.quiet);
    this.model = null;
    this.caller = null;
  }

  // ---- turns ------------------------------------------------------------------------------------

  private openModelTurn(): ModelTurn {
    const at = this.now();
    let turn = this.model;
    if (turn) {
      clearTimeout(turn.gap);
      turn.gap = this.gapTimer();
      turn.lastOutputAt = at;
      return turn;
    }
    turn = {
      responseId: this.id('live_resp'),
      itemId: this.id('live_item'),
      text: '',
      spoke: false,
      lastOutputAt: at,
      calls: [],
      gap: this.gapTimer(),
    };
    this.model = turn;
    this.emit({ type: 'responseCreated', responseId: turn.responseId });
    this.emit({ type: 'assistantItem', responseId: turn.responseId, itemId: turn.itemId });
    return turn;
  }

  private endModelTurn(): void {
    const turn = this.model;
    if (!turn) return;
    this.model = null;
    this.lastTurnEndedAt = this.now();
    const caller = this.caller;
    const yielded =
      caller !== null && !caller.reported && turn.lastOutputAt - caller.lastAt < this.timing.yieldWindowMs;
    // Reported first: the chart stops what the caller hears before the turn's end arrives.
    if (yielded && caller) this.reportCaller(caller);
    if (turn.text)
      this.emit({ type: 'assistantTranscript', responseId: turn.responseId, itemId: turn.itemId, text: turn.text });
    this.emit({
      type: 'responseDone',
      responseId: turn.responseId,
      status: yielded ? 'cancelled' : 'completed',
      ...(yielded ? { reason: 'turn_detected' } : {}),
      functionCalls: yielded ? [] : turn.calls,
      spokeBeforeCalls: turn.spoke,
    });
    // Calls are not lost with a yielded turn: the backend still waits for their outputs.
    if (yielded && turn.calls.length > 0) {
      const id = this.id('live_tools');
      this.emit({ type: 'responseCreated', responseId: id });
      this.emit({
        type: 'responseDone',
        responseId: id,
        status: 'completed',
        functionCalls: turn.calls,
        spokeBeforeCalls: true,
      });
    }
  }

  private reportCaller(turn: CallerTurn): void {
    turn.reported = true;
    this.emit({ type: 'speechStarted', itemId: turn.itemId });
    this.emit({ type: 'userItem', itemId: turn.itemId });
  }

  private endCallerTurn(): void {
    const turn = this.caller;
    if (!turn) return;
    this.caller = null;
    if (turn.reported) this.emit({ type: 'speechStopped', itemId: turn.itemId });
    // Talk under a sentence the model finished still belongs in the transcript.
    else this.emit({ type: 'userItem', itemId: turn.itemId });
    this.emit({ type: 'userTranscript', itemId: turn.itemId, text: turn.text.trim() });
  }

  private gapTimer(): NodeJS.Timeout {
    const t = setTimeout(() => this.endModelTurn(), this.timing.turnGapMs);
    t.unref();
    return t;
  }

  private quietTimer(): NodeJS.Timeout {
    const t = setTimeout(() => this.endCallerTurn(), this.timing.callerQuietMs);
    t.unref();
    return t;
  }

  private id(prefix: string): string {
    return `${prefix}_${++this.seq}`;
  }
}
