import { join, resolve } from 'node:path';
import { log } from '../log.js';
import { openPg } from './pg-db.js';
import { MEMORY, openPglite } from './pglite-db.js';
import { SqlStore } from './sql-store.js';
import type { Store } from './store.js';
import { SupabaseStore } from './supabase-store.js';

// Picks the adapter from configuration (DATABASE_URL > Supabase > embedded PGlite), brings the
// schema up to date and returns the store.

export interface StoreConfig {
  /** DATA_DIR (default ./data); the PGlite database lives in <dataDir>/pglite. `memory://` keeps it in memory. */
  dataDir?: string;
  /** DATABASE_URL: a Postgres server. */
  databaseUrl?: string;
  /** SUPABASE_URL, with supabaseKey = SUPABASE_SERVICE_ROLE_KEY. */
  supabaseUrl?: string;
  supabaseKey?: string;
  /** Default: the repository's migrations/ folder. */
  migrationsDir?: string;
}

export const DEFAULT_DATA_DIR = './data';

export function storeConfigFromEnv(env: NodeJS.ProcessEnv = process.env): StoreConfig {
  const pick = (v: string | undefined): string | undefined => (v && v.trim() !== '' ? v.trim() : undefined);
  const cfg: StoreConfig = {};
  const dataDir = pick(env.DATA_DIR);
  const databaseUrl = pick(env.DATABASE_URL);
  const supabaseUrl = pick(env.SUPABASE_URL);
  const supabaseKey = pick(env.SUPABASE_SERVICE_ROLE_KEY);
  if (dataDir) cfg.dataDir = dataDir;
  if (databaseUrl) cfg.databaseUrl = databaseUrl;
  if (supabaseUrl) cfg.supabaseUrl = supabaseUrl;
  if (supabaseKey) cfg.supabaseKey = supabaseKey;
  return cfg;
}

/** Where PGlite keeps its files for a DATA_DIR. */
export function pgliteDir(dataDir: string): string {
  return dataDir === MEMORY ? MEMORY : join(resolve(dataDir), 'pglite');
}

/** The adapter the config selects, not yet migrated. */
export async function createStore(config: StoreConfig): Promise<Store> {
  const opts = config.migrationsDir ? { migrationsDir: config.migrationsDir } : {};
  if (config.databaseUrl) return new SqlStore(openPg({ connectionString: config.databaseUrl }), opts);
  if (config.supabaseUrl || config.supabaseKey) {
    if (!config.supabaseUrl || !config.supabaseKey) {
      throw new Error('Supabase needs both SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY');
    }
    return new SupabaseStore({ url: config.supabaseUrl, serviceRoleKey: config.supabaseKey });
  }
  return new SqlStore(await openPglite(pgliteDir(config.dataDir ?? DEFAULT_DATA_DIR)), opts);
}

export async function openStore(config: StoreConfig): Promise<Store> {
  const store = await createStore(config);
  try {
    await store.migrate();
  } catch (err) {
    await store.close().catch(() => undefined);
    throw err;
  }
  log.info({ store: store.kind }, 'store ready');
  return store;
}
