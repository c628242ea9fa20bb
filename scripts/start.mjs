// `npm start`: runs the compiled relay (dist/), compiling first only when a source changed since the
// last successful build, so a start with a current build takes no type-check (it took ~19 s on a
// fresh clone every time). Plain JavaScript so it runs on Node alone, before anything is compiled.
//
//   node scripts/start.mjs           build if needed, then start dist/src/main.js
//   node scripts/start.mjs --check   exit 0 when the build is current, 1 when it would build

import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = process.cwd();
// What the build reads: a change to any of these makes dist/ stale.
const INPUTS = ['src', 'machines', 'tsconfig.json', 'tsconfig.build.json', 'package.json', 'package-lock.json'];
// Written after a build that succeeded; its time is the build's.
const STAMP = join(root, 'dist', '.build-stamp');
const MAIN = join(root, 'dist', 'src', 'main.js');

/** Newest modification time under `path` (ms). */
function newest(path) {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let latest = st.mtimeMs;
  for (const name of readdirSync(path)) latest = Math.max(latest, newest(join(path, name)));
  return latest;
}

function buildIsCurrent() {
  if (!existsSync(STAMP) || !existsSync(MAIN)) return false;
  const built = statSync(STAMP).mtimeMs;
  return INPUTS.map((p) => join(root, p))
    .filter((p) => existsSync(p))
    .every((p) => newest(p) <= built);
}

if (process.argv.includes('--check')) {
  const current = buildIsCurrent();
  process.stdout.write(current ? 'build is current\n' : 'build is stale\n');
  process.exit(current ? 0 : 1);
}

if (!buildIsCurrent()) {
  process.stderr.write('callrelay: sources changed since the last build: compiling (npm run build)…\n');
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
  writeFileSync(STAMP, `${new Date().toISOString()}\n`);
}
await import(pathToFileURL(resolve(MAIN)).href);
