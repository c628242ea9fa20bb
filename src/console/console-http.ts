import type { HttpRequest, HttpResponse } from '../transports/uws.js';
import { readEdgeRequest, type EdgeRequest } from '../http/edge-guard.js';
import type { Reply } from '../http/uws-http.js';
import type { TrustProxy } from '../security/client-ip.js';

// What a console handler needs from a request (copied before any await, as uWS requires), and the
// headers every console answer carries: no caching, no framing, no referrer to other sites (a URL could carry an
// OAuth code), and a Content-Security-Policy that allows only this origin's script and style.

export interface ConsoleRequest extends EdgeRequest {
  cookie: string;
  host: string;
  secFetchSite: string | undefined;
}

export function readConsoleRequest(res: HttpResponse, req: HttpRequest, trust: TrustProxy): ConsoleRequest {
  const edge = readEdgeRequest(res, req, trust);
  const site = req.getHeader('sec-fetch-site');
  return { ...edge, cookie: req.getHeader('cookie'), host: req.getHeader('host'), secFetchSite: site || undefined };
}

export interface SecurityHeaderOptions {
  secure: boolean;
  /** Origins a form may lead to besides this one (Google's consent page, reached by a redirect). */
  formTargets: readonly string[];
}

export function securityHeaders(o: SecurityHeaderOptions): Record<string, string> {
  const h: Record<string, string> = {
    'Cache-Control': 'no-store',
    'Content-Security-Policy':
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
      `form-action 'self' ${o.formTargets.join(' ')}; base-uri 'none'; frame-ancestors 'none'`,
    'Referrer-Policy': 'same-origin',
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'DENY',
  };
  if (o.secure) h['Strict-Transport-Security'] = 'max-age=31536000';
  return h;
}

export function htmlReply(status: number, body: string, headers: Record<string, string>): Reply {
  return { status, headers: { ...headers, 'Content-Type': 'text/html; charset=utf-8' }, body };
}

export function redirect(location: string, headers: Record<string, string>): Reply {
  return { status: 303, headers: { ...headers, Location: location }, body: '' };
}

/**
 * A state-changing request must come from a console page: its Origin (sent by browsers on every POST)
 * names the host it was sent to; without Origin, Fetch Metadata must not say another site sent it.
 */
export function sameOrigin(r: ConsoleRequest): boolean {
  if (r.origin !== undefined) {
    try {
      return new URL(r.origin).host === r.host;
    } catch {
      return false;
    }
  }
  return r.secFetchSite === undefined || r.secFetchSite === 'same-origin' || r.secFetchSite === 'none';
}

/** The body of a form POST as fields; null when it is not a form. */
export function formFields(contentType: string | undefined, body: Buffer): URLSearchParams | null {
  if (!contentType?.toLowerCase().startsWith('application/x-www-form-urlencoded')) return null;
  return new URLSearchParams(body.toString('utf8'));
}
