import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

// The relay as a real OS process (`tsx src/main.ts`), for tests of signals, drain and restarts.

export interface RelayProcess {
  child: ChildProcess;
  port: number;
  /** The process's DATA_DIR (embedded PGlite + outbox), a fresh temp dir unless given. */
  dataDir: string;
  /** Parsed JSON log lines so far. */
  lines: Array<Record<string, unknown>>;
  exited: Promise<number | null>;
  waitForLog(pred: (l: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  kill(signal?: NodeJS.Signals): void;
}

// First start of an embedded PGlite (init + migrations) can take 10–20 s on a loaded 2-core box.
export async function startRelayProcess(env: Record<string, string>, timeoutMs = 60_000): Promise<RelayProcess> {
  const dataDir = env.DATA_DIR ?? mkdtempSync(join(tmpdir(), 'callrelay-proc-'));
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: new URL('../..', import.meta.url).pathname,
    env: {
      ...process.env,
      VITEST: '',
      PORT: '0',
      HOST: '127.0.0.1',
      METRICS_PORT: '0',
      LOG_LEVEL: 'info',
      DATA_DIR: dataDir,
      REDIS_URL: '',
      DATABASE_URL: '',
      SUPABASE_URL: '',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Array<Record<string, unknown>> = [];
  const watchers: Array<{
    pred: (l: Record<string, unknown>) => boolean;
    resolve: (l: Record<string, unknown>) => void;
  }> = [];
  const stderr: string[] = [];
  child.stderr?.on('data', (d: Buffer) => stderr.push(d.toString()));
  createInterface({ input: child.stdout! }).on('line', (text) => {
    if (!text.startsWith('{')) return;
    try {
      const l = JSON.parse(text) as Record<string, unknown>;
      lines.push(l);
      for (const w of watchers.filter((x) => x.pred(l))) w.resolve(l);
    } catch {
      // not a log line
    }
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const waitForLog = (pred: (l: Record<string, unknown>) => boolean, ms = timeoutMs) => {
    const have = lines.find(pred);
    if (have) return Promise.resolve(have);
    return new Promise<Record<string, unknown>>((resolve, reject) => {
      const t = setTimeout(
        () =>
          reject(new Error(`relay process: no matching log line in ${ms} ms; stderr: ${stderr.join('').slice(-500)}`)),
        ms,
      );
      watchers.push({
        pred,
        resolve: (l) => {
          clearTimeout(t);
          resolve(l);
        },
      });
    });
  };
  const ready = await waitForLog((l) => typeof l.port === 'number' && String(l.msg).startsWith('callrelay listening'));
  return {
    child,
    port: ready.port as number,
    dataDir,
    lines,
    exited,
    waitForLog,
    kill: (s = 'SIGTERM') => child.kill(s),
  };
}
