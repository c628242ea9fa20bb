import type { HttpRequest, HttpResponse, TemplatedApp } from '../transports/uws.js';
import { log } from '../log.js';
import { guard, readBody, write, BodyTooLarge, type Reply } from '../http/uws-http.js';
import { rateLimit } from '../http/edge-guard.js';
import type { RateLimiter } from '../security/rate-limit.js';
import type { TrustProxy } from '../security/client-ip.js';
import type { Store } from '../store/store.js';
import { CONSOLE_CSS } from './assets/console-css.js';
import { CONSOLE_JS } from './assets/console-js.js';
import type { ChartPicture } from './chart-svg.js';
import type { ConsoleConfig } from './console-config.js';
import {
  formFields,
  htmlReply,
  readConsoleRequest,
  redirect,
  sameOrigin,
  securityHeaders,
  type ConsoleRequest,
} from './console-http.js';
import { clearedCookie, cookieName, readCookie, sessionCookie } from './cookies.js';
import type { GoogleConnect } from './google-connect.js';
import type { LiveHub } from './live-hub.js';
import { badRequestPage, notFoundPage } from './pages/errors.js';
import type { PageContext, Section } from './pages/layout.js';
import { signInPage } from './pages/sign-in.js';
import { openSse } from './sse.js';
import { BadQuery } from './query.js';
import { decideSignIn, linkStillValid, type SignInCounter } from './sign-in.js';
import type { Session, SessionKeys } from './session.js';
import { ConsoleViews } from './views.js';

// The console's HTTP surface under /console: one dispatcher for GET and POST that reads the request,
// resolves the session, checks origin and CSRF on state changes, and hands over to the page views.
// Unknown or foreign ids answer 404, the same as missing ones.

const clog = log.child({ component: 'console' });

export interface ConsoleDeps {
  config: ConsoleConfig;
  store: Store;
  hub: LiveHub;
  chart: ChartPicture;
  keys: SessionKeys;
  signInLimiter: RateLimiter;
  counter: SignInCounter;
  trustProxy: TrustProxy;
  google: GoogleConnect | null;
}

/** What a handler answers: a reply to write, or 'stream' when it took the response over (SSE). */
type Outcome = Reply | 'stream';

export interface Signed {
  session: Session;
  ctx: (section: Section) => PageContext;
}

const ASSET_HEADERS = { 'Cache-Control': 'public, max-age=300', 'X-Content-Type-Options': 'nosniff' };
const MAX_FORM_BYTES = 8 * 1024;
/** How long one live event stream lasts before the browser reconnects (and is let in again or not). */
const STREAM_RECHECK_MS = 5 * 60_000;

