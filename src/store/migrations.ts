import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { log } from '../log.js';
import type { SqlDatabase } from './sql.js';

// Versioned SQL migrations from migrations/NNNN_name.sql at the repository root, the one source of
// truth (supabase/migrations/ holds byte-identical copies for the Supabase CLI). Applied in order,
// each in its own transaction, recorded in schema_migrations; a session advisory lock serialises
// instances that start together.

export interface Migration {
  /** "0001" */
  version: string;
  /** "init" */
  name: string;
  file: string;
  sql: string;
  /** sha256 of the file, recorded to notice an edited migration. */
  checksum: string;
}

export const MIGRATION_FILE = /^(\d{4})_([a-z0-9_]+)\.sql$/;

const mlog = log.child({ mod: 'migrations' });

/** The repository's migrations/ folder, found from this module whether run from src/ or dist/src/. */
export function defaultMigrationsDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'migrations'))) return join(dir, 'migrations');
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  throw new Error('migrations/ folder not found next to package.json');
}

export async function loadMigrations(dir = defaultMigrationsDir()): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
  const out: Migration[] = [];
  for (const file of files) {
    const m = MIGRATION_FILE.exec(file);
    if (!m || m[1] === undefined || m[2] === undefined)
      throw new Error(`migration file ${file} is not named NNNN_name.sql`);
    if (out.some((x) => x.version === m[1])) throw new Error(`two migrations share version ${m[1]}`);
    const sql = await readFile(join(dir, file), 'utf8');
    out.push({ version: m[1], name: m[2], file, sql, checksum: createHash('sha256').update(sql).digest('hex') });
  }
  if (out.length === 0) throw new Error(`no migrations in ${dir}`);
  return out;
}

const LOCK = `hashtext('callrelay:schema_migrations')`;

/** Applies what is missing; returns the versions applied by this call (empty when up to date). */
export async function runMigrations(db: SqlDatabase, migrations: readonly Migration[]): Promise<string[]> {
  return db.withSession(async (s) => {
    await s.query(`select pg_advisory_lock(${LOCK})`);
    try {
      await s.exec(`create table if not exists schema_migrations (
        version    text primary key,
        name       text not null,
        checksum   text not null,
        applied_at timestamptz not null default now()
      )`);
      const applied: string[] = [];
      for (const m of migrations) {
        const did = await s.transaction(async (tx) => {
          // Re-checked inside the transaction: on PGlite two migrate() calls share one backend, so
          // the advisory lock does not keep them apart, but the transaction queue does.
          const rows = await tx.query('select checksum from schema_migrations where version = $1', [m.version]);
          const first = rows[0];
          if (first !== undefined) {
            if (typeof first === 'object' && first !== null && 'checksum' in first && first.checksum !== m.checksum) {
              mlog.warn(
                { version: m.version, file: m.file },
                'applied migration file has changed since it was applied; add a new migration instead',
              );
            }
            return false;
          }
          await tx.exec(m.sql);
          await tx.query('insert into schema_migrations (version, name, checksum) values ($1, $2, $3)', [
            m.version,
            m.name,
            m.checksum,
          ]);
          return true;
        });
        if (did) {
          applied.push(m.version);
          mlog.info({ version: m.version, name: m.name }, 'migration applied');
        }
      }
      return applied;
    } finally {
      await s.query(`select pg_advisory_unlock(${LOCK})`).catch(() => undefined);
    }
  });
}
