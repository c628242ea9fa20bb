import { z } from 'zod';
import { log } from '../log.js';
import type { Reply } from '../http/uws-http.js';
import { isUuid, type MerchantRecord } from '../store/store.js';
import type { ConsoleDeps, Signed } from './routes.js';
import { htmlReply, redirect } from './console-http.js';
import { ConnectError, type ConnectionCheck } from './google-connect.js';
import { callPage } from './pages/call.js';
import { callsPage } from './pages/calls.js';
import { badRequestPage, messagePage, notFoundPage } from './pages/errors.js';
import type { PageContext } from './pages/layout.js';
import { livePage } from './pages/live.js';
import {
  calendarPickPage,
  merchantPage,
  merchantsPage,
  oauthReturnPage,
  type CalendarStatus,
} from './pages/merchant.js';
import { BadQuery, filterQuery, parseCallFilter, toCallQuery } from './query.js';
import { canSee } from './session.js';

// The console's pages, each behind the access rule: the operator sees every merchant, an owner only
// their own; anything else is answered exactly like a missing page (404), so ids cannot be probed.

const clog = log.child({ component: 'console' });
const PAGE_SIZE = 50;
const MERCHANT_CACHE_MS = 30_000;
const CHECK_CACHE_MS = 60_000;
const CALL_SID = /^[A-Za-z0-9_-]{1,64}$/;

const NOTICES = {
  read: 'Message marked as read.',
  connected: 'Google Calendar connected.',
  disconnected: 'Google Calendar disconnected; access was revoked at Google.',
  disconnected_local: 'Google Calendar disconnected here; Google could not be reached to revoke access.',
  calendar: 'Calendar chosen.',
} as const;
const noticeQuery = z.object({ done: z.enum(Object.keys(NOTICES) as [keyof typeof NOTICES]).optional() }).strict();
const liveQuery = z.object({ call: z.string().regex(CALL_SID).optional() }).strict();

export class ConsoleViews {
  private merchantsAt = 0;
  private merchantList: Promise<MerchantRecord[]> | null = null;
  private readonly checks = new Map<string, { at: number; check: Promise<ConnectionCheck> }>();

  constructor(
    private readonly deps: ConsoleDeps,
    private readonly headers: Record<string, string>,
  ) {}

  notFound(ctx: PageContext): Reply {
    return htmlReply(404, notFoundPage(ctx), this.headers);
  }

  private ok(body: string): Reply {
    return htmlReply(200, body, this.headers);
  }

  private merchants(): Promise<MerchantRecord[]> {
    const now = Date.now();
    if (!this.merchantList || now - this.merchantsAt > MERCHANT_CACHE_MS) {
      this.merchantsAt = now;
      this.merchantList = this.deps.store.listMerchants();
      this.merchantList.catch(() => {
        this.merchantList = null;
      });
    }
    return this.merchantList;
  }

  live(s: Signed, query: string): Reply {
    const q = liveQuery.safeParse(Object.fromEntries(new URLSearchParams(query)));
    if (!q.success) return this.badQuery(s.ctx('live'), q.error, 'must be a call id');
    const v = s.session.viewer;
    const calls = this.deps.hub.snapshot(v.kind === 'operator' ? null : v.merchantId);
    return this.ok(livePage(s.ctx('live'), calls, this.deps.chart, q.data.call));
  }

  async calls(s: Signed, query: string): Promise<Reply> {
    const ctx = s.ctx('calls');
    const v = s.session.viewer;
    let filter: ReturnType<typeof parseCallFilter>;
    try {
      filter = parseCallFilter(query);
    } catch (err) {
      if (err instanceof BadQuery) return htmlReply(400, badRequestPage(ctx, err.field, err.problem), this.headers);
      throw err;
    }
    const all = await this.merchants();
    const visible = all.filter((m) => canSee(v, m.id));
    // An owner's list is theirs whatever the link says; a foreign merchant filter finds nothing.
    const scope = v.kind === 'merchant' ? v.merchantId : filter.merchantId;
    if (v.kind === 'merchant' && filter.merchantId !== undefined && filter.merchantId !== v.merchantId)
      return this.notFound(ctx);
    const zoneMerchant = all.find((m) => m.id === scope);
    const q = toCallQuery(
      { ...filter, ...(scope ? { merchantId: scope } : {}) },
      zoneMerchant?.timeZone ?? 'UTC',
      PAGE_SIZE + 1,
    );
    const items = await this.deps.store.listCalls(q);
    const page = items.slice(0, PAGE_SIZE);
    const last = page[page.length - 1];
    const byId = new Map(all.map((m) => [m.id, m]));
    return this.ok(
      callsPage(ctx, {
        filter,
        items: page,
        merchants: visible,
        zoneOf: (id) => (id ? byId.get(id)?.timeZone : undefined) ?? 'UTC',
        nameOf: (id) => (id ? (byId.get(id)?.name ?? id) : 'unknown'),
        nextHref: items.length > PAGE_SIZE && last ? `/console/calls?${filterQuery(filter, last.startedAt)}` : null,
      }),
    );
  }

