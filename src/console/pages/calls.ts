import type { CallListItem, MerchantRecord } from '../../store/store.js';
import { maskPhone } from '../../log.js';
import { dayTime, duration, words } from '../format.js';
import { html } from '../html.js';
import type { CallFilter } from '../query.js';
import { page, type PageContext } from './layout.js';

// The call list: a search form (GET, so a search is a link) and the results, newest first.

export const END_REASONS = [
  'caller_hung_up',
  'twilio_closed',
  'model_dropped',
  'model_connect_timeout',
  'model_error',
  'model_stalled',
  'max_duration',
  'voicemail_left',
  'server_shutdown',
  'assistant_ended',
  'caller_silent',
  'transferred',
  'relay_restarted',
] as const;

export interface CallsPageData {
  filter: CallFilter;
  items: CallListItem[];
  /** Every merchant the viewer may filter by (operator only). */
  merchants: MerchantRecord[];
  zoneOf: (merchantId: string | null) => string;
  nameOf: (merchantId: string | null) => string;
  /** Link to the next page, when there may be one. */
  nextHref: string | null;
}

const selected = (cond: boolean) => (cond ? html` selected` : '');

export function callsPage(ctx: PageContext, d: CallsPageData): string {
  const f = d.filter;
  const operator = ctx.viewer?.kind === 'operator';
  return page(
    'Calls',
    ctx,
    html`<form method="get" action="/console/calls" class="card search" role="search">
  <div class="field"><label for="q">Search</label>
    <input id="q" name="q" type="search" value="${f.text ?? ''}" maxlength="100"
      placeholder="words, number or call id"></div>
  ${
    operator
      ? html`<div class="field"><label for="merchant">Merchant</label><select id="merchant" name="merchant">
      <option value="">All</option>
      ${d.merchants.map((m) => html`<option value="${m.id}"${selected(f.merchantId === m.id)}>${m.name}</option>`)}
    </select></div>`
      : ''
  }
  <div class="field"><label for="from">From</label>
    <input id="from" name="from" type="date" value="${f.fromDay ?? ''}"></div>
  <div class="field"><label for="to">To</label>
    <input id="to" name="to" type="date" value="${f.toDay ?? ''}"></div>
  <div class="field"><label for="end">End reason</label><select id="end" name="end">
    <option value="">Any</option>
    ${END_REASONS.map((r) => html`<option value="${r}"${selected(f.endReason === r)}>${words(r)}</option>`)}
  </select></div>
  <div class="field"><label for="direction">Direction</label><select id="direction" name="direction">
    <option value="">Both</option>
    <option value="inbound"${selected(f.direction === 'inbound')}>inbound</option>
    <option value="outbound"${selected(f.direction === 'outbound')}>outbound</option>
  </select></div>
  <button type="submit">Search</button>
</form>
${
  d.items.length === 0
    ? html`<p class="empty">No calls match.</p>`
    : html`<div class="table-wrap"><table class="calls" id="call-list">
  <thead><tr><th scope="col">Started</th><th scope="col">Merchant</th><th scope="col">Caller</th>
  <th scope="col">Direction</th>
  <th scope="col">Duration</th><th scope="col">End reason</th><th scope="col">Transferred</th></tr></thead>
  <tbody>${d.items.map(
    (c) => html`<tr>
    <td><a href="/console/calls/${encodeURIComponent(c.callSid)}">
      ${dayTime(c.startedAt, d.zoneOf(c.merchantId))}</a></td>
    <td>${d.nameOf(c.merchantId)}</td>
    <td>${maskPhone(c.callerPhone ?? undefined) ?? 'unknown'}</td>
    <td>${c.direction}</td>
    <td>${duration(c.durationMs)}</td>
    <td>${words(c.endReason)}</td>
    <td>${c.endReason === 'transferred' ? 'yes' : 'no'}</td>
  </tr>`,
  )}</tbody></table></div>`
}
${d.nextHref ? html`<p><a href="${d.nextHref}" rel="next">Older calls</a></p>` : ''}`,
  );
}
