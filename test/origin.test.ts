import { describe, expect, it } from 'vitest';
import { ConfigError } from '../src/config.js';
import { createOriginCheck, isOriginAllowed, parseAllowedOrigins, parseOrigin } from '../src/security/origin.js';

describe('default allowlist', () => {
  const allowed = createOriginCheck(undefined);

  it.each(['https://www.gateframes.com', 'https://gateframes.com', 'https://ricslist.com', 'https://example.com'])(
    'allows no public site by default: %s is refused',
    (origin) => {
      expect(allowed(origin)).toBe(false);
    },
  );
});

describe('the example allowlist (README, .env.example)', () => {
  const allowed = createOriginCheck(
    [
      'https://www.gateframes.com',
      'https://gateframes.com',
      'https://www.ricslist.com',
      'https://ricslist.com',
      'http://localhost:*',
    ].join(','),
  );

  it.each([
    'https://www.gateframes.com',
    'https://gateframes.com',
    'https://www.ricslist.com',
    'https://ricslist.com',
    'https://gateframes.com:443',
    'http://localhost:3000',
    'http://localhost:5173',
    'http://localhost',
  ])('allows %s', (origin) => {
    expect(allowed(origin)).toBe(true);
  });

  it.each([
    ['undefined (no Origin header)', undefined],
    ['null origin (sandboxed iframe, file://)', 'null'],
    ['empty', ''],
    ['suffix attack', 'https://gateframes.com.evil.com'],
    ['prefix attack', 'https://evilgateframes.com'],
    ['subdomain not listed', 'https://api.gateframes.com'],
    ['userinfo trick', 'https://gateframes.com@evil.com'],
    ['http instead of https', 'http://gateframes.com'],
    ['other port', 'https://gateframes.com:8443'],
    ['trailing slash', 'https://gateframes.com/'],
    ['path', 'https://gateframes.com/evil'],
    ['trailing dot', 'https://gateframes.com.'],
    ['wss scheme', 'wss://gateframes.com'],
    ['127.0.0.1 (only localhost is allowed by default)', 'http://127.0.0.1:3000'],
    ['https localhost', 'https://localhost:3000'],
    ['localhost suffix', 'http://localhost.evil.com:3000'],
    ['whitespace padding', ' https://gateframes.com'],
    ['two origins in one header', 'https://gateframes.com https://evil.com'],
    ['port 0', 'http://localhost:0'],
    ['port out of range', 'http://localhost:70000'],
    ['wildcard sent by a client', 'http://localhost:*'],
    ['percent-encoded host', 'https://gateframes%2ecom'],
    ['backslash', 'https://gateframes.com\\@evil.com'],
  ])('denies %s', (_label, origin) => {
    expect(allowed(origin)).toBe(false);
  });

  it('compares scheme and host case-insensitively', () => {
    expect(allowed('HTTPS://GateFrames.com')).toBe(true);
  });
});

describe('ALLOWED_ORIGINS', () => {
  it('replaces the defaults entirely', () => {
    const allowed = createOriginCheck('https://app.example.com, https://example.com:8443');
    expect(allowed('https://app.example.com')).toBe(true);
    expect(allowed('https://example.com:8443')).toBe(true);
    expect(allowed('https://example.com')).toBe(false);
    expect(allowed('https://gateframes.com')).toBe(false);
    expect(allowed('http://localhost:3000')).toBe(false);
  });

  it('supports a port wildcard per host', () => {
    const allowed = createOriginCheck('http://127.0.0.1:*,http://localhost:8080');
    expect(allowed('http://127.0.0.1:4000')).toBe(true);
    expect(allowed('http://localhost:8080')).toBe(true);
    expect(allowed('http://localhost:8081')).toBe(false);
    expect(allowed('https://127.0.0.1:4000')).toBe(false);
  });

  it('treats blank as unset (defaults)', () => {
    expect(createOriginCheck('  ')('http://localhost:5173')).toBe(true);
    expect(createOriginCheck('  ')('https://gateframes.com')).toBe(false);
  });

  it.each([
    '*',
    'https://*.example.com',
    'example.com',
    'https://example.com/',
    'https://example.com/path',
    'ftp://example.com',
  ])('rejects the entry %j at start-up with a ConfigError naming ALLOWED_ORIGINS', (entry) => {
    expect(() => parseAllowedOrigins(`https://ok.example.com,${entry}`)).toThrow(ConfigError);
    expect(() => parseAllowedOrigins(entry)).toThrow(/ALLOWED_ORIGINS/);
  });
});

describe('parseOrigin', () => {
  it('normalizes the default port', () => {
    expect(parseOrigin('https://example.com')).toEqual({ scheme: 'https', host: 'example.com', port: 443 });
    expect(parseOrigin('http://example.com:80')).toEqual({ scheme: 'http', host: 'example.com', port: 80 });
    expect(parseOrigin('http://[::1]:3000')).toEqual({ scheme: 'http', host: '[::1]', port: 3000 });
  });

  it('matches explicit rules against the default port', () => {
    const rules = parseAllowedOrigins('https://example.com:443');
    expect(isOriginAllowed('https://example.com', rules)).toBe(true);
  });
});
