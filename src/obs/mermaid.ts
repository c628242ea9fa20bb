import type { AnyStateMachine, AnyStateNode, AnyTransitionDefinition } from 'xstate';
import { toDirectedGraph } from 'xstate/graph';

// A statechart as Mermaid `stateDiagram-v2` text (renders on GitHub, in most Markdown viewers and in
// mermaid.live). Built from `toDirectedGraph` so the picture is the chart that runs, not a drawing
// of it: `npm run diagram` regenerates docs/<name>-chart.md and test/diagram.test.ts fails when a
// machine changed without it. toDirectedGraph leaves out eventless (`always`) transitions, so they
// are read from the state nodes directly.

type GraphNode = ReturnType<typeof toDirectedGraph>;
type Guard = AnyTransitionDefinition['guard'];

/** One arrow of the diagram, in machine terms (state node ids), as drawn. */
export interface ChartEdge {
  /** State node id the transition is declared on (the machine root for "(any state)"). */
  source: string;
  /** Target state node id; equal to `source` for a targetless (internal) transition. */
  target: string;
  label: string;
  transition: AnyTransitionDefinition;
}

/** Mermaid-safe identifier for a state node id: 'call.session.greeting' → 'call_session_greeting'. */
export function mermaidId(stateId: string): string {
  return stateId.replace(/[^A-Za-z0-9_]/g, '_');
}

/** Pseudo-state holding the transitions declared on the machine root (taken from any state). */
export const ANY_STATE = 'any_state';

/** Guard name as written in the machine: 'isX', or for higher-order guards 'not(isX)', 'and(a, b)'. */
export function guardName(guard: Guard): string | undefined {
  if (guard === undefined) return undefined;
  if (typeof guard === 'string') return guard;
  if (typeof guard === 'function') {
    // not()/and()/or() return a function carrying the guards they combine.
    const inner: unknown = 'guards' in guard ? guard.guards : undefined;
    if (Array.isArray(inner)) {
      const parts = inner.map((g: Guard) => guardName(g) ?? 'inline');
      return `${guard.name || 'guard'}(${parts.join(', ')})`;
    }
    return guard.name && guard.name !== 'guard' ? guard.name : 'inline guard';
  }
  return guard.type;
}

function formatMs(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  return `${Number((ms / 1000).toFixed(2))} s`;
}

/**
 * The event part of a label: `after connectTimeout`, `done(tool-*)`, `error(x)`, `onDone`, `always` or
 * the event type. No ':' anywhere: in Mermaid's state grammar a colon ends the label.
 */
export function eventLabel(machine: AnyStateMachine, eventType: string): string {
  const after = /^xstate\.after\.([^.]+)\./.exec(eventType);
  if (after?.[1] !== undefined) {
    const name = after[1];
    if (/^\d+$/.test(name)) return `after ${formatMs(Number(name))}`;
    const delays: Record<string, unknown> = machine.implementations.delays;
    const value = delays[name];
    return typeof value === 'number' ? `after ${name} (${formatMs(value)})` : `after ${name}`;
  }
  const done = /^xstate\.done\.actor\.(.+)$/.exec(eventType);
  if (done?.[1] !== undefined) return `done(${done[1]})`;
  const error = /^xstate\.error\.actor\.(.+)$/.exec(eventType);
  if (error?.[1] !== undefined) return `error(${error[1]})`;
  if (/^xstate\.done\.state\./.test(eventType)) return 'onDone';
  if (eventType === '') return 'always';
  return eventType;
}

/**
 * Guard suffix: ` [guard]`, or ` [else]` for an unguarded candidate listed after guarded ones for
 * the same event (it is taken only when those guards fail).
 */
function guardSuffix(t: AnyTransitionDefinition, siblings: readonly AnyTransitionDefinition[]): string {
  const name = guardName(t.guard);
  if (name !== undefined) return ` [${name}]`;
  const i = siblings.indexOf(t);
  return i > 0 && siblings.slice(0, i).some((s) => s.guard !== undefined) ? ' [else]' : '';
}

