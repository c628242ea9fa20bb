import { randomBytes } from 'node:crypto';
import * as uWS from '../transports/uws.js';
import { log as rootLog, maskPhone, type Logger } from '../log.js';
import type { TrustProxy } from '../security/client-ip.js';
import type { Limiters } from '../security/limiters.js';
import { extractToken, verifyToken, type TokenClaims } from '../security/token.js';
import {
  guardedUpgrade,
  mountUpgradeRequired,
  rateLimit,
  rateLimitedRoute,
  refusal,
  type EdgeRequest,
  type UpgradeDecision,
} from '../http/edge-guard.js';
import type { EndpointResolver, RelayEndpoint } from './browser-endpoint.js';
import { BrowserSession, DEFAULT_SESSION_LIMITS, type BrowserSocket, type SessionLimits } from './browser-session.js';

// The browser relay (issue 4): a merchant's web app opens a WebSocket here with a short-lived token
// and is bridged to the realtime model, the relay adding the API key. Paths:
//   /token/<t>            /auth/<t>            /realtime?auth=<t>
//   /token/<t>/realtime   /auth/<t>/realtime   (what the openai SDK dials for baseURL https://relay/token/<t>)
// Every check runs in the upgrade handler, before the browser socket exists and before any model
// socket is opened: per-IP upgrade limit (429), Origin allowlist (403), token (401), provider (400).
// Browser paths never take the Twilio bypass: Twilio only ever dials /media-stream.

export interface BrowserRelayDeps {
  encryptionKey: Buffer;
  originAllowed(origin: string | undefined): boolean;
  limiters: Pick<Limiters, 'httpPerIp' | 'wsUpgradePerIp'>;
  trustProxy: TrustProxy;
  /** Model endpoint for the requested `?provider=` (undefined: the default). */
  endpoint: EndpointResolver;
  maxSessionSeconds: number;
  log?: Logger;
  /** Overrides of DEFAULT_SESSION_LIMITS, plus the largest single browser frame (uWS closes 1009). */
  limits?: Partial<SessionLimits> & { maxPayloadBytes?: number };
}

export interface BrowserRelay {
  /** Live browser sessions. */
  readonly sessionCount: number;
  /** Ends every session (server shutdown): browser gets `code`, the model 1000. */
  closeAll(code?: number, reason?: string): void;
}

interface BrowserUserData {
  sid: string;
  ip: string;
  endpoint: RelayEndpoint;
  claims: TokenClaims;
  session: BrowserSession | null;
  closed: boolean;
}

