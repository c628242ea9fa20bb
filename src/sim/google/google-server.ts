import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { DateTime, IANAZone } from 'luxon';
import type { calendar_v3 } from 'googleapis/build/src/apis/calendar/index.js';
import {
  OWNER,
  SCOPE,
  EVENT_ID,
  CODES,
  HttpError,
  googleError,
  eventId,
  parseEventTime,
  parseBody,
  readBody,
  send,
  isRecord,
  str,
} from './google-wire.js';
import { FakeOAuth } from './google-oauth.js';

// A local stand-in for the slice of Google that the relay uses: the OAuth2 token endpoint and
// Calendar v3 freeBusy / events.insert / events.delete. Request and response shapes follow Google's
// so the real googleapis client runs against it unchanged (rootUrl + tokenUrl pointed here).

export interface RecordedRequest {
  method: string;
  /** Decoded path, without query. */
  path: string;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  /** JSON body parsed, form body as a record, else the raw text (undefined when empty). */
  body: unknown;
}

/** Google's own event schema; the fake always sets id and status. */
export type FakeEvent = calendar_v3.Schema$Event & { id: string; status: 'confirmed' | 'cancelled'; sequence: number };

export interface FakeGoogleOptions {
  /** clientId → clientSecret; when given, the token endpoint rejects other clients. */
  clients?: Record<string, string>;
  /** Refresh tokens the token endpoint accepts. */
  refreshTokens?: string[];
  /** Calendar ids that exist. Default ['primary']. */
  calendars?: string[];
  accessTokenTtlSec?: number;
  delayMs?: number;
}

export interface FaultOptions {
  /** Response body instead of Google's error envelope. */
  body?: unknown;
  /** Handle the request first, then answer with the failure: a response lost after the write. */
  afterHandling?: boolean;
}

interface Fault extends FaultOptions {
  pattern: string | RegExp;
  status: number;
  remaining: number;
}

interface StoredEvent {
  ev: FakeEvent;
  startMs: number;
  endMs: number;
}

export class FakeGoogleServer {
  readonly requests: RecordedRequest[] = [];
  delayMs: number;
  readonly rootUrl: string;
  readonly tokenUrl: string;
  /** The consent page (GOOGLE_OAUTH_AUTH_URL) and revocation endpoint (GOOGLE_OAUTH_REVOKE_URL). */
  readonly authUrl: string;
  readonly revokeUrl: string;
  readonly oauth: FakeOAuth;

  private readonly refreshTokens: Set<string>;
  private readonly accessTokens = new Map<string, number>(); // token → expiry epoch ms
  private readonly calendars = new Map<string, Map<string, StoredEvent>>();
  private readonly faults: Fault[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly summaries = new Map<string, string>();
  private issued = 0;

  private constructor(
    private readonly server: Server,
    private readonly opts: FakeGoogleOptions,
  ) {
    const { port } = server.address() as AddressInfo;
    this.rootUrl = `http://127.0.0.1:${port}/`;
    this.tokenUrl = `http://127.0.0.1:${port}/token`;
    this.authUrl = `http://127.0.0.1:${port}/o/oauth2/v2/auth`;
    this.revokeUrl = `http://127.0.0.1:${port}/revoke`;
    this.oauth = new FakeOAuth(opts.clients);
    this.delayMs = opts.delayMs ?? 0;
    this.refreshTokens = new Set(opts.refreshTokens ?? []);
    for (const id of opts.calendars ?? ['primary']) this.calendars.set(id, new Map());
  }

  static async start(opts: FakeGoogleOptions = {}): Promise<FakeGoogleServer> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const fake = new FakeGoogleServer(server, opts);
    server.on('request', (req, res) => void fake.handle(req, res));
    return fake;
  }

  addRefreshToken(token: string): void {
    this.refreshTokens.add(token);
  }

  /** Like the user removing the app's access: refreshes now fail with invalid_grant. */
  revokeRefreshToken(token: string): void {
    this.refreshTokens.delete(token);
  }

  /** Every access token issued so far stops working (401), as after expiry on Google's side. */
  expireAccessTokens(): void {
    this.accessTokens.clear();
  }

  /** Mint a valid access token directly, for a client that starts with a stored one. */
  issueAccessToken(ttlSec = this.opts.accessTokenTtlSec ?? 3599): { accessToken: string; expiryDate: number } {
    const accessToken = `ya29.fake-${++this.issued}-${randomBytes(6).toString('hex')}`;
    const expiryDate = Date.now() + ttlSec * 1000;
    this.accessTokens.set(accessToken, expiryDate);
    return { accessToken, expiryDate };
  }