  async call(s: Signed, callSid: string): Promise<Reply> {
    const ctx = s.ctx('calls');
    if (!CALL_SID.test(callSid)) return this.notFound(ctx);
    const v = s.session.viewer;
    const record = await this.deps.store.getCallRecord(callSid);
    if (record && record.endedAt !== null) {
      if (!canSee(v, record.merchantId)) return this.notFound(ctx);
      const m = record.merchantId ? await this.deps.store.getMerchant(record.merchantId) : null;
      return this.ok(callPage(ctx, record, m?.name ?? record.merchantId ?? 'unknown', m?.timeZone ?? 'UTC'));
    }
    // Not finished yet: the live page, with this call's chart.
    const live = this.deps.hub.snapshot(v.kind === 'operator' ? null : v.merchantId);
    if (live.some((c) => c.callSid === callSid))
      return this.ok(livePage(s.ctx('live'), live, this.deps.chart, callSid));
    return this.notFound(ctx);
  }

  async merchantsView(s: Signed): Promise<Reply> {
    const ctx = s.ctx('merchants');
    if (s.session.viewer.kind !== 'operator') return this.notFound(ctx);
    const all = await this.deps.store.listMerchants();
    const unread = new Map<string, number>();
    await Promise.all(
      all.map(async (m) => {
        const msgs = await this.deps.store.listMessages(m.id, 200);
        unread.set(m.id, msgs.filter((x) => x.readAt === null).length);
      }),
    );
    return this.ok(merchantsPage(ctx, all, unread));
  }

  async merchant(s: Signed, merchantId: string, query: string): Promise<Reply> {
    const ctx = s.ctx('merchant');
    const q = noticeQuery.safeParse(Object.fromEntries(new URLSearchParams(query)));
    if (!q.success) return this.badQuery(ctx, q.error, 'is not a known outcome of this page');
    const m = await this.visibleMerchant(s, merchantId);
    if (!m) return this.notFound(ctx);
    const [messages, appointments, calendar] = await Promise.all([
      this.deps.store.listMessages(m.id, 100),
      this.deps.store.listUpcomingAppointments(m.id, new Date(), 50),
      this.calendarStatus(m),
    ]);
    const notice = q.data.done === undefined ? undefined : NOTICES[q.data.done];
    return this.ok(merchantPage(ctx, { merchant: m, messages, appointments, calendar, ...(notice ? { notice } : {}) }));
  }

  async markRead(s: Signed, merchantId: string, messageId: string): Promise<Reply> {
    const m = await this.visibleMerchant(s, merchantId);
    if (!m || !isUuid(messageId) || !(await this.deps.store.markMessageRead(m.id, messageId)))
      return this.notFound(s.ctx('merchant'));
    return redirect(`${this.base(m)}?done=read`, this.headers);
  }

  async googleConnect(s: Signed, merchantId: string): Promise<Reply> {
    const m = await this.visibleMerchant(s, merchantId);
    if (!m) return this.notFound(s.ctx('merchant'));
    const google = this.deps.google;
    if (!google)
      return htmlReply(
        409,
        messagePage(s.ctx('merchant'), 'Not available', 'This relay has no Google OAuth client.', this.base(m)),
        this.headers,
      );
    clog.info({ merchantId: m.id }, 'google calendar connection started');
    return redirect(google.start(m.id, s.session.sid), this.headers);
  }

  oauthReturn(query: string): Reply {
    const p = new URLSearchParams(query);
    const code = p.get('code');
    const state = p.get('state');
    const ctx: PageContext = { viewer: null, csrf: '', section: 'none' };
    if (p.get('error') !== null)
      return htmlReply(
        200,
        messagePage(ctx, 'Not connected', 'Google Calendar was not connected (access was not granted).', '/console'),
        this.headers,
      );
    if (!code || !state || code.length > 2048 || state.length > 256)
      return htmlReply(400, badRequestPage(ctx, code ? 'state' : 'code', 'is missing'), this.headers);
    return htmlReply(200, oauthReturnPage(code, state), this.headers);
  }

