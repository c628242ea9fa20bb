import { describe, expect, it } from 'vitest';
import { openStore, storeConfigFromEnv } from '../src/store/open-store.js';
import { KEY, useFakePostgrest } from './support/fake-postgrest.js';

// Which store the relay opens from its configuration (the Supabase one against a fake PostgREST).

const api = useFakePostgrest();

describe('openStore', () => {
  it('picks DATABASE_URL over Supabase, and Supabase over embedded PGlite', async () => {
    await expect(
      openStore({
        databaseUrl: 'postgres://postgres@127.0.0.1:1/none',
        supabaseUrl: api.baseUrl,
        supabaseKey: KEY,
        dataDir: '/proc/not-writable',
      }),
    ).rejects.toThrow(/ECONNREFUSED/);
    expect(api.seen).toHaveLength(0);
    const s = await openStore({ supabaseUrl: api.baseUrl, supabaseKey: KEY, dataDir: '/proc/not-writable' });
    expect(s.kind).toBe('supabase');
    expect(api.seen.filter((r) => r.query.limit === '0')).toHaveLength(10); // migrate() checked the schema
    await s.close();
  });

  it('refuses half a Supabase configuration instead of silently falling back', async () => {
    await expect(openStore({ supabaseUrl: api.baseUrl })).rejects.toThrow(/SUPABASE_SERVICE_ROLE_KEY/);
  });

  it('reads the documented environment variables, ignoring empty ones', () => {
    expect(
      storeConfigFromEnv({
        DATA_DIR: '/srv/data',
        DATABASE_URL: ' ',
        SUPABASE_URL: 'https://x.supabase.co',
        SUPABASE_SERVICE_ROLE_KEY: 'k',
      }),
    ).toEqual({
      dataDir: '/srv/data',
      supabaseUrl: 'https://x.supabase.co',
      supabaseKey: 'k',
    });
  });
});