  addCalendar(id: string, summary?: string): void {
    if (!this.calendars.has(id)) this.calendars.set(id, new Map());
    if (summary !== undefined) this.summaries.set(id, summary);
  }

  /** Whether a refresh token is still accepted (not revoked). */
  hasRefreshToken(token: string): boolean {
    return this.refreshTokens.has(token);
  }

  /** Put an existing appointment in a calendar, as if the merchant had added it. */
  addEvent(calendarId: string, start: Date, end: Date, summary = 'Busy'): FakeEvent {
    const cal = this.calendars.get(calendarId);
    if (!cal) throw new Error(`no calendar ${calendarId}`);
    const ev = this.makeEvent(calendarId, eventId(), {
      summary,
      start: { dateTime: start.toISOString() },
      end: { dateTime: end.toISOString() },
    });
    cal.set(ev.id, { ev, startMs: start.getTime(), endMs: end.getTime() });
    return ev;
  }

  /** Events of a calendar, cancelled ones included (status tells). */
  events(calendarId = 'primary'): FakeEvent[] {
    return [...(this.calendars.get(calendarId)?.values() ?? [])].map((s) => structuredClone(s.ev));
  }

  /** The next `times` requests whose "METHOD /path" matches get `status` instead of an answer. */
  failNext(pattern: string | RegExp, status: number, times = 1, opts: FaultOptions = {}): void {
    if (times > 0) this.faults.push({ pattern, status, remaining: times, ...opts });
  }