  async googleFinish(s: Signed, form: URLSearchParams): Promise<Reply> {
    const ctx = s.ctx('merchant');
    const google = this.deps.google;
    const code = form.get('code') ?? '';
    const state = form.get('state') ?? '';
    const v = s.session.viewer;
    if (!google) return this.notFound(ctx);
    // The merchant comes from the state entry, which must match this session; an operator may connect any.
    const merchantId = google.merchantOf(state);
    if (merchantId === null || !canSee(v, merchantId))
      return htmlReply(
        400,
        messagePage(
          ctx,
          'Not connected',
          'This connection attempt is unknown or has expired. Start again.',
          '/console',
        ),
        this.headers,
      );
    try {
      await google.finish(merchantId, s.session.sid, state, code);
    } catch (err) {
      if (!(err instanceof ConnectError)) throw err;
      clog.warn({ merchantId, problem: err.message }, 'google calendar connection failed');
      return htmlReply(
        400,
        messagePage(ctx, 'Not connected', err.message, `/console/merchants/${encodeURIComponent(merchantId)}`),
        this.headers,
      );
    }
    this.checks.delete(merchantId);
    clog.info({ merchantId }, 'google calendar connected');
    return redirect(`/console/merchants/${encodeURIComponent(merchantId)}/calendar`, this.headers);
  }

  async calendarPick(s: Signed, merchantId: string): Promise<Reply> {
    const ctx = s.ctx('merchant');
    const m = await this.visibleMerchant(s, merchantId);
    if (!m || !this.deps.google || !m.googleTokens.refreshToken) return this.notFound(ctx);
    try {
      return this.ok(calendarPickPage(ctx, m, await this.deps.google.calendars(m.id)));
    } catch (err) {
      if (!(err instanceof ConnectError)) throw err;
      return htmlReply(502, messagePage(ctx, 'Calendars unavailable', err.message, this.base(m)), this.headers);
    }
  }

  async calendarChoose(s: Signed, merchantId: string, form: URLSearchParams): Promise<Reply> {
    const ctx = s.ctx('merchant');
    const m = await this.visibleMerchant(s, merchantId);
    const calendarId = form.get('calendar') ?? '';
    if (!m || !this.deps.google || !m.googleTokens.refreshToken) return this.notFound(ctx);
    if (calendarId === '' || calendarId.length > 1024)
      return htmlReply(400, badRequestPage(ctx, 'calendar', 'is missing'), this.headers);
    try {
      await this.deps.google.pick(m.id, calendarId);
    } catch (err) {
      if (!(err instanceof ConnectError)) throw err;
      return htmlReply(400, messagePage(ctx, 'Calendar not changed', err.message, this.base(m)), this.headers);
    }
    this.checks.delete(m.id);
    return redirect(`${this.base(m)}?done=calendar`, this.headers);
  }

  async googleDisconnect(s: Signed, merchantId: string): Promise<Reply> {
    const m = await this.visibleMerchant(s, merchantId);
    if (!m || !this.deps.google) return this.notFound(s.ctx('merchant'));
    const { revoked } = await this.deps.google.disconnect(m.id);
    this.checks.delete(m.id);
    clog.info({ merchantId: m.id, revoked }, 'google calendar disconnected');
    return redirect(`${this.base(m)}?done=${revoked ? 'disconnected' : 'disconnected_local'}`, this.headers);
  }

  private base(m: MerchantRecord): string {
    return `/console/merchants/${encodeURIComponent(m.id)}`;
  }

  private async visibleMerchant(s: Signed, merchantId: string): Promise<MerchantRecord | null> {
    if (!canSee(s.session.viewer, merchantId) || merchantId.length > 256) return null;
    return this.deps.store.getMerchant(merchantId);
  }

  private async calendarStatus(m: MerchantRecord): Promise<CalendarStatus> {
    const google = this.deps.google;
    if (!google) return { kind: 'unavailable' };
    if (!m.googleTokens.refreshToken) return { kind: 'disconnected' };
    const now = Date.now();
    let hit = this.checks.get(m.id);
    if (!hit || now - hit.at > CHECK_CACHE_MS) {
      hit = { at: now, check: google.check(m.id) };
      this.checks.set(m.id, hit);
    }
    return { kind: 'connected', calendarId: m.googleCalendarId ?? 'primary', check: await hit.check };
  }

  /** 400 naming the parameter: an unknown one, or the first whose value is wrong. */
  private badQuery(ctx: PageContext, error: z.ZodError, problem: string): Reply {
    const issue = error.issues[0];
    const unknown = issue?.code === 'unrecognized_keys' ? issue.keys[0] : undefined;
    const field = unknown ?? String(issue?.path[0] ?? 'query');
    return htmlReply(
      400,
      badRequestPage(ctx, field, unknown ? 'is not a parameter of this page' : problem),
      this.headers,
    );
  }
}
