import { randomBytes } from 'node:crypto';
import { HttpError, SCOPE, googleError, isRecord, str, type RecordedRequest } from './google-wire.js';
import type { FakeOAuth } from './google-oauth.js';

// The tokens of Google's OAuth 2.0 as the fake holds them: refresh tokens it accepts, access tokens
// it issued (each with its expiry), the token endpoint (client check, authorization-code and
// refresh grants), the revocation endpoint, and the bearer check every Calendar request passes.

export interface GoogleTokensOptions {
  /** clientId → clientSecret; when given, the token endpoint rejects other clients. */
  clients?: Record<string, string>;
  /** Refresh tokens the token endpoint accepts. */
  refreshTokens?: string[];
  accessTokenTtlSec?: number;
}

const oauthError = (status: number, error: string, description: string): HttpError =>
  new HttpError(status, { error, error_description: description });

export class GoogleTokens {
  private readonly refreshTokens: Set<string>;
  private readonly accessTokens = new Map<string, number>(); // token → expiry epoch ms
  private issued = 0;

  constructor(
    private readonly opts: GoogleTokensOptions,
    private readonly oauth: FakeOAuth,
  ) {
    this.refreshTokens = new Set(opts.refreshTokens ?? []);
  }

  addRefreshToken(token: string): void {
    this.refreshTokens.add(token);
  }

  revokeRefreshToken(token: string): void {
    this.refreshTokens.delete(token);
  }

  hasRefreshToken(token: string): boolean {
    return this.refreshTokens.has(token);
  }

  expireAccessTokens(): void {
    this.accessTokens.clear();
  }

  issueAccessToken(ttlSec = this.opts.accessTokenTtlSec ?? 3599): { accessToken: string; expiryDate: number } {
    const accessToken = `ya29.fake-${++this.issued}-${randomBytes(6).toString('hex')}`;
    const expiryDate = Date.now() + ttlSec * 1000;
    this.accessTokens.set(accessToken, expiryDate);
    return { accessToken, expiryDate };
  }

  /** POST /token: the client (form or Basic auth), then an authorization-code or refresh grant. */
  token(req: RecordedRequest): unknown {
    const form = isRecord(req.body) ? req.body : {};
    let clientId = str(form.client_id);
    let secret = str(form.client_secret);
    const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '');
    if (basic?.[1]) [clientId, secret] = Buffer.from(basic[1], 'base64').toString().split(':');
    if (this.opts.clients) {
      const expected = clientId === undefined ? undefined : this.opts.clients[clientId];
      if (expected === undefined) throw oauthError(401, 'invalid_client', 'The OAuth client was not found.');
      if (expected !== secret) throw oauthError(401, 'invalid_client', 'Unauthorized');
    }
    const grant = str(form.grant_type);
    if (grant === 'authorization_code') {
      const fields = Object.fromEntries(Object.entries(form).map(([k, v]) => [k, str(v)]));
      const g = this.oauth.exchange(fields, clientId);
      const ttlSec = this.opts.accessTokenTtlSec ?? 3599;
      const { accessToken } = this.issueAccessToken(ttlSec);
      if (g.refreshToken) this.refreshTokens.add(g.refreshToken);
      return {
        access_token: accessToken,
        expires_in: ttlSec,
        scope: g.scope,
        token_type: 'Bearer',
        ...(g.refreshToken ? { refresh_token: g.refreshToken } : {}),
      };
    }
    if (grant !== 'refresh_token')
      throw oauthError(400, 'unsupported_grant_type', `Invalid grant_type: ${grant ?? ''}`);
    const rt = str(form.refresh_token);
    if (!rt || !this.refreshTokens.has(rt))
      throw oauthError(400, 'invalid_grant', 'Token has been expired or revoked.');
    const ttl = this.opts.accessTokenTtlSec ?? 3599;
    const { accessToken } = this.issueAccessToken(ttl);
    return { access_token: accessToken, expires_in: ttl, scope: SCOPE, token_type: 'Bearer' };
  }

  /** Google's revocation endpoint: a refresh token (or an access token) stops working at once. */
  revoke(req: RecordedRequest): unknown {
    const form = isRecord(req.body) ? req.body : {};
    const token = str(form.token) ?? req.query.token ?? '';
    const known = this.refreshTokens.delete(token) || this.accessTokens.delete(token);
    if (!known) throw new HttpError(400, { error: 'invalid_token', error_description: 'Token expired or revoked' });
    this.oauth.revoked.push(token);
    return {};
  }

  /** A Calendar request's bearer token: one this fake issued and not yet expired, else 401. */
  authorize(req: RecordedRequest): void {
    const m = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
    const expiry = m?.[1] ? this.accessTokens.get(m[1]) : undefined;
    if (expiry === undefined || expiry <= Date.now()) {
      throw googleError(
        401,
        'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other ' +
          'valid authentication credential.',
        'authError',
      );
    }
  }
}
