import { StoreError } from './errors.js';

// How the Supabase store reads a PostgREST answer: an error becomes a StoreError carrying
// PostgREST's code and the HTTP status, so the outbox can tell a refused record from an outage.

/** What a supabase-js query resolves to, as far as this adapter reads it. */
interface RestResult {
  data: unknown;
  error: { message: string; code?: string } | null;
  status: number;
}

export function unwrap(res: RestResult, what: string): unknown {
  if (res.error) throw new StoreError(`supabase ${what}: ${res.error.message}`, res.error.code ?? '', res.status);
  return res.data;
}

export function rowsOf(res: RestResult, what: string): unknown[] {
  const data = unwrap(res, what);
  if (data === null) return [];
  if (!Array.isArray(data)) throw new StoreError(`supabase ${what}: expected an array`, '', res.status);
  return data;
}

export function oneOf<T>(res: RestResult, what: string, map: (row: unknown) => T): T | null {
  const data = unwrap(res, what);
  return data === null || data === undefined ? null : map(data);
}
