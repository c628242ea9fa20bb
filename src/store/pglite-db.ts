import { existsSync } from 'node:fs';
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import { btree_gist } from '@electric-sql/pglite/contrib/btree_gist';
import { initdbInChild } from './pglite-initdb.js';
import type { SqlDatabase, SqlRunner, SqlSession } from './sql.js';

// Embedded Postgres (WASM) in the relay's own process: the zero-setup default. One backend, so
// PGlite queues statements itself and `transaction` holds that queue for the whole transaction.

export const MEMORY = 'memory://';

/**
 * Postgres's default 128 MB of shared buffers live in PGlite's WASM heap, which grows to hold them
 * and never shrinks: measured by bench/idle-rss.ts, they are most of the idle process. The relay's
 * database is a few MB of merchants and call records, so 16 MB holds all of it.
 */
const START_PARAMS = [...PGlite.defaultStartParams, '-c', 'shared_buffers=16MB'];

/**
 * V8 compiles Postgres's WASM (9 MB) with Liftoff, then recompiles its hot functions with TurboFan in
 * the background; that second copy of the code never goes. Liftoff alone keeps the idle process about
 * 70 MB smaller (bench/idle-rss.ts), and the relay's statements measured no slower (an insert and a
 * select by key: 0.19–0.21 ms each either way). Process-wide, for WASM compiled from now on: besides
 * PGlite that is only the HTTP parser of Node's fetch (llhttp), a few requests a call.
 */
const WASM_FLAG = '--liftoff-only';

/** Directories this process has open: a second PGlite on the same files would corrupt them. */
const openHere = new Set<string>();

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return typeof err === 'object' && err !== null && 'code' in err && err.code === 'EPERM';
  }
}

/**
 * PGlite has no lock of its own and two processes on one data directory corrupt it (say, the relay
 * and `npm run merchant`). A pid file next to the directory turns that into a clear error; a lock
 * left by a dead process (or by an earlier life of this pid, as in a restarted container) is taken over.
 */
async function lockDir(dir: string): Promise<() => Promise<void>> {
  const lockFile = `${dir}.lock`;
  if (openHere.has(dir)) throw new Error(`${dir} is already open in this process`);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await open(lockFile, 'wx', 0o600);
      await fh.writeFile(String(process.pid));
      await fh.close();
      openHere.add(dir);
      return async () => {
        openHere.delete(dir);
        await rm(lockFile, { force: true });
      };
    } catch (err) {
      if (!(typeof err === 'object' && err !== null && 'code' in err && err.code === 'EEXIST')) throw err;
      const pid = Number((await readFile(lockFile, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
        throw new Error(
          `the embedded database in ${dir} is in use by process ${pid}; PGlite allows one process at a time ` +
            '(stop it first, or point both at a Postgres server with DATABASE_URL)',
        );
      }
      await rm(lockFile, { force: true });
    }
  }
  throw new Error(`could not lock ${dir}`);
}

/** `dir` is a directory (created if missing) or `memory://` for a throwaway database. */
export async function openPglite(dir: string): Promise<SqlDatabase> {
  let unlock = async (): Promise<void> => undefined;
  if (dir !== MEMORY) {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    unlock = await lockDir(dir);
  }
  try {
    // A fresh directory gets its database from a child process (pglite-initdb.ts), so this thread only ever
    // opens one that exists. btree_gist backs the no-double-booking exclusion constraint.
    setFlagsFromString(WASM_FLAG);
    if (dir !== MEMORY && !existsSync(join(dir, 'PG_VERSION'))) await initdbInChild(dir);
    const db = await PGlite.create(dir, {
      extensions: { btree_gist },
      ...(dir !== MEMORY ? { startParams: START_PARAMS } : {}),
    });
    return new PgliteDatabase(db, unlock);
  } catch (err) {
    await unlock();
    throw err;
  }
}

function runner(q: PGlite | Transaction): SqlRunner {
  return {
    async query(text, params = []) {
      const res = await q.query<unknown>(text, [...params]);
      return res.rows;
    },
    async exec(text) {
      await q.exec(text);
    },
  };
}

class PgliteDatabase implements SqlDatabase {
  readonly kind = 'pglite' as const;
  private readonly r: SqlRunner;

  constructor(
    private readonly db: PGlite,
    private readonly unlock: () => Promise<void>,
  ) {
    this.r = runner(db);
  }

  query(text: string, params?: readonly unknown[]): Promise<unknown[]> {
    return this.r.query(text, params);
  }

  exec(text: string): Promise<void> {
    return this.r.exec(text);
  }

  withSession<T>(fn: (session: SqlSession) => Promise<T>): Promise<T> {
    const session: SqlSession = {
      ...this.r,
      transaction: (body) => this.db.transaction((tx) => body(runner(tx))),
    };
    return fn(session);
  }

  async close(): Promise<void> {
    if (this.db.closed) return;
    await this.db.close();
    await this.unlock();
  }
}
