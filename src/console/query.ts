import { DateTime, IANAZone } from 'luxon';
import { z } from 'zod';
import type { CallQuery } from '../store/store.js';

// Query strings parsed at the edge into typed values. A bad value is a 400 naming the parameter, not
// an empty result, so a mistyped link is noticed.

export class BadQuery extends Error {
  constructor(
    readonly field: string,
    readonly problem: string,
  ) {
    super(`${field} ${problem}`);
  }
}

export interface CallFilter {
  text?: string;
  merchantId?: string;
  fromDay?: string;
  toDay?: string;
  endReason?: string;
  direction?: 'inbound' | 'outbound';
  before?: Date;
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;

const fields = {
  q: z.string().max(100, 'must be at most 100 characters'),
  merchant: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be a merchant id (letters, digits, . _ -)'),
  from: z.string().regex(DAY, 'must be a date like 2030-01-31'),
  to: z.string().regex(DAY, 'must be a date like 2030-01-31'),
  end: z.string().regex(/^[a-z_]{1,40}$/, 'must be an end reason like caller_hung_up'),
  direction: z.enum(['inbound', 'outbound'], { error: 'must be inbound or outbound' }),
  before: z.iso.datetime({ error: 'must be an ISO time like 2030-01-31T12:00:00.000Z' }),
} as const;

type FieldName = keyof typeof fields;
const KNOWN = new Set<string>(Object.keys(fields));

function value<K extends FieldName>(params: URLSearchParams, name: K): z.output<(typeof fields)[K]> | undefined {
  const all = params.getAll(name);
  if (all.length > 1) throw new BadQuery(name, 'must be given once');
  const raw = all[0]?.trim();
  if (raw === undefined || raw === '') return undefined;
  const r = fields[name].safeParse(raw);
  if (!r.success) throw new BadQuery(name, r.error.issues[0]?.message ?? 'is not valid');
  return r.data as z.output<(typeof fields)[K]>;
}

/** The call-list search in `query` (raw, without '?'); throws BadQuery. Unknown parameters are refused too. */
export function parseCallFilter(query: string): CallFilter {
  const params = new URLSearchParams(query);
  for (const k of params.keys()) if (!KNOWN.has(k)) throw new BadQuery(k, 'is not a parameter of this page');
  const f: CallFilter = {};
  const q = value(params, 'q');
  if (q !== undefined) f.text = q;
  const merchant = value(params, 'merchant');
  if (merchant !== undefined) f.merchantId = merchant;
  const from = value(params, 'from');
  if (from !== undefined) f.fromDay = checkDay('from', from);
  const to = value(params, 'to');
  if (to !== undefined) f.toDay = checkDay('to', to);
  const end = value(params, 'end');
  if (end !== undefined) f.endReason = end;
  const direction = value(params, 'direction');
  if (direction !== undefined) f.direction = direction;
  const before = value(params, 'before');
  if (before !== undefined) f.before = new Date(before);
  if (f.fromDay && f.toDay && f.toDay < f.fromDay) throw new BadQuery('to', 'must not be before from');
  return f;
}

function checkDay(field: string, day: string): string {
  if (!DateTime.fromISO(day, { zone: 'UTC' }).isValid) throw new BadQuery(field, 'must be a real date like 2030-01-31');
  return day;
}

/** The store query for a filter; days are whole days in `zone` (`to` inclusive). */
export function toCallQuery(f: CallFilter, zone: string, limit: number): CallQuery {
  const z0 = IANAZone.isValidZone(zone) ? zone : 'UTC';
  const q: CallQuery = { limit };
  if (f.text !== undefined) q.text = f.text;
  if (f.merchantId !== undefined) q.merchantId = f.merchantId;
  if (f.fromDay !== undefined) q.from = DateTime.fromISO(f.fromDay, { zone: z0 }).startOf('day').toJSDate();
  if (f.toDay !== undefined) q.to = DateTime.fromISO(f.toDay, { zone: z0 }).plus({ days: 1 }).startOf('day').toJSDate();
  if (f.endReason !== undefined) q.endReason = f.endReason;
  if (f.direction !== undefined) q.direction = f.direction;
  if (f.before !== undefined) q.before = f.before;
  return q;
}

/** The same search as a query string, with `before` for the next page. */
export function filterQuery(f: CallFilter, before?: Date): string {
  const p = new URLSearchParams();
  if (f.text) p.set('q', f.text);
  if (f.merchantId) p.set('merchant', f.merchantId);
  if (f.fromDay) p.set('from', f.fromDay);
  if (f.toDay) p.set('to', f.toDay);
  if (f.endReason) p.set('end', f.endReason);
  if (f.direction) p.set('direction', f.direction);
  if (before) p.set('before', before.toISOString());
  return p.toString();
}
