import type { HttpRequest, HttpResponse, TemplatedApp, us_socket_context_t } from '../transports/uws.js';
import { log } from '../log.js';
import { clientIp, ipRateLimitKey, type TrustProxy } from '../security/client-ip.js';
import type { RateLimiter } from '../security/rate-limit.js';
import { buildPublicUrl, verifyTwilioUpgrade, verifyTwilioWebhook } from '../security/twilio-signature.js';
import { guard, json, write, type Reply } from './uws-http.js';

// The checks every public request goes through before it costs anything (issue 4, "The edge"):
// per-IP rate limits, Twilio signatures, the 426 answer for plain HTTP on WebSocket paths. uWS hands
// out a stack-allocated HttpRequest that dies when the handler returns, so the first step is always
// readEdgeRequest(), a plain snapshot the async checks can keep.
//
// Rate-limit policy: every HTTP request is limited per client IP (HTTP 60/min, WebSocket upgrades
// 10/min) except /health (load balancers), a request whose Twilio signature verified (Twilio calls
// from many shared IPs) and a signed-in console session (its own per-session limit). Refusals spend
// the budget too, so signatures and bearer tokens cannot be guessed at line rate. With validation off
// (no TWILIO_AUTH_TOKEN, development) nothing verifies, so all traffic is limited: a signature header,
// a TwilioProxy/ User-Agent or ?mode=twilio are what a client says about itself, not proof.

const edgeLog = log.child({ component: 'edge' });
const decoder = new TextDecoder();

/** What the edge checks need from one request, copied out of uWS's short-lived HttpRequest. */
export interface EdgeRequest {
  /** Lowercase method. */
  method: string;
  /** Path without the query, as received. */
  path: string;
  /** Raw query string without '?' ('' when none). */
  query: string;
  /** Client IP per TRUST_PROXY (socket peer unless a trusted proxy header says otherwise). */
  ip: string;
  origin: string | undefined;
  userAgent: string | undefined;
  twilioSignature: string | undefined;
  contentType: string | undefined;
}

function header(req: HttpRequest, name: string): string | undefined {
  const v = req.getHeader(name);
  return v === '' ? undefined : v;
}

/** Snapshot of `req`; call it synchronously at the top of the handler, before any await. */
export function readEdgeRequest(res: HttpResponse, req: HttpRequest, trust: TrustProxy): EdgeRequest {
  const remote = decoder.decode(res.getRemoteAddressAsText());
  return {
    method: req.getMethod(),
    path: req.getUrl(),
    // Some uWS builds return undefined rather than '' when there is no query.
    query: (req.getQuery() as string | undefined) ?? '',
    ip: clientIp((name) => header(req, name), remote, trust),
    origin: header(req, 'origin'),
    userAgent: header(req, 'user-agent'),
    twilioSignature: header(req, 'x-twilio-signature'),
    contentType: header(req, 'content-type'),
  };
}

export function refusal(status: number, message: string, headers: Record<string, string> = {}): Reply {
  return json(status, { error: message }, headers);
}

export function tooManyRequests(retryAfterSeconds: number): Reply {
  return refusal(429, 'too many requests', { 'Retry-After': String(retryAfterSeconds) });
}

/** 426 for plain HTTP on a WebSocket-only path; RFC 9110 requires the Upgrade header. */
export const UPGRADE_REQUIRED: Reply = refusal(426, 'this path only accepts WebSocket connections', {
  Upgrade: 'websocket',
});

/**
 * One take from `limiter` for the request's client IP (IPv6 by /64). A limiter failure lets the
 * request through: the Redis limiter already falls back to memory, so this only guards bugs, and
 * refusing all traffic because a limiter broke would be the worse outage.
 */
export function rateLimit(limiter: RateLimiter, r: EdgeRequest): Promise<Reply | null> {
  return rateLimitKey(limiter, ipRateLimitKey(r.ip));
}

/** One take from `limiter` for `key` (a session, a conversation): null to go on, or the 429. */
export async function rateLimitKey(limiter: RateLimiter, key: string): Promise<Reply | null> {
  try {
    const d = await limiter.take(key);
    return d.allowed ? null : tooManyRequests(d.retryAfterSeconds);
  } catch (err) {
    edgeLog.error({ err }, 'rate limiter failed; request allowed');
    return null;
  }
}

/** HTTP requests per client IP (pass `limiters.httpPerIp`): null to go on, or the 429 to send. */
export function httpRateLimit(limiter: RateLimiter, r: EdgeRequest): Promise<Reply | null> {
  return rateLimit(limiter, r);
}

/** The two edge settings a Twilio check needs (a Pick of EdgeConfig). */
export interface TwilioEdge {
  twilioAuthToken: string | undefined;
  publicHost: string;
}

const FORBIDDEN_SIGNATURE = refusal(403, 'invalid or missing Twilio signature');

/**
 * Signature check for a Twilio webhook (voice URL, status callbacks, Conversations), given the raw
 * body exactly as received (form or JSON with ?bodySHA256). Null when valid, or when validation is
 * off (no TWILIO_AUTH_TOKEN, development); otherwise the 403 to send.
 */
export function verifyTwilioHttp(edge: TwilioEdge, r: EdgeRequest, rawBody: Buffer | string): Reply | null {
  if (edge.twilioAuthToken === undefined) return null;
  let url: string;
  try {
    url = buildPublicUrl({ publicHost: edge.publicHost, path: r.path, query: r.query });
  } catch {
    edgeLog.warn({ path: r.path }, 'twilio webhook refused: cannot build the signed URL');
    return FORBIDDEN_SIGNATURE;
  }
  const v = verifyTwilioWebhook({
    authToken: edge.twilioAuthToken,
    signature: r.twilioSignature,
    url,
    contentType: r.contentType,
    rawBody,
  });
  if (v.ok) return null;
  edgeLog.warn({ reason: v.reason, path: r.path, ip: r.ip }, 'twilio webhook refused');
  return FORBIDDEN_SIGNATURE;
}

