import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMigrations } from '../src/store/migrations.js';
import type { SqlStore } from '../src/store/sql-store.js';
import { type Opened, storeVariants } from './support/sql-store-variants.js';
import { callRecord, merchant } from './support/store-fixtures.js';

// The schema in every SQL store: migrations applied once when two instances race, and, where the
// database has Supabase's roles, the anon role kept out of every table and function.

for (const variant of storeVariants()) {
  describe(`store schema on ${variant.name}`, () => {
    let s: Opened;
    let a: SqlStore;

    beforeAll(async () => {
      s = await variant.open();
      a = s.a;
    }, 60_000);

    afterAll(async () => {
      await s?.cleanup();
    });

    it(
      'applies each migration exactly once when two instances migrate at the same time, and again is a ' + 'no-op',
      async () => {
        const files = await loadMigrations();
        const [x, y] = await Promise.all([s.a.applyMigrations(), s.b.applyMigrations()]);
        expect([...x, ...y].sort()).toEqual(files.map((f) => f.version));
        expect(await a.applyMigrations()).toEqual([]);
        await a.migrate();
        const rows = await a.db.query('select version, name from schema_migrations order by version');
        expect(rows).toEqual(files.map((f) => ({ version: f.version, name: f.name })));
      },
    );

    if (variant.supabaseRoles) {
      it('keeps the Supabase anon role out of every table and function, even with table grants', async () => {
        // Rows for anon not to see: a merchant, a call and a customer.
        await a.upsertMerchant(merchant());
        await a.saveCallRecord(callRecord());
        const cust = await a.findOrCreateCustomer('sunny', '+14155550126');
        // Supabase grants anon table privileges by default; only RLS and the revokes stand in the way.
        await a.db.exec(
          'grant usage on schema public to anon; grant select, insert on all tables in schema public to anon;',
        );
        const asAnon = (sql: string, params: unknown[] = []) =>
          a.db.withSession((sess) =>
            sess.transaction(async (tx) => {
              await tx.exec('set local role anon');
              return tx.query(sql, params);
            }),
          );
        expect(
          await asAnon(
            'select (select count(*) from calls)::int as calls, (select count(*) from ' +
              'merchant_profiles)::int as merchants, (select count(*) from customers)::int as customers',
          ),
        ).toEqual([{ calls: 0, merchants: 0, customers: 0 }]);
        await expect(
          asAnon(
            "select * from book_appointment('sunny', $1::uuid, now() + interval '400 days', now() + " +
              "interval '401 days')",
            [cust.id],
          ),
        ).rejects.toThrow(/permission denied for function book_appointment/);
        await expect(asAnon("insert into messages (merchant_id, body) values ('sunny', 'spam')")).rejects.toThrow(
          /row-level security/,
        );
        expect((await a.db.query('select count(*)::int as n from calls'))[0]).toEqual({ n: 1 });
        const [ext] = await a.db.query(
          'select n.nspname from pg_extension e join pg_namespace n on n.oid = e.extnamespace where ' +
            "e.extname = 'btree_gist'",
        );
        expect(ext).toEqual({ nspname: 'extensions' });
      });
    }
  });
}
