// Which store failures are worth retrying. The outbox retries everything except a verdict of the
// database on the record itself (bad data, constraint): those would fail forever, so they go to a
// dead-letter file instead of blocking the queue.

/** An error from the Supabase adapter, carrying PostgREST's code (a SQLSTATE or PGRSTxxx) and HTTP status. */
export class StoreError extends Error {
  override readonly name = 'StoreError';
  constructor(
    message: string,
    readonly code: string,
    /** HTTP status; 0 when the request never got a response. */
    readonly status: number,
  ) {
    super(message);
  }
}

function codeOf(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') return err.code;
  return undefined;
}

const SQLSTATE = /^[0-9A-Z]{5}$/;

/**
 * Permanent: SQLSTATE class 22 (data exception) or 23 (integrity constraint violation), i.e. the
 * database looked at this record and refused it. Everything else (refused connections, timeouts,
 * server restarts, missing tables before a migration ran, HTTP 5xx) may pass on a later try.
 */
export function isPermanentStoreError(err: unknown): boolean {
  const code = codeOf(err);
  if (code === undefined || !SQLSTATE.test(code)) return false;
  return code.startsWith('22') || code.startsWith('23');
}

/** A short description without parameters or row contents (pg's `detail` can echo phone numbers). */
export function describeStoreError(err: unknown): { message: string; code?: string } {
  const code = codeOf(err);
  const message = err instanceof Error ? err.message : String(err);
  return code === undefined ? { message } : { message, code };
}
