import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../src/config.js';
import { main } from '../src/security/token-cli.js';
import {
  CLOCK_SKEW_SECONDS,
  MAX_TOKEN_CHARS,
  extractToken,
  mintToken,
  parseEncryptionKey,
  sealToken,
  verifyToken,
} from '../src/security/token.js';

const KEY_B64 = randomBytes(32).toString('base64');
const KEY = parseEncryptionKey(KEY_B64);
const T0 = Date.UTC(2026, 0, 15, 12, 0, 0); // fixed clock, epoch ms

/** Flips one bit of the decoded token at byte `index` (negative counts from the end). */
function flipByte(token: string, index: number): string {
  const raw = Buffer.from(token, 'base64url');
  const i = index < 0 ? raw.length + index : index;
  raw[i] = (raw[i] ?? 0) ^ 0x01;
  return raw.toString('base64url');
}

describe('parseEncryptionKey', () => {
  it('accepts 32 bytes of base64', () => {
    expect(parseEncryptionKey(KEY_B64).length).toBe(32);
  });

  it.each([
    ['missing', undefined],
    ['empty', '  '],
    ['16 bytes', randomBytes(16).toString('base64')],
    ['33 bytes', randomBytes(33).toString('base64')],
    ['not base64', `!!!!${KEY_B64.slice(4)}`],
    ['hex instead of base64', randomBytes(32).toString('hex')],
  ])('rejects %s with an error naming ENCRYPTION_KEY', (_label, value) => {
    expect(() => parseEncryptionKey(value)).toThrow(ConfigError);
    expect(() => parseEncryptionKey(value)).toThrow(/ENCRYPTION_KEY/);
  });

  it('never echoes the key material in the error', () => {
    const bad = randomBytes(31).toString('base64');
    let message = '';
    try {
      parseEncryptionKey(bad);
    } catch (err) {
      message = err instanceof Error ? err.message : '';
    }
    expect(message).toMatch(/ENCRYPTION_KEY.*31 bytes/);
    expect(message).not.toContain(bad);
  });
});

