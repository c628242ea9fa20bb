import { randomBytes } from 'node:crypto';
import { DateTime, IANAZone } from 'luxon';
// The calendar entry point of googleapis, not the package root: the root loads every Google API
// (~2 s at startup); this one loads only Calendar and the auth library, same code, same objects.
import { auth as googleAuth, calendar as googleCalendar } from 'googleapis/build/src/apis/calendar/index.js';
import type { calendar_v3 } from 'googleapis/build/src/apis/calendar/index.js';
import { log } from '../log.js';
import {
  CalendarError,
  type BusyInterval,
  type CalendarCallOptions,
  type CalendarClient,
  type CalendarErrorKind,
  type NewCalendarEvent,
} from './calendar.js';

/** Tokens as Google handed them back after a refresh; store them on the merchant. */
export interface GoogleTokens {
  accessToken: string;
  /** Epoch ms. */
  expiryDate?: number;
  /** Only present when Google rotated the refresh token. */
  refreshToken?: string;
  scope?: string;
}

export interface GoogleCalendarOptions {
  clientId: string;
  clientSecret: string;
  refreshToken: string;
  accessToken?: string;
  /** Epoch ms of accessToken's expiry; without it the library refreshes on the first 401. */
  expiryDate?: number;
  calendarId?: string;
  /** Google's API address (only its origin is used): GOOGLE_API_ROOT_URL from the configuration. */
  rootUrl: string;
  /** Google's OAuth token endpoint: GOOGLE_OAUTH_TOKEN_URL from the configuration. */
  tokenUrl: string;
  /** Called after every refresh; a rejection is logged, never thrown into the call. */
  onTokens?: (tokens: GoogleTokens) => void | Promise<void>;
  /** Deadline for one whole operation, token refresh and retries included. Default 8000. */
  timeoutMs?: number;
  /** Extra attempts after a 5xx/network failure. Default 1. */
  retries?: number;
}

const RATE_LIMIT_REASONS = new Set(['rateLimitExceeded', 'userRateLimitExceeded', 'quotaExceeded']);
const AUTH_OAUTH_ERRORS = new Set(['invalid_grant', 'invalid_client', 'unauthorized_client', 'invalid_token']);
const BASE32HEX = '0123456789abcdefghijklmnopqrstuv';

const clog = log.child({ mod: 'google-calendar' });

export function createGoogleCalendar(opts: GoogleCalendarOptions): CalendarClient {
  return new GoogleCalendar(opts);
}

class GoogleCalendar implements CalendarClient {
  private readonly api: calendar_v3.Calendar;
  private readonly calendarId: string;
  private readonly timeoutMs: number;
  private readonly retries: number;

  constructor(opts: GoogleCalendarOptions) {
    const { rootUrl, tokenUrl } = opts;
    const oauth2 = new googleAuth.OAuth2({
      clientId: opts.clientId,
      clientSecret: opts.clientSecret,
      endpoints: { oauth2TokenUrl: tokenUrl },
      // A stored token Google has already revoked would otherwise fail every call until its
      // recorded expiry; with this a 401 triggers one refresh and one retry.
      forceRefreshOnFailure: true,
    });
    oauth2.setCredentials({
      refresh_token: opts.refreshToken,
      access_token: opts.accessToken ?? null,
      expiry_date: opts.expiryDate ?? null,
    });
    const onTokens = opts.onTokens;
    if (onTokens) {
      oauth2.on('tokens', (t) => {
        if (!t.access_token) return;
        const tokens: GoogleTokens = { accessToken: t.access_token };
        if (typeof t.expiry_date === 'number') tokens.expiryDate = t.expiry_date;
        if (t.refresh_token) tokens.refreshToken = t.refresh_token;
        if (t.scope) tokens.scope = t.scope;
        Promise.resolve()
          .then(() => onTokens(tokens))
          .catch((err: unknown) => clog.error({ err: errorText(err) }, 'persisting refreshed Google tokens failed'));
      });
    }
    this.api = googleCalendar({ version: 'v3', auth: oauth2, rootUrl });
    this.calendarId = opts.calendarId ?? 'primary';
    this.timeoutMs = opts.timeoutMs ?? 8000;
    this.retries = Math.max(0, opts.retries ?? 1);
  }

