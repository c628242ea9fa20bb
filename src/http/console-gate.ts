import { cookieName, readCookie } from '../console/cookies.js';
import { SessionKeys } from '../console/session.js';
import type { Limiters } from '../security/limiters.js';
import { rateLimit, rateLimitKey } from './edge-guard.js';
import type { Gate } from './gated-routes.js';

// The console's share of the HTTP limit: a request carrying a console session cookie the relay
// signed is limited per session (a person browsing shares an office IP with colleagues); anything
// else under /console (the sign-in page, its assets, a forged or expired cookie) takes from the
// per-IP limit like every other route. The cookie is only read here; the console decides the rest.

export interface ConsoleGateOptions {
  /** CONSOLE_TOKEN: sessions are signed under a key derived from it. */
  token: string;
  /** Production cookies have the __Host- name. */
  secure: boolean;
  limiters: Pick<Limiters, 'httpPerIp' | 'consoleSession'>;
}

export function consoleGate(o: ConsoleGateOptions): Gate {
  const keys = new SessionKeys(o.token);
  const name = cookieName(o.secure);
  return (r, header) => {
    const value = readCookie(header('cookie'), name);
    const session = value === undefined || value === '' ? null : keys.read(value);
    if (session) return rateLimitKey(o.limiters.consoleSession, `console:${session.sid}`);
    return rateLimit(o.limiters.httpPerIp, r);
  };
}
