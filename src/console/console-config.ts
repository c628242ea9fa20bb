import { readEnv, type EnvSource } from '../config.js';
import type { Config } from '../config.js';

// The console's settings: on only when CONSOLE_TOKEN is set. Connect Google Calendar needs the same
// GOOGLE_CLIENT_ID/SECRET the tools use, and reaches Google through the same GOOGLE_* addresses.

export interface GoogleOAuthConfig {
  clientId: string;
  clientSecret: string;
  /** GOOGLE_OAUTH_AUTH_URL: the consent page. */
  authUrl: string;
  /** GOOGLE_OAUTH_TOKEN_URL: code exchange. */
  tokenUrl: string;
  /** GOOGLE_OAUTH_REVOKE_URL. */
  revokeUrl: string;
  /** GOOGLE_API_ROOT_URL: calendar list and free/busy. */
  apiRootUrl: string;
}

export interface ConsoleConfig {
  token: string;
  /** Secure cookies and HSTS-grade answers (NODE_ENV=production). */
  secure: boolean;
  /** Where browsers reach the relay: https://PUBLIC_HOST (http:// for a loopback host). */
  origin: string;
  google: GoogleOAuthConfig | null;
}

export function publicOrigin(publicHost: string): string {
  const host = publicHost.replace(/:\d+$/, '');
  const loopback = host === 'localhost' || /^127(\.\d{1,3}){3}$/.test(host) || host === '[::1]';
  // Google accepts plain-HTTP redirect URIs for loopback hosts only; everything else is served over TLS.
  return `${loopback ? 'http' : 'https'}://${publicHost}`;
}

export function consoleConfigFromEnv(
  env: EnvSource,
  config: Pick<Config, 'nodeEnv' | 'publicHost'>,
): ConsoleConfig | null {
  return readEnv(env, (r) => {
    const token = r.get('CONSOLE_TOKEN');
    if (token === undefined) return null;
    const clientId = r.get('GOOGLE_CLIENT_ID');
    const clientSecret = r.get('GOOGLE_CLIENT_SECRET');
    const google: GoogleOAuthConfig | null =
      clientId && clientSecret
        ? {
            clientId,
            clientSecret,
            authUrl: r.get('GOOGLE_OAUTH_AUTH_URL'),
            tokenUrl: r.get('GOOGLE_OAUTH_TOKEN_URL'),
            revokeUrl: r.get('GOOGLE_OAUTH_REVOKE_URL'),
            apiRootUrl: r.get('GOOGLE_API_ROOT_URL'),
          }
        : null;
    return { token, secure: config.nodeEnv === 'production', origin: publicOrigin(config.publicHost), google };
  });
}
