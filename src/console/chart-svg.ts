import type { AnyStateMachine, AnyStateNode } from 'xstate';
import { chartEdges } from '../obs/mermaid.js';
import { escapeHtml } from './html.js';

// The call chart drawn from the machine definition itself, server-side, as nested boxes: compound
// states hold their children, the final state has a double border. Each box carries its state path
// (data-state="session.speaking.producing", the names onCallState reports), so the page highlights
// the active state and its ancestors by class alone. Laid out once at start-up; no layout engine.

const LEAF_H = 30;
const PAD = 10;
const TITLE = 24;
const GAP = 10;
/** Average width of one character of the 13 px sans-serif labels. */
const CHAR_W = 7.6;

interface Box {
  node: AnyStateNode;
  path: string;
  w: number;
  h: number;
  kids: Array<{ box: Box; x: number; y: number }>;
}

const pathOf = (node: AnyStateNode): string => node.path.join('.');

function measure(node: AnyStateNode, maxW: number): Box {
  const label = node.key;
  const children: AnyStateNode[] = Object.values(node.states);
  if (children.length === 0) {
    return { node, path: pathOf(node), w: Math.max(84, Math.ceil(label.length * CHAR_W) + 24), h: LEAF_H, kids: [] };
  }
  const inner = maxW - 2 * PAD;
  const boxes = children.map((c) => measure(c, inner));
  const kids: Box['kids'] = [];
  let x = PAD;
  let y = TITLE;
  let rowH = 0;
  let widest = 0;
  for (const box of boxes) {
    if (x > PAD && x + box.w > PAD + inner) {
      y += rowH + GAP;
      x = PAD;
      rowH = 0;
    }
    kids.push({ box, x, y });
    x += box.w + GAP;
    rowH = Math.max(rowH, box.h);
    widest = Math.max(widest, x - GAP);
  }
  const w = Math.max(widest + PAD, Math.ceil(label.length * CHAR_W) + 2 * PAD);
  return { node, path: pathOf(node), w, h: y + rowH + PAD, kids };
}

function draw(box: Box, x: number, y: number, out: string[]): void {
  const compound = box.kids.length > 0;
  const final = box.node.type === 'final';
  const cls = `st${compound ? ' compound' : ''}${final ? ' final' : ''}`;
  out.push(`<g class="${cls}" data-state="${escapeHtml(box.path)}" transform="translate(${x},${y})">`);
  out.push(`<title>${escapeHtml(box.path || 'call')}</title>`);
  out.push(`<rect width="${box.w}" height="${box.h}" rx="8"/>`);
  if (final) out.push(`<rect class="inner" x="3" y="3" width="${box.w - 6}" height="${box.h - 6}" rx="6"/>`);
  const label = escapeHtml(box.node.key);
  if (compound) out.push(`<text x="${PAD}" y="16" class="title">${label}</text>`);
  else out.push(`<text x="${box.w / 2}" y="${LEAF_H / 2 + 4.5}" text-anchor="middle">${label}</text>`);
  for (const k of box.kids) draw(k.box, k.x, k.y, out);
  out.push('</g>');
}

export interface ChartPicture {
  /** The SVG, without highlight (the page or its script adds the classes). */
  svg: string;
  /** For each state path, where it can go next: "event [guard] → target", innermost state first. */
  next: Record<string, string[]>;
  /** Every state path drawn. */
  states: string[];
}

/** Lays out `machine` once; call at start-up. */
export function chartPicture(machine: AnyStateMachine, maxWidth = 880): ChartPicture {
  const root = measure(machine.root, maxWidth);
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 ${root.w + 2} ${root.h + 2}" ` +
      `width="${root.w + 2}" height="${root.h + 2}" role="img" aria-label="The call statechart">`,
  );
  draw(root, 1, 1, out);
  out.push('</svg>');
  const states: string[] = [];
  const collect = (b: Box): void => {
    if (b.path !== '') states.push(b.path);
    for (const k of b.kids) collect(k.box);
  };
  collect(root);
  return { svg: out.join(''), next: nextSteps(machine, states), states };
}

function nextSteps(machine: AnyStateMachine, states: readonly string[]): Record<string, string[]> {
  const rootId = machine.root.id;
  const local = (id: string): string => (id === rootId ? '(any)' : id.slice(rootId.length + 1));
  const bySource = new Map<string, string[]>();
  for (const e of chartEdges(machine)) {
    const from = local(e.source);
    // Transitions that only run actions leave the picture as it is; the list is about where it can go.
    if (e.target === e.source) continue;
    bySource.set(from, [...(bySource.get(from) ?? []), `${e.label} → ${local(e.target)}`]);
  }
  const next: Record<string, string[]> = {};
  for (const s of states) {
    const parts = s.split('.');
    const lines: string[] = [];
    for (let i = parts.length; i >= 1; i--) lines.push(...(bySource.get(parts.slice(0, i).join('.')) ?? []));
    lines.push(...(bySource.get('(any)') ?? []));
    next[s] = [...new Set(lines)];
  }
  return next;
}

/** Classes for a server-rendered highlight: the active box and the boxes around it. */
export function highlight(svg: string, active: string): string {
  return svg.replace(/<g class="(st[^"]*)" data-state="([^"]*)"/g, (m, cls: string, state: string) => {
    if (state === active) return `<g class="${cls} active" data-state="${state}"`;
    if (state !== '' && active.startsWith(`${state}.`)) return `<g class="${cls} on-path" data-state="${state}"`;
    return m;
  });
}
