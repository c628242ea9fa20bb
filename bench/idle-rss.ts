import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { RESULTS_DIR, ROOT, bundleChild } from './relay-child.js';

// Idle memory of the whole relay process (`src/main.ts`, as `npm start` runs it) per store: the
// embedded PGlite default on a fresh data directory (first start: initdb, migrations, seed) and on
// the same directory again (a restart), and a Postgres server through DATABASE_URL. Each start is
// a fresh process; RSS is read from /proc after it says it is listening and has sat idle.
//
//   npx tsx bench/idle-rss.ts [--idle-seconds 5] [--database-url postgres://postgres@127.0.0.1:5432/test]
//                             [--node-flags "--flag …"] [--only pglite]

const args = process.argv.slice(2);
const arg = (name: string, dflt: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? (args[i + 1] as string) : dflt;
};
const IDLE_MS = Math.min(60, Math.max(1, Number(arg('idle-seconds', '5')))) * 1000;
const DATABASE_URL = arg('database-url', 'postgres://postgres@127.0.0.1:5432/test');
const START_TIMEOUT_MS = 60_000;
/** Extra node flags for the relay processes, to try a V8 setting without changing the code. */
const NODE_FLAGS = arg('node-flags', '')
  .split(' ')
  .filter((a) => a !== '');
const ONLY_PGLITE = arg('only', '') === 'pglite';

interface Row {
  store: string;
  readyMs: number;
  idleKiB: number;
  peakKiB: number;
  error?: string;
}

function status(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : Number.NaN;
}

async function measure(file: string, store: string, env: Record<string, string>): Promise<Row> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [...NODE_FLAGS, file], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PORT: '0', HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const lines: string[] = [];
  try {
    const ready = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), START_TIMEOUT_MS);
      const read = (line: string): void => {
        if (lines.length < 20) lines.push(line);
        if (line.includes('callrelay listening')) {
          clearTimeout(timer);
          resolve(true);
        }
      };
      createInterface({ input: child.stdout }).on('line', read);
      createInterface({ input: child.stderr }).on('line', read);
      void exited.then(() => resolve(false));
    });
    const readyMs = performance.now() - t0;
    if (!ready || child.pid === undefined) {
      return { store, readyMs, idleKiB: Number.NaN, peakKiB: Number.NaN, error: lines.slice(-3).join(' | ') };
    }
    await new Promise((r) => setTimeout(r, IDLE_MS));
    return { store, readyMs, idleKiB: status(child.pid, 'VmRSS'), peakKiB: status(child.pid, 'VmHWM') };
  } finally {
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(killer);
  }
}

const file = bundleChild(join(ROOT, 'src', 'main.ts'), join(RESULTS_DIR, 'build', 'main.mjs'), ROOT);
if (typeof file !== 'string') throw new Error(`could not bundle src/main.ts: ${file.failed}`);
const dataDir = mkdtempSync(join(tmpdir(), 'callrelay-idle-'));
const base = { LOG_LEVEL: 'info' };
const rows: Row[] = [];
try {
  rows.push(await measure(file, 'PGlite, fresh data directory', { ...base, DATA_DIR: dataDir }));
  rows.push(await measure(file, 'PGlite, same directory again', { ...base, DATA_DIR: dataDir }));
  if (!ONLY_PGLITE) {
    const pg = { ...base, DATA_DIR: join(dataDir, 'pg'), DATABASE_URL };
    rows.push(await measure(file, 'Postgres (DATABASE_URL)', pg));
  }
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
const mb = (kib: number): string => (Number.isFinite(kib) ? (kib / 1024).toFixed(0) : '—');
const pg = rows[2]?.idleKiB ?? Number.NaN;
process.stdout.write(
  `\n### Idle RSS of the relay process (${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}, ` +
    `${IDLE_MS / 1000} s idle after listening${NODE_FLAGS.length > 0 ? `, node ${NODE_FLAGS.join(' ')}` : ''})\n\n` +
    '| store | ready after (s) | idle RSS (MB) | peak RSS (MB) | idle ÷ Postgres |\n|---|--:|--:|--:|--:|\n' +
    rows
      .map(
        (r) =>
          `| ${r.store} | ${(r.readyMs / 1000).toFixed(1)} | ${mb(r.idleKiB)} | ${mb(r.peakKiB)} | ` +
          `${Number.isFinite(r.idleKiB / pg) ? (r.idleKiB / pg).toFixed(2) : '—'}× |` +
          (r.error ? ` failed: ${r.error.slice(0, 200)}` : ''),
      )
      .join('\n') +
    '\n',
);
