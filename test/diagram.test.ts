import { readFileSync, existsSync } from 'node:fs';
import { describe, it, expect } from 'vitest';
import {
  and,
  assign,
  fromPromise,
  not,
  setup,
  type AnyStateMachine,
  type AnyStateNode,
  type AnyTransitionDefinition,
} from 'xstate';
import { machines } from '../machines/index.js';
import { callMachine } from '../machines/call.machine.js';
import { chartDocument, expectedCharts } from '../scripts/diagram.js';
import { ANY_STATE, mermaidId, toMermaid } from '../src/obs/mermaid.js';

// The checked-in diagrams must be what `npm run diagram` produces from the machines as they are now,
// and the Mermaid must show every state and every transition in a form Mermaid's grammar accepts.

function nodes(n: AnyStateNode): AnyStateNode[] {
  return [n, ...Object.values(n.states).flatMap((c: AnyStateNode) => nodes(c))];
}

/** Every transition definition of the machine, read from the state nodes (not from toDirectedGraph). */
function transitions(machine: AnyStateMachine): AnyTransitionDefinition[] {
  return nodes(machine.root).flatMap((n) => [...[...n.transitions.values()].flat(), ...(n.always ?? [])]);
}

/** What a label must mention for a transition: its event (or timer / child actor) and its guard. */
function mustMention(t: AnyTransitionDefinition): string[] {
  const delay = /^xstate\.after\.([^.]+)\./.exec(t.eventType)?.[1];
  // A numeric delay is drawn as its length ('after 1.5 s'), a named one by its name.
  const after = delay === undefined ? undefined : /^\d+$/.test(delay) ? 'after ' : `after ${delay}`;
  const actor = /^xstate\.(?:done|error)\.actor\.(.+)$/.exec(t.eventType)?.[1];
  const stateDone = t.eventType.startsWith('xstate.done.state.') ? 'onDone' : undefined;
  const event = after ?? actor ?? stateDone ?? (t.eventType === '' ? 'always' : t.eventType);
  const guard = typeof t.guard === 'string' ? t.guard : undefined;
  return guard === undefined ? [event] : [event, guard];
}

function checkStructure(machine: AnyStateMachine, mermaid: string): void {
  const lines = mermaid.trimEnd().split('\n');
  expect(lines[0]).toBe('stateDiagram-v2');
  // Every line is one of the statement forms we emit, in the subset of Mermaid's state grammar that
  // parses them: ids without '-', ':' or spaces; a label after ' : ' without ':' or ';'.
  const id = '[A-Za-z0-9_]+';
  const forms = [
    new RegExp(`^\\s*state "[^"\\n]+" as ${id}( \\{)?$`),
    new RegExp(`^\\s*(\\[\\*\\]|${id}) --> (\\[\\*\\]|${id})( : [^:;\\n]+)?$`),
    /^\s*\}$/,
    /^\s*--$/,
  ];
  for (const line of lines.slice(1)) {
    expect(
      forms.some((f) => f.test(line)),
      `not a Mermaid state statement: ${JSON.stringify(line)}`,
    ).toBe(true);
  }
  const opens = lines.filter((l) => l.endsWith('{')).length;
  expect(lines.filter((l) => l.trim() === '}').length).toBe(opens);

  for (const n of nodes(machine.root).slice(1)) {
    expect(mermaid, `state ${n.id}`).toContain(` as ${mermaidId(n.id)}`);
  }
  const arrows = lines.map((l) => /^\s*(\S+) --> (\S+) : (.+)$/.exec(l)).filter((m) => m !== null);
  const end = (s: AnyStateNode): string => (s === machine.root ? ANY_STATE : mermaidId(s.id));
  for (const t of transitions(machine)) {
    const targets = t.target && t.target.length > 0 ? t.target : [t.source];
    for (const target of targets) {
      const found = arrows.some(
        (m) => m[1] === end(t.source) && m[2] === end(target) && mustMention(t).every((w) => (m[3] ?? '').includes(w)),
      );
      expect(
        found,
        `${t.source.id} → ${target.id} on ${JSON.stringify(t.eventType)} (${mustMention(t).join(', ')})`,
      ).toBe(true);
    }
  }
}

