import twilio from 'twilio';
import type RequestClient from 'twilio/lib/base/RequestClient.js';
import type * as TwilioHttp from 'twilio/lib/http/response.js';
import { maskPhone } from '../log.js';

// The Twilio REST client for the SMS feature. With TWILIO_API_BASE_URL every request (api.twilio.com,
// conversations.twilio.com, any *.twilio.com product host, with or without edge/region) is sent to
// that base instead, path and query unchanged: the local simulator in tests, a recording proxy in a
// private deployment.
//
// How: twilio-node v6 builds absolute https://<product>.twilio.com URLs and only lets `edge`/`region`
// rename the host inside twilio.com (BaseTwilio.getHostname), so they cannot point elsewhere. The
// supported seam is `httpClient` (ClientOpts): a RequestClient subclass rewrites the URI just before
// the request goes out. Retries stay off (twilio-node's autoRetry only covers 429 and defaults to
// false): a calls.create that timed out may still have dialled, so it must never be sent twice.

export type TwilioClient = twilio.Twilio;

export interface TwilioClientOptions {
  accountSid: string;
  authToken: string;
  /** e.g. http://127.0.0.1:4011 (no trailing slash needed); unset talks to Twilio. */
  apiBaseUrl?: string;
  /** Per-request timeout (default 10 s; twilio-node's own default is 30 s). */
  timeoutMs?: number;
}

const TWILIO_HOST = /^(?:[a-z0-9-]+\.)*twilio\.com$/i;

/** `https://conversations.twilio.com/v1/X?y=1` + base `http://127.0.0.1:9/p` → `http://127.0.0.1:9/p/v1/X?y=1`. */
export function rewriteTwilioUrl(uri: string, base: string): string {
  const u = new URL(uri);
  if (!TWILIO_HOST.test(u.hostname)) return uri;
  return `${base.replace(/\/+$/, '')}${u.pathname}${u.search}`;
}

export class BaseUrlRequestClient extends twilio.RequestClient {
  constructor(
    private readonly baseUrl: string,
    opts: RequestClient.RequestClientOptions = {},
  ) {
    super(opts);
  }

  override request<TData>(opts: RequestClient.RequestOptions<TData>): Promise<TwilioHttp.default<TData>> {
    return super.request({ ...opts, uri: rewriteTwilioUrl(opts.uri, this.baseUrl) });
  }
}

export function createTwilioClient(opts: TwilioClientOptions): TwilioClient {
  const timeout = opts.timeoutMs ?? 10_000;
  const httpClient = opts.apiBaseUrl
    ? new BaseUrlRequestClient(opts.apiBaseUrl, { timeout })
    : new twilio.RequestClient({ timeout });
  return twilio(opts.accountSid, opts.authToken, { httpClient, autoRetry: false });
}

/** Twilio's error code from a failed REST call (RestException.code), if any. */
export function twilioErrorCode(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null || !('code' in err)) return undefined;
  const code = (err as { code: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}

/** HTTP status of a failed REST call, if any. */
export function twilioErrorStatus(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null || !('status' in err)) return undefined;
  const status = (err as { status: unknown }).status;
  return typeof status === 'number' ? status : undefined;
}

/** Error text safe to log: Twilio's messages can quote the number ("Invalid 'To' Phone Number: +1…"). */
export function safeErrorText(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.replace(/\+?\d{7,15}/g, (n) => maskPhone(n) ?? '');
}

/** What to log about a failed REST call. */
export function describeTwilioError(err: unknown): {
  code: number | undefined;
  status: number | undefined;
  message: string;
} {
  return { code: twilioErrorCode(err), status: twilioErrorStatus(err), message: safeErrorText(err) };
}
