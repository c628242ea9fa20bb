import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, expect } from 'vitest';
import { SupabaseStore } from '../../src/store/supabase-store.js';

// supabase-js pointed at a local HTTP server standing in for PostgREST: each test asserts the exact
// REST request the adapter makes and how it reads PostgREST's answer. Shared by the supabase-*.test.ts
// files and open-store.test.ts.

export interface Seen {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  body: unknown;
}

export interface Reply {
  status?: number;
  body?: unknown;
}

export const KEY = 'test-service-role-key';

export interface FakePostgrest {
  /** The requests of the current test, oldest first. */
  readonly seen: Seen[];
  /** How the server answers; reset to an empty array before each test. */
  reply: (req: Seen) => Reply;
  /** A SupabaseStore pointed at the server. */
  readonly store: SupabaseStore;
  readonly baseUrl: string;
  /** The one request the test made. */
  only(): Seen;
}

/** Starts the server before the file's tests and closes it after them; call it at the top of a file. */
export function useFakePostgrest(): FakePostgrest {
  let server: Server | undefined;
  let store: SupabaseStore | undefined;
  let baseUrl = '';
  const api: FakePostgrest = {
    seen: [],
    reply: () => ({ body: [] }),
    get store() {
      if (!store) throw new Error('the fake PostgREST has not started');
      return store;
    },
    get baseUrl() {
      return baseUrl;
    },
    only() {
      expect(api.seen).toHaveLength(1);
      const s = api.seen[0];
      if (!s) throw new Error('no request');
      return s;
    },
  };

  beforeAll(async () => {
    const srv = createServer((req, res) => {
      let raw = '';
      req.on('data', (c: Buffer) => (raw += c.toString()));
      req.on('end', () => {
        const url = new URL(req.url ?? '/', 'http://x');
        const s: Seen = {
          method: req.method ?? '',
          path: url.pathname,
          query: Object.fromEntries(url.searchParams),
          headers: req.headers,
          body: raw === '' ? undefined : JSON.parse(raw),
        };
        api.seen.push(s);
        const r = api.reply(s);
        res.writeHead(r.status ?? 200, { 'content-type': 'application/json' });
        res.end(r.body === undefined ? '' : JSON.stringify(r.body));
      });
    });
    server = srv;
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
    store = new SupabaseStore({ url: baseUrl, serviceRoleKey: KEY, timeoutMs: 3000 });
  });

  afterAll(async () => {
    await store?.close();
    const srv = server;
    if (!srv) return;
    srv.closeAllConnections();
    await new Promise<void>((resolve) => srv.close(() => resolve()));
  });

  beforeEach(() => {
    api.seen.length = 0;
    api.reply = () => ({ body: [] });
  });

  return api;
}

export const expectAuth = (s: Seen) => {
  expect(s.headers.apikey).toBe(KEY);
  expect(s.headers.authorization).toBe(`Bearer ${KEY}`);
};
