import type { AnyStateMachine, AnyStateNode, AnyTransitionDefinition, InspectionEvent, StateValue } from 'xstate';

// Which states and transitions of a real chart did the actors actually take? Keys come from the
// chart definition itself (every StateNode's `transitions` map and `always` list), and the taken
// transitions come from the actor's `@xstate.microstep` inspection events, so the numbers do not
// depend on the test model at all.

const ALWAYS = 'always';

function walk(node: AnyStateNode, visit: (node: AnyStateNode) => void): void {
  visit(node);
  for (const child of Object.values(node.states)) walk(child, visit);
}

/** `${source.id}|${eventType}|${index}` for every transition of the chart, in document order. */
export function chartTransitionKeys(machine: AnyStateMachine): string[] {
  const keys: string[] = [];
  walk(machine.root, (node) => {
    for (const [eventType, list] of node.transitions)
      for (let i = 0; i < list.length; i++) keys.push(`${node.id}|${eventType}|${i}`);
    for (let i = 0; i < (node.always ?? []).length; i++) keys.push(`${node.id}|${ALWAYS}|${i}`);
  });
  return keys;
}

/** Ids of every state node below the root ("call.session.greeting.producing", …). */
export function chartStateIds(machine: AnyStateMachine): string[] {
  const ids: string[] = [];
  walk(machine.root, (node) => {
    if (node !== machine.root) ids.push(node.id);
  });
  return ids;
}

/** Key of a taken transition, or undefined for synthetic ones (the initial transition). */
export function transitionKey(t: AnyTransitionDefinition): string | undefined {
  const source = t.source;
  const onList = source.transitions.get(t.eventType);
  const i = onList ? onList.indexOf(t) : -1;
  if (i >= 0) return `${source.id}|${t.eventType}|${i}`;
  const j = (source.always ?? []).indexOf(t);
  return j >= 0 ? `${source.id}|${ALWAYS}|${j}` : undefined;
}

/** All state ids active in `value` under a root id: "call.session", "call.session.listening", … */
export function activeStateIds(rootId: string, value: StateValue): string[] {
  if (typeof value === 'string') return [`${rootId}.${value}`];
  return Object.entries(value).flatMap(([key, child]) => {
    const id = `${rootId}.${key}`;
    return child === undefined ? [id] : [id, ...activeStateIds(id, child)];
  });
}

export interface CoverageReport {
  states: { covered: number; total: number; uncovered: string[] };
  transitions: { covered: number; total: number; uncovered: string[] };
}

function hasValue(snapshot: unknown): snapshot is { value: StateValue } {
  return typeof snapshot === 'object' && snapshot !== null && 'value' in snapshot;
}

export class ChartCoverage {
  private readonly allTransitions: string[];
  private readonly allStates: string[];
  private readonly taken = new Set<string>();
  private readonly visited = new Set<string>();

  constructor(private readonly machine: AnyStateMachine) {
    this.allTransitions = chartTransitionKeys(machine);
    this.allStates = chartStateIds(machine);
  }

  /** Pass as `createActor(…, { inspect })`; only the chart's own actor is counted. */
  readonly inspect = (event: InspectionEvent): void => {
    if (event.actorRef.sessionId !== event.rootId) return; // a tool child, not the chart
    if (event.type === '@xstate.microstep') {
      for (const t of event._transitions) {
        const key = transitionKey(t);
        if (key) this.taken.add(key);
      }
    }
    if ((event.type === '@xstate.microstep' || event.type === '@xstate.snapshot') && hasValue(event.snapshot)) {
      for (const id of activeStateIds(this.machine.id, event.snapshot.value)) this.visited.add(id);
    }
  };

  report(): CoverageReport {
    const uncoveredStates = this.allStates.filter((id) => !this.visited.has(id));
    const uncoveredTransitions = this.allTransitions.filter((k) => !this.taken.has(k));
    return {
      states: {
        covered: this.allStates.length - uncoveredStates.length,
        total: this.allStates.length,
        uncovered: uncoveredStates,
      },
      transitions: {
        covered: this.allTransitions.length - uncoveredTransitions.length,
        total: this.allTransitions.length,
        uncovered: uncoveredTransitions,
      },
    };
  }

  line(label: string): string {
    const r = this.report();
    const missing = r.transitions.uncovered.length ? ` (uncovered: ${r.transitions.uncovered.join(', ')})` : '';
    const missingStates = r.states.uncovered.length ? ` (unvisited: ${r.states.uncovered.join(', ')})` : '';
    return (
      `${label} coverage: states ${r.states.covered}/${r.states.total}${missingStates}, transitions ` +
      `${r.transitions.covered}/${r.transitions.total}${missing}`
    );
  }
}