  clearFaults(): void {
    this.faults.length = 0;
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const raw = await readBody(req);
      const rec: RecordedRequest = {
        method: req.method ?? 'GET',
        path: decodeURIComponent(url.pathname),
        query: Object.fromEntries(url.searchParams),
        headers: req.headers,
        body: parseBody(raw, req.headers['content-type']),
      };
      this.requests.push(rec);
      if (this.delayMs > 0) await this.sleep(this.delayMs);
      const fault = this.takeFault(`${rec.method} ${rec.path}`);
      if (fault && !fault.afterHandling) throw fault.error;
      // The consent page and its decision answer a browser (HTML, redirects), not an API client.
      if (rec.method === 'GET' && rec.path === '/o/oauth2/v2/auth') {
        const page = this.oauth.consentPage(rec.query);
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page);
        return;
      }
      if (rec.method === 'POST' && rec.path === '/o/oauth2/v2/auth/decide') {
        const form = isRecord(rec.body) ? rec.body : {};
        const fields = Object.fromEntries(Object.entries(form).map(([k, v]) => [k, str(v) ?? '']));
        res.writeHead(302, { location: this.oauth.decide(fields) }).end();
        return;
      }
      const result = this.route(rec, url.pathname);
      if (fault) throw fault.error;
      send(res, result.status, result.body);
    } catch (e) {
      if (e instanceof HttpError) send(res, e.status, e.body);
      else send(res, 500, { error: { code: 500, message: String(e), errors: [], status: 'INTERNAL' } });
    }
  }

  private route(req: RecordedRequest, rawPath: string): { status: number; body: unknown } {
    const m = req.method;
    if (m === 'POST' && req.path === '/token') return { status: 200, body: this.token(req) };
    if (m === 'POST' && req.path === '/revoke') return { status: 200, body: this.revoke(req) };
    if (req.path.startsWith('/calendar/v3/')) {
      this.authorize(req);
      if (m === 'POST' && req.path === '/calendar/v3/freeBusy') return { status: 200, body: this.freeBusy(req) };
      if (m === 'GET' && req.path === '/calendar/v3/users/me/calendarList')
        return { status: 200, body: this.calendarList() };
      // Split the raw path so an encoded "/" or "@" inside an id stays inside it.
      const parts = rawPath.split('/').map((p) => decodeURIComponent(p));
      if (parts.length === 6 && parts[3] === 'calendars' && parts[5] === 'events' && m === 'POST') {
        return { status: 200, body: this.insert(parts[4] ?? '', req.body) };
      }
      if (parts.length === 7 && parts[3] === 'calendars' && parts[5] === 'events' && m === 'DELETE') {
        this.remove(parts[4] ?? '', parts[6] ?? '');
        return { status: 204, body: undefined };
      }
    }
    throw googleError(404, 'Not Found', 'notFound');
  }

  private token(req: RecordedRequest): unknown {
    const form = isRecord(req.body) ? req.body : {};
    let clientId = str(form.client_id);
    let secret = str(form.client_secret);
    const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '');
    if (basic?.[1]) [clientId, secret] = Buffer.from(basic[1], 'base64').toString().split(':');
    const oauth = (status: number, error: string, description: string): HttpError =>
      new HttpError(status, { error, error_description: description });
    if (this.opts.clients) {
      const expected = clientId === undefined ? undefined : this.opts.clients[clientId];
      if (expected === undefined) throw oauth(401, 'invalid_client', 'The OAuth client was not found.');
      if (expected !== secret) throw oauth(401, 'invalid_client', 'Unauthorized');
    }
    const grant = str(form.grant_type);
    if (grant === 'authorization_code') {
      const fields = Object.fromEntries(Object.entries(form).map(([k, v]) => [k, str(v)]));
      const g = this.oauth.exchange(fields, clientId);
      const ttlSec = this.opts.accessTokenTtlSec ?? 3599;
      const { accessToken } = this.issueAccessToken(ttlSec);
      if (g.refreshToken) this.refreshTokens.add(g.refreshToken);
      return {
        access_token: accessToken,
        expires_in: ttlSec,
        scope: g.scope,
        token_type: 'Bearer',
        ...(g.refreshToken ? { refresh_token: g.refreshToken } : {}),
      };
    }
    if (grant !== 'refresh_token') throw oauth(400, 'unsupported_grant_type', `Invalid grant_type: ${grant ?? ''}`);
    const rt = str(form.refresh_token);
    if (!rt || !this.refreshTokens.has(rt)) throw oauth(400, 'invalid_grant', 'Token has been expired or revoked.');
    const ttl = this.opts.accessTokenTtlSec ?? 3599;
    const { accessToken } = this.issueAccessToken(ttl);
    return { access_token: accessToken, expires_in: ttl, scope: SCOPE, token_type: 'Bearer' };
  }

  /** Google's revocation endpoint: a refresh token (or an access token) stops working at once. */
  private revoke(req: RecordedRequest): unknown {
    const form = isRecord(req.body) ? req.body : {};
    const token = str(form.token) ?? req.query.token ?? '';
    const known = this.refreshTokens.delete(token) || this.accessTokens.delete(token);
    if (!known) throw new HttpError(400, { error: 'invalid_token', error_description: 'Token expired or revoked' });
    this.oauth.revoked.push(token);
    return {};
  }

  /** Google names the primary calendar by the owner's address as well as by `primary`. */
  private calendar(id: string): Map<string, StoredEvent> | undefined {
    return this.calendars.get(id === OWNER ? 'primary' : id);
  }

  private calendarList(): unknown {
    const items = [...this.calendars.keys()].map((id) => ({
      kind: 'calendar#calendarListEntry',
      id: id === 'primary' ? OWNER : id,
      summary: this.summaries.get(id) ?? (id === 'primary' ? OWNER : id),
      accessRole: 'owner',
      ...(id === 'primary' ? { primary: true } : {}),
    }));
    return { kind: 'calendar#calendarList', items };
  }

  private authorize(req: RecordedRequest): void {
    const m = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
    const expiry = m?.[1] ? this.accessTokens.get(m[1]) : undefined;
    if (expiry === undefined || expiry <= Date.now()) {
      throw googleError(
        401,
        'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other ' +
          'valid authentication credential.',
        'authError',
      );
    }
  }

  private freeBusy(req: RecordedRequest): unknown {
    if (!isRecord(req.body)) throw googleError(400, 'Invalid JSON payload received.', 'parseError');
    const body = req.body;
    const timeMin = str(body.timeMin);
    const timeMax = str(body.timeMax);
    if (!timeMin) throw googleError(400, 'Missing timeMin parameter.', 'required');
    if (!timeMax) throw googleError(400, 'Missing timeMax parameter.', 'required');
    const min = Date.parse(timeMin);
    const max = Date.parse(timeMax);
    if (Number.isNaN(min) || Number.isNaN(max)) throw googleError(400, 'Bad Request', 'invalid');
    if (max <= min) throw googleError(400, 'The specified time range is empty.', 'timeRangeEmpty');
    const zone = str(body.timeZone) ?? 'UTC';
    if (!IANAZone.isValidZone(zone)) throw googleError(400, 'Invalid time zone', 'invalid');
    const items = Array.isArray(body.items) ? body.items : [];
    const calendars: Record<string, unknown> = {};
    for (const item of items) {
      const id = isRecord(item) ? str(item.id) : undefined;
      if (!id) continue;
      const cal = this.calendar(id);
      if (!cal) {
        calendars[id] = { errors: [{ domain: 'global', reason: 'notFound' }], busy: [] };
        continue;
      }
      const spans = [...cal.values()]
        .filter((s) => s.ev.status === 'confirmed' && s.ev.transparency !== 'transparent')
        .filter((s) => s.startMs < max && s.endMs > min)
        .map((s) => [Math.max(s.startMs, min), Math.min(s.endMs, max)] as const)
        .sort((a, b) => a[0] - b[0]);
      const merged: Array<[number, number]> = [];
      for (const [s, e] of spans) {
        const last = merged[merged.length - 1];
        if (last && s <= last[1]) last[1] = Math.max(last[1], e);
        else merged.push([s, e]);
      }
      const fmt = (ms: number): string =>
        DateTime.fromMillis(ms, { zone }).toISO({ suppressMilliseconds: true }) ?? new Date(ms).toISOString();
      calendars[id] = { busy: merged.map(([s, e]) => ({ start: fmt(s), end: fmt(e) })) };
    }
    return {
      kind: 'calendar#freeBusy',
      timeMin: new Date(min).toISOString(),
      timeMax: new Date(max).toISOString(),
      calendars,
    };
  }

  private insert(calendarId: string, body: unknown): FakeEvent {
    const cal = this.calendar(calendarId);
    if (!cal) throw googleError(404, 'Not Found', 'notFound');
    if (!isRecord(body)) throw googleError(400, 'Invalid JSON payload received.', 'parseError');
    const id = str(body.id) ?? eventId();
    if (!EVENT_ID.test(id)) throw googleError(400, 'Invalid resource id value.', 'invalid');
    if (cal.has(id)) throw googleError(409, 'The requested identifier already exists.', 'duplicate');
    const start = parseEventTime(body.start);
    const end = parseEventTime(body.end);
    if (!start) throw googleError(400, 'Missing start time.', 'required');
    if (!end) throw googleError(400, 'Missing end time.', 'required');
    if (end.ms <= start.ms) throw googleError(400, 'The specified time range is empty.', 'timeRangeEmpty');
    const extra: Partial<FakeEvent> = { start: start.raw, end: end.raw };
    for (const k of ['summary', 'description', 'location', 'transparency'] as const) {
      const v = str(body[k]);
      if (v !== undefined) extra[k] = v;
    }
    if (isRecord(body.extendedProperties)) extra.extendedProperties = body.extendedProperties;
    const ev = this.makeEvent(calendarId, id, extra);
    cal.set(id, { ev, startMs: start.ms, endMs: end.ms });
    return ev;
  }

  private remove(calendarId: string, id: string): void {
    const stored = this.calendar(calendarId)?.get(id);
    if (!stored) throw googleError(404, 'Not Found', 'notFound');
    if (stored.ev.status === 'cancelled') throw googleError(410, 'Resource has been deleted', 'deleted');
    // Google keeps deleted events as "cancelled", which is why a second delete says 410, not 404.
    stored.ev.status = 'cancelled';
    stored.ev.updated = new Date().toISOString();
    stored.ev.sequence += 1;
  }

  private makeEvent(calendarId: string, id: string, fields: Partial<FakeEvent>): FakeEvent {
    const now = new Date().toISOString();
    const eid = Buffer.from(`${id} ${calendarId}`).toString('base64url');
    return {
      kind: 'calendar#event',
      etag: `"${Date.now()}000"`,
      id,
      status: 'confirmed',
      htmlLink: `https://www.google.com/calendar/event?eid=${eid}`,
      created: now,
      updated: now,
      start: {},
      end: {},
      iCalUID: `${id}@google.com`,
      sequence: 0,
      creator: { email: OWNER, self: true },
      organizer: { email: OWNER, self: true },
      reminders: { useDefault: true },
      eventType: 'default',
      ...fields,
    };
  }

  private takeFault(target: string): { error: HttpError; afterHandling: boolean } | undefined {
    const f = this.faults.find((x) =>
      typeof x.pattern === 'string' ? target.includes(x.pattern) : x.pattern.test(target),
    );
    if (!f) return undefined;
    if (--f.remaining <= 0) this.faults.splice(this.faults.indexOf(f), 1);
    const afterHandling = f.afterHandling ?? false;
    if (f.body !== undefined) return { error: new HttpError(f.status, f.body), afterHandling };
    if (target.endsWith(' /token')) {
      const error = f.status === 400 ? 'invalid_grant' : 'server_error';
      return { error: new HttpError(f.status, { error, error_description: 'Injected failure' }), afterHandling };
    }
    const message = f.status === 410 ? 'Resource has been deleted' : 'Injected failure';
    return { error: googleError(f.status, message, CODES[f.status]?.[1] ?? 'unknown'), afterHandling };
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        resolve();
      }, ms);
      this.timers.add(t);
    });
  }
}
