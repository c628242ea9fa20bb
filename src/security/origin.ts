import { ConfigError } from '../config.js';

// Browser Origin allowlist for the public WebSocket/HTTP edge. Comparison is on the parsed triple
// (scheme, host, port), never on substrings, so `https://gateframes.com.evil.com`,
// `https://gateframes.com@evil.com` and `https://evilgateframes.com` cannot pass for an allowed site.
//
// Decision: only `http://localhost:<port>` is allowed by default, for development: no public site is
// built in, since a site allowed here can open browser sessions on every relay that keeps the default
// (README, Configuration, shows a deployment's list). Not 127.0.0.1 or [::1] either: a dev server is
// normally opened as localhost; operators who need it add `http://127.0.0.1:*` to ALLOWED_ORIGINS.

export const DEFAULT_ALLOWED_ORIGINS: readonly string[] = ['http://localhost:*'];

export type OriginRule =
  | { kind: 'exact'; scheme: 'http' | 'https'; host: string; port: number }
  /** `scheme://host:*` matches every port, including the scheme's default (an origin with no port). */
  | { kind: 'any-port'; scheme: 'http' | 'https'; host: string };

interface ParsedOrigin {
  scheme: 'http' | 'https';
  host: string;
  /** Explicit or default port. */
  port: number;
}

// Serialized origins as browsers send them: scheme://host[:port], nothing else. Hosts are DNS names,
// IPv4 literals or bracketed IPv6 literals; userinfo, paths, queries and fragments never appear.
const ORIGIN_RE = /^(https?):\/\/([a-z0-9](?:[a-z0-9.-]*[a-z0-9])?|\[[0-9a-f:.]+\])(?::(\d{1,5}|\*))?$/i;

function defaultPort(scheme: 'http' | 'https'): number {
  return scheme === 'https' ? 443 : 80;
}

type Match = { scheme: 'http' | 'https'; host: string; port: number | '*' | undefined };

function match(value: string): Match | undefined {
  const m = ORIGIN_RE.exec(value);
  if (!m) return undefined;
  const scheme = m[1]?.toLowerCase();
  const host = m[2]?.toLowerCase();
  if ((scheme !== 'http' && scheme !== 'https') || host === undefined) return undefined;
  if (host.includes('..')) return undefined;
  const portText = m[3];
  if (portText === undefined) return { scheme, host, port: undefined };
  if (portText === '*') return { scheme, host, port: '*' };
  const port = Number(portText);
  if (port < 1 || port > 65535) return undefined;
  return { scheme, host, port };
}

/** Parses a browser Origin header value; undefined for `null`, empty or anything not a plain origin. */
export function parseOrigin(value: string | undefined): ParsedOrigin | undefined {
  if (value === undefined) return undefined;
  const m = match(value);
  if (!m || m.port === '*') return undefined;
  return { scheme: m.scheme, host: m.host, port: m.port ?? defaultPort(m.scheme) };
}

function parseRule(entry: string): OriginRule | undefined {
  const m = match(entry);
  if (!m) return undefined;
  if (m.port === '*') return { kind: 'any-port', scheme: m.scheme, host: m.host };
  return { kind: 'exact', scheme: m.scheme, host: m.host, port: m.port ?? defaultPort(m.scheme) };
}

/**
 * Rules from ALLOWED_ORIGINS (comma-separated). When set and non-blank it replaces the defaults
 * entirely; unset or blank means the defaults. An entry that is not a plain origin (a path, a
 * trailing slash, `*`, a host wildcard) throws a ConfigError naming ALLOWED_ORIGINS, so a typo
 * stops start-up instead of silently locking every browser out (or in).
 */
export function parseAllowedOrigins(value: string | undefined): OriginRule[] {
  const entries =
    value === undefined || value.trim() === ''
      ? DEFAULT_ALLOWED_ORIGINS
      : value
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== '');
  return entries.map((entry) => {
    const rule = parseRule(entry);
    if (!rule) {
      throw new ConfigError(
        'ALLOWED_ORIGINS',
        `entry ${JSON.stringify(entry)} is not an origin like https://example.com, https://example.com:8443 ` +
          `or http://localhost:*`,
      );
    }
    return rule;
  });
}

/** True only when `origin` parses as a plain origin and equals (scheme, host, port) of some rule. */
export function isOriginAllowed(origin: string | undefined, rules: readonly OriginRule[]): boolean {
  const o = parseOrigin(origin);
  if (!o) return false;
  return rules.some((r) => r.scheme === o.scheme && r.host === o.host && (r.kind === 'any-port' || r.port === o.port));
}

/** Convenience: `const allowed = createOriginCheck(process.env.ALLOWED_ORIGINS); allowed(req.origin)`. */
export function createOriginCheck(allowedOriginsEnv: string | undefined): (origin: string | undefined) => boolean {
  const rules = parseAllowedOrigins(allowedOriginsEnv);
  return (origin) => isOriginAllowed(origin, rules);
}