export const BROWSER_WS_PATHS = ['/token/*', '/auth/*', '/realtime'] as const;
const DEFAULT_MAX_PAYLOAD = 4 * 1024 * 1024;
const CLIENT_SUFFIX = /^(\/(?:token|auth)\/[^/?#]+)\/realtime\/?$/;
/** Subprotocols that carry a credential: never chosen (they would be echoed in the response). */
const CREDENTIAL_PROTOCOL = /^(?:openai-insecure-api-key|xai-client-secret)\./;

/** The token from any carrier, including the openai SDK's `<baseURL>/realtime` form. */
export function tokenFromRequest(path: string, query: string): string | undefined {
  const m = CLIENT_SUFFIX.exec(path);
  return extractToken(m?.[1] ?? path, query);
}

/**
 * The subprotocol to answer. Browsers (and `ws`) fail the handshake when they offered protocols and
 * the server picks none, so pick one: `realtime` (what OpenAI's browser client offers), else the first
 * offered that is not a credential. The API key subprotocol a client may send is never forwarded.
 */
export function chooseSubprotocol(offered: readonly string[]): string {
  if (offered.includes('realtime')) return 'realtime';
  return offered.find((p) => !CREDENTIAL_PROTOCOL.test(p)) ?? '';
}

/** The path for logs, without the token it carries. */
function redactPath(path: string): string {
  return path.replace(/^\/(token|auth)\/[^/]*/, '/$1/…');
}

const HEALTH_OK = { status: 200, headers: { 'Content-Type': 'text/plain' }, body: 'OK' };

export function browserRelayRoutes(app: uWS.TemplatedApp, deps: BrowserRelayDeps): BrowserRelay {
  const log = (deps.log ?? rootLog).child({ component: 'browser-relay' });
  const limits: SessionLimits = { ...DEFAULT_SESSION_LIMITS, ...deps.limits };
  const sockets = new Set<uWS.WebSocket<BrowserUserData>>();

  const refuse = (r: EdgeRequest, status: number, message: string, why: string): UpgradeDecision<BrowserUserData> => {
    log.info({ status, why, ip: r.ip, path: redactPath(r.path) }, 'browser upgrade refused');
    return { accept: false, reply: refusal(status, message) };
  };

  const decide = async (r: EdgeRequest, offered: string[]): Promise<UpgradeDecision<BrowserUserData>> => {
    // Counted first, so failed attempts (token guessing, wrong origin) spend the budget too.
    const limited = await rateLimit(deps.limiters.wsUpgradePerIp, r);
    if (limited) {
      log.info({ status: 429, ip: r.ip }, 'browser upgrade refused');
      return { accept: false, reply: limited };
    }
    if (!deps.originAllowed(r.origin)) return refuse(r, 403, 'origin not allowed', 'origin');
    const token = tokenFromRequest(r.path, r.query);
    if (token === undefined) return refuse(r, 401, 'missing access token', 'no token');
    const verified = verifyToken(deps.encryptionKey, token);
    if (!verified.ok) return refuse(r, 401, 'invalid or expired access token', verified.reason);
    const provider = r.query === '' ? undefined : (new URLSearchParams(r.query).get('provider') ?? undefined);
    const choice = deps.endpoint(provider);
    if (!choice.ok) return refuse(r, 400, choice.error, 'provider');
    const sid = randomBytes(6).toString('hex');
    return {
      accept: true,
      protocol: chooseSubprotocol(offered),
      userData: { sid, ip: r.ip, endpoint: choice.endpoint, claims: verified.claims, session: null, closed: false },
    };
  };

  const behavior: uWS.WebSocketBehavior<BrowserUserData> = {
    compression: uWS.DISABLED,
    maxPayloadLength: deps.limits?.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD,
    // Room above the high-water mark at which the session pauses reading the model.
    maxBackpressure: limits.downstreamHighWaterBytes * 16,
    idleTimeout: 120,
    sendPingsAutomatically: true,
    upgrade: (res, req, context) => guardedUpgrade(res, req, context, deps.trustProxy, decide),
    open: (ws) => {
      sockets.add(ws);
      const data = ws.getUserData();
      const browser: BrowserSocket = {
        send: (bytes, isBinary) => (data.closed ? 2 : ws.send(bytes, isBinary)),
        end: (code, reason) => {
          if (data.closed) return;
          data.closed = true;
          ws.end(code, reason);
        },
        bufferedAmount: () => (data.closed ? 0 : ws.getBufferedAmount()),
      };
      const { endpoint, claims } = data;
      const sessionLog = log.child({
        sid: data.sid,
        provider: endpoint.provider,
        sub: maskPhone(claims.sub),
        merchantId: claims.merchantId,
      });
      sessionLog.info({ ip: data.ip, model: endpoint.model }, 'browser session started');
      try {
        data.session = new BrowserSession(browser, {
          endpoint,
          maxSessionMs: deps.maxSessionSeconds * 1000,
          limits,
          log: sessionLog,
        });
      } catch (err) {
        // `ws` throws synchronously on a URL it cannot dial; an exception here would take uWS down.
        sessionLog.error({ err }, 'could not open the model socket');
        browser.end(1011, 'could not connect to the model');
      }
    },
    message: (ws, message, isBinary) => {
      ws.getUserData().session?.fromBrowser(message, isBinary);
    },
    drain: (ws) => {
      ws.getUserData().session?.onBrowserDrain();
    },
    close: (ws, code) => {
      sockets.delete(ws);
      const data = ws.getUserData();
      data.closed = true;
      data.session?.onBrowserClose(code);
    },
  };
  for (const path of BROWSER_WS_PATHS) app.ws<BrowserUserData>(path, behavior);

  // Plain HTTP on these paths: GET on a token path is a health ping (200, token not checked: a
  // pinger holds no secret); everything else is 426. uWS passes non-upgrade GETs on ws paths on.
  const health = rateLimitedRoute(deps.limiters.httpPerIp, deps.trustProxy, () => HEALTH_OK);
  app.get('/token/*', health);
  app.get('/auth/*', health);
  mountUpgradeRequired(app, BROWSER_WS_PATHS, deps.limiters.httpPerIp, deps.trustProxy);

  return {
    get sessionCount() {
      return sockets.size;
    },
    closeAll: (code = 1001, reason = 'server closing') => {
      for (const ws of [...sockets]) {
        const s = ws.getUserData().session;
        if (s) s.endByRelay({ code, reason });
        else if (!ws.getUserData().closed) {
          ws.getUserData().closed = true;
          ws.end(code, reason);
        }
      }
    },
  };
}
