import type { CallRecord } from '../../store/call-record.js';
import { duration, inZone, words } from '../format.js';
import { html, trusted } from '../html.js';
import { fmtSeconds, timelineLegend, timelineSvg } from '../timeline-svg.js';
import { page, type PageContext } from './layout.js';

// One finished call: the facts, the timeline picture, the transcript in order (turns the caller
// talked over are marked), each tool call with its arguments and output, and the usage.

const ROLE: Record<CallRecord['transcript'][number]['role'], string> = {
  caller: 'Caller',
  assistant: 'Assistant',
  tool: 'Tool',
  system: 'System',
};

const INTERRUPTED = 'The caller talked over this; it is cut where they stopped hearing it';

/** A colour sample as SVG (a fill attribute, not an inline style the page's CSP would refuse). */
function swatch(fill: string): string {
  return (
    '<svg class="swatch" width="14" height="14" aria-hidden="true">' +
    `<rect width="14" height="14" rx="3" fill="${fill}"/></svg>`
  );
}

/** Pretty-printed JSON when it is JSON, else the text as it came. */
function pretty(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

function describeEntry(e: CallRecord['timeline'][number]): string {
  switch (e.kind) {
    case 'state':
      return `state ${String(e.state)}`;
    case 'bargeIn':
      return 'caller barged in';
    case 'tool':
      return `tool ${String(e.name)} (${String(e.ms)} ms${e.ok === false ? ', failed' : ''})`;
    case 'heard':
      return 'caller heard the whole answer';
    case 'reconnect':
      return reconnectLine(e);
    case 'transfer':
      return `transfer to ${String(e.target)}${e.outcome ? ` (${String(e.outcome)})` : ''}`;
    case 'end':
      return `call ended: ${String(e.reason)}`;
    default:
      return e.kind;
  }
}

/** Records from before resumption existed carry no `resumed`: they were all seeded sessions. */
function reconnectLine(e: CallRecord['timeline'][number]): string {
  if (e.ok === false) return `model reconnect failed after ${String(e.gapMs)} ms`;
  const how = e.resumed === true ? 'conversation resumed' : 'new session seeded with the conversation';
  return `model reconnected after ${String(e.gapMs)} ms (${how})`;
}

/** The recording, when the merchant records calls: its state, length, and Twilio's media link. */
function recording(r: CallRecord) {
  const rec = r.recording;
  if (!rec) return '';
  const length = rec.durationSeconds === null ? '' : `, ${duration(rec.durationSeconds * 1000)}`;
  const channels = rec.channels === 2 ? ', caller and assistant apart' : '';
  return html`<div><dt>Recording</dt><dd id="recording">${rec.status}${length}${channels}${
    rec.url ? html` · <a href="${rec.url}" rel="noreferrer">open at Twilio</a>` : ''
  }</dd></div>`;
}

export function callPage(ctx: PageContext, r: CallRecord, merchantName: string, zone: string): string {
  const num = (k: string): string => {
    const v = r.usage[k];
    return typeof v === 'number' ? v.toLocaleString('en-US') : '–';
  };
  const stat = (k: string): string => {
    const v = r.stats[k];
    return typeof v === 'number' ? String(v) : '–';
  };
  return page(
    `Call ${r.callSid}`,
    ctx,
    html`<dl class="facts card">
  <div><dt>Merchant</dt><dd>${merchantName}</dd></div>
  <div><dt>Caller</dt><dd>${r.callerPhone ?? 'unknown'}</dd></div>
  <div><dt>Direction</dt><dd>${r.direction}${r.answeredBy ? ` (answered by ${r.answeredBy})` : ''}</dd></div>
  <div><dt>Started</dt><dd>${inZone(r.startedAt, zone)}</dd></div>
  <div><dt>Duration</dt><dd>${duration(r.durationMs)}</dd></div>
  <div><dt>End reason</dt><dd id="end-reason">${words(r.endReason)}</dd></div>
  <div><dt>Model</dt><dd>${r.provider ?? '–'} ${r.model ?? ''}</dd></div>
  ${recording(r)}
</dl>
<section aria-labelledby="tl-h">
  <h2 id="tl-h">Timeline</h2>
  ${
    r.timeline.length === 0
      ? html`<p class="empty">No timeline was recorded for this call.</p>`
      : html`<div class="timeline-wrap">${trusted(timelineSvg(r.timeline, r.durationMs))}</div>
  <ul class="legend">${timelineLegend(r.timeline).map(
    (l) => html`<li>${trusted(swatch(l.fill))}${l.label}</li>`,
  )}<li><span class="swatch tool"></span>tool call</li><li><span class="swatch barge"></span>barge-in</li>
  <li><span class="swatch heard"></span>answer heard</li></ul>
  <details><summary>Timeline as a list</summary><ol class="tl-list">${r.timeline.map(
    (e) => html`<li><span class="at">${fmtSeconds(e.atMs)}</span> ${describeEntry(e)}</li>`,
  )}</ol></details>`
  }
</section>
<section aria-labelledby="tr-h">
  <h2 id="tr-h">Transcript</h2>
  ${
    r.transcript.length === 0
      ? html`<p class="empty">Nothing was said.</p>`
      : html`<ol class="transcript">${r.transcript.map(
          (e) => html`<li class="turn ${e.role}${e.interrupted ? ' interrupted' : ''}">
      <span class="at">${fmtSeconds(e.atMs)}</span> <span class="role">${ROLE[e.role]}</span>
      <span class="text">${e.text}</span>
      ${e.interrupted ? html`<span class="badge warn" title="${INTERRUPTED}">interrupted</span>` : ''}
    </li>`,
        )}</ol>`
  }
</section>
<section aria-labelledby="tools-h">
  <h2 id="tools-h">Tool calls</h2>
  ${
    r.toolCalls.length === 0
      ? html`<p class="empty">No tools were called.</p>`
      : r.toolCalls.map(
          (t) => html`<article class="card tool-call">
    <h3><code>${t.name}</code> <span class="muted">at ${fmtSeconds(t.atMs)}, ${Math.round(t.ms)} ms</span>
      <span class="badge ${t.ok ? 'ok' : 'warn'}">${t.ok ? 'ok' : 'failed'}</span></h3>
    <div class="io"><div><h4>Arguments</h4><pre>${pretty(t.arguments)}</pre></div>
    <div><h4>Output</h4><pre>${pretty(t.output)}</pre></div></div>
  </article>`,
        )
  }
</section>
<section aria-labelledby="usage-h">
  <h2 id="usage-h">Usage</h2>
  <dl class="facts card">
    <div><dt>Input tokens</dt><dd>${num('inputTokens')}</dd></div>
    <div><dt>Output tokens</dt><dd>${num('outputTokens')}</dd></div>
    <div><dt>Total tokens</dt><dd>${num('totalTokens')}</dd></div>
    <div><dt>Barge-ins</dt><dd>${stat('bargeIns')}</dd></div>
    <div><dt>Model connect</dt><dd>${stat('modelConnectMs')} ms</dd></div>
    <div><dt>Frames in / out</dt><dd>${stat('framesIn')} / ${stat('framesOut')}</dd></div>
  </dl>
</section>`,
  );
}
