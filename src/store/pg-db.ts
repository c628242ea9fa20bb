import pg from 'pg';
import { log } from '../log.js';
import type { SqlDatabase, SqlRunner, SqlSession } from './sql.js';

// A Postgres server through a pg Pool. Connection attempts are bounded so an unreachable server
// fails a call record fast (into the outbox) instead of hanging the caller's hang-up path.

export interface PgOptions {
  connectionString: string;
  /** Pool size. Default 10. */
  max?: number;
  /** Default 5000. */
  connectionTimeoutMillis?: number;
}

const plog = log.child({ mod: 'store-pg' });

export function openPg(opts: PgOptions): SqlDatabase {
  const pool = new pg.Pool({
    connectionString: opts.connectionString,
    max: opts.max ?? 10,
    connectionTimeoutMillis: opts.connectionTimeoutMillis ?? 5000,
    idleTimeoutMillis: 30_000,
  });
  // An idle client losing its server (restart, failover) emits here; unhandled, it would crash the process.
  pool.on('error', (err) => plog.warn({ err: { message: err.message } }, 'idle postgres client failed'));
  return new PgDatabase(pool);
}

function clientRunner(c: pg.PoolClient): SqlRunner {
  return {
    async query(text, params = []) {
      const res = await c.query(text, [...params]);
      return res.rows;
    },
    async exec(text) {
      await c.query(text);
    },
  };
}

class PgDatabase implements SqlDatabase {
  readonly kind = 'postgres' as const;

  constructor(private readonly pool: pg.Pool) {}

  async query(text: string, params: readonly unknown[] = []): Promise<unknown[]> {
    const res = await this.pool.query(text, [...params]);
    return res.rows;
  }

  async exec(text: string): Promise<void> {
    await this.pool.query(text);
  }

  async withSession<T>(fn: (session: SqlSession) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken = false;
    const r = clientRunner(client);
    const session: SqlSession = {
      ...r,
      async transaction(body) {
        await client.query('begin');
        try {
          const out = await body(r);
          await client.query('commit');
          return out;
        } catch (err) {
          await client.query('rollback').catch(() => {
            broken = true;
          });
          throw err;
        }
      },
    };
    try {
      return await fn(session);
    } finally {
      // A client whose rollback failed is in an unknown state: destroy it rather than pool it.
      client.release(broken);
    }
  }

  async close(): Promise<void> {
    if (this.pool.ended || this.pool.ending) return;
    await this.pool.end();
  }
}
