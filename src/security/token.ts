import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { ConfigError } from '../config.js';

// Short-lived bearer tokens for browser clients. AES-256-GCM gives confidentiality and integrity in
// one primitive, so the claims need no separate MAC and nothing about them leaks to the browser.
//
// Wire format: base64url( version(1) || iv(12) || ciphertext || tag(16) ), unpadded. The version byte
// is fed to GCM as additional authenticated data, so it cannot be swapped without failing the tag.
// All times here are epoch milliseconds on input (like Date.now()) and unix seconds inside claims.

const VERSION = 0x01;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;

/** Longest token string accepted; longer input is rejected before any decoding or crypto. */
export const MAX_TOKEN_CHARS = 2048;
/** An `iat` up to this far ahead of our clock is tolerated (issuer clock skew). */
export const CLOCK_SKEW_SECONDS = 60;
/** Upper bound for `ttlSeconds` at mint time: these tokens are meant to be short-lived. */
export const MAX_TOKEN_TTL_SECONDS = 86_400;
/** Upper bound for `sub` / `merchantId`, which keeps every minted token far below MAX_TOKEN_CHARS. */
export const MAX_ID_CHARS = 256;

export interface TokenClaims {
  origin: 'client';
  /** Issued at, unix seconds. */
  iat: number;
  /** Expires at, unix seconds (the token is invalid from this second on). */
  exp: number;
  /** User id. */
  sub?: string;
  merchantId?: string;
}

export type TokenRejectReason = 'malformed' | 'tampered' | 'expired' | 'not_yet_valid' | 'wrong_origin' | 'too_long';

export type TokenVerifyResult = { ok: true; claims: TokenClaims } | { ok: false; reason: TokenRejectReason };

export interface MintOptions {
  ttlSeconds: number;
  sub?: string;
  merchantId?: string;
  /** Epoch milliseconds; defaults to Date.now(). */
  now?: number;
}

const STD_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Decodes ENCRYPTION_KEY (standard base64 of exactly 32 random bytes, e.g. `openssl rand -base64 32`).
 * Throws a ConfigError naming ENCRYPTION_KEY; the message never echoes the value.
 */
export function parseEncryptionKey(b64: string | undefined): Buffer {
  const v = (b64 ?? '').trim();
  if (v === '')
    throw new ConfigError(
      'ENCRYPTION_KEY',
      'is not set (expected 32 random bytes as base64: `openssl rand -base64 32`)',
    );
  // Buffer.from(…, 'base64') silently skips invalid characters, so check the alphabet first.
  if (!STD_BASE64.test(v))
    throw new ConfigError(
      'ENCRYPTION_KEY',
      'is not valid base64 (expected 32 random bytes as base64: `openssl rand -base64 32`)',
    );
  const key = Buffer.from(v, 'base64');
  if (key.length !== KEY_BYTES) {
    throw new ConfigError(
      'ENCRYPTION_KEY',
      `decodes to ${key.length} bytes, expected ${KEY_BYTES} (generate with \`openssl rand -base64 32\`)`,
    );
  }
  return key;
}

function assertKey(key: Buffer): void {
  if (key.length !== KEY_BYTES) throw new RangeError(`token key must be ${KEY_BYTES} bytes, got ${key.length}`);
}

/**
 * Low-level: encrypts any JSON-serialisable payload in the token format. `mintToken` is the normal
 * path; this exists so tests (and future token kinds) can produce payloads mintToken never would.
 */
export function sealToken(key: Buffer, payload: unknown): string {
  assertKey(key);
  const iv = randomBytes(IV_BYTES);
  const header = Buffer.from([VERSION]);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(header);
  const ciphertext = Buffer.concat([cipher.update(JSON.stringify(payload), 'utf8'), cipher.final()]);
  return Buffer.concat([header, iv, ciphertext, cipher.getAuthTag()]).toString('base64url');
}

function checkId(name: string, value: string | undefined): void {
  if (value === undefined) return;
  if (value.length === 0 || value.length > MAX_ID_CHARS)
    throw new RangeError(`${name} must be 1..${MAX_ID_CHARS} characters`);
}