/**
 * Whole guard for a webhook POST after its body was read: signed traffic is verified and, when valid,
 * exempt from the HTTP limit; a bad or missing signature is counted and refused (403, or 429 once the
 * client's budget is spent). With validation off, the HTTP limit applies to every request.
 */
export async function guardTwilioWebhook(
  edge: TwilioEdge,
  httpPerIp: RateLimiter,
  r: EdgeRequest,
  rawBody: Buffer | string,
): Promise<Reply | null> {
  if (edge.twilioAuthToken === undefined) return rateLimit(httpPerIp, r);
  const refused = verifyTwilioHttp(edge, r, rawBody);
  if (refused === null) return null;
  // A refused signature spends the client's budget: past it, the answer is 429 instead of 403.
  return (await rateLimit(httpPerIp, r)) ?? refused;
}

/**
 * Signature check for the Media Streams upgrade: Twilio signs `wss://PUBLIC_HOST<path>` with empty
 * params. Null when valid or validation is off; else the 403 to send before any model socket opens.
 */
export function verifyTwilioStreamUpgrade(edge: TwilioEdge, r: EdgeRequest): Reply | null {
  if (edge.twilioAuthToken === undefined) return null;
  const v = verifyTwilioUpgrade({
    authToken: edge.twilioAuthToken,
    signature: r.twilioSignature,
    publicHost: edge.publicHost,
    path: r.path,
  });
  if (v.ok) return null;
  edgeLog.warn({ reason: v.reason, path: r.path, ip: r.ip }, 'media stream upgrade refused');
  return FORBIDDEN_SIGNATURE;
}

/**
 * Whole guard for a `/media-stream` upgrade. Validation on: a verified signature passes (no Origin
 * check, no limit: only Twilio can sign); anything else is counted against the anonymous upgrade
 * limit and refused (403, or 429 past the limit). Validation off (development): nothing can verify,
 * so every upgrade is counted first; one carrying an Origin (browsers always do, Twilio and the
 * simulator never do) must also be on the allowlist.
 */
export async function guardStreamUpgrade(
  edge: TwilioEdge,
  wsUpgradePerIp: RateLimiter,
  originAllowed: (origin: string | undefined) => boolean,
  r: EdgeRequest,
): Promise<Reply | null> {
  if (edge.twilioAuthToken !== undefined) {
    const refused = verifyTwilioStreamUpgrade(edge, r);
    if (refused === null) return null;
    return (await rateLimit(wsUpgradePerIp, r)) ?? refused;
  }
  const limited = await rateLimit(wsUpgradePerIp, r);
  if (limited) return limited;
  if (r.origin !== undefined && !originAllowed(r.origin)) return refusal(403, 'origin not allowed');
  return null;
}

export type UpgradeDecision<T> = { accept: true; userData: T; protocol?: string } | { accept: false; reply: Reply };

/**
 * The uWS async-upgrade pattern in one place: snapshot the request, install onAborted, run `decide`
 * (may await rate limits), then either refuse with an HTTP status (nothing was opened) or upgrade
 * inside cork. `protocol` is the Sec-WebSocket-Protocol to answer; by default the first one offered.
 */
export function guardedUpgrade<T>(
  res: HttpResponse,
  req: HttpRequest,
  context: us_socket_context_t,
  trust: TrustProxy,
  decide: (r: EdgeRequest, offeredProtocols: string[]) => UpgradeDecision<T> | Promise<UpgradeDecision<T>>,
): void {
  const r = readEdgeRequest(res, req, trust);
  const key = req.getHeader('sec-websocket-key');
  const offered = req
    .getHeader('sec-websocket-protocol')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const extensions = req.getHeader('sec-websocket-extensions');
  const state = guard(res);
  Promise.resolve()
    .then(() => decide(r, offered))
    .then((d) => {
      if (state.aborted) return; // the client left while we checked: nothing to open
      if (!d.accept) return write(res, state, d.reply);
      res.cork(() => res.upgrade<T>(d.userData, key, d.protocol ?? offered[0] ?? '', extensions, context));
    })
    .catch((err: unknown) => {
      edgeLog.error({ err, path: r.path }, 'upgrade check failed');
      write(res, state, refusal(500, 'internal error'));
    });
}

/**
 * A plain-HTTP route under the HTTP rate limit: `reply` runs only for requests within the limit.
 * Used for the 426 on WebSocket paths and the catch-all 404. A HEAD answer carries headers only.
 */
export function rateLimitedRoute(
  httpPerIp: RateLimiter,
  trust: TrustProxy,
  reply: (r: EdgeRequest) => Reply,
): (res: HttpResponse, req: HttpRequest) => void {
  return (res, req) => {
    const r = readEdgeRequest(res, req, trust);
    const state = guard(res);
    void rateLimit(httpPerIp, r).then((refused) => write(res, state, refused ?? reply(r), r.method === 'head'));
  };
}

/**
 * Mounts the 426 answer for non-upgrade requests on WebSocket-only paths, e.g. ['/media-stream'].
 * uWS hands a non-upgrade GET on an app.ws() path to the next matching route, so this catches it.
 */
export function mountUpgradeRequired(
  app: TemplatedApp,
  paths: readonly string[],
  httpPerIp: RateLimiter,
  trust: TrustProxy,
): void {
  const handler = rateLimitedRoute(httpPerIp, trust, () => UPGRADE_REQUIRED);
  for (const p of paths) app.any(p, handler);
}
