import type { AppointmentDetail, MerchantRecord, Message } from '../../store/store.js';
import type { CalendarChoice, ConnectionCheck } from '../google-connect.js';
import { dayTime, inZone } from '../format.js';
import { html } from '../html.js';
import { page, type PageContext } from './layout.js';

// A merchant's page: messages (unread first, each can be marked read), upcoming appointments in the
// merchant's time zone, and the Google Calendar connection.

export type CalendarStatus =
  | { kind: 'unavailable' }
  | { kind: 'disconnected' }
  | { kind: 'connected'; calendarId: string; check: ConnectionCheck };

export interface MerchantPageData {
  merchant: MerchantRecord;
  messages: Message[];
  appointments: AppointmentDetail[];
  calendar: CalendarStatus;
  /** A one-line outcome of the last action (connected, disconnected, …). */
  notice?: string;
}

const plural = (n: number, what: string): string => `${n} ${what}${n === 1 ? '' : 's'}`;

function calendarCard(ctx: PageContext, m: MerchantRecord, s: CalendarStatus) {
  const base = `/console/merchants/${encodeURIComponent(m.id)}`;
  switch (s.kind) {
    case 'unavailable':
      return html`<p>Calendar connection is not set up on this relay (no Google OAuth client).
Bookings are kept in the console only.</p>`;
    case 'disconnected':
      return html`<p>Not connected: bookings are kept here only, and nothing checks your calendar for conflicts.</p>
<form method="post" action="${base}/google/connect"><input type="hidden" name="csrf" value="${ctx.csrf}">
<button type="submit" class="primary">Connect Google Calendar</button></form>`;
    case 'connected':
      return html`<p>Connected. Booking into <strong id="calendar-id">${s.calendarId}</strong>.</p>
<p id="calendar-check" class="${s.check.ok ? 'ok' : 'error'}">${
        s.check.ok
          ? `Working: a free/busy check just now saw ${plural(s.check.busySlots, 'busy slot')} in the next 24 hours.`
          : `Not working: ${s.check.problem}.`
      }</p>
<p class="actions"><a class="button" href="${base}/calendar">Choose calendar</a></p>
<form method="post" action="${base}/google/disconnect"><input type="hidden" name="csrf" value="${ctx.csrf}">
<button type="submit" class="danger">Disconnect</button></form>`;
    default:
      return assertNever(s);
  }
}

export function merchantPage(ctx: PageContext, d: MerchantPageData): string {
  const m = d.merchant;
  const zone = m.timeZone;
  const unread = d.messages.filter((x) => x.readAt === null).length;
  return page(
    m.name,
    { ...ctx },
    html`${d.notice ? html`<p class="notice" role="status">${d.notice}</p>` : ''}
<div class="grid">
<section aria-labelledby="msg-h" class="card">
  <h2 id="msg-h">Messages <span class="badge" id="unread-count">${unread} unread</span></h2>
  ${
    d.messages.length === 0
      ? html`<p class="empty">No messages yet.</p>`
      : html`<ul class="messages">${d.messages.map(
          (x) => html`<li class="message ${x.readAt === null ? 'unread' : 'read'}" data-id="${x.id}">
      <p class="meta"><strong>${x.callerName ?? 'Unknown caller'}</strong> ${x.callerPhone ?? ''}
        <span class="muted">${dayTime(x.createdAt, zone)}</span>
        ${x.urgency === 'urgent' ? html`<span class="badge warn">urgent</span>` : ''}
        ${x.readAt === null ? html`<span class="badge">new</span>` : ''}</p>
      <p class="body">${x.body}</p>
      ${x.callSid ? html`<p><a href="/console/calls/${encodeURIComponent(x.callSid)}">The call</a></p>` : ''}
      ${
        x.readAt === null
          ? html`<form method="post" action="/console/merchants/${encodeURIComponent(m.id)}/messages/${x.id}/read">
        <input type="hidden" name="csrf" value="${ctx.csrf}"><button type="submit">Mark as read</button></form>`
          : ''
      }
    </li>`,
        )}</ul>`
  }
</section>
<section aria-labelledby="appt-h" class="card">
  <h2 id="appt-h">Upcoming appointments</h2>
  <p class="hint">Times in ${zone}.</p>
  ${
    d.appointments.length === 0
      ? html`<p class="empty">Nothing booked.</p>`
      : html`<ul class="appointments">${d.appointments.map(
          (a) => html`<li><strong>${inZone(a.startsAt, zone)}</strong>
      <span>${a.customerName ?? 'Unnamed'} ${a.customerPhone}</span>
      ${a.notes ? html`<span class="muted">${a.notes}</span>` : ''}</li>`,
        )}</ul>`
  }
</section>
<section aria-labelledby="cal-h" class="card">
  <h2 id="cal-h">Google Calendar</h2>
  ${calendarCard(ctx, m, d.calendar)}
</section>
</div>`,
  );
}

export function calendarPickPage(ctx: PageContext, m: MerchantRecord, choices: CalendarChoice[]): string {
  const current = m.googleCalendarId ?? 'primary';
  return page(
    `Choose a calendar for ${m.name}`,
    ctx,
    html`<form method="post" action="/console/merchants/${encodeURIComponent(m.id)}/calendar" class="card narrow">
  <fieldset><legend>Bookings go into</legend>
  ${choices.map(
    (c) =>
      html`<label class="choice"><input type="radio" name="calendar" value="${c.id}"${
        c.id === current || (c.primary && current === 'primary') ? html` checked` : ''
      }> ${c.name}${c.primary ? ' (primary)' : ''}</label>`,
  )}
  </fieldset>
  <input type="hidden" name="csrf" value="${ctx.csrf}">
  <button type="submit" class="primary">Use this calendar</button>
</form>`,
  );
}

export function merchantsPage(ctx: PageContext, merchants: MerchantRecord[], unread: Map<string, number>): string {
  return page(
    'Merchants',
    ctx,
    html`<ul class="merchant-list">${merchants.map(
      (m) => html`<li class="card"><a href="/console/merchants/${encodeURIComponent(m.id)}">${m.name}</a>
      <span class="muted">${m.id} · ${m.phoneNumbers.join(', ') || 'no number'} · ${m.timeZone} · ${
        m.transport === 'sip' ? 'SIP to OpenAI' : 'Media Streams'
      }</span>
      <span class="badge">${unread.get(m.id) ?? 0} unread</span>
      <span class="muted">${m.googleTokens.refreshToken ? 'calendar connected' : 'no calendar'}</span></li>`,
    )}</ul>`,
  );
}

/** Google sent the browser back here; the session cookie (SameSite=Strict) is not sent on that
 * cross-site arrival, so this page posts the code back from our own origin, where it is. */
export function oauthReturnPage(code: string, state: string): string {
  return page(
    'Connecting Google Calendar',
    { viewer: null, csrf: '', section: 'none' },
    html`<form method="post" action="/console/google/finish" id="oauth-continue" class="card narrow">
  <input type="hidden" name="code" value="${code}"><input type="hidden" name="state" value="${state}">
  <p>Finishing the connection…</p>
  <button type="submit" class="primary">Continue</button>
</form>`,
  );
}

function assertNever(x: never): never {
  throw new Error(`unhandled calendar status ${JSON.stringify(x)}`);
}
