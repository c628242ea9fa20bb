import type { LevelResult } from './load-level.js';
import type { RelayKind } from './relay-child.js';
import { FULL_PACE_PCT, generatorSaturated } from './report.js';

// The capacity curve as an SVG (written by hand: three small line charts need no library): CPU per
// call, p99 latency (the worse way) and RSS per call against concurrent calls, one line per relay
// measured in the run, so callrelay reads against the no-logic references level by level. A hollow
// point is a level the generator could not drive (saturated, or under 98% of the frames delivered):
// its figures measure the generator and the machine more than the relay.

const W = 300;
const H = 230;
const PAD = { left: 52, right: 12, top: 30, bottom: 38 };
const COLORS: Record<RelayKind, string> = {
  callrelay: '#d62728',
  uwsfloor: '#1f77b4',
  passthrough: '#2ca02c',
  baseline: '#7f7f7f',
};
const NAMES: Record<RelayKind, string> = {
  callrelay: 'callrelay',
  uwsfloor: 'uWS no-logic floor',
  passthrough: 'ws pass-through',
  baseline: 'baseline',
};

interface Panel {
  title: string;
  unit: string;
  value: (r: LevelResult) => number;
  /** A target drawn as a dashed line. */
  target?: number;
  /** The axis stops here; higher values are drawn at the top with their figure beside them. */
  cap?: number;
}

const PANELS: Panel[] = [
  { title: 'CPU per call', unit: '% of a core', value: (r) => r.cpuPerCallFullPacePct },
  { title: 'p99 latency (worse way)', unit: 'ms', value: (r) => Math.max(r.up.p99, r.down.p99), target: 20, cap: 100 },
  { title: 'RSS per call', unit: 'KiB', value: (r) => r.rssPerCallKiB },
];

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const num = (n: number): string => (Math.round(n * 10) / 10).toString();

/** A round step giving about `n` ticks up to `max`. */
function niceStep(max: number, n = 4): number {
  const raw = max / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const f = raw / mag;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
}

/** The last measurement of each relay at each level (a disturbed level may have been measured twice). */
function series(results: LevelResult[]): Map<RelayKind, LevelResult[]> {
  const out = new Map<RelayKind, LevelResult[]>();
  for (const r of results) {
    const list = out.get(r.kind) ?? [];
    const i = list.findIndex((x) => x.calls === r.calls);
    if (i >= 0) list[i] = r;
    else list.push(r);
    out.set(r.kind, list);
  }
  for (const list of out.values()) list.sort((a, b) => a.calls - b.calls);
  return out;
}

