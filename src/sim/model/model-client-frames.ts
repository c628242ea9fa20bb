// The errors a fake session reports the way the real API does: a client frame refused (binary, or
// text that does not parse into a typed event), a handler's unexpected throw turned into the generic
// server_error (the session stays open either way), and the session's maximum duration reached.
import type { RawData } from 'ws';
import type { Logger } from '../../log.js';
import {
  ProtocolError,
  errorBody,
  parseClientEvent,
  type ClientEvent,
  type Dialect,
  type ErrorBody,
  type ParseResult,
} from './model-protocol.js';

const BINARY_REFUSED: ErrorBody = {
  type: 'invalid_request_error',
  code: 'invalid_event',
  message: 'Binary frames are not supported; send JSON text frames.',
  param: null,
  event_id: null,
};

export function readClientFrame(data: RawData, isBinary: boolean, dialect: Dialect): ParseResult {
  if (isBinary) return { ok: false, error: { ...BINARY_REFUSED } };
  const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
  return parseClientEvent(buf.toString('utf8'), dialect);
}

/** The error event for a failure while handling `ev` (unexpected throws are logged, sent as server_error). */
export function handlingError(err: unknown, ev: ClientEvent, log: Logger): ErrorBody {
  if (!(err instanceof ProtocolError)) log.error({ err, type: ev.type }, 'fake model failed handling a client event');
  const e =
    err instanceof ProtocolError
      ? err
      : new ProtocolError(
          'server_error',
          'The server had an error while processing your request.',
          null,
          'server_error',
        );
  return errorBody(e, ev.event_id ?? null);
}

/** The error event a session sends when it reaches its maximum duration (then it closes 1001). */
export function expiredError(maxSessionMs: number): ErrorBody {
  const mins = maxSessionMs / 60_000;
  const span = mins >= 1 ? `${mins} minutes` : `${maxSessionMs / 1000} seconds`;
  const message = `Your session hit the maximum duration of ${span}.`;
  return { type: 'invalid_request_error', code: 'session_expired', message, param: null, event_id: null };
}
