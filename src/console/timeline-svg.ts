import type { StoredTimelineEntry } from '../store/call-record.js';
import { escapeHtml } from './html.js';

// The call over time as one picture: the chart's states as coloured bands, tool calls as bars as long
// as they took, barge-ins as red lines, the moments the caller had heard a whole answer as green
// dots, a transfer as a diamond, and the end. Entry kinds this version does not know (a newer
// relay's) are drawn as grey marks.

const W = 900;
const LEFT = 8;
const RIGHT = 8;
const BAND_Y = 18;
const BAND_H = 34;
const TOOL_Y = 66;
const TOOL_H = 18;
const HEARD_Y = 98;
const AXIS_Y = 116;
const H = 140;

/** Band colours by the state's first two names; text on them stays above 4.5:1 contrast. */
const COLOURS: Array<[prefix: string, fill: string, label: string]> = [
  ['connecting', '#d1d5db', 'connecting'],
  ['session.greeting', '#99f6e4', 'greeting'],
  ['session.listening', '#bfdbfe', 'listening'],
  ['session.speaking', '#bbf7d0', 'speaking'],
  ['session.bargeIn', '#fecaca', 'caller talking over'],
  ['session.toolPending', '#e9d5ff', 'tools'],
  ['session.transferring', '#c7d2fe', 'transferring'],
  ['session', '#e5e7eb', 'in session'],
  ['voicemail', '#fde68a', 'voicemail'],
  ['wrappingUp', '#fed7aa', 'wrapping up'],
  ['apologizing', '#fca5a5', 'apologizing'],
  ['teardown', '#9ca3af', 'ended'],
];

