import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  CODES,
  HttpError,
  googleError,
  parseBody,
  readBody,
  send,
  isRecord,
  str,
  type RecordedRequest,
} from './google-wire.js';
import { FakeOAuth } from './google-oauth.js';
import { GoogleTokens } from './google-tokens.js';
import { FakeCalendars, type FakeEvent } from './google-calendar.js';

// A local stand-in for the slice of Google that the relay uses: the OAuth2 token endpoint and
// Calendar v3 freeBusy / events.insert / events.delete. Request and response shapes follow Google's
// so the real googleapis client runs against it unchanged (rootUrl + tokenUrl pointed here).
// This module is the server (HTTP, recorded requests, faults, latency); tokens, the consent page and
// the calendars answer in their own modules.

export type { RecordedRequest } from './google-wire.js';
export type { FakeEvent } from './google-calendar.js';

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

export class FakeGoogleServer {
  readonly requests: RecordedRequest[] = [];
  delayMs: number;
  readonly rootUrl: string;
  readonly tokenUrl: string;
  /** The consent page (GOOGLE_OAUTH_AUTH_URL) and revocation endpoint (GOOGLE_OAUTH_REVOKE_URL). */
  readonly authUrl: string;
  readonly revokeUrl: string;
  readonly oauth: FakeOAuth;

  private readonly tokens: GoogleTokens;
  private readonly calendars: FakeCalendars;
  private readonly faults: Fault[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();

  private constructor(
    private readonly server: Server,
    opts: FakeGoogleOptions,
  ) {
    const { port } = server.address() as AddressInfo;
    this.rootUrl = `http://127.0.0.1:${port}/`;
    this.tokenUrl = `http://127.0.0.1:${port}/token`;
    this.authUrl = `http://127.0.0.1:${port}/o/oauth2/v2/auth`;
    this.revokeUrl = `http://127.0.0.1:${port}/revoke`;
    this.oauth = new FakeOAuth(opts.clients);
    this.delayMs = opts.delayMs ?? 0;
    this.tokens = new GoogleTokens(opts, this.oauth);
    this.calendars = new FakeCalendars(opts.calendars ?? ['primary']);
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
    this.tokens.addRefreshToken(token);
  }

  /** Like the user removing the app's access: refreshes now fail with invalid_grant. */
  revokeRefreshToken(token: string): void {
    this.tokens.revokeRefreshToken(token);
  }

  /** Every access token issued so far stops working (401), as after expiry on Google's side. */
  expireAccessTokens(): void {
    this.tokens.expireAccessTokens();
  }

  /** Mint a valid access token directly, for a client that starts with a stored one. */
  issueAccessToken(ttlSec?: number): { accessToken: string; expiryDate: number } {
    return this.tokens.issueAccessToken(ttlSec);
  }

  addCalendar(id: string, summary?: string): void {
    this.calendars.add(id, summary);
  }

  /** Whether a refresh token is still accepted (not revoked). */
  hasRefreshToken(token: string): boolean {
    return this.tokens.hasRefreshToken(token);
  }

  /** Put an existing appointment in a calendar, as if the merchant had added it. */
  addEvent(calendarId: string, start: Date, end: Date, summary = 'Busy'): FakeEvent {
    return this.calendars.addEvent(calendarId, start, end, summary);
  }

  /** Events of a calendar, cancelled ones included (status tells). */
  events(calendarId = 'primary'): FakeEvent[] {
    return this.calendars.events(calendarId);
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
    if (m === 'POST' && req.path === '/token') return { status: 200, body: this.tokens.token(req) };
    if (m === 'POST' && req.path === '/revoke') return { status: 200, body: this.tokens.revoke(req) };
    if (req.path.startsWith('/calendar/v3/')) {
      this.tokens.authorize(req);
      const answer = this.calendars.route(req, rawPath);
      if (answer) return answer;
    }
    throw googleError(404, 'Not Found', 'notFound');
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