export function mintToken(key: Buffer, opts: MintOptions): string {
  const { ttlSeconds } = opts;
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > MAX_TOKEN_TTL_SECONDS) {
    throw new RangeError(`ttlSeconds must be an integer in 1..${MAX_TOKEN_TTL_SECONDS}, got ${ttlSeconds}`);
  }
  checkId('sub', opts.sub);
  checkId('merchantId', opts.merchantId);
  const iat = Math.floor((opts.now ?? Date.now()) / 1000);
  const claims: TokenClaims = { origin: 'client', iat, exp: iat + ttlSeconds };
  if (opts.sub !== undefined) claims.sub = opts.sub;
  if (opts.merchantId !== undefined) claims.merchantId = opts.merchantId;
  return sealToken(key, claims);
}

const BASE64URL = /^[A-Za-z0-9_-]+$/;

type ParsedClaims = { kind: 'claims'; claims: TokenClaims } | { kind: 'other-origin' } | { kind: 'invalid' };

function parseClaims(json: string): ParsedClaims {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return { kind: 'invalid' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { kind: 'invalid' };
  const o = value as Record<string, unknown>;
  const { origin, iat, exp, sub, merchantId } = o;
  if (typeof origin !== 'string') return { kind: 'invalid' };
  if (origin !== 'client') return { kind: 'other-origin' };
  if (typeof iat !== 'number' || !Number.isSafeInteger(iat)) return { kind: 'invalid' };
  if (typeof exp !== 'number' || !Number.isSafeInteger(exp)) return { kind: 'invalid' };
  if (sub !== undefined && typeof sub !== 'string') return { kind: 'invalid' };
  if (merchantId !== undefined && typeof merchantId !== 'string') return { kind: 'invalid' };
  const claims: TokenClaims = { origin, iat, exp };
  if (sub !== undefined) claims.sub = sub;
  if (merchantId !== undefined) claims.merchantId = merchantId;
  return { kind: 'claims', claims };
}

/**
 * Checks a token. Expiry is strict (no leeway: the relay or its operator minted it); only `iat` gets
 * CLOCK_SKEW_SECONDS of leeway. A wrong key is indistinguishable from tampering and reports 'tampered'.
 * @param now epoch milliseconds; defaults to Date.now().
 */
export function verifyToken(key: Buffer, token: string, now: number = Date.now()): TokenVerifyResult {
  assertKey(key);
  if (token.length > MAX_TOKEN_CHARS) return { ok: false, reason: 'too_long' };
  if (!BASE64URL.test(token)) return { ok: false, reason: 'malformed' };
  const raw = Buffer.from(token, 'base64url');
  // Re-encoding must give the same string: rejects non-canonical trailing bits (one token, one spelling).
  if (raw.toString('base64url') !== token) return { ok: false, reason: 'malformed' };
  if (raw.length < 1 + IV_BYTES + TAG_BYTES + 2 || raw[0] !== VERSION) return { ok: false, reason: 'malformed' };

  const iv = raw.subarray(1, 1 + IV_BYTES);
  const ciphertext = raw.subarray(1 + IV_BYTES, raw.length - TAG_BYTES);
  const tag = raw.subarray(raw.length - TAG_BYTES);
  let plaintext: string;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(raw.subarray(0, 1));
    decipher.setAuthTag(tag);
    plaintext = Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
  } catch {
    return { ok: false, reason: 'tampered' };
  }

  const parsed = parseClaims(plaintext);
  if (parsed.kind === 'invalid') return { ok: false, reason: 'malformed' };
  if (parsed.kind === 'other-origin') return { ok: false, reason: 'wrong_origin' };
  const { claims } = parsed;
  const nowSec = Math.floor(now / 1000);
  if (claims.iat > nowSec + CLOCK_SKEW_SECONDS) return { ok: false, reason: 'not_yet_valid' };
  if (nowSec >= claims.exp) return { ok: false, reason: 'expired' };
  return { ok: true, claims };
}

const PATH_CARRIER = /^\/(?:token|auth)\/([^/?#]+)\/?$/;

/**
 * Finds a token in one of the three carriers browsers use (a WebSocket cannot set headers):
 * path `/token/<t>`, path `/auth/<t>`, or query `auth=<t>`. The path wins when both are present.
 * `query` is the raw query string, with or without the leading '?'. Returns the token string
 * unverified (pass it to verifyToken), or undefined when no carrier holds a non-empty value.
 */
export function extractToken(path: string, query?: string): string | undefined {
  const m = PATH_CARRIER.exec(path);
  if (m?.[1] !== undefined) return m[1];
  if (query === undefined || query === '') return undefined;
  const q = query.startsWith('?') ? query.slice(1) : query;
  const t = new URLSearchParams(q).get('auth');
  return t === null || t === '' ? undefined : t;
}