describe('mintToken / verifyToken', () => {
  it('round-trips claims', () => {
    const t = mintToken(KEY, { ttlSeconds: 60, sub: 'user-7', merchantId: 'm-1', now: T0 });
    expect(t).toMatch(/^[A-Za-z0-9_-]+$/);
    const r = verifyToken(KEY, t, T0 + 1000);
    expect(r).toEqual({
      ok: true,
      claims: { origin: 'client', iat: T0 / 1000, exp: T0 / 1000 + 60, sub: 'user-7', merchantId: 'm-1' },
    });
  });

  it('omits optional claims when not given', () => {
    const r = verifyToken(KEY, mintToken(KEY, { ttlSeconds: 5, now: T0 }), T0);
    expect(r.ok && r.claims).toEqual({ origin: 'client', iat: T0 / 1000, exp: T0 / 1000 + 5 });
  });

  it('produces a different token each time (random IV) that hides the claims', () => {
    const a = mintToken(KEY, { ttlSeconds: 60, sub: 'visible-user', now: T0 });
    const b = mintToken(KEY, { ttlSeconds: 60, sub: 'visible-user', now: T0 });
    expect(a).not.toBe(b);
    expect(Buffer.from(a, 'base64url').toString('latin1')).not.toContain('visible-user');
  });

  it('is valid until the last second before exp, expired from exp on', () => {
    const t = mintToken(KEY, { ttlSeconds: 60, now: T0 });
    expect(verifyToken(KEY, t, T0 + 59_999).ok).toBe(true);
    expect(verifyToken(KEY, t, T0 + 60_000)).toEqual({ ok: false, reason: 'expired' });
    expect(verifyToken(KEY, t, T0 + 3_600_000)).toEqual({ ok: false, reason: 'expired' });
  });

  it('tolerates iat up to the clock skew in the future, rejects beyond', () => {
    const t = mintToken(KEY, { ttlSeconds: 600, now: T0 });
    expect(verifyToken(KEY, t, T0 - CLOCK_SKEW_SECONDS * 1000).ok).toBe(true);
    expect(verifyToken(KEY, t, T0 - (CLOCK_SKEW_SECONDS + 1) * 1000)).toEqual({ ok: false, reason: 'not_yet_valid' });
  });

  it.each([
    ['version byte', 0, 'malformed'],
    ['iv', 3, 'tampered'],
    ['ciphertext', 20, 'tampered'],
    ['tag', -1, 'tampered'],
  ] as const)('rejects a flipped bit in the %s', (_part, index, reason) => {
    const t = mintToken(KEY, { ttlSeconds: 60, sub: 'u', now: T0 });
    expect(verifyToken(KEY, flipByte(t, index), T0)).toEqual({ ok: false, reason });
  });

  it('rejects a truncated token and one with the tag cut off', () => {
    const t = mintToken(KEY, { ttlSeconds: 60, now: T0 });
    const raw = Buffer.from(t, 'base64url');
    expect(verifyToken(KEY, raw.subarray(0, raw.length - 16).toString('base64url'), T0)).toEqual({
      ok: false,
      reason: 'tampered',
    });
    expect(verifyToken(KEY, raw.subarray(0, 20).toString('base64url'), T0)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('rejects a token made with another key', () => {
    const other = randomBytes(32);
    expect(verifyToken(KEY, mintToken(other, { ttlSeconds: 60, now: T0 }), T0)).toEqual({
      ok: false,
      reason: 'tampered',
    });
  });

  it('rejects a token whose origin is not client', () => {
    const t = sealToken(KEY, { origin: 'server', iat: T0 / 1000, exp: T0 / 1000 + 60 });
    expect(verifyToken(KEY, t, T0)).toEqual({ ok: false, reason: 'wrong_origin' });
  });

  it.each([
    ['a JSON array', [1, 2]],
    ['missing exp', { origin: 'client', iat: T0 / 1000 }],
    ['string iat', { origin: 'client', iat: String(T0 / 1000), exp: T0 / 1000 + 60 }],
    ['numeric sub', { origin: 'client', iat: T0 / 1000, exp: T0 / 1000 + 60, sub: 5 }],
  ])('rejects authentic but malformed claims: %s', (_label, payload) => {
    expect(verifyToken(KEY, sealToken(KEY, payload), T0)).toEqual({ ok: false, reason: 'malformed' });
  });

  it.each([
    ['empty', ''],
    ['standard base64 characters', `${mintToken(KEY, { ttlSeconds: 60, now: T0 }).slice(0, 40)}+/==`],
    ['spaces', 'abc def'],
    ['percent-encoding', 'abc%20def'],
  ])('rejects malformed base64url: %s', (_label, token) => {
    expect(verifyToken(KEY, token, T0)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('rejects a non-canonical spelling of a valid token', () => {
    // A 1-char change in the last base64 digit's unused low bits decodes to the same bytes.
    const t = mintToken(KEY, { ttlSeconds: 60, now: T0 });
    const raw = Buffer.from(t, 'base64url');
    expect(raw.length % 3).not.toBe(0); // fixed claims → fixed length with spare bits in the last digit
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = alphabet.indexOf(t.at(-1) ?? 'A');
    const variant = t.slice(0, -1) + alphabet[last ^ 1];
    expect(Buffer.from(variant, 'base64url').equals(raw)).toBe(true);
    expect(verifyToken(KEY, variant, T0)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('rejects oversized input before decoding it', () => {
    expect(verifyToken(KEY, 'A'.repeat(MAX_TOKEN_CHARS + 1), T0)).toEqual({ ok: false, reason: 'too_long' });
    expect(verifyToken(KEY, '%'.repeat(100_000), T0)).toEqual({ ok: false, reason: 'too_long' });
  });

  it('refuses to mint with a bad ttl or oversized ids', () => {
    expect(() => mintToken(KEY, { ttlSeconds: 0 })).toThrow(RangeError);
    expect(() => mintToken(KEY, { ttlSeconds: 1.5 })).toThrow(RangeError);
    expect(() => mintToken(KEY, { ttlSeconds: 86_401 })).toThrow(RangeError);
    expect(() => mintToken(KEY, { ttlSeconds: 60, sub: 'x'.repeat(257) })).toThrow(RangeError);
    expect(() => mintToken(randomBytes(16), { ttlSeconds: 60 })).toThrow(RangeError);
  });

  it('keeps the largest allowed token under the length cap', () => {
    const t = mintToken(KEY, { ttlSeconds: 86_400, sub: 'é'.repeat(256), merchantId: '"'.repeat(256), now: T0 });
    expect(t.length).toBeLessThanOrEqual(MAX_TOKEN_CHARS);
    expect(verifyToken(KEY, t, T0).ok).toBe(true);
  });
});

describe('extractToken', () => {
  it.each([
    ['/token/abc_DEF-123', undefined, 'abc_DEF-123'],
    ['/auth/abc', '', 'abc'],
    ['/auth/abc/', undefined, 'abc'],
    ['/ws', 'auth=xyz', 'xyz'],
    ['/ws', '?foo=1&auth=xyz', 'xyz'],
    ['/token/frompath', 'auth=fromquery', 'frompath'],
  ])('finds the token in %s ? %s', (path, query, expected) => {
    expect(extractToken(path, query)).toBe(expected);
  });

  it.each([
    ['/token/', undefined],
    ['/token', 'auth='],
    ['/x/token/abc', undefined],
    ['/token/abc/more', undefined],
    ['/tokens/abc', 'authx=abc'],
    ['/', undefined],
  ])('finds nothing in %s ? %s', (path, query) => {
    expect(extractToken(path, query)).toBeUndefined();
  });

  it('extracts a minted token from every carrier and it verifies', () => {
    const t = mintToken(KEY, { ttlSeconds: 60, now: T0 });
    for (const [p, q] of [
      [`/token/${t}`, ''],
      [`/auth/${t}`, ''],
      ['/ws', `auth=${t}`],
    ] as const) {
      const found = extractToken(p, q);
      expect(found).toBe(t);
      expect(verifyToken(KEY, found ?? '', T0).ok).toBe(true);
    }
  });
});

describe('token CLI', () => {
  function run(argv: string[], env: Record<string, string | undefined>) {
    let out = '';
    let err = '';
    const code = main(argv, env, { write: (s: string) => (out += s) }, { write: (s: string) => (err += s) }, T0);
    return { code, out, err };
  }

  it('prints exactly one verifiable token with the requested claims', () => {
    const r = run(['--ttl', '90', '--sub', 'u-1', '--merchant', 'm-9'], { ENCRYPTION_KEY: KEY_B64 });
    expect(r.code).toBe(0);
    expect(r.err).toBe('');
    expect(r.out).toMatch(/^[A-Za-z0-9_-]+\n$/);
    const v = verifyToken(KEY, r.out.trim(), T0);
    expect(v).toEqual({
      ok: true,
      claims: { origin: 'client', iat: T0 / 1000, exp: T0 / 1000 + 90, sub: 'u-1', merchantId: 'm-9' },
    });
  });

  it('defaults the ttl to 60 seconds', () => {
    const r = run([], { ENCRYPTION_KEY: KEY_B64 });
    const v = verifyToken(KEY, r.out.trim(), T0);
    expect(v.ok && v.claims.exp - v.claims.iat).toBe(60);
  });

  it('fails clearly without ENCRYPTION_KEY and prints no token', () => {
    const r = run(['--ttl', '60'], {});
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err).toMatch(/ENCRYPTION_KEY/);
  });

  it('fails on a wrong-length key', () => {
    const r = run(['--ttl', '60'], { ENCRYPTION_KEY: randomBytes(24).toString('base64') });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/ENCRYPTION_KEY.*24 bytes/);
  });

  it.each([
    [['--ttl', 'abc']],
    [['--ttl', '0']],
    [['--ttl', '-5']],
    [['--ttl', '1e3']],
    [['--bogus']],
    [['positional']],
  ])('rejects bad usage %j with exit code 2', (argv) => {
    const r = run(argv, { ENCRYPTION_KEY: KEY_B64 });
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).not.toBe('');
  });
});
