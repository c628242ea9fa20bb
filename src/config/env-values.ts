import { resolve } from 'node:path';
import { isSupportedCountry, type CountryCode } from 'libphonenumber-js';
import { z } from 'zod';
import { ConfigError } from './config-error.js';
import type { InspectSwitch } from './env-schema.js';

// How each environment variable's value is checked (env-schema.ts uses these): one message per kind
// of mistake, naming what was expected and what was given; the reader adds the variable's name.

// ---- value checks ---------------------------------------------------------------------------------

/** Thrown inside a value check; becomes the zod issue's message (the reader adds the variable's name). */
class BadValue extends Error {}

export function bad(message: string): never {
  throw new BadValue(message);
}

export const quoted = (raw: string): string => JSON.stringify(raw);

/** A value `parse` turns into T; a BadValue or ConfigError it throws is the problem reported. */
export function parsed<T>(parse: (raw: string) => T) {
  return z.string().transform((raw, ctx): T => {
    try {
      return parse(raw);
    } catch (err) {
      const message = err instanceof BadValue ? err.message : err instanceof ConfigError ? err.reason : undefined;
      if (message === undefined) throw err;
      ctx.issues.push({ code: 'custom', message, input: raw });
      return z.NEVER;
    }
  });
}

/** A whole number as Number() reads it ("8080", also "8e3"), within bounds. */
export function integer(min: number, max: number) {
  return parsed((raw) => {
    const n = Number(raw);
    return Number.isInteger(n) && n >= min && n <= max
      ? n
      : bad(`expected a whole number in ${min}..${max}, got ${quoted(raw)}`);
  });
}

/** Decimal digits only, within bounds (`unit` names what is counted in the message). */
export function digits(min: number, max: number, unit = 'a whole number') {
  return parsed((raw) => {
    const n = Number(raw);
    return /^\d+$/.test(raw) && Number.isSafeInteger(n) && n >= min && n <= max
      ? n
      : bad(`expected ${unit} in ${min}..${max}, got ${quoted(raw)}`);
  });
}

export function urlOf(raw: string, expected: string): URL {
  try {
    return new URL(raw);
  } catch {
    return bad(`expected ${expected}, got ${quoted(raw)}`);
  }
}

export const wsUrl = parsed((raw) =>
  /^wss?:$/.test(urlOf(raw, 'a ws:// or wss:// URL').protocol) ? raw : bad('must be a ws:// or wss:// URL'),
);

/** An http(s) address, kept as written. */
export const httpUrl = parsed((raw) =>
  /^https?:$/.test(urlOf(raw, 'an http(s) URL').protocol) ? raw : bad(`expected an http(s) URL, got ${quoted(raw)}`),
);

/** An http(s) base URL requests are appended to: no query or fragment, trailing slashes dropped. */
export const httpBase = parsed((raw) => {
  const url = urlOf(raw, 'an http(s) URL');
  if (url.protocol !== 'http:' && url.protocol !== 'https:') bad(`expected an http(s) URL, got ${quoted(raw)}`);
  if (url.search !== '' || url.hash !== '') bad('must not carry a query string or fragment');
  return raw.replace(/\/+$/, '');
});

export const e164 = parsed((raw) =>
  /^\+[1-9]\d{6,14}$/.test(raw) ? raw : bad(`expected an E.164 number like +14155550100, got ${quoted(raw)}`),
);

export const region = parsed((raw): CountryCode => {
  const code = raw.toUpperCase();
  return isSupportedCountry(code) ? code : bad(`expected a two-letter country code like US or GB, got ${quoted(raw)}`);
});

export function isLoopbackHost(hostname: string): boolean {
  return ['localhost', '::1', '[::1]'].includes(hostname) || /^127(\.\d{1,3}){3}$/.test(hostname);
}

const INSPECT_OFF = ['0', 'off', 'false', 'no'];
const INSPECT_WS = ['1', 'on', 'true', 'yes', 'ws'];

export const inspectSwitch = parsed((raw): InspectSwitch => {
  if (INSPECT_OFF.includes(raw.toLowerCase())) return { kind: 'off' };
  if (raw.startsWith('jsonl:')) {
    const dir = raw.slice('jsonl:'.length).trim();
    return dir === ''
      ? bad('jsonl: needs a directory, e.g. INSPECT=jsonl:./data/inspect')
      : { kind: 'jsonl', dir: resolve(dir) };
  }
  if (INSPECT_WS.includes(raw.toLowerCase())) return { kind: 'ws' };
  return bad(`unknown value ${quoted(raw)} (expected 1 for the WebSocket inspector or jsonl:<dir>)`);
});

export const inspectUrl = parsed((raw) => {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return bad(`not a URL: ${quoted(raw)}`);
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') bad('must be a ws:// URL');
  if (!isLoopbackHost(url.hostname)) {
    bad(
      `must be on loopback (127.0.0.1, localhost or ::1), got ${url.hostname}: call state must not leave this machine`,
    );
  }
  return raw;
});