export function mountConsole(app: TemplatedApp, deps: ConsoleDeps): void {
  const formTargets = deps.google ? [new URL(deps.config.google?.authUrl ?? '').origin] : [];
  const headers = securityHeaders({ secure: deps.config.secure, formTargets });
  const views = new ConsoleViews(deps, headers);
  const secure = deps.config.secure;
  const cookie = cookieName(secure);

  const signInReply = (status: number, problem?: string, clear = false): Reply =>
    htmlReply(status, signInPage(problem), clear ? { ...headers, 'Set-Cookie': clearedCookie(secure) } : headers);

  /**
   * The signed-in session, or the reply that replaces the page (sign-in; counted when a cookie was bad).
   * An owner's session is checked against its link on every request, so revoking the link ends it.
   */
  const signedIn = async (r: ConsoleRequest): Promise<Signed | Reply> => {
    const value = readCookie(r.cookie, cookie);
    if (value === undefined || value === '') return signInReply(401);
    const session = deps.keys.read(value);
    if (!session) {
      deps.counter.refused('bad_session');
      return signInReply(401, 'Your session has ended. Sign in again.', true);
    }
    if (session.viewer.kind === 'merchant') {
      const problem = await linkStillValid(deps.store, session.viewer.linkId);
      if (problem) {
        deps.counter.refused(problem);
        return signInReply(401, 'Your sign-in link is no longer valid. Ask for a new one.', true);
      }
    }
    const csrf = deps.keys.csrf(session);
    return { session, ctx: (section) => ({ viewer: session.viewer, csrf, section }) };
  };

  const get = async (res: HttpResponse, r: ConsoleRequest, parts: string[]): Promise<Outcome> => {
    const [first, second, third] = parts;
    if (first === 'assets' && parts.length === 2) {
      if (second === 'console.css')
        return {
          status: 200,
          headers: { ...ASSET_HEADERS, 'Content-Type': 'text/css; charset=utf-8' },
          body: CONSOLE_CSS,
        };
      if (second === 'console.js')
        return {
          status: 200,
          headers: { ...ASSET_HEADERS, 'Content-Type': 'text/javascript; charset=utf-8' },
          body: CONSOLE_JS,
        };
    }
    if (first === 'sign-in' && parts.length === 1) return signInReply(200);
    if (first === 'google' && second === 'callback' && parts.length === 2) return views.oauthReturn(r.query);
    const s = await signedIn(r);
    if (!('session' in s)) return s;
    if (parts.length === 0) return views.live(s, r.query);
    if (first === 'live' && second === 'events' && parts.length === 2) {
      const merchantId = s.session.viewer.kind === 'operator' ? null : s.session.viewer.merchantId;
      const stream = openSse(res, { 'X-Content-Type-Options': 'nosniff' });
      const sub = deps.hub.subscribe(merchantId, stream);
      // Streams end now and then; the browser reconnects at once, and the session (its expiry, an
      // owner's link) is checked again on the way in.
      const recheck = setTimeout(() => stream.close(), STREAM_RECHECK_MS);
      recheck.unref();
      stream.onDrain(sub.drained);
      stream.onClose(() => {
        clearTimeout(recheck);
        sub.unsubscribe();
      });
      return 'stream';
    }
    if (first === 'calls' && parts.length === 1) return views.calls(s, r.query);
    if (first === 'calls' && second !== undefined && parts.length === 2) return views.call(s, second);
    if (first === 'merchants' && parts.length === 1) return views.merchantsView(s);
    if (first === 'merchants' && second !== undefined && parts.length === 2) return views.merchant(s, second, r.query);
    if (first === 'merchants' && second !== undefined && third === 'calendar' && parts.length === 3)
      return views.calendarPick(s, second);
    return views.notFound(s.ctx('none'));
  };

  const post = async (r: ConsoleRequest, parts: string[], form: URLSearchParams): Promise<Reply> => {
    const [first, second, third, fourth, fifth] = parts;
    if (first === 'session' && parts.length === 1) {
      const limited = await rateLimit(deps.signInLimiter, r);
      if (limited) {
        clog.warn({ ip: r.ip }, 'console sign-in rate limited');
        return { ...signInReply(429, 'Too many sign-in attempts. Wait a minute and try again.'), status: 429 };
      }
      const token = (form.get('token') ?? '').trim().slice(0, 512);
      const d = await decideSignIn(deps.keys, deps.store, token);
      if (!d.ok) {
        deps.counter.refused(d.reason);
        clog.warn({ ip: r.ip, reason: d.reason }, 'console sign-in refused');
        return signInReply(401, 'That token or link is not valid, or it has expired.');
      }
      const issued = deps.keys.issue(d.viewer, d.seconds);
      clog.info(
        { ip: r.ip, viewer: d.viewer.kind === 'operator' ? 'operator' : d.viewer.merchantId },
        'console sign-in',
      );
      return redirect('/console', { ...headers, 'Set-Cookie': sessionCookie(secure, issued.value, d.seconds) });
    }
    if (first === 'sign-out' && parts.length === 1) {
      // Signing out needs no valid session: the cookie is cleared either way.
      return redirect('/console/sign-in', { ...headers, 'Set-Cookie': clearedCookie(secure) });
    }
    const s = await signedIn(r);
    if (!('session' in s)) return s;
    if (first === 'google' && second === 'finish' && parts.length === 2) return views.googleFinish(s, form);
    if (!deps.keys.checkCsrf(s.session, form.get('csrf') ?? undefined)) {
      clog.warn({ ip: r.ip, path: r.path }, 'console form without a valid CSRF token refused');
      return htmlReply(403, notFoundPage(s.ctx('none')).replace('Not found', 'Refused'), headers);
    }
    if (first === 'merchants' && second !== undefined) {
      if (third === 'messages' && fourth !== undefined && fifth === 'read' && parts.length === 5)
        return views.markRead(s, second, fourth);
      if (third === 'google' && fourth === 'connect' && parts.length === 4) return views.googleConnect(s, second);
      if (third === 'google' && fourth === 'disconnect' && parts.length === 4) return views.googleDisconnect(s, second);
      if (third === 'calendar' && parts.length === 3) return views.calendarChoose(s, second, form);
    }
    return views.notFound(s.ctx('none'));
  };

  const handle = (res: HttpResponse, req: HttpRequest): void => {
    const r = readConsoleRequest(res, req, deps.trustProxy);
    const state = guard(res);
    const parts = r.path
      .slice('/console'.length)
      .split('/')
      .filter((p) => p !== '')
      .map((p) => {
        try {
          return decodeURIComponent(p);
        } catch {
          return '\0';
        }
      });
    const run = async (): Promise<Outcome> => {
      if (r.method === 'get') return get(res, r, parts);
      if (r.method !== 'post') return { status: 405, headers: { ...headers, Allow: 'GET, POST' }, body: '' };
      if (!sameOrigin(r)) {
        clog.warn({ ip: r.ip, path: r.path }, 'console request from another site refused');
        return htmlReply(403, signInPage('That request did not come from this console.'), headers);
      }
      const body = await readBody(res, state, MAX_FORM_BYTES);
      const form = formFields(r.contentType, body);
      if (!form) return { status: 415, headers, body: 'forms only' };
      return post(r, parts, form);
    };
    run()
      .then((out) => {
        if (out !== 'stream') write(res, state, out);
      })
      .catch((err: unknown) => {
        if (err instanceof BodyTooLarge) return write(res, state, { status: 413, headers, body: 'form too large' });
        if (err instanceof BadQuery)
          return write(
            res,
            state,
            htmlReply(
              400,
              badRequestPage({ viewer: null, csrf: '', section: 'none' }, err.field, err.problem),
              headers,
            ),
          );
        clog.error({ err, path: r.path }, 'console request failed');
        write(res, state, htmlReply(500, signInPage('Something went wrong on our side.'), headers));
      });
  };

  app.get('/console', handle);
  app.get('/console/*', handle);
  app.post('/console/*', handle);
  app.any('/console/*', handle);
}
