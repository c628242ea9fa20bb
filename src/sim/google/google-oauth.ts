import { createHash, randomBytes } from 'node:crypto';
import { HttpError } from './google-wire.js';

// The consent half of Google's OAuth 2.0 for installed/web apps, as far as the console uses it: the
// authorization endpoint (a consent page with Allow and Deny), authorization codes bound to the
// client, redirect URI and PKCE challenge, the code exchange, and token revocation.

export interface AuthRequest {
  clientId: string;
  redirectUri: string;
  scope: string;
  state: string;
  challenge: string;
  accessType: string;
}

interface IssuedCode extends AuthRequest {
  expiresAt: number;
}

export interface CodeGrant {
  refreshToken: string | null;
  scope: string;
}

const oauth = (status: number, error: string, description: string): HttpError =>
  new HttpError(status, { error, error_description: description });

const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

export class FakeOAuth {
  private readonly codes = new Map<string, IssuedCode>();
  /** Every authorization request seen, for tests to check what the app asked for. */
  readonly authRequests: AuthRequest[] = [];
  /** Tokens revoked through the revocation endpoint. */
  readonly revoked: string[] = [];

  constructor(private readonly clients: Record<string, string> | undefined) {}

  /** GET /o/oauth2/v2/auth: checks the request like Google does, then the consent page. */
  consentPage(query: Record<string, string>): string {
    const need = (k: string): string => {
      const v = query[k];
      if (!v) throw oauth(400, 'invalid_request', `Missing required parameter: ${k}`);
      return v;
    };
    const req: AuthRequest = {
      clientId: need('client_id'),
      redirectUri: need('redirect_uri'),
      scope: need('scope'),
      state: query.state ?? '',
      challenge: need('code_challenge'),
      accessType: query.access_type ?? 'online',
    };
    if (this.clients && this.clients[req.clientId] === undefined)
      throw oauth(401, 'invalid_client', 'The OAuth client was not found.');
    if (need('response_type') !== 'code') throw oauth(400, 'unsupported_response_type', 'response_type must be code');
    if (query.code_challenge_method !== 'S256')
      throw oauth(400, 'invalid_request', 'code_challenge_method must be S256');
    this.authRequests.push(req);
    const hidden = Object.entries(req)
      .map(([k, v]) => `<input type="hidden" name="${k}" value="${escapeHtml(v)}">`)
      .join('');
    return (
      '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign in - Google Accounts</title></head>' +
      '<body style="font-family:sans-serif;max-width:32rem;margin:3rem auto">' +
      '<h1>Google (local imitation)</h1><p>callrelay wants to:</p><ul>' +
      req.scope
        .split(' ')
        .map((s) => `<li>${escapeHtml(s)}</li>`)
        .join('') +
      `</ul><form method="post" action="/o/oauth2/v2/auth/decide">${hidden}` +
      '<button name="decision" value="allow">Allow</button> <button name="decision" value="deny">Cancel</button>' +
      '</form></body></html>'
    );
  }

  /** POST /o/oauth2/v2/auth/decide: where the browser goes next (the app's redirect URI). */
  decide(form: Record<string, string>): string {
    const url = new URL(form.redirectUri ?? '');
    if (form.state) url.searchParams.set('state', form.state);
    if (form.decision !== 'allow') {
      url.searchParams.set('error', 'access_denied');
      return url.toString();
    }
    const code = `4/fake-${randomBytes(12).toString('hex')}`;
    this.codes.set(code, {
      clientId: form.clientId ?? '',
      redirectUri: form.redirectUri ?? '',
      scope: form.scope ?? '',
      state: form.state ?? '',
      challenge: form.challenge ?? '',
      accessType: form.accessType ?? 'online',
      expiresAt: Date.now() + 10 * 60_000,
    });
    url.searchParams.set('code', code);
    url.searchParams.set('scope', form.scope ?? '');
    return url.toString();
  }

  /** grant_type=authorization_code: one use, same client and redirect URI, and the PKCE verifier. */
  exchange(form: Record<string, string | undefined>, clientId: string | undefined): CodeGrant {
    const code = form.code ?? '';
    const issued = this.codes.get(code);
    this.codes.delete(code);
    if (!issued || issued.expiresAt < Date.now()) throw oauth(400, 'invalid_grant', 'Malformed auth code.');
    if (issued.clientId !== clientId) throw oauth(400, 'invalid_grant', 'The code was issued to another client.');
    if (issued.redirectUri !== form.redirect_uri) throw oauth(400, 'redirect_uri_mismatch', 'Bad Request');
    const verifier = form.code_verifier ?? '';
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    if (verifier === '' || challenge !== issued.challenge) throw oauth(400, 'invalid_grant', 'Invalid code verifier.');
    const refreshToken = issued.accessType === 'offline' ? `1//fake-${randomBytes(16).toString('hex')}` : null;
    return { refreshToken, scope: issued.scope };
  }
}