describe('npm run diagram', () => {
  it('has a checked-in docs/<name>-chart.md for every machine, equal to what the machines produce now', () => {
    const charts = expectedCharts();
    expect(charts.map((c) => c.name)).toEqual([...Object.keys(machines), 'README']);
    for (const chart of charts) {
      expect(existsSync(chart.path), `${chart.path} is missing: run npm run diagram`).toBe(true);
      const onDisk = readFileSync(chart.path, 'utf8');
      expect(onDisk === chart.content, `${chart.path} is out of date: run npm run diagram`).toBe(true);
      expect(onDisk).toContain('```mermaid\nstateDiagram-v2\n');
    }
  });

  it('notices a changed machine: a different timer length no longer matches the checked-in chart', () => {
    const chart = expectedCharts().find((c) => c.name === 'call');
    expect(chart).toBeDefined();
    const changed = callMachine.provide({ delays: { apologyHangup: 4500 } });
    const doc = chartDocument('call', changed);
    expect(doc).not.toBe(readFileSync(chart?.path ?? '', 'utf8'));
    expect(doc).toContain('after apologyHangup (4.5 s)');
  });

  it('draws every state and every transition of the call machine, in statements Mermaid parses', () => {
    const mermaid = toMermaid(callMachine);
    checkStructure(callMachine, mermaid);
    // Eventless transitions are not in toDirectedGraph: they must still be drawn.
    expect(mermaid).toMatch(/call_session_toolPending --> call_session_listening : always \[[^\]]*allToolsDone/);
    expect(mermaid).toContain('any_state --> call_teardown : caller.hungUp');
    expect(mermaid).toContain('call_connecting --> call_session : model.ready [else]');
    expect(mermaid).toContain('call_teardown --> [*]');
  });

  it('handles parallel regions, history, nested finals, child actors and higher-order guards', () => {
    const m = setup({
      types: { context: {} as { n: number }, events: {} as { type: 'go' } | { type: 'back' } },
      actors: { load: fromPromise(async () => 1) },
      guards: { ready: () => true, open: () => true },
    }).createMachine({
      id: 'demo',
      context: { n: 0 },
      initial: 'idle',
      states: {
        idle: { on: { go: [{ guard: not('ready'), target: 'busy' }, { target: 'loading' }] } },
        loading: {
          invoke: { src: 'load', id: 'loader', onDone: 'busy', onError: 'idle' },
        },
        busy: {
          type: 'parallel',
          onDone: 'done',
          states: {
            left: {
              initial: 'a',
              states: { a: { after: { 1500: 'b' } }, b: { type: 'final' }, hist: { type: 'history', history: 'deep' } },
            },
            right: {
              initial: 'x',
              states: {
                x: { on: { back: { guard: and(['ready', 'open']), target: 'y', actions: assign({ n: 1 }) } } },
                y: { type: 'final' },
              },
            },
          },
        },
        done: { type: 'final' },
      },
    });
    const mermaid = toMermaid(m);
    checkStructure(m, mermaid);
    expect(mermaid).toMatch(
      /state "busy" as demo_busy \{\n\s+state "left" as demo_busy_left \{[\s\S]*\n\s+--\n\s+state "right"/,
    );
    expect(mermaid).toContain('state "hist (H*)" as demo_busy_left_hist');
    expect(mermaid).toContain('demo_idle --> demo_busy : go [not(ready)]');
    expect(mermaid).toContain('demo_idle --> demo_loading : go [else]');
    expect(mermaid).toContain('demo_loading --> demo_busy : done(loader)');
    expect(mermaid).toContain('demo_loading --> demo_idle : error(loader)');
    expect(mermaid).toContain('demo_busy_left_a --> demo_busy_left_b : after 1.5 s');
    expect(mermaid).toContain('demo_busy_right_x --> demo_busy_right_y : back [and(ready, open)]');
    expect(mermaid).toContain('demo_busy --> demo_done : onDone');
    // A nested final state ends its own block, not the whole machine.
    expect(mermaid).toMatch(/state "b" as demo_busy_left_b\n\s+demo_busy_left_b --> \[\*\]\n/);
  });
});
