import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { createGoogleCalendar } from '../calendar/google-calendar.js';
import { CalendarError } from '../calendar/calendar.js';
import type { Store } from '../store/store.js';
import type { GoogleOAuthConfig } from './console-config.js';

// Connect Google Calendar: OAuth 2.0 authorization code with PKCE (S256) and offline access, asking
// for the narrowest scopes the tools need. `state` is random, kept here for ten minutes with the
// merchant and the session that started the flow, and used once; the PKCE verifier never leaves
// this process. The refresh token goes to the store, where the tools' calendar client reads it.

/**
 * What the receptionist tools do with the calendar (free/busy, insert and delete their own events) and
 * what the console needs to let the owner pick which one. Not the broad `calendar` scope.
 */
export const CALENDAR_SCOPES = [
  'https://www.googleapis.com/auth/calendar.freebusy',
  'https://www.googleapis.com/auth/calendar.events.owned',
  'https://www.googleapis.com/auth/calendar.calendarlist.readonly',
] as const;

const STATE_TTL_MS = 10 * 60_000;
const MAX_PENDING = 1000;

interface Pending {
  merchantId: string;
  sid: string;
  verifier: string;
  expiresAt: number;
}

const tokenAnswer = z.object({
  access_token: z.string().min(1),
  expires_in: z.number().optional(),
  refresh_token: z.string().min(1).optional(),
  scope: z.string().optional(),
});

const calendarList = z.object({
  items: z
    .array(
      z.object({
        id: z.string(),
        summary: z.string().optional(),
        primary: z.boolean().optional(),
        accessRole: z.string().optional(),
      }),
    )
    .default([]),
});

export interface CalendarChoice {
  id: string;
  name: string;
  primary: boolean;
}

export type ConnectionCheck = { ok: true; busySlots: number } | { ok: false; problem: string };

export class ConnectError extends Error {}

export class GoogleConnect {
  private readonly pending = new Map<string, Pending>();

  constructor(
    private readonly google: GoogleOAuthConfig,
    private readonly store: Pick<Store, 'getMerchant' | 'updateGoogleTokens' | 'setGoogleCalendarId'>,
    private readonly redirectUri: string,
    private readonly fetchFn: typeof fetch = fetch,
  ) {}

  /** Google's consent page for this merchant's session. */
  start(merchantId: string, sid: string, now = Date.now()): string {
    this.sweep(now);
    const state = randomBytes(24).toString('base64url');
    const verifier = randomBytes(48).toString('base64url');
    this.pending.set(state, { merchantId, sid, verifier, expiresAt: now + STATE_TTL_MS });
    const url = new URL(this.google.authUrl);
    url.searchParams.set('client_id', this.google.clientId);
    url.searchParams.set('redirect_uri', this.redirectUri);
    url.searchParams.set('response_type', 'code');
    url.searchParams.set('scope', CALENDAR_SCOPES.join(' '));
    url.searchParams.set('access_type', 'offline');
    // Without consent Google returns no refresh token to an app the user already approved once.
    url.searchParams.set('prompt', 'consent');
    url.searchParams.set('include_granted_scopes', 'false');
    url.searchParams.set('state', state);
    url.searchParams.set('code_challenge', createHash('sha256').update(verifier).digest('base64url'));
    url.searchParams.set('code_challenge_method', 'S256');
    return url.toString();
  }

  /** The merchant a pending `state` was issued for, or null. */
  merchantOf(state: string): string | null {
    return this.pending.get(state)?.merchantId ?? null;
  }

