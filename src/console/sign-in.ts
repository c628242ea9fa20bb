import { Counter } from 'prom-client';
import type { RelayMetrics } from '../obs/metrics.js';
import type { Store } from '../store/store.js';
import { hashLinkToken, looksLikeLinkToken } from './link-token.js';
import {
  MERCHANT_SESSION_SECONDS,
  OPERATOR_SESSION_SECONDS,
  type Session,
  type SessionKeys,
  type Viewer,
} from './session.js';

// Sign-in decisions: the operator's CONSOLE_TOKEN, or an owner's link looked up by its hash. Every
// refusal is counted by reason (callrelay_console_sign_in_failures_total) and looks the same to the
// browser: the sign-in page again, no data, no hint which part was wrong.

export type SignInFailure = 'wrong_token' | 'unknown_link' | 'expired_link' | 'revoked_link' | 'bad_session';

export type SignInResult = { ok: true; viewer: Viewer; seconds: number } | { ok: false; reason: SignInFailure };

export class SignInCounter {
  private readonly failures: Counter<'reason'>;

  constructor(metrics: RelayMetrics) {
    this.failures = new Counter({
      name: 'callrelay_console_sign_in_failures_total',
      help: 'Console sign-ins refused (wrong token, unknown/expired/revoked link) and bad session cookies.',
      labelNames: ['reason'],
      registers: [metrics.registry],
    });
  }

  refused(reason: SignInFailure): void {
    this.failures.inc({ reason });
  }
}

/** Whether the link an owner's session came through still holds (not revoked, not expired). */
export async function linkStillValid(
  store: Pick<Store, 'getConsoleLink'>,
  linkId: string,
  now = Date.now(),
): Promise<SignInFailure | null> {
  const link = await store.getConsoleLink(linkId);
  if (!link) return 'unknown_link';
  if (link.revokedAt !== null) return 'revoked_link';
  return link.expiresAt.getTime() <= now ? 'expired_link' : null;
}

export async function decideSignIn(
  keys: SessionKeys,
  store: Pick<Store, 'findConsoleLink'>,
  token: string,
  now = Date.now(),
): Promise<SignInResult> {
  if (token !== '' && keys.isOperatorToken(token))
    return { ok: true, viewer: { kind: 'operator' }, seconds: OPERATOR_SESSION_SECONDS };
  if (!looksLikeLinkToken(token)) return { ok: false, reason: 'wrong_token' };
  const link = await store.findConsoleLink(hashLinkToken(token));
  if (!link) return { ok: false, reason: 'unknown_link' };
  if (link.revokedAt !== null) return { ok: false, reason: 'revoked_link' };
  const left = Math.floor((link.expiresAt.getTime() - now) / 1000);
  if (left <= 0) return { ok: false, reason: 'expired_link' };
  return {
    ok: true,
    viewer: { kind: 'merchant', merchantId: link.merchantId, linkId: link.id },
    // A session never outlives the link that opened it.
    seconds: Math.min(MERCHANT_SESSION_SECONDS, left),
  };
}

export type { Session };
