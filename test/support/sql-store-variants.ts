import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openPg } from '../../src/store/pg-db.js';
import { MEMORY, openPglite } from '../../src/store/pglite-db.js';
import { SqlStore } from '../../src/store/sql-store.js';

// Every SQL adapter the store-*.test.ts files run against: embedded PGlite always, the Postgres server
// when DATABASE_URL is set (.ci/run sets it). The server variant works in a schema of its own, dropped
// afterwards. The stores come back unmigrated: store-schema.test.ts races the migrations itself.

export interface Opened {
  /** Two stores on the same database (PGlite: the same instance twice; server: two pools). */
  a: SqlStore;
  b: SqlStore;
  cleanup(): Promise<void>;
}

export interface Variant {
  name: string;
  /** The database has Supabase's API roles, so the migration's Supabase branch (RLS, grants) runs. */
  supabaseRoles: boolean;
  open(): Promise<Opened>;
}

// The embedded variant impersonates a Supabase database (its roles and `extensions` schema) so the
// migration's Supabase-only statements run somewhere in every test run; the plain path runs on the
// server variant here and on a fresh on-disk PGlite in merchant-cli.test.ts.
export function storeVariants(): Variant[] {
  const variants: Variant[] = [
    {
      name: 'PGlite (memory, Supabase roles present)',
      supabaseRoles: true,
      async open() {
        const db = await openPglite(MEMORY);
        await db.exec(
          'create role anon; create role authenticated; create role service_role; create schema extensions;',
        );
        const store = new SqlStore(db);
        return { a: store, b: store, cleanup: () => store.close() };
      },
    },
  ];

  const databaseUrl = process.env.DATABASE_URL;
  if (databaseUrl) {
    variants.push({
      name: 'Postgres server',
      supabaseRoles: false,
      async open() {
        const schema = `callrelay_test_${randomBytes(6).toString('hex')}`;
        const admin = new pg.Client({ connectionString: databaseUrl });
        await admin.connect();
        // The extension goes to public once, so dropping a test schema never takes it along.
        await admin.query('create extension if not exists btree_gist with schema public');
        await admin.query(`create schema ${schema}`);
        const url = new URL(databaseUrl);
        url.searchParams.set('options', `-c search_path=${schema},public`);
        const a = new SqlStore(openPg({ connectionString: url.toString(), max: 12 }));
        const b = new SqlStore(openPg({ connectionString: url.toString(), max: 4 }));
        return {
          a,
          b,
          async cleanup() {
            await a.close();
            await b.close();
            await admin.query(`drop schema ${schema} cascade`);
            await admin.end();
          },
        };
      },
    });
  } else {
    console.log(
      'store tests: Postgres-server variant not run: DATABASE_URL is not set (.ci/run sets it to a local server)',
    );
  }
  return variants;
}
