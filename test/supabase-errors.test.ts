import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { isPermanentStoreError, StoreError } from '../src/store/errors.js';
import { SupabaseStore } from '../src/store/supabase-store.js';
import { KEY, useFakePostgrest } from './support/fake-postgrest.js';

// How the Supabase store fails: PostgREST errors and an unreachable server as StoreErrors the outbox
// can sort into permanent and transient, and migrate()'s schema check naming what is missing.

const api = useFakePostgrest();

describe('SupabaseStore errors', () => {
  it('turns PostgREST errors into StoreErrors that tell a bad record from an outage', async () => {
    api.reply = () => ({
      status: 400,
      body: {
        code: '23514',
        message: 'new row for relation "calls" violates check constraint',
        details: null,
        hint: null,
      },
    });
    const bad = await api.store.getCallRecord('CA1').catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(StoreError);
    expect(bad).toMatchObject({ code: '23514', status: 400 });
    expect(isPermanentStoreError(bad)).toBe(true);

    api.reply = () => ({ status: 503, body: { code: 'PGRST000', message: 'Could not connect with the database' } });
    const down = await api.store.saveMessage({ merchantId: 'sunny', body: 'x' }).catch((e: unknown) => e);
    expect(down).toMatchObject({ code: 'PGRST000', status: 503 });
    expect(isPermanentStoreError(down)).toBe(false);
  });

  it('reports an unreachable Supabase as a transient error', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const gone = new SupabaseStore({ url: `http://127.0.0.1:${port}`, serviceRoleKey: KEY, timeoutMs: 2000 });
    const err = await gone
      .saveCallRecord({
        callSid: 'CA-x',
        streamSid: null,
        merchantId: null,
        callerPhone: null,
        calledNumber: null,
        direction: 'inbound',
        answeredBy: null,
        startedAt: new Date(),
        endedAt: null,
        durationMs: null,
        endReason: null,
        provider: null,
        model: null,
        usage: {},
        stats: {},
        transcript: [],
        transcriptText: '',
        timeline: [],
        toolCalls: [],
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect(err).toMatchObject({ status: 0 });
    expect(isPermanentStoreError(err)).toBe(false);
  });

  it('migrate() probes every table and names the missing ones with the CLI fix', async () => {
    await api.store.migrate();
    expect(api.seen.map((s) => `${s.method} ${s.path}?${new URLSearchParams(s.query).toString()}`).sort()).toEqual(
      [
        'appointment_details',
        'appointments',
        'call_recordings',
        'calls',
        'console_links',
        'customers',
        'merchant_numbers',
        'merchant_profiles',
        'merchants',
        'messages',
      ].map((t) => `GET /rest/v1/${t}?select=*&limit=0`),
    );
    api.reply = (r) =>
      r.path === '/rest/v1/calls'
        ? {
            status: 404,
            body: { code: 'PGRST205', message: "Could not find the table 'public.calls' in the schema cache" },
          }
        : { body: [] };
    await expect(api.store.migrate()).rejects.toThrow(/calls.*PGRST205.*supabase db push/);
  });
});
