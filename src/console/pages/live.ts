import { highlight, type ChartPicture } from '../chart-svg.js';
import { html, trusted } from '../html.js';
import type { LiveCallView } from '../live-hub.js';
import { page, type PageContext } from './layout.js';

// Live calls: a table fed by the event stream (/console/live/events) and the chart of one call with its
// active state highlighted. Server-rendered first, so the page is right before the script connects.

/** JSON inside <script>: a `<` could close the element early. */
function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

function row(v: LiveCallView, now: number) {
  const secs = Math.max(0, Math.round((now - v.startedAt) / 1000));
  return html`<tr data-call="${v.callSid}">
    <td><a href="/console/calls/${encodeURIComponent(v.callSid)}">${v.merchant}</a></td>
    <td>${v.caller}</td>
    <td>${v.direction}</td>
    <td class="dur" data-started="${v.startedAt}">${Math.floor(secs / 60)}:${String(secs % 60).padStart(2, '0')}</td>
    <td class="state"><code>${v.state}</code></td>
    <td><button type="button" class="watch" data-call="${v.callSid}">Show chart</button></td>
  </tr>`;
}

export function livePage(ctx: PageContext, calls: LiveCallView[], chart: ChartPicture, selected?: string): string {
  const now = Date.now();
  const chosen = calls.find((c) => c.callSid === selected) ?? calls[0];
  const svg = chosen ? highlight(chart.svg, chosen.state) : chart.svg;
  const next = chosen ? (chart.next[chosen.state] ?? []) : [];
  return page(
    'Live calls',
    ctx,
    html`<section id="live" aria-labelledby="live-h" data-selected="${chosen?.callSid ?? ''}">
  <h2 id="live-h">In progress <span class="badge" id="live-count" aria-live="polite">${calls.length}</span></h2>
  <p class="hint" id="live-status" aria-live="polite">Updates as each call's chart changes state.</p>
  <div class="table-wrap"><table class="calls">
    <thead><tr><th scope="col">Merchant</th><th scope="col">Caller</th><th scope="col">Direction</th>
    <th scope="col">Duration</th><th scope="col">State</th>
    <th scope="col"><span class="sr">Chart</span></th></tr></thead>
    <tbody id="live-rows">${calls.map((c) => row(c, now))}</tbody>
  </table></div>
  <p id="live-empty" class="empty"${calls.length ? html` hidden` : ''}>No calls right now.</p>
</section>
<section aria-labelledby="chart-h" class="chart-section">
  <h2 id="chart-h">Chart <span id="chart-call" class="muted">${chosen ? chosen.callSid : 'no call selected'}</span></h2>
  <p>Active state: <code id="chart-state" aria-live="polite">${chosen?.state ?? '–'}</code></p>
  <p class="hint">Path so far (since this page opened): <span id="chart-trail">${chosen?.state ?? ''}</span></p>
  <div class="chart-wrap">${trusted(svg)}</div>
  <h3>Where it can go next</h3>
  <ul id="chart-next" class="next">${next.map((n) => html`<li><code>${n}</code></li>`)}</ul>
  <script type="application/json" id="chart-next-data">${trusted(jsonForScript(chart.next))}</script>
</section>`,
  );
}
