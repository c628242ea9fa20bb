import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';

// initdb for a fresh PGlite directory, run in a short-lived child process. PGlite makes a new
// database with a second Postgres instance next to the one it opens (plus initdb's own WASM module),
// and a WASM heap never shrinks: done in the relay's process, the first start kept all of it (idle
// RSS about 500 MB against 285 MB for every later start). A worker thread does not help: its
// isolate goes, but about 150 MB stays resident in the process after it exits (measured). A child's
// memory all goes back when it exits, and the relay then opens a directory that exists, as on any
// later start.

const CHILD = `
const [dir, pglite] = process.argv.slice(1);
require(pglite)
  .PGlite.create(dir)
  .then((db) => db.close())
  .then(
    () => process.exit(0),
    (err) => {
      process.stderr.write(String((err && err.stack) || err));
      process.exit(1);
    },
  );
`;

/** Makes a new database in `dir` (an empty or missing directory) and returns once it is on disk. */
export function initdbInChild(dir: string, timeoutMs = 120_000): Promise<void> {
  const pglite = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  return new Promise((resolve, reject) => {
    // Liftoff only, as in the relay (pglite-db.ts): the child peaks about 100 MB lower.
    const args = ['--liftoff-only', '-e', CHILD, dir, pglite];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (s: string) => {
      if (stderr.length < 4000) stderr += s;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`PGlite initdb in ${dir} failed (${code ?? signal}): ${stderr.trim().slice(0, 600)}`));
    });
  });
}
