import twilio from 'twilio';

// X-Twilio-Signature checks (docs/protocols.md, "Media Streams: signed upgrade" and "Twilio webhook
// signatures"), delegating the HMAC and the URL variants (with/without port, legacy query encoding)
// to the twilio package so we track its fixes. This module decides what URL and params to feed it;
// the URL is always built from the configured PUBLIC_HOST, never from Host / X-Forwarded-* which a
// client (or a misconfigured proxy) controls.

export type TwilioRejectReason =
  /** TWILIO_AUTH_TOKEN is not configured: fail closed. */
  | 'missing_auth_token'
  | 'missing_signature'
  /** The URL we were asked to check does not parse (bad PUBLIC_HOST or path). */
  | 'bad_url'
  | 'bad_signature'
  /** Signature over the URL is fine, but the body does not hash to the signed bodySHA256. */
  | 'body_hash_mismatch'
  /** A JSON body arrived without bodySHA256 in the URL, so nothing covers the body. */
  | 'missing_body_hash'
  /** A body with a content type Twilio does not sign as form params. */
  | 'unsupported_content_type';

export type TwilioVerifyResult = { ok: true } | { ok: false; reason: TwilioRejectReason };

export type FormParams = Record<string, string | string[]>;

/** PUBLIC_HOST is host[:port] only; anything else would make every signature silently fail. */
const PUBLIC_HOST_RE = /^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::\d{1,5})?$/;

/**
 * The URL Twilio signed for a webhook: `<scheme>://PUBLIC_HOST<path>[?query]`. `query` is the raw
 * query string exactly as received (with or without '?'); it is not re-encoded because Twilio signs
 * the characters it sent. Throws on a PUBLIC_HOST with a scheme/path or a path not starting with '/'.
 */
export function buildPublicUrl(opts: {
  publicHost: string;
  path: string;
  query?: string;
  scheme?: 'https' | 'wss' | 'http';
}): string {
  const { publicHost, path } = opts;
  if (!PUBLIC_HOST_RE.test(publicHost))
    throw new TypeError(`publicHost must be host[:port], got ${JSON.stringify(publicHost)}`);
  if (!path.startsWith('/') || path.includes('?') || path.includes('#')) {
    throw new TypeError(`path must start with '/' and carry no query or fragment, got ${JSON.stringify(path)}`);
  }
  const q = opts.query === undefined ? '' : opts.query.startsWith('?') ? opts.query.slice(1) : opts.query;
  return `${opts.scheme ?? 'https'}://${publicHost}${path}${q === '' ? '' : `?${q}`}`;
}

/**
 * application/x-www-form-urlencoded → params as Twilio's signer sees them: '+' is a space, values are
 * percent-decoded, a repeated key becomes an array (the signer sorts and de-duplicates arrays).
 * The record has no prototype so keys like `__proto__` are plain data.
 */
export function parseFormBody(body: string): FormParams {
  const params: FormParams = Object.create(null) as FormParams;
  for (const [k, v] of new URLSearchParams(body)) {
    const prev = params[k];
    if (prev === undefined) params[k] = v;
    else if (Array.isArray(prev)) prev.push(v);
    else params[k] = [prev, v];
  }
  return params;
}

function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

function hasBodyHash(url: string): boolean {
  try {
    return new URL(url).searchParams.has('bodySHA256');
  } catch {
    return false;
  }
}

export interface TwilioWebhookInput {
  authToken: string | undefined;
  /** Value of the X-Twilio-Signature header. */
  signature: string | undefined;
  /** Full public URL incl. query, from buildPublicUrl (never from Host / X-Forwarded-*). */
  url: string;
  /** Content-Type header; may be undefined for GET webhooks. */
  contentType: string | undefined;
  /** Raw request body ('' / empty buffer for GET). Buffers are read as UTF-8, as Twilio sends. */
  rawBody: string | Buffer;
}

/**
 * Verifies an HTTP webhook (voice URL, status callbacks, Conversations, AMD callback).
 * - URL carries `bodySHA256` (Twilio's JSON-body scheme): signature over the URL alone, and the raw
 *   body must hash to that value (twilio.validateRequestWithBody).
 * - Form body (or no body, e.g. GET): params parsed from the body are part of the signature.
 * - JSON without bodySHA256, or any other content type with a body: rejected, since nothing signed
 *   would cover the body.
 */
export function verifyTwilioWebhook(input: TwilioWebhookInput): TwilioVerifyResult {
  const { authToken, signature, url } = input;
  if (!authToken) return { ok: false, reason: 'missing_auth_token' };
  if (!signature) return { ok: false, reason: 'missing_signature' };
  try {
    new URL(url);
  } catch {
    return { ok: false, reason: 'bad_url' };
  }
  const body = typeof input.rawBody === 'string' ? input.rawBody : input.rawBody.toString('utf8');

  if (hasBodyHash(url)) {
    if (twilio.validateRequestWithBody(authToken, signature, url, body)) return { ok: true };
    // Tell the two failures apart for the log: forged/misrouted request vs. body altered in transit.
    return {
      ok: false,
      reason: twilio.validateRequest(authToken, signature, url, {}) ? 'body_hash_mismatch' : 'bad_signature',
    };
  }

  const type = mediaType(input.contentType);
  if (type === 'application/json') return { ok: false, reason: 'missing_body_hash' };
  let params: FormParams;
  if (type === 'application/x-www-form-urlencoded') params = parseFormBody(body);
  else if (body === '') params = {};
  else return { ok: false, reason: 'unsupported_content_type' };

  return twilio.validateRequest(authToken, signature, url, params)
    ? { ok: true }
    : { ok: false, reason: 'bad_signature' };
}

export interface TwilioUpgradeInput {
  authToken: string | undefined;
  signature: string | undefined;
  /** PUBLIC_HOST, host[:port] without scheme. Do not add :443: Twilio signs the URL as configured. */
  publicHost: string;
  /** Request path of the upgrade, e.g. '/media-stream' (the path of the TwiML <Stream url>). */
  path: string;
}

/**
 * Verifies the Media Streams WebSocket upgrade: Twilio signs `wss://PUBLIC_HOST<path>` with empty
 * params (the GET has no body). Check this before opening the upstream model socket.
 */
export function verifyTwilioUpgrade(input: TwilioUpgradeInput): TwilioVerifyResult {
  const { authToken, signature } = input;
  if (!authToken) return { ok: false, reason: 'missing_auth_token' };
  if (!signature) return { ok: false, reason: 'missing_signature' };
  let url: string;
  try {
    url = buildPublicUrl({ publicHost: input.publicHost, path: input.path, scheme: 'wss' });
    new URL(url);
  } catch {
    return { ok: false, reason: 'bad_url' };
  }
  return twilio.validateRequest(authToken, signature, url, {}) ? { ok: true } : { ok: false, reason: 'bad_signature' };
}