/** Characters Mermaid's state grammar misreads (`:` and `;` end a label, `#` starts an entity). */
function cleanLabel(text: string): string {
  return text.replace(/[:;#\n\r{}"]/g, '_');
}

function transitionEdges(
  machine: AnyStateMachine,
  node: AnyStateNode,
  ts: readonly AnyTransitionDefinition[],
  siblingsOf: (t: AnyTransitionDefinition) => readonly AnyTransitionDefinition[],
): ChartEdge[] {
  const out: ChartEdge[] = [];
  for (const t of ts) {
    const label = cleanLabel(eventLabel(machine, t.eventType) + guardSuffix(t, siblingsOf(t)));
    const targets = t.target && t.target.length > 0 ? t.target : [node];
    for (const target of targets) out.push({ source: node.id, target: target.id, label, transition: t });
  }
  return out;
}

/** Every arrow of the chart: `on`/`after`/done/error transitions (via toDirectedGraph) and `always`. */
export function chartEdges(machine: AnyStateMachine): ChartEdge[] {
  const out: ChartEdge[] = [];
  const walk = (g: GraphNode): void => {
    const node = g.stateNode;
    const fromGraph = g.edges.map((e) => e.transition);
    // A transition listed once per target by toDirectedGraph: keep each definition once.
    const unique = fromGraph.filter((t, i) => fromGraph.indexOf(t) === i);
    out.push(...transitionEdges(machine, node, unique, (t) => node.transitions.get(t.eventType) ?? []));
    const always = node.always ?? [];
    out.push(...transitionEdges(machine, node, always, () => always));
    g.children.forEach(walk);
  };
  walk(toDirectedGraph(machine));
  return out;
}

function initialChild(node: AnyStateNode): AnyStateNode | undefined {
  return node.type === 'compound' ? node.initial.target[0] : undefined;
}

function stateTitle(node: AnyStateNode): string {
  const key = node.key.replace(/"/g, "'");
  if (node.type === 'history') return `${key} (${node.history === 'deep' ? 'H*' : 'H'})`;
  return key;
}

/** Mermaid `stateDiagram-v2` for a machine: nested compound and parallel states, history, final states. */
export function toMermaid(machine: AnyStateMachine): string {
  const root = toDirectedGraph(machine);
  const seen = new Map<string, string>();
  const idOf = (node: AnyStateNode): string => {
    const id = mermaidId(node.id);
    const prev = seen.get(id);
    if (prev !== undefined && prev !== node.id)
      throw new Error(`state ids ${prev} and ${node.id} both become ${id} in Mermaid`);
    seen.set(id, node.id);
    return id;
  };
  const lines = ['stateDiagram-v2'];
  const first = initialChild(root.stateNode);
  if (first) lines.push(`  [*] --> ${idOf(first)}`);

  const declare = (g: GraphNode, depth: number): void => {
    const node = g.stateNode;
    const pad = '  '.repeat(depth);
    if (g.children.length === 0) {
      lines.push(`${pad}state "${stateTitle(node)}" as ${idOf(node)}`);
      // Inside its parent's block, [*] is that block's end, which is what a nested final state means.
      if (node.type === 'final') lines.push(`${pad}${idOf(node)} --> [*]`);
      return;
    }
    lines.push(`${pad}state "${stateTitle(node)}" as ${idOf(node)} {`);
    const start = initialChild(node);
    if (start) lines.push(`${pad}  [*] --> ${idOf(start)}`);
    g.children.forEach((c, i) => {
      if (node.type === 'parallel' && i > 0) lines.push(`${pad}  --`);
      declare(c, depth + 1);
    });
    lines.push(`${pad}}`);
  };
  for (const c of root.children) declare(c, 1);

  const edges = chartEdges(machine);
  const rootId = root.stateNode.id;
  const end = (id: string): string => (id === rootId ? ANY_STATE : mermaidId(id));
  if (edges.some((e) => e.source === rootId)) lines.push(`  state "(any state)" as ${ANY_STATE}`);
  for (const e of edges) lines.push(`  ${end(e.source)} --> ${end(e.target)} : ${e.label}`);
  return `${lines.join('\n')}\n`;
}
