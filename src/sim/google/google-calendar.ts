import { DateTime, IANAZone } from 'luxon';
import type { calendar_v3 } from 'googleapis/build/src/apis/calendar/index.js';
import {
  OWNER,
  EVENT_ID,
  googleError,
  eventId,
  parseEventTime,
  isRecord,
  str,
  type RecordedRequest,
} from './google-wire.js';

// Calendar v3 as the relay and the console use it: the calendar list, freeBusy (busy spans merged
// and clipped, in the asked zone) and events.insert / events.delete, over calendars held in memory;
// and the test's side: calendars and appointments put there, events read back.

/** Google's own event schema; the fake always sets id and status. */
export type FakeEvent = calendar_v3.Schema$Event & { id: string; status: 'confirmed' | 'cancelled'; sequence: number };

interface StoredEvent {
  ev: FakeEvent;
  startMs: number;
  endMs: number;
}

export class FakeCalendars {
  private readonly calendars = new Map<string, Map<string, StoredEvent>>();
  private readonly summaries = new Map<string, string>();

  constructor(ids: string[]) {
    for (const id of ids) this.calendars.set(id, new Map());
  }

  add(id: string, summary?: string): void {
    if (!this.calendars.has(id)) this.calendars.set(id, new Map());
    if (summary !== undefined) this.summaries.set(id, summary);
  }

  addEvent(calendarId: string, start: Date, end: Date, summary: string): FakeEvent {
    const cal = this.calendars.get(calendarId);
    if (!cal) throw new Error(`no calendar ${calendarId}`);
    const ev = this.makeEvent(calendarId, eventId(), {
      summary,
      start: { dateTime: start.toISOString() },
      end: { dateTime: end.toISOString() },
    });
    cal.set(ev.id, { ev, startMs: start.getTime(), endMs: end.getTime() });
    return ev;
  }

  events(calendarId: string): FakeEvent[] {
    return [...(this.calendars.get(calendarId)?.values() ?? [])].map((s) => structuredClone(s.ev));
  }

  /** A /calendar/v3/ request already authorized; undefined when it is none the fake knows. */
  route(req: RecordedRequest, rawPath: string): { status: number; body: unknown } | undefined {
    const m = req.method;
    if (m === 'POST' && req.path === '/calendar/v3/freeBusy') return { status: 200, body: this.freeBusy(req) };
    if (m === 'GET' && req.path === '/calendar/v3/users/me/calendarList')
      return { status: 200, body: this.calendarList() };
    // Split the raw path so an encoded "/" or "@" inside an id stays inside it.
    const parts = rawPath.split('/').map((p) => decodeURIComponent(p));
    if (parts.length === 6 && parts[3] === 'calendars' && parts[5] === 'events' && m === 'POST') {
      return { status: 200, body: this.insert(parts[4] ?? '', req.body) };
    }
    if (parts.length === 7 && parts[3] === 'calendars' && parts[5] === 'events' && m === 'DELETE') {
      this.remove(parts[4] ?? '', parts[6] ?? '');
      return { status: 204, body: undefined };
    }
    return undefined;
  }

  /** Google names the primary calendar by the owner's address as well as by `primary`. */
  private calendar(id: string): Map<string, StoredEvent> | undefined {
    return this.calendars.get(id === OWNER ? 'primary' : id);
  }

  private calendarList(): unknown {
    const items = [...this.calendars.keys()].map((id) => ({
      kind: 'calendar#calendarListEntry',
      id: id === 'primary' ? OWNER : id,
      summary: this.summaries.get(id) ?? (id === 'primary' ? OWNER : id),
      accessRole: 'owner',
      ...(id === 'primary' ? { primary: true } : {}),
    }));
    return { kind: 'calendar#calendarList', items };
  }

