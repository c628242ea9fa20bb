import type { HttpResponse } from '../transports/uws.js';

// Small helpers for uWebSockets.js HTTP responses. uWS requires every response written after an
// await to be corked, and a response must never be touched once the client aborted it.

export interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

const STATUS_TEXT: Record<number, string> = {
  200: '200 OK',
  204: '204 No Content',
  303: '303 See Other',
  400: '400 Bad Request',
  401: '401 Unauthorized',
  403: '403 Forbidden',
  404: '404 Not Found',
  405: '405 Method Not Allowed',
  413: '413 Payload Too Large',
  415: '415 Unsupported Media Type',
  426: '426 Upgrade Required',
  429: '429 Too Many Requests',
  500: '500 Internal Server Error',
  503: '503 Service Unavailable',
};

export function statusLine(code: number): string {
  return STATUS_TEXT[code] ?? `${code} Status`;
}

/** Tracks abort for one response; install before any await. */
export function guard(res: HttpResponse): { aborted: boolean } {
  const state = { aborted: false };
  res.onAborted(() => {
    state.aborted = true;
  });
  return state;
}

/** Writes `reply` unless the client left; `headOnly` (a HEAD request) sends its headers without the body. */
export function write(res: HttpResponse, state: { aborted: boolean }, reply: Reply, headOnly = false): void {
  if (state.aborted) return;
  res.cork(() => {
    res.writeStatus(statusLine(reply.status));
    for (const [k, v] of Object.entries(reply.headers ?? {})) res.writeHeader(k, v);
    // A body on a HEAD answer would be read as the start of the next response on the connection.
    if (headOnly) res.endWithoutBody();
    else res.end(reply.body ?? '');
  });
}

export const json = (status: number, body: unknown, headers: Record<string, string> = {}): Reply => ({
  status,
  headers: { 'Content-Type': 'application/json', ...headers },
  body: JSON.stringify(body),
});

export class BodyTooLarge extends Error {}

/** Collects the request body; rejects with BodyTooLarge past `limit` bytes. */
export function readBody(res: HttpResponse, state: { aborted: boolean }, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    res.onData((ab, isLast) => {
      if (failed) return;
      size += ab.byteLength;
      if (size > limit) {
        failed = true;
        reject(new BodyTooLarge(`body over ${limit} bytes`));
        return;
      }
      // The ArrayBuffer is only valid during this callback: copy it.
      chunks.push(Buffer.from(new Uint8Array(ab).slice()));
      if (isLast) resolve(Buffer.concat(chunks));
    });
    if (state.aborted) reject(new Error('aborted'));
  });
}
