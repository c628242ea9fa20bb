import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { FunctionCall, ToolOutput } from '../../machines/call.types.js';
import { demoMerchant } from '../../src/merchants/demo-merchant.js';
import type { Merchant } from '../../src/merchants/merchant.js';
import { openPg } from '../../src/store/pg-db.js';
import { MEMORY, openPglite } from '../../src/store/pglite-db.js';
import { SqlStore } from '../../src/store/sql-store.js';
import type { GoogleTokenSet, Store } from '../../src/store/store.js';

// Shared by the tool tests: the SQL stores they run against (embedded PGlite always, the Postgres
// server in a throwaway schema when DATABASE_URL is set, as in the store-*.test.ts files), test merchants, and
// small helpers to call the executor and read its answers.

export interface OpenedStore {
  store: Store;
  /** Raw SQL on the same database, for asserting rows the Store API has no reader for. */
  query(text: string, params?: readonly unknown[]): Promise<unknown[]>;
  cleanup(): Promise<void>;
}

export interface StoreVariant {
  name: string;
  open(): Promise<OpenedStore>;
}

export function storeVariants(): StoreVariant[] {
  const variants: StoreVariant[] = [
    {
      name: 'PGlite',
      async open() {
        const db = await openPglite(MEMORY);
        const store = new SqlStore(db);
        await store.migrate();
        return { store, query: (t, p) => db.query(t, p), cleanup: () => store.close() };
      },
    },
  ];
  const databaseUrl = process.env.DATABASE_URL;
  if (databaseUrl) {
    variants.push({
      name: 'Postgres server',
      async open() {
        const schema = `callrelay_tools_${randomBytes(6).toString('hex')}`;
        const admin = new pg.Client({ connectionString: databaseUrl });
        await admin.connect();
        await admin.query('create extension if not exists btree_gist with schema public');
        await admin.query(`create schema ${schema}`);
        const url = new URL(databaseUrl);
        url.searchParams.set('options', `-c search_path=${schema},public`);
        const db = openPg({ connectionString: url.toString(), max: 8 });
        const store = new SqlStore(db);
        await store.migrate();
        return {
          store,
          query: (t, p) => db.query(t, p),
          async cleanup() {
            await store.close();
            await admin.query(`drop schema ${schema} cascade`);
            await admin.end();
          },
        };
      },
    });
  }
  return variants;
}

/** The relay closes its store on shutdown; a store shared by several relays in one file must outlive them. */
export function keepOpen(store: Store): Store {
  return new Proxy(store, {
    get(target, prop) {
      if (prop === 'close') return async () => undefined;
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

let seq = 0;

/** A merchant with a fresh id and number (tests share one database): London, Mon–Fri 09:00–17:00, 30-minute slots. */
export function testMerchant(over: Partial<Merchant> = {}): Merchant {
  seq++;
  // The demo's transfer target stays with the demo: a test merchant offers transferCall only when asked.
  const { transferTargets: _demoTargets, ...demo } = demoMerchant;
  return {
    ...demo,
    id: `m${seq}-${randomBytes(3).toString('hex')}`,
    phoneNumbers: [`+1500555${String(1000 + (seq % 9000))}`],
    greeting: 'Hello from the test line.',
    ...over,
  };
}

export async function addMerchant(
  store: Store,
  over: Partial<Merchant> = {},
  google?: { calendarId?: string; tokens: Partial<GoogleTokenSet> },
): Promise<Merchant> {
  const m = testMerchant(over);
  await store.upsertMerchant({
    ...m,
    ...(google ? { googleCalendarId: google.calendarId ?? null, googleTokens: google.tokens } : {}),
  });
  return m;
}

let callSeq = 0;
export function fnCall(name: string, args: unknown): FunctionCall {
  callSeq++;
  return { callId: `call_${callSeq}`, name, arguments: typeof args === 'string' ? args : JSON.stringify(args) };
}

/** The function_call_output text as an object, with the fields tests read. */
export interface OutputBody {
  error?: string;
  message?: string;
  [key: string]: unknown;
}

export function body(out: ToolOutput | string): OutputBody {
  const parsed: unknown = JSON.parse(typeof out === 'string' ? out : out.output);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new Error(`output is not an object: ${String(out)}`);
  return parsed as OutputBody;
}

/** `{local}` of each entry of an output list field (slots, alternatives, upcoming). */
export function locals(b: OutputBody, field: string): string[] {
  const list = b[field];
  if (!Array.isArray(list)) return [];
  return list.map((x: unknown) => (typeof x === 'object' && x !== null && 'local' in x ? String(x.local) : ''));
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function eventually<T>(
  fn: () => Promise<T | undefined>,
  timeoutMs = 5000,
  what = 'condition',
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}