  private freeBusy(req: RecordedRequest): unknown {
    if (!isRecord(req.body)) throw googleError(400, 'Invalid JSON payload received.', 'parseError');
    const body = req.body;
    const timeMin = str(body.timeMin);
    const timeMax = str(body.timeMax);
    if (!timeMin) throw googleError(400, 'Missing timeMin parameter.', 'required');
    if (!timeMax) throw googleError(400, 'Missing timeMax parameter.', 'required');
    const min = Date.parse(timeMin);
    const max = Date.parse(timeMax);
    if (Number.isNaN(min) || Number.isNaN(max)) throw googleError(400, 'Bad Request', 'invalid');
    if (max <= min) throw googleError(400, 'The specified time range is empty.', 'timeRangeEmpty');
    const zone = str(body.timeZone) ?? 'UTC';
    if (!IANAZone.isValidZone(zone)) throw googleError(400, 'Invalid time zone', 'invalid');
    const items = Array.isArray(body.items) ? body.items : [];
    const calendars: Record<string, unknown> = {};
    for (const item of items) {
      const id = isRecord(item) ? str(item.id) : undefined;
      if (!id) continue;
      const cal = this.calendar(id);
      if (!cal) {
        calendars[id] = { errors: [{ domain: 'global', reason: 'notFound' }], busy: [] };
        continue;
      }
      const spans = [...cal.values()]
        .filter((s) => s.ev.status === 'confirmed' && s.ev.transparency !== 'transparent')
        .filter((s) => s.startMs < max && s.endMs > min)
        .map((s) => [Math.max(s.startMs, min), Math.min(s.endMs, max)] as const)
        .sort((a, b) => a[0] - b[0]);
      const merged: Array<[number, number]> = [];
      for (const [s, e] of spans) {
        const last = merged[merged.length - 1];
        if (last && s <= last[1]) last[1] = Math.max(last[1], e);
        else merged.push([s, e]);
      }
      const fmt = (ms: number): string =>
        DateTime.fromMillis(ms, { zone }).toISO({ suppressMilliseconds: true }) ?? new Date(ms).toISOString();
      calendars[id] = { busy: merged.map(([s, e]) => ({ start: fmt(s), end: fmt(e) })) };
    }
    return {
      kind: 'calendar#freeBusy',
      timeMin: new Date(min).toISOString(),
      timeMax: new Date(max).toISOString(),
      calendars,
    };
  }

  private insert(calendarId: string, body: unknown): FakeEvent {
    const cal = this.calendar(calendarId);
    if (!cal) throw googleError(404, 'Not Found', 'notFound');
    if (!isRecord(body)) throw googleError(400, 'Invalid JSON payload received.', 'parseError');
    const id = str(body.id) ?? eventId();
    if (!EVENT_ID.test(id)) throw googleError(400, 'Invalid resource id value.', 'invalid');
    if (cal.has(id)) throw googleError(409, 'The requested identifier already exists.', 'duplicate');
    const start = parseEventTime(body.start);
    const end = parseEventTime(body.end);
    if (!start) throw googleError(400, 'Missing start time.', 'required');
    if (!end) throw googleError(400, 'Missing end time.', 'required');
    if (end.ms <= start.ms) throw googleError(400, 'The specified time range is empty.', 'timeRangeEmpty');
    const extra: Partial<FakeEvent> = { start: start.raw, end: end.raw };
    for (const k of ['summary', 'description', 'location', 'transparency'] as const) {
      const v = str(body[k]);
      if (v !== undefined) extra[k] = v;
    }
    if (isRecord(body.extendedProperties)) extra.extendedProperties = body.extendedProperties;
    const ev = this.makeEvent(calendarId, id, extra);
    cal.set(id, { ev, startMs: start.ms, endMs: end.ms });
    return ev;
  }

  private remove(calendarId: string, id: string): void {
    const stored = this.calendar(calendarId)?.get(id);
    if (!stored) throw googleError(404, 'Not Found', 'notFound');
    if (stored.ev.status === 'cancelled') throw googleError(410, 'Resource has been deleted', 'deleted');
    // Google keeps deleted events as "cancelled", which is why a second delete says 410, not 404.
    stored.ev.status = 'cancelled';
    stored.ev.updated = new Date().toISOString();
    stored.ev.sequence += 1;
  }

  private makeEvent(calendarId: string, id: string, fields: Partial<FakeEvent>): FakeEvent {
    const now = new Date().toISOString();
    const eid = Buffer.from(`${id} ${calendarId}`).toString('base64url');
    return {
      kind: 'calendar#event',
      etag: `"${Date.now()}000"`,
      id,
      status: 'confirmed',
      htmlLink: `https://www.google.com/calendar/event?eid=${eid}`,
      created: now,
      updated: now,
      start: {},
      end: {},
      iCalUID: `${id}@google.com`,
      sequence: 0,
      creator: { email: OWNER, self: true },
      organizer: { email: OWNER, self: true },
      reminders: { useDefault: true },
      eventType: 'default',
      ...fields,
    };
  }
}