function panel(p: Panel, data: Map<RelayKind, LevelResult[]>, maxCalls: number, x0: number, labels: string[]): string {
  const values = [...data.values()].flat().map(p.value).filter(Number.isFinite);
  const top = Math.min(p.cap ?? Number.POSITIVE_INFINITY, Math.max(p.target ?? 0, ...values, 1e-9)) * 1.1;
  const step = niceStep(top);
  const yMax = Math.ceil(top / step) * step;
  const xStep = niceStep(maxCalls);
  const xMax = Math.ceil(maxCalls / xStep) * xStep;
  const pw = W - PAD.left - PAD.right;
  const ph = H - PAD.top - PAD.bottom;
  const sx = (c: number): number => x0 + PAD.left + (c / xMax) * pw;
  const sy = (v: number): number => PAD.top + ph - (Math.min(v, yMax) / yMax) * ph;
  const out: string[] = [`<text x="${x0 + W / 2}" y="16" class="t">${esc(p.title)} (${esc(p.unit)})</text>`];
  for (let v = 0; v <= yMax + step / 2; v += step) {
    const y = sy(v);
    out.push(`<line x1="${sx(0)}" x2="${sx(xMax)}" y1="${y}" y2="${y}" class="g"/>`);
    out.push(`<text x="${sx(0) - 4}" y="${y + 4}" class="yl">${num(v)}</text>`);
  }
  for (let c = 0; c <= xMax; c += xStep) {
    out.push(`<text x="${sx(c)}" y="${PAD.top + ph + 15}" class="xl">${c}</text>`);
  }
  out.push(`<text x="${x0 + PAD.left + pw / 2}" y="${H - 6}" class="xl">concurrent calls</text>`);
  out.push(`<rect x="${sx(0)}" y="${PAD.top}" width="${pw}" height="${ph}" class="f"/>`);
  if (p.target !== undefined) {
    const y = sy(p.target);
    out.push(`<line x1="${sx(0)}" x2="${sx(xMax)}" y1="${y}" y2="${y}" class="tg"/>`);
    out.push(`<text x="${sx(xMax) - 2}" y="${y - 3}" class="tl">target ${p.target}</text>`);
  }
  for (const [kind, list] of data) {
    const pts = list.filter((r) => Number.isFinite(p.value(r))).map((r) => `${sx(r.calls)},${sy(p.value(r))}`);
    const color = COLORS[kind];
    const width = kind === 'callrelay' ? 2.5 : 1.5;
    out.push(`<polyline points="${pts.join(' ')}" fill="none" stroke="${color}" stroke-width="${width}"/>`);
    for (const r of list) {
      const v = p.value(r);
      if (!Number.isFinite(v)) continue;
      const weak = generatorSaturated(r) !== null || r.deliveredPct < FULL_PACE_PCT;
      const fill = weak ? `fill="#fff" stroke="${color}" stroke-width="1.5"` : `fill="${color}"`;
      out.push(`<circle cx="${sx(r.calls)}" cy="${sy(v)}" r="3" ${fill}/>`);
    }
    // A value above the axis is clipped to it: say so at the point.
    for (const r of list) {
      const v = p.value(r);
      if (v > yMax) labels.push(`<text x="${sx(r.calls) + 4}" y="${sy(v) + 10}" class="cl">${num(v)}</text>`);
    }
  }
  return out.join('');
}

/** Words into lines of at most `max` characters (about 5.5 px each at the caption's 10 px). */
function wrap(text: string, max: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > max) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(line);
  return lines;
}

/** The SVG document for a run's level results; `caption` says when and where it was measured. */
export function capacitySvg(results: LevelResult[], caption: string): string {
  const data = series(results);
  const maxCalls = Math.max(100, ...results.map((r) => r.calls));
  const labels: string[] = [];
  const panels = PANELS.map((p, i) => panel(p, data, maxCalls, i * W, labels)).join('');
  const legend = [...data.keys()]
    .map((k, i) => {
      const x = 10 + i * 190;
      const name = k === 'baseline' ? (data.get(k)?.[0]?.label ?? NAMES[k]) : NAMES[k];
      return (
        `<line x1="${x}" x2="${x + 22}" y1="${H + 12}" y2="${H + 12}" stroke="${COLORS[k]}" stroke-width="2.5"/>` +
        `<text x="${x + 28}" y="${H + 16}" class="lg">${esc(name)}</text>`
      );
    })
    .join('');
  const width = W * PANELS.length;
  const notes = wrap(`${caption} Hollow points: the generator could not keep pace.`, 150);
  const height = H + 30 + notes.length * 13;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
      'font-family="Helvetica, Arial, sans-serif">',
    // Alternative text for readers that cannot see the picture (and biome's a11y rule).
    '<title>CPU per call, p99 latency and RSS per call against concurrent calls, per relay</title>',
    '<style>.t{font-size:13px;text-anchor:middle;font-weight:bold}.yl{font-size:10px;text-anchor:end;fill:#444}' +
      '.xl{font-size:10px;text-anchor:middle;fill:#444}.g{stroke:#e4e4e4}.f{fill:none;stroke:#999}' +
      '.tg{stroke:#000;stroke-dasharray:4 3}.tl{font-size:9px;text-anchor:end}.lg{font-size:11px}' +
      '.cl{font-size:9px;fill:#333}.cap{font-size:10px;fill:#555}</style>',
    '<rect width="100%" height="100%" fill="#fff"/>',
    panels,
    labels.join(''),
    legend,
    notes.map((line, i) => `<text x="10" y="${H + 40 + i * 13}" class="cap">${esc(line)}</text>`).join(''),
    '</svg>',
    '',
  ].join('\n');
}
