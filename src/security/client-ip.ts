import { isIP } from 'node:net';
import { ConfigError } from '../config.js';

// Which address is "the client" for rate limiting and logs. By default the TCP peer: it cannot be
// spoofed, and any X-Forwarded-For a client sends is ignored. TRUST_PROXY names the one header our own
// edge proxy sets, and only then is a header believed:
//   TRUST_PROXY=Fly-Client-IP        the whole value (Fly's edge overwrites it; clients cannot inject)
//   TRUST_PROXY=X-Forwarded-For      the RIGHT-most entry: each proxy appends the peer it saw, so with
//                                    one trusted proxy the last entry is the one it added. Entries to
//                                    its left came from the client and are attacker-chosen.
//   TRUST_PROXY=X-Forwarded-For:2    two trusted proxies in a chain: the 2nd entry from the right.
//   any other header (X-Real-IP, CF-Connecting-IP, …) is taken whole, like Fly-Client-IP.
// A trusted header that is missing or not an IP falls back to the socket address (never to a guess).
// Only set TRUST_PROXY when the relay is reachable solely through that proxy; otherwise a client
// that connects directly can send the header itself.

export type TrustProxy = { kind: 'none' } | { kind: 'whole'; header: string } | { kind: 'xff'; hops: number };

/** Header getter: case-insensitive lookup (pass lowercase names to uWS `req.getHeader`). */
export type HeaderGetter = (lowercaseName: string) => string | undefined;

const HEADER_NAME = /^[A-Za-z0-9-]+$/;

/** Parses TRUST_PROXY; unset/blank/'false'/'0'/'none' mean "trust no header". */
export function parseTrustProxy(value: string | undefined): TrustProxy {
  const v = (value ?? '').trim();
  if (v === '' || /^(false|0|none|off)$/i.test(v)) return { kind: 'none' };
  const [name = '', hopsText] = v.split(':').map((s) => s.trim());
  if (!HEADER_NAME.test(name))
    throw new ConfigError(
      'TRUST_PROXY',
      `expected a header name like Fly-Client-IP or X-Forwarded-For[:hops], got ${JSON.stringify(v)}`,
    );
  const header = name.toLowerCase();
  if (header === 'x-forwarded-for') {
    const hops = hopsText === undefined ? 1 : Number(hopsText);
    if (!Number.isInteger(hops) || hops < 1 || hops > 10)
      throw new ConfigError('TRUST_PROXY', `X-Forwarded-For hop count must be 1..10, got ${JSON.stringify(hopsText)}`);
    return { kind: 'xff', hops };
  }
  if (hopsText !== undefined)
    throw new ConfigError('TRUST_PROXY', `a hop count only applies to X-Forwarded-For, got ${JSON.stringify(v)}`);
  return { kind: 'whole', header };
}

function groupsToDotted(hi: number, lo: number): string {
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

/**
 * Canonical text for an IP, or undefined if `raw` is not one. Accepts `[v6]`, `[v6]:port`, `v4:port`
 * and IPv4-mapped IPv6 (`::ffff:1.2.3.4`, or the fully expanded hex form uWebSockets prints), which
 * becomes plain IPv4 so one client has one key whichever socket family it arrived on.
 */
export function normalizeIp(raw: string): string | undefined {
  let s = raw.trim();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(s);
  if (bracketed?.[1] !== undefined) s = bracketed[1];
  else if (/^\d{1,3}(\.\d{1,3}){3}:\d+$/.test(s)) s = s.slice(0, s.lastIndexOf(':'));
  const family = isIP(s);
  if (family === 4) return s;
  if (family !== 6) return undefined;
  const groups = expandIpv6(s.toLowerCase());
  if (groups === undefined) return undefined;
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return groupsToDotted(groups[6] ?? 0, groups[7] ?? 0);
  }
  return compressIpv6(groups);
}

/** Eight 16-bit groups of a valid IPv6 literal (zone ids dropped; embedded IPv4 handled). */
function expandIpv6(addr: string): number[] | undefined {
  let a = addr.split('%')[0] ?? '';
  const v4 = /(\d{1,3}(?:\.\d{1,3}){3})$/.exec(a);
  if (v4?.[1] !== undefined) {
    const p = v4[1].split('.').map(Number);
    a =
      a.slice(0, a.length - v4[1].length) +
      `${(((p[0] ?? 0) << 8) | (p[1] ?? 0)).toString(16)}:${(((p[2] ?? 0) << 8) | (p[3] ?? 0)).toString(16)}`;
  }
  const [head = '', tail] = a.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const missing = 8 - h.length - t.length;
  if (tail === undefined ? missing !== 0 : missing < 1) return undefined;
  const groups = [...h, ...Array<string>(tail === undefined ? 0 : missing).fill('0'), ...t].map((g) => parseInt(g, 16));
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : undefined;
}

/** RFC 5952 text: lowercase, leading zeros dropped, longest run (≥2) of zero groups as '::'. */
function compressIpv6(groups: number[]): string {
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestLen < 2) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

/**
 * The client's IP. `remoteAddress` is the socket peer (uWS: Buffer.from(res.getRemoteAddressAsText())
 * .toString()). Returns the normalized IP, or the raw remote address if even that does not parse.
 */
export function clientIp(getHeader: HeaderGetter, remoteAddress: string, trust: TrustProxy): string {
  const fromSocket = normalizeIp(remoteAddress) ?? remoteAddress;
  if (trust.kind === 'none') return fromSocket;
  const value = getHeader(trust.kind === 'xff' ? 'x-forwarded-for' : trust.header);
  if (value === undefined || value.trim() === '') return fromSocket;
  if (trust.kind === 'whole') return normalizeIp(value) ?? fromSocket;
  // Several X-Forwarded-For headers are joined with ',' by most servers; either way we count from the right.
  const entries = value.split(',').map((s) => s.trim());
  const picked = entries[entries.length - trust.hops];
  return (picked === undefined ? undefined : normalizeIp(picked)) ?? fromSocket;
}

/**
 * Rate-limit key for an IP: IPv4 as is, IPv6 reduced to its /64. One subscriber usually holds a whole
 * /64, so per-/128 keys would let a single host mint 2^64 fresh buckets.
 */
export function ipRateLimitKey(ip: string): string {
  const n = normalizeIp(ip);
  if (n === undefined) return ip;
  if (isIP(n) === 4) return n;
  const groups = expandIpv6(n);
  if (groups === undefined) return n;
  return `${compressIpv6([...groups.slice(0, 4), 0, 0, 0, 0])}/64`;
}
