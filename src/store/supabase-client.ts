import { createClient, type SupabaseClient, type WebSocketLikeConstructor } from '@supabase/supabase-js';
import WebSocket from 'ws';

// The supabase-js client the Supabase store talks through: service-role key, no session, a deadline
// on every request.

export interface SupabaseStoreOptions {
  url: string;
  /** Service-role key (bypasses row-level security). Secret: never log it. */
  serviceRoleKey: string;
  /** Per-request deadline. Default 10000. */
  timeoutMs?: number;
}

/**
 * Never connected (the store does not subscribe), but supabase-js builds its realtime client eagerly
 * and Node 20 has no global WebSocket. ws is runtime-compatible; only its event typings differ from
 * the DOM ones supabase-js declares, hence the cast.
 */
const realtimeTransport = WebSocket as unknown as WebSocketLikeConstructor;

export function createSupabaseClient(opts: SupabaseStoreOptions): SupabaseClient {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  // supabase-js sets no deadline of its own; a hung request would hold the caller's tool call.
  const timedFetch: typeof fetch = (input, init) =>
    fetch(input, { ...init, signal: init?.signal ?? AbortSignal.timeout(timeoutMs) });
  return createClient(opts.url, opts.serviceRoleKey, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
    global: { fetch: timedFetch },
    realtime: { transport: realtimeTransport },
  });
}
