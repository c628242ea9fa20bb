import type { SnapshotFrom } from 'xstate';
import type { callModel } from './call.model.js';

// How the model-based tests tell model states apart (call.model.ts): only what can still change what
// happens next, so the traversal stays small while covering every transition.

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
    // Decides the greeting's barge-in, the interrupt's cancel/truncate and the wrap-up's cut.
    bargeIn: c.bargeIn,
    greetingInterruptible:
      snapshot.matches('connecting') || snapshot.matches({ session: 'greeting' }) ? c.greetingInterruptible : undefined,
    responseActive:
      snapshot.matches('session') || snapshot.matches('connecting') || snapshot.matches('wrappingUp')
        ? c.responseActive
        : undefined,
    toolsLeft: snapshot.matches({ session: 'toolPending' }) ? c.toolsLeft : undefined,
    asked: snapshot.matches({ session: 'toolPending' }) ? [c.transferAsked, c.hangUpAsked] : undefined,
    awaiting: c.watchdog ? c.awaiting : undefined,
    // What the silence and wrap-up guards read, only where they read it.
    playing:
      snapshot.matches({ session: 'listening' }) || snapshot.matches({ wrappingUp: 'waitingTurn' })
        ? c.playing
        : undefined,
    silence: snapshot.matches({ session: 'listening' })
      ? [c.callerSpeaking, Math.min(c.silences, 1), c.silenceArmed]
      : undefined,
    closing: snapshot.matches({ session: 'ending' }) ? c.closing : undefined,
    watchdog: c.watchdog,
    endReason: c.endReason,
  };
  const via = event ? ` via ${JSON.stringify(event)} from ${JSON.stringify(prev?.value)}` : '';
  return JSON.stringify([snapshot.value, relevant]) + via;
}