export function stateColour(state: string): { fill: string; label: string } {
  for (const [prefix, fill, label] of COLOURS) {
    if (state === prefix || state.startsWith(`${prefix}.`)) return { fill, label };
  }
  return { fill: '#e5e7eb', label: state };
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

function tickStep(totalMs: number): number {
  for (const s of [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1200]) if (totalMs / (s * 1000) <= 12) return s * 1000;
  return 3_600_000;
}

export function fmtSeconds(ms: number): string {
  const s = ms / 1000;
  if (s < 60) return `${Number(s.toFixed(s < 10 ? 1 : 0))} s`;
  const m = Math.floor(s / 60);
  return `${m}:${String(Math.round(s % 60)).padStart(2, '0')}`;
}

/** The picture of one call; `durationMs` stretches the axis to the call's length. */
export function timelineSvg(entries: readonly StoredTimelineEntry[], durationMs: number | null): string {
  const last = entries.reduce((m, e) => Math.max(m, e.atMs + (num(e.ms) ?? 0)), 0);
  const total = Math.max(1000, durationMs ?? 0, last);
  const x = (ms: number): number => LEFT + (Math.max(0, Math.min(ms, total)) / total) * (W - LEFT - RIGHT);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="timeline" viewBox="0 0 ${W} ${H}" role="img" ` +
      `aria-label="Timeline of the call: states, tool calls, barge-ins and the end">`,
  ];
  const states = entries.filter((e) => e.kind === 'state');
  states.forEach((e, i) => {
    const state = str(e.state) ?? '?';
    const end = states[i + 1]?.atMs ?? entries.find((x) => x.kind === 'end')?.atMs ?? total;
    const x0 = x(e.atMs);
    const w = Math.max(1, x(end) - x0);
    const { fill, label } = stateColour(state);
    const leaf = state.split('.').slice(-1)[0] ?? state;
    // As much of the name as fits: "greeting · draining", else "greeting".
    const long = leaf === label || state === label ? label : `${label} · ${leaf}`;
    const short = w > long.length * 6.2 + 8 ? long : label;
    out.push(
      `<g class="band"><title>${escapeHtml(state)}: ${fmtSeconds(e.atMs)} – ${fmtSeconds(end)}</title>` +
        `<rect x="${x0}" y="${BAND_Y}" width="${w}" height="${BAND_H}" fill="${fill}"/>` +
        (w > short.length * 6.2 + 8
          ? `<text x="${x0 + 4}" y="${BAND_Y + BAND_H / 2 + 4}">${escapeHtml(short)}</text>`
          : '') +
        '</g>',
    );
  });
  for (const e of entries) {
    const at = x(e.atMs);
    switch (e.kind) {
      case 'state':
        break;
      case 'tool': {
        const ms = num(e.ms) ?? 0;
        const name = str(e.name) ?? 'tool';
        const ok = e.ok !== false;
        const w = Math.max(3, x(e.atMs + ms) - at);
        out.push(
          `<g class="tool${ok ? '' : ' failed'}">` +
            `<title>${escapeHtml(name)}: ${Math.round(ms)} ms${ok ? '' : ', failed'}</title>` +
            `<rect x="${at}" y="${TOOL_Y}" width="${w}" height="${TOOL_H}" rx="3"/>` +
            `<text x="${at + w + 4}" y="${TOOL_Y + 13}">${escapeHtml(name)} ${Math.round(ms)} ms</text></g>`,
        );
        break;
      }
      case 'bargeIn':
        out.push(
          `<g class="barge"><title>barge-in at ${fmtSeconds(e.atMs)}</title>` +
            `<line x1="${at}" x2="${at}" y1="${BAND_Y - 8}" y2="${HEARD_Y + 6}"/>` +
            `<path d="M${at - 5} ${BAND_Y - 14} L${at + 5} ${BAND_Y - 14} L${at} ${BAND_Y - 6} Z"/></g>`,
        );
        break;
      case 'heard':
        out.push(
          `<g class="heard"><title>caller heard the whole answer at ${fmtSeconds(e.atMs)}</title>` +
            `<circle cx="${at}" cy="${HEARD_Y}" r="4"/></g>`,
        );
        break;
      case 'transfer': {
        const target = str(e.target) ?? 'a person';
        const outcome = str(e.outcome) ?? '';
        out.push(
          `<g class="transfer"><title>transfer to ${escapeHtml(target)} at ${fmtSeconds(e.atMs)}` +
            `${outcome ? `: ${escapeHtml(outcome)}` : ''}</title>` +
            `<path d="M${at} ${HEARD_Y - 7} L${at + 7} ${HEARD_Y} L${at} ${HEARD_Y + 7} L${at - 7} ${HEARD_Y} Z"/>` +
            `<text x="${at + 10}" y="${HEARD_Y + 4}">transfer${outcome ? ` (${escapeHtml(outcome)})` : ''}</text></g>`,
        );
        break;
      }
      case 'end': {
        const reason = str(e.reason) ?? 'ended';
        const anchor = at > W - 160 ? 'end' : 'start';
        out.push(
          `<g class="end"><title>call ended: ${escapeHtml(reason)} at ${fmtSeconds(e.atMs)}</title>` +
            `<line x1="${at}" x2="${at}" y1="${BAND_Y - 10}" y2="${AXIS_Y}"/>` +
            `<text x="${anchor === 'end' ? at - 4 : at + 4}" y="${BAND_Y - 6}" text-anchor="${anchor}">` +
            `end: ${escapeHtml(reason)}</text></g>`,
        );
        break;
      }
      default: {
        const what = escapeHtml(e.kind);
        out.push(
          `<g class="other"><title>${what} at ${fmtSeconds(e.atMs)}</title>` +
            `<rect x="${at - 3}" y="${HEARD_Y - 4}" width="6" height="8"/></g>`,
        );
      }
    }
  }
  const step = tickStep(total);
  out.push(`<line class="axis" x1="${LEFT}" x2="${W - RIGHT}" y1="${AXIS_Y}" y2="${AXIS_Y}"/>`);
  for (let t = 0; t <= total; t += step) {
    out.push(
      `<line class="tick" x1="${x(t)}" x2="${x(t)}" y1="${AXIS_Y}" y2="${AXIS_Y + 5}"/>` +
        `<text class="tick" x="${x(t)}" y="${AXIS_Y + 17}" text-anchor="middle">${fmtSeconds(t)}</text>`,
    );
  }
  out.push('</svg>');
  return out.join('');
}

/** The legend of the bands present, as list items (HTML). */
export function timelineLegend(entries: readonly StoredTimelineEntry[]): Array<{ fill: string; label: string }> {
  const seen = new Map<string, string>();
  for (const e of entries) {
    if (e.kind !== 'state') continue;
    const c = stateColour(str(e.state) ?? '');
    if (!seen.has(c.label)) seen.set(c.label, c.fill);
  }
  return [...seen].map(([label, fill]) => ({ fill, label }));
}
