import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import { DateTime, IANAZone } from 'luxon';
import type { calendar_v3 } from 'googleapis/build/src/apis/calendar/index.js';

// Wire-level helpers of the fake Google server: the request as recorded, Google's error format, ids,
// event times, bodies.

export interface RecordedRequest {
  method: string;
  /** Decoded path, without query. */
  path: string;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  /** JSON body parsed, form body as a record, else the raw text (undefined when empty). */
  body: unknown;
}

export const OWNER = 'owner@example.com';
export const SCOPE = 'https://www.googleapis.com/auth/calendar';
export const EVENT_ID = /^[a-v0-9]{5,1024}$/;
/** HTTP code → [envelope status, errors[0].reason an injected fault carries]. */
export const CODES: Record<number, [string | undefined, string]> = {
  400: ['INVALID_ARGUMENT', 'badRequest'],
  401: ['UNAUTHENTICATED', 'authError'],
  403: ['PERMISSION_DENIED', 'forbidden'],
  404: ['NOT_FOUND', 'notFound'],
  409: ['ALREADY_EXISTS', 'duplicate'],
  410: [undefined, 'deleted'],
  429: ['RESOURCE_EXHAUSTED', 'rateLimitExceeded'],
  500: ['INTERNAL', 'backendError'],
  503: ['UNAVAILABLE', 'backendError'],
};

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(`HTTP ${status}`);
  }
}

/** Google's JSON error envelope. */
export function googleError(code: number, message: string, reason: string): HttpError {
  const error: Record<string, unknown> = { code, message, errors: [{ message, domain: 'global', reason }] };
  const status = CODES[code]?.[0];
  if (status) error.status = status;
  return new HttpError(code, { error });
}

export function eventId(): string {
  const alphabet = '0123456789abcdefghijklmnopqrstuv';
  let id = '';
  for (const b of randomBytes(20)) id += alphabet[b % 32] ?? '0';
  return id;
}

/** {dateTime (with offset, or local + timeZone)} or all-day {date}. */
export function parseEventTime(v: unknown): { ms: number; raw: calendar_v3.Schema$EventDateTime } | undefined {
  if (!isRecord(v)) return undefined;
  const zone = str(v.timeZone);
  if (zone !== undefined && !IANAZone.isValidZone(zone))
    throw googleError(400, 'Invalid time zone definition for start time.', 'invalid');
  const raw: calendar_v3.Schema$EventDateTime = {};
  if (zone) raw.timeZone = zone;
  const dateTime = str(v.dateTime);
  const date = str(v.date);
  let dt: DateTime | undefined;
  if (dateTime) {
    raw.dateTime = dateTime;
    const hasOffset = /(Z|[+-]\d\d:\d\d)$/.test(dateTime);
    if (!hasOffset && !zone) throw googleError(400, 'Missing time zone definition for start time.', 'required');
    dt = DateTime.fromISO(dateTime, hasOffset ? { setZone: true } : { zone: zone ?? 'UTC' });
  } else if (date) {
    raw.date = date;
    dt = DateTime.fromISO(date, { zone: zone ?? 'UTC' });
  } else {
    return undefined;
  }
  if (!dt.isValid) throw googleError(400, 'Invalid start time.', 'invalid');
  return { ms: dt.toMillis(), raw };
}

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export function parseBody(raw: string, contentType: string | undefined): unknown {
  if (!raw) return undefined;
  if (contentType?.includes('application/x-www-form-urlencoded')) return Object.fromEntries(new URLSearchParams(raw));
  if (contentType?.includes('json')) {
    try {
      return JSON.parse(raw) as unknown;
    } catch {
      return raw; // recorded as text; the route answers 400 parseError
    }
  }
  return raw;
}

export function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent || res.destroyed) return;
  if (body === undefined) {
    res.writeHead(status).end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=UTF-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}
