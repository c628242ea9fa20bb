import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultMigrationsDir, loadMigrations, MIGRATION_FILE } from '../src/store/migrations.js';
import { supabaseMigrationFile, supabaseMigrationsDir } from '../src/store/supabase-migrations.js';

// migrations/*.sql is the single source of truth; supabase/migrations/ must be an exact mirror or a
// Supabase deployment would run a different schema than PGlite and the Postgres server.

describe('migration files', () => {
  it('are numbered NNNN_name.sql without gaps, starting at 0001', async () => {
    const files = (await readdir(defaultMigrationsDir())).filter((f) => f.endsWith('.sql')).sort();
    expect(files.length).toBeGreaterThan(0);
    files.forEach((f, i) => {
      expect(f).toMatch(MIGRATION_FILE);
      expect(f.slice(0, 4)).toBe(String(i + 1).padStart(4, '0'));
    });
  });

  it(
    'are mirrored byte for byte in supabase/migrations/, under the Supabase CLI naming, and nothing ' + 'else',
    async () => {
      const migrations = await loadMigrations();
      const dir = supabaseMigrationsDir();
      const present = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
      const expected = migrations.map(supabaseMigrationFile);
      expect(present, 'run: npx tsx src/store/supabase-migrations.ts').toEqual(expected);
      for (const m of migrations) {
        const copy = await readFile(join(dir, supabaseMigrationFile(m)), 'utf8');
        expect(copy === m.sql, `${supabaseMigrationFile(m)} differs from migrations/${m.file}`).toBe(true);
      }
      // The CLI applies files in name order: that must be version order.
      for (const f of present) expect(f).toMatch(/^\d{14}_[a-z0-9_]+\.sql$/);
    },
  );

  it('define what the adapters rely on: the no-double-booking constraint and the RPC functions', async () => {
    const sql = (await loadMigrations()).map((m) => m.sql).join('\n');
    expect(sql).toMatch(
      new RegExp(
        String.raw`exclude using gist \(merchant_id with =, tstzrange\(starts_at, ends_at, '\[\)'\) with &&\)` +
          String.raw`\s+where \(status = 'booked'\)`,
      ),
    );
    for (const fn of ['upsert_merchant', 'find_or_create_customer', 'book_appointment'])
      expect(sql).toContain(`create function ${fn}(`);
  });
});