  async freeBusy(fromIso: string, toIso: string, opts?: CalendarCallOptions): Promise<BusyInterval[]> {
    const from = new Date(fromIso);
    const to = new Date(toIso);
    if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime()) || to <= from) {
      throw new CalendarError('bad_request', `freeBusy needs a non-empty ISO range, got ${fromIso} .. ${toIso}`);
    }
    const id = this.calendarId;
    const data = await this.run('freebusy.query', opts, async (signal) => {
      const res = await this.api.freebusy.query(
        { requestBody: { timeMin: from.toISOString(), timeMax: to.toISOString(), items: [{ id }] } },
        { signal, retry: false },
      );
      return res.data;
    });
    const cal = data.calendars?.[id];
    if (!cal) throw new CalendarError('not_found', `freeBusy response has no entry for calendar ${id}`);
    const firstErr = cal.errors?.[0];
    if (firstErr) {
      const reason = firstErr.reason ?? 'unknown';
      const kind: CalendarErrorKind =
        reason === 'notFound' ? 'not_found' : reason === 'forbidden' ? 'auth' : 'unavailable';
      throw new CalendarError(kind, `freeBusy for calendar ${id} failed: ${reason}`);
    }
    const busy: BusyInterval[] = [];
    for (const b of cal.busy ?? []) {
      const start = new Date(b.start ?? '');
      const end = new Date(b.end ?? '');
      if (Number.isNaN(start.getTime()) || Number.isNaN(end.getTime()) || end <= start) continue;
      busy.push({ start, end });
    }
    return busy.sort((a, b) => a.start.getTime() - b.start.getTime());
  }

  async insertEvent(ev: NewCalendarEvent, opts?: CalendarCallOptions): Promise<{ eventId: string }> {
    if (!IANAZone.isValidZone(ev.timeZone)) throw new CalendarError('bad_request', `unknown time zone ${ev.timeZone}`);
    if (!(ev.end > ev.start)) throw new CalendarError('bad_request', 'event must end after it starts');
    // Our own id makes the insert idempotent: a retry after a lost response gets 409, not a double booking.
    const eventId = newEventId();
    const body = eventBody(eventId, ev);
    await this.run('events.insert', opts, async (signal, attempt) => {
      try {
        await this.api.events.insert({ calendarId: this.calendarId, requestBody: body }, { signal, retry: false });
      } catch (e) {
        if (attempt > 0 && httpStatus(e) === 409) return; // an earlier attempt landed
        throw e;
      }
    });
    return { eventId };
  }

  async deleteEvent(eventId: string, opts?: CalendarCallOptions): Promise<void> {
    if (!eventId) throw new CalendarError('bad_request', 'deleteEvent needs an event id');
    await this.run('events.delete', opts, async (signal, attempt) => {
      try {
        await this.api.events.delete({ calendarId: this.calendarId, eventId }, { signal, retry: false });
      } catch (e) {
        if (attempt > 0 && httpStatus(e) === 410) return; // an earlier attempt deleted it
        throw e;
      }
    });
  }

  /** One operation under one deadline, with bounded retries of transient failures. */
  private async run<T>(
    op: string,
    opts: CalendarCallOptions | undefined,
    fn: (signal: AbortSignal, attempt: number) => Promise<T>,
  ): Promise<T> {
    const outer = opts?.signal;
    if (outer?.aborted) throw new CalendarError('unavailable', `Google Calendar ${op} was cancelled`);
    const ctrl = new AbortController();
    const timer = setTimeout(
      () => ctrl.abort(new CalendarError('unavailable', `Google Calendar ${op} timed out after ${this.timeoutMs} ms`)),
      this.timeoutMs,
    );
    const onOuterAbort = (): void =>
      ctrl.abort(new CalendarError('unavailable', `Google Calendar ${op} was cancelled`));
    outer?.addEventListener('abort', onOuterAbort, { once: true });
    // The token refresh inside googleapis cannot take our signal, so the deadline also races it.
    const deadline = new Promise<never>((_, reject) => {
      ctrl.signal.addEventListener('abort', () => reject(abortReason(ctrl.signal)), { once: true });
    });
    const attempts = async (): Promise<T> => {
      for (let attempt = 0; ; attempt++) {
        try {
          return await fn(ctrl.signal, attempt);
        } catch (e) {
          if (ctrl.signal.aborted) throw abortReason(ctrl.signal);
          const err = toCalendarError(e, op);
          if (err.kind !== 'unavailable' || attempt >= this.retries) throw err;
          clog.warn({ op, status: err.status, attempt }, 'Google Calendar transient failure, retrying');
          await sleep(250 * (attempt + 1), ctrl.signal);
        }
      }
    };
    try {
      return await Promise.race([attempts(), deadline]);
    } catch (e) {
      const err = toCalendarError(e, op);
      clog.warn({ op, kind: err.kind, status: err.status }, err.message);
      throw err;
    } finally {
      clearTimeout(timer);
      outer?.removeEventListener('abort', onOuterAbort);
    }
  }
}

