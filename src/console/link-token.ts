import { createHash, randomBytes } from 'node:crypto';

// Merchant owners' sign-in links. The secret travels in the URL's fragment (#link=…), which browsers
// never send to a server, so it reaches no access log or proxy; the sign-in page's script posts it.
// Only its SHA-256 is stored.

/** base64url of 32 random bytes. */
const LINK_TOKEN = /^[A-Za-z0-9_-]{43}$/;

export function newLinkToken(): { token: string; hash: string } {
  const token = randomBytes(32).toString('base64url');
  return { token, hash: hashLinkToken(token) };
}

export function hashLinkToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function looksLikeLinkToken(s: string): boolean {
  return LINK_TOKEN.test(s);
}

/** The link an owner opens; `origin` is the console's public origin (https://relay.example.com). */
export function signInLink(origin: string, token: string): string {
  return `${origin}/console/sign-in#link=${token}`;
}
