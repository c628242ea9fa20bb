import type { CalendarClient } from '../calendar/calendar.js';
import { createGoogleCalendar, type GoogleTokens } from '../calendar/google-calendar.js';
import { readEnv, type EnvSource } from '../config.js';
import { log } from '../log.js';
import type { Merchant } from '../merchants/merchant.js';
import type { MerchantRecord, Store } from '../store/store.js';

// The merchant's Google Calendar, from the OAuth tokens stored on the merchant. One client per
// merchant is kept for a while, so a call's tools share an access token instead of each refreshing
// it; refreshed (and rotated) tokens are written back to the store so a restart reuses them.

export interface GoogleConfig {
  /** GOOGLE_CLIENT_ID / GOOGLE_CLIENT_SECRET; without both no merchant has a calendar. */
  clientId: string | null;
  clientSecret: string | null;
  /** GOOGLE_API_ROOT_URL (tests and the demo point it at the local fake); the schema's default is Google's. */
  apiRootUrl: string;
  /** GOOGLE_OAUTH_TOKEN_URL; the schema's default is Google's. */
  tokenUrl: string;
}

export function googleConfigFromEnv(env: EnvSource): GoogleConfig {
  return readEnv(env, (r) => ({
    clientId: r.get('GOOGLE_CLIENT_ID') ?? null,
    clientSecret: r.get('GOOGLE_CLIENT_SECRET') ?? null,
    apiRootUrl: r.get('GOOGLE_API_ROOT_URL'),
    tokenUrl: r.get('GOOGLE_OAUTH_TOKEN_URL'),
  }));
}

export type CalendarFor = (merchant: Merchant) => Promise<CalendarClient | null>;

export interface CalendarForOptions {
  store: Pick<Store, 'getMerchant' | 'updateGoogleTokens'>;
  google: GoogleConfig;
  /** How long a merchant's client (or its absence) is reused before the stored tokens are re-read. Default 60 s. */
  cacheMs?: number;
  /** Deadline of one calendar operation (token refresh and retries included). Default: the client's 8 s. */
  timeoutMs?: number;
}

interface Entry {
  client: CalendarClient | null;
  /** What the client was built from; a change in the store (reconnect, other calendar) rebuilds it. */
  refreshToken: string | null;
  calendarId: string | null;
}

const clog = log.child({ mod: 'calendar-for' });

export function createCalendarFor(opts: CalendarForOptions): CalendarFor {
  const { store, google } = opts;
  const cacheMs = opts.cacheMs ?? 60_000;
  const cache = new Map<string, { at: number; entry: Promise<Entry> }>();

  const build = (rec: MerchantRecord): Entry => {
    const refreshToken = rec.googleTokens.refreshToken;
    const base: Entry = { client: null, refreshToken, calendarId: rec.googleCalendarId };
    if (!refreshToken || !google.clientId || !google.clientSecret) return base;
    const merchantId = rec.id;
    const onTokens = async (t: GoogleTokens): Promise<void> => {
      // Remember a rotated refresh token first, so the next re-read does not look like a reconnect.
      if (t.refreshToken) base.refreshToken = t.refreshToken;
      await store.updateGoogleTokens(merchantId, {
        accessToken: t.accessToken,
        expiresAt: t.expiryDate === undefined ? null : new Date(t.expiryDate),
        ...(t.refreshToken ? { refreshToken: t.refreshToken } : {}),
      });
    };
    base.client = createGoogleCalendar({
      clientId: google.clientId,
      clientSecret: google.clientSecret,
      refreshToken,
      ...(rec.googleTokens.accessToken ? { accessToken: rec.googleTokens.accessToken } : {}),
      ...(rec.googleTokens.expiresAt ? { expiryDate: rec.googleTokens.expiresAt.getTime() } : {}),
      ...(rec.googleCalendarId ? { calendarId: rec.googleCalendarId } : {}),
      rootUrl: google.apiRootUrl,
      tokenUrl: google.tokenUrl,
      ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
      onTokens,
    });
    return base;
  };

  const load = async (merchantId: string, previous: Promise<Entry> | undefined): Promise<Entry> => {
    const rec = await store.getMerchant(merchantId);
    if (!rec) return { client: null, refreshToken: null, calendarId: null };
    const old = previous ? await previous.catch(() => undefined) : undefined;
    // Same tokens and calendar: keep the client, and with it the access token it already holds.
    if (old?.client && old.refreshToken === rec.googleTokens.refreshToken && old.calendarId === rec.googleCalendarId)
      return old;
    const entry = build(rec);
    if (entry.client)
      clog.info({ merchantId, calendarId: rec.googleCalendarId ?? 'primary' }, 'google calendar client ready');
    return entry;
  };

  return async (merchant) => {
    const now = Date.now();
    const hit = cache.get(merchant.id);
    if (hit && now - hit.at < cacheMs) return (await hit.entry).client;
    const entry = load(merchant.id, hit?.entry);
    cache.set(merchant.id, { at: now, entry });
    // A failed read is not cached: the next tool call tries again.
    entry.catch(() => {
      if (cache.get(merchant.id)?.entry === entry) cache.delete(merchant.id);
    });
    return (await entry).client;
  };
}