  /**
   * Finishes the flow: `state` must be one this process issued, unexpired, for this merchant and this
   * session. Exchanges the code and stores the tokens. Throws ConnectError with words for the owner.
   */
  async finish(merchantId: string, sid: string, state: string, code: string, now = Date.now()): Promise<void> {
    const p = this.pending.get(state);
    this.pending.delete(state);
    if (!p || p.expiresAt < now || p.merchantId !== merchantId || p.sid !== sid)
      throw new ConnectError('This connection attempt is unknown or has expired. Start again.');
    const res = await this.post(this.google.tokenUrl, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: this.redirectUri,
      client_id: this.google.clientId,
      client_secret: this.google.clientSecret,
      code_verifier: p.verifier,
    });
    if (!res.ok) throw new ConnectError(`Google refused the connection (HTTP ${res.status}). Start again.`);
    const t = tokenAnswer.safeParse(await res.json().catch(() => null));
    if (!t.success) throw new ConnectError('Google answered with something unexpected. Start again.');
    if (!t.data.refresh_token)
      throw new ConnectError(
        'Google gave no offline access. Remove callrelay from your Google account and connect again.',
      );
    const granted = new Set((t.data.scope ?? '').split(' '));
    const missing = CALENDAR_SCOPES.filter((s) => !granted.has(s));
    if (t.data.scope !== undefined && missing.length > 0)
      throw new ConnectError('Some calendar permissions were not granted. Connect again and allow all of them.');
    await this.store.updateGoogleTokens(merchantId, {
      refreshToken: t.data.refresh_token,
      accessToken: t.data.access_token,
      expiresAt: t.data.expires_in === undefined ? null : new Date(now + t.data.expires_in * 1000),
    });
  }

  /** Calendars the owner may book into (owner or writer access). */
  async calendars(merchantId: string): Promise<CalendarChoice[]> {
    const access = await this.accessToken(merchantId);
    const url = new URL('calendar/v3/users/me/calendarList', withSlash(this.google.apiRootUrl));
    url.searchParams.set('minAccessRole', 'writer');
    const res = await this.fetchFn(url, {
      headers: { authorization: `Bearer ${access}` },
      signal: AbortSignal.timeout(8000),
    });
    if (!res.ok) throw new ConnectError(`Google did not list the calendars (HTTP ${res.status}).`);
    const list = calendarList.safeParse(await res.json().catch(() => null));
    if (!list.success) throw new ConnectError('Google answered with something unexpected.');
    return list.data.items.map((c) => ({ id: c.id, name: c.summary ?? c.id, primary: c.primary === true }));
  }

  async pick(merchantId: string, calendarId: string): Promise<void> {
    const choices = await this.calendars(merchantId);
    if (!choices.some((c) => c.id === calendarId)) throw new ConnectError('That calendar is not one of yours.');
    await this.store.setGoogleCalendarId(merchantId, calendarId);
  }

  /** A free/busy query for the next day through the tools' own client: does the connection work? */
  async check(merchantId: string): Promise<ConnectionCheck> {
    const m = await this.store.getMerchant(merchantId);
    const refreshToken = m?.googleTokens.refreshToken;
    if (!m || !refreshToken) return { ok: false, problem: 'not connected' };
    const client = createGoogleCalendar({
      clientId: this.google.clientId,
      clientSecret: this.google.clientSecret,
      refreshToken,
      ...(m.googleTokens.accessToken ? { accessToken: m.googleTokens.accessToken } : {}),
      ...(m.googleTokens.expiresAt ? { expiryDate: m.googleTokens.expiresAt.getTime() } : {}),
      ...(m.googleCalendarId ? { calendarId: m.googleCalendarId } : {}),
      rootUrl: this.google.apiRootUrl,
      tokenUrl: this.google.tokenUrl,
      timeoutMs: 5000,
      retries: 0,
    });
    const from = new Date();
    try {
      const busy = await client.freeBusy(from.toISOString(), new Date(from.getTime() + 86_400_000).toISOString());
      return { ok: true, busySlots: busy.length };
    } catch (err) {
      const kind = err instanceof CalendarError ? err.kind : 'unavailable';
      return { ok: false, problem: kind === 'auth' ? 'Google no longer accepts the connection' : `Google: ${kind}` };
    }
  }

  /** Revokes the token at Google (best effort) and forgets it and the calendar here. */
  async disconnect(merchantId: string): Promise<{ revoked: boolean }> {
    const m = await this.store.getMerchant(merchantId);
    const token = m?.googleTokens.refreshToken ?? m?.googleTokens.accessToken ?? null;
    let revoked = false;
    if (token) {
      const res = await this.post(this.google.revokeUrl, { token }).catch(() => null);
      // 400 invalid_token: already revoked on Google's side, which is what we wanted.
      revoked = res !== null && (res.ok || res.status === 400);
    }
    await this.store.updateGoogleTokens(merchantId, { refreshToken: null, accessToken: null, expiresAt: null });
    await this.store.setGoogleCalendarId(merchantId, null);
    return { revoked };
  }

  private async accessToken(merchantId: string): Promise<string> {
    const m = await this.store.getMerchant(merchantId);
    const refresh = m?.googleTokens.refreshToken;
    if (!m || !refresh) throw new ConnectError('The calendar is not connected.');
    const stored = m.googleTokens.accessToken;
    if (stored && m.googleTokens.expiresAt && m.googleTokens.expiresAt.getTime() > Date.now() + 60_000) return stored;
    const res = await this.post(this.google.tokenUrl, {
      grant_type: 'refresh_token',
      refresh_token: refresh,
      client_id: this.google.clientId,
      client_secret: this.google.clientSecret,
    });
    const t = tokenAnswer.safeParse(res.ok ? await res.json().catch(() => null) : null);
    if (!t.success) throw new ConnectError('Google no longer accepts the connection. Connect again.');
    await this.store.updateGoogleTokens(merchantId, {
      accessToken: t.data.access_token,
      expiresAt: t.data.expires_in === undefined ? null : new Date(Date.now() + t.data.expires_in * 1000),
      ...(t.data.refresh_token ? { refreshToken: t.data.refresh_token } : {}),
    });
    return t.data.access_token;
  }

  private post(url: string, form: Record<string, string>): Promise<Response> {
    return this.fetchFn(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form).toString(),
      signal: AbortSignal.timeout(8000),
    });
  }

  private sweep(now: number): void {
    for (const [k, p] of this.pending) if (p.expiresAt < now) this.pending.delete(k);
    while (this.pending.size >= MAX_PENDING) {
      const oldest = this.pending.keys().next();
      if (oldest.done) break;
      this.pending.delete(oldest.value);
    }
  }
}

function withSlash(u: string): string {
  return u.endsWith('/') ? u : `${u}/`;
}
