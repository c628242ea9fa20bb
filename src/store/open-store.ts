import { constants } from 'node:fs';
import { access, mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ConfigError } from '../config/config-error.js';
import { readEnv, type EnvSource } from '../config.js';
import { DEFAULT_DATA_DIR } from '../config/env-schema.js';
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

export { DEFAULT_DATA_DIR } from '../config/env-schema.js';

export function storeConfigFromEnv(env: EnvSource): StoreConfig {
  return readEnv(env, (r) => {
    const cfg: StoreConfig = { dataDir: r.get('DATA_DIR') };
    const databaseUrl = r.get('DATABASE_URL');
    const supabaseUrl = r.get('SUPABASE_URL');
    const supabaseKey = r.get('SUPABASE_SERVICE_ROLE_KEY');
    if (databaseUrl) cfg.databaseUrl = databaseUrl;
    if (supabaseUrl) cfg.supabaseUrl = supabaseUrl;
    if (supabaseKey) cfg.supabaseKey = supabaseKey;
    // Half a Supabase configuration is a mistake, not a reason to fall back to PGlite (DATABASE_URL wins).
    if (!databaseUrl && supabaseUrl && !supabaseKey)
      r.problem('SUPABASE_SERVICE_ROLE_KEY', 'is required with SUPABASE_URL (Supabase needs both)');
    if (!databaseUrl && supabaseKey && !supabaseUrl)
      r.problem('SUPABASE_URL', 'is required with SUPABASE_SERVICE_ROLE_KEY (Supabase needs both)');
    return cfg;
  });
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

/** First line of an error's message; a connection error that has none (an AggregateError) by its code. */
function reasonOf(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as NodeJS.ErrnoException).code;
  const first = err.message.split('\n')[0]?.trim() ?? '';
  return first !== '' ? first : (code ?? err.name);
}

/**
 * The relay's start-up: DATA_DIR is created and checked writable (the outbox lives there whatever the
 * store), then the store is opened. Either failing is a ConfigError naming the variable behind it, so
 * start-up stops with one line instead of a driver's stack trace.
 */
export async function openStoreAtStart(config: StoreConfig): Promise<Store> {
  const dataDir = config.dataDir ?? DEFAULT_DATA_DIR;
  if (dataDir !== MEMORY) {
    try {
      await mkdir(dataDir, { recursive: true });
      await access(dataDir, constants.W_OK);
    } catch (err) {
      throw new ConfigError('DATA_DIR', `${resolve(dataDir)} cannot be written: ${reasonOf(err)}`);
    }
  }
  try {
    return await openStore(config);
  } catch (err) {
    if (config.databaseUrl) throw new ConfigError('DATABASE_URL', `cannot open the database: ${reasonOf(err)}`);
    if (config.supabaseUrl) throw new ConfigError('SUPABASE_URL', `cannot open the database: ${reasonOf(err)}`);
    throw new ConfigError('DATA_DIR', `cannot open the embedded database in ${resolve(dataDir)}: ${reasonOf(err)}`);
  }
}
