import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { defaultMigrationsDir, loadMigrations, type Migration } from './migrations.js';

// migrations/NNNN_name.sql is the source; supabase/migrations/<timestamp>_name.sql is a byte-identical
// copy where the Supabase CLI looks for it. The timestamp is fixed per version so the copy's name
// never changes once it has been pushed. Run this after adding a migration:
//   npx tsx src/store/supabase-migrations.ts

/** Date prefix + version as the HHMMSS part: 0001 -> 20251122000001. */
export function supabaseMigrationFile(m: Pick<Migration, 'version' | 'name'>): string {
  return `20251122${m.version.padStart(6, '0')}_${m.name}.sql`;
}

export function supabaseMigrationsDir(migrationsDir = defaultMigrationsDir()): string {
  return join(dirname(migrationsDir), 'supabase', 'migrations');
}

/** Writes missing or stale copies into supabase/migrations/; returns the files written. */
export async function syncSupabaseMigrations(migrationsDir = defaultMigrationsDir()): Promise<string[]> {
  const target = supabaseMigrationsDir(migrationsDir);
  await mkdir(target, { recursive: true });
  const wanted = new Map((await loadMigrations(migrationsDir)).map((m) => [supabaseMigrationFile(m), m.sql]));
  const written: string[] = [];
  for (const [file, sql] of wanted) {
    const current = await readFile(join(target, file), 'utf8').catch(() => null);
    if (current === sql) continue;
    await writeFile(join(target, file), sql);
    written.push(file);
  }
  return written;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const written = await syncSupabaseMigrations();
  console.log(written.length ? `wrote ${written.join(', ')}` : 'supabase/migrations is up to date');
}
