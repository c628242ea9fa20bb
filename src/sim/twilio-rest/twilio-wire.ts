import type { IncomingHttpHeaders } from 'node:http';
import { randomBytes } from 'node:crypto';

// What every resource of the Twilio REST imitation shares on the wire: sids, Twilio's two date
// formats, its error (`{code, message, more_info, status}`), Basic auth, the form body, and the
// request as a resource's router sees it.

/** A form body; repeated keys become arrays (twilio-node sends arrays as repeated keys). */
export type TwilioForm = Record<string, string | string[]>;

/** One request, parsed, as a resource's router sees it. */
export interface RestRequest {
  method: string;
  url: URL;
  form: TwilioForm;
  /** The first value of a form field. */
  one: (key: string) => string | undefined;
  headers: IncomingHttpHeaders;
}

/** A resource's answer: HTTP status and the JSON body. */
export type RestAnswer = [number, unknown];

export const sid = (prefix: string) => prefix + randomBytes(16).toString('hex');
/** Conversations v1 dates. */
export const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
/** 2010-04-01 API dates. */
export const rfc2822 = (d: Date) => d.toUTCString().replace('GMT', '+0000');
export const E164 = /^\+[1-9]\d{6,14}$/;

export class TwilioError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

export const notFound = (path: string) => new TwilioError(404, 20404, `The requested resource ${path} was not found`);

/** Twilio's error body. */
export function errorJson(e: TwilioError): unknown {
  return {
    code: e.code,
    message: e.message,
    more_info: `https://www.twilio.com/docs/errors/${e.code}`,
    status: e.status,
  };
}

export function parseForm(body: string): TwilioForm {
  const form: TwilioForm = {};
  for (const [k, v] of new URLSearchParams(body)) {
    const prev = form[k];
    form[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return form;
}

export function firstOf(form: TwilioForm): (key: string) => string | undefined {
  return (k) => {
    const v = form[k];
    return Array.isArray(v) ? v[0] : v;
  };
}

export function parseBasic(header: string | undefined): { username: string; password: string } | null {
  const m = /^Basic\s+(.+)$/i.exec(header ?? '');
  if (!m) return null;
  const text = Buffer.from(m[1] ?? '', 'base64').toString('utf8');
  const i = text.indexOf(':');
  return i < 0 ? null : { username: text.slice(0, i), password: text.slice(i + 1) };
}