function eventBody(id: string, ev: NewCalendarEvent): calendar_v3.Schema$Event {
  const at = (d: Date): string =>
    DateTime.fromJSDate(d, { zone: ev.timeZone }).toISO({ suppressMilliseconds: true }) ?? d.toISOString();
  const lines = [ev.description, ev.attendeePhone ? `Phone: ${ev.attendeePhone}` : undefined].filter(
    (l): l is string => !!l,
  );
  const body: calendar_v3.Schema$Event = {
    id,
    summary: ev.summary,
    start: { dateTime: at(ev.start), timeZone: ev.timeZone },
    end: { dateTime: at(ev.end), timeZone: ev.timeZone },
  };
  if (lines.length) body.description = lines.join('\n\n');
  if (ev.attendeePhone) body.extendedProperties = { private: { attendeePhone: ev.attendeePhone } };
  return body;
}

/** Google event ids: 5–1024 chars of base32hex (0-9, a-v). */
function newEventId(): string {
  let id = 'cr';
  for (const b of randomBytes(24)) id += BASE32HEX[b % 32] ?? '0';
  return id;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

function abortReason(signal: AbortSignal): CalendarError {
  const r: unknown = signal.reason;
  return r instanceof CalendarError ? r : new CalendarError('unavailable', 'Google Calendar request aborted');
}

interface HttpFailure {
  status?: number;
  /** Google API error reason (errors[0].reason) or OAuth `error` code. */
  reason?: string;
  message?: string;
  code?: string;
}

function field(o: unknown, key: string): unknown {
  return typeof o === 'object' && o !== null && key in o ? (o as Record<string, unknown>)[key] : undefined;
}

function httpStatus(e: unknown): number | undefined {
  const s = field(field(e, 'response'), 'status');
  return typeof s === 'number' ? s : undefined;
}

/** Pull what matters out of a GaxiosError without keeping it: it carries our headers and form body. */
function inspect(e: unknown): HttpFailure {
  const out: HttpFailure = {};
  const status = httpStatus(e);
  if (status !== undefined) out.status = status;
  const data = field(field(e, 'response'), 'data');
  const err = field(data, 'error');
  if (typeof err === 'string') {
    out.reason = err; // OAuth token endpoint: {error:"invalid_grant", error_description}
    const d = field(data, 'error_description');
    if (typeof d === 'string') out.message = d;
  } else if (typeof err === 'object' && err !== null) {
    const m = field(err, 'message');
    if (typeof m === 'string') out.message = m;
    const errors = field(err, 'errors');
    const reason = Array.isArray(errors) ? field(errors[0], 'reason') : undefined;
    if (typeof reason === 'string') out.reason = reason;
  }
  const code = field(e, 'code');
  if (typeof code === 'string') out.code = code;
  return out;
}

function toCalendarError(e: unknown, op: string): CalendarError {
  if (e instanceof CalendarError) return e;
  const f = inspect(e);
  const what = `Google Calendar ${op} failed`;
  const detail = [f.status, f.reason, f.message].filter((x) => x !== undefined).join(' ');
  const make = (kind: CalendarErrorKind): CalendarError =>
    new CalendarError(kind, detail ? `${what}: ${detail}` : `${what}: ${f.code ?? errorText(e)}`, {
      ...(f.status === undefined ? {} : { status: f.status }),
    });
  if (f.reason && AUTH_OAUTH_ERRORS.has(f.reason)) return make('auth');
  const s = f.status;
  if (s === undefined) return make('unavailable'); // network: refused, reset, DNS
  if (s === 401) return make('auth');
  if (s === 403) return make(f.reason && RATE_LIMIT_REASONS.has(f.reason) ? 'rate_limited' : 'auth');
  if (s === 404 || s === 410) return make('not_found');
  if (s === 429) return make('rate_limited');
  if (s >= 500 || s === 408) return make('unavailable');
  return make('bad_request');
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
