import { describe, expect, it } from 'vitest';
import { ConfigError } from '../src/config.js';
import {
  clientIp,
  ipRateLimitKey,
  normalizeIp,
  parseTrustProxy,
  type HeaderGetter,
} from '../src/security/client-ip.js';

function headers(h: Record<string, string>): HeaderGetter {
  const lower = new Map(Object.entries(h).map(([k, v]) => [k.toLowerCase(), v]));
  return (name) => lower.get(name.toLowerCase());
}

const PEER = '10.0.0.5';

describe('without TRUST_PROXY', () => {
  const trust = parseTrustProxy(undefined);

  it('uses the socket address and ignores spoofable headers', () => {
    const spoofed = headers({ 'X-Forwarded-For': '1.2.3.4', 'Fly-Client-IP': '5.6.7.8', 'X-Real-IP': '9.9.9.9' });
    expect(clientIp(spoofed, '203.0.113.9', trust)).toBe('203.0.113.9');
  });

  it.each(['', 'false', '0', 'none', 'OFF'])('treats TRUST_PROXY=%j as off', (v) => {
    expect(parseTrustProxy(v)).toEqual({ kind: 'none' });
    expect(clientIp(headers({ 'X-Forwarded-For': '1.2.3.4' }), PEER, parseTrustProxy(v))).toBe(PEER);
  });

  it('normalizes uWebSockets IPv4-mapped IPv6 peers to IPv4', () => {
    expect(clientIp(headers({}), '0000:0000:0000:0000:0000:ffff:cb00:7109', trust)).toBe('203.0.113.9');
    expect(clientIp(headers({}), '::ffff:203.0.113.9', trust)).toBe('203.0.113.9');
  });
});

describe('TRUST_PROXY=Fly-Client-IP', () => {
  const trust = parseTrustProxy('Fly-Client-IP');

  it('takes the whole header value', () => {
    expect(trust).toEqual({ kind: 'whole', header: 'fly-client-ip' });
    expect(clientIp(headers({ 'Fly-Client-IP': '198.51.100.7', 'X-Forwarded-For': '1.2.3.4' }), PEER, trust)).toBe(
      '198.51.100.7',
    );
    expect(clientIp(headers({ 'fly-client-ip': '2001:DB8::1' }), PEER, trust)).toBe('2001:db8::1');
  });

  it('falls back to the socket when the header is missing or not an IP', () => {
    expect(clientIp(headers({}), PEER, trust)).toBe(PEER);
    expect(clientIp(headers({ 'Fly-Client-IP': 'evil, 1.2.3.4' }), PEER, trust)).toBe(PEER);
    expect(clientIp(headers({ 'Fly-Client-IP': '' }), PEER, trust)).toBe(PEER);
  });
});

describe('TRUST_PROXY=X-Forwarded-For', () => {
  it('takes the right-most entry (added by our proxy), not the client-supplied left ones', () => {
    const trust = parseTrustProxy('X-Forwarded-For');
    expect(trust).toEqual({ kind: 'xff', hops: 1 });
    // Client sent "X-Forwarded-For: 1.1.1.1"; our proxy appended the peer it saw.
    expect(clientIp(headers({ 'X-Forwarded-For': '1.1.1.1, 198.51.100.7' }), PEER, trust)).toBe('198.51.100.7');
    expect(clientIp(headers({ 'X-Forwarded-For': '198.51.100.7' }), PEER, trust)).toBe('198.51.100.7');
  });

  it('counts hops from the right with X-Forwarded-For:2', () => {
    const trust = parseTrustProxy('x-forwarded-for:2');
    expect(clientIp(headers({ 'X-Forwarded-For': '1.1.1.1, 198.51.100.7, 10.1.1.1' }), PEER, trust)).toBe(
      '198.51.100.7',
    );
    expect(clientIp(headers({ 'X-Forwarded-For': '198.51.100.7' }), PEER, trust)).toBe(PEER);
  });

  it('accepts ports and brackets in entries, falls back on garbage', () => {
    const trust = parseTrustProxy('X-Forwarded-For');
    expect(clientIp(headers({ 'X-Forwarded-For': '198.51.100.7:5555' }), PEER, trust)).toBe('198.51.100.7');
    expect(clientIp(headers({ 'X-Forwarded-For': '[2001:db8::7]:443' }), PEER, trust)).toBe('2001:db8::7');
    expect(clientIp(headers({ 'X-Forwarded-For': '1.2.3.4, unknown' }), PEER, trust)).toBe(PEER);
    expect(clientIp(headers({ 'X-Forwarded-For': '1.2.3.4,' }), PEER, trust)).toBe(PEER);
  });
});

describe('parseTrustProxy errors', () => {
  it.each(['X Forwarded For', 'X-Forwarded-For:0', 'X-Forwarded-For:abc', 'Fly-Client-IP:2'])(
    'rejects %j naming TRUST_PROXY',
    (v) => {
      expect(() => parseTrustProxy(v)).toThrow(ConfigError);
      expect(() => parseTrustProxy(v)).toThrow(/TRUST_PROXY/);
    },
  );
});

describe('normalizeIp / ipRateLimitKey', () => {
  it.each([
    ['127.0.0.1', '127.0.0.1'],
    ['::1', '::1'],
    ['2001:0DB8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['not-an-ip', undefined],
    ['999.1.1.1', undefined],
  ])('normalizeIp(%j) = %j', (input, expected) => {
    expect(normalizeIp(input)).toBe(expected);
  });

  it('keys IPv4 per address and IPv6 per /64', () => {
    expect(ipRateLimitKey('203.0.113.9')).toBe('203.0.113.9');
    expect(ipRateLimitKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(ipRateLimitKey('2001:db8:1:2:bbbb:cccc:dddd:eeee')).toBe('2001:db8:1:2::/64');
    expect(ipRateLimitKey('2001:db8:1:3::1')).not.toBe(ipRateLimitKey('2001:db8:1:2::1'));
    expect(ipRateLimitKey('::ffff:203.0.113.9')).toBe('203.0.113.9');
  });
});
