// The seam between the receptionist tools and whatever holds the merchant's diary. Tools depend on
// this interface only, so tests and the demo can swap Google for anything that keeps appointments.

export interface BusyInterval {
  start: Date;
  end: Date;
}

export interface NewCalendarEvent {
  summary: string;
  description?: string;
  start: Date;
  end: Date;
  /** IANA zone the event is shown in (the merchant's). */
  timeZone: string;
  /** Full E.164 number of the caller; goes into the event so the merchant can ring back. */
  attendeePhone?: string;
}

/** Per-call options: a signal from the call (caller hung up, tool cancelled). */
export interface CalendarCallOptions {
  signal?: AbortSignal;
}

export interface CalendarClient {
  /** Busy intervals in [fromIso, toIso), sorted, as instants. */
  freeBusy(fromIso: string, toIso: string, opts?: CalendarCallOptions): Promise<BusyInterval[]>;
  insertEvent(ev: NewCalendarEvent, opts?: CalendarCallOptions): Promise<{ eventId: string }>;
  /** Deleting an event that is already gone rejects with kind 'not_found'. */
  deleteEvent(eventId: string, opts?: CalendarCallOptions): Promise<void>;
}

export type CalendarErrorKind = 'auth' | 'not_found' | 'unavailable' | 'rate_limited' | 'bad_request';

/**
 * What went wrong, in terms a tool can turn into a sentence for the caller: 'auth' means the merchant
 * must reconnect Google, 'unavailable'/'rate_limited' mean "try again shortly".
 */
export class CalendarError extends Error {
  override readonly name = 'CalendarError';
  readonly kind: CalendarErrorKind;
  /** HTTP status from Google when there was one. */
  readonly status: number | undefined;

  constructor(kind: CalendarErrorKind, message: string, opts: { status?: number; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.kind = kind;
    this.status = opts.status;
  }

  /** Worth trying again later without changing anything. */
  get retryable(): boolean {
    return this.kind === 'unavailable' || this.kind === 'rate_limited';
  }
}

export function isCalendarError(e: unknown): e is CalendarError {
  return e instanceof CalendarError;
}
