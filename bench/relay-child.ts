import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { BENCH_TWILIO_TOKEN, MODEL_URL_ENV, parseMessage, type ChildMessage } from './child-protocol.js';

// Starting and stopping the relay under test as a separate process pinned to its own core. The
// children are bundled once to plain JS (esbuild, which tsx already ships) so the measured process
// runs compiled code with no loader in it; `--tsx` runs them through the tsx loader instead.

/** baseline: the real relay as it was at an older revision (`--baseline <rev>`, see baseline.ts). */
/** uwsfloor: uws-floor-relay.ts, the no-logic relay on callrelay's own transport. */
export type RelayKind = 'callrelay' | 'passthrough' | 'uwsfloor' | 'baseline';
export type ReportMessage = Extract<ChildMessage, { bench: 'report' }>;
type Reply = Exclude<ChildMessage, { bench: 'ready' }>;

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
export const ROOT = dirname(BENCH_DIR);
export const RESULTS_DIR = join(BENCH_DIR, 'results');
const SOURCES = {
  callrelay: 'relay-process.ts',
  passthrough: 'passthrough-relay.ts',
  uwsfloor: 'uws-floor-relay.ts',
} as const;
const ESBUILD = join(ROOT, 'node_modules', '.bin', 'esbuild');

// Every child ever started, so none outlives the generator (crash, Ctrl-C, thrown error).
const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

/** How to start one kind of relay child. */
export interface ChildEntry {
  /** Its name in reports: callrelay, passthrough, callrelay@<short-rev>. */
  label: string;
  file: string;
  /** Extra node arguments needed to run it (the tsx loader). */
  nodeArgs: string[];
  /** Its working directory: the checkout whose node_modules its packages (and tsx) resolve from. */
  cwd: string;
}

export interface Entries {
  children: Record<'callrelay' | 'passthrough' | 'uwsfloor', ChildEntry> & { baseline?: ChildEntry };
  /** Compiled bundles (false: run through the tsx loader). */
  compiled: boolean;
  how: string;
}

export function entryFor(entries: Entries, kind: RelayKind): ChildEntry {
  const e = entries.children[kind];
  if (!e) throw new Error(`no ${kind} relay was prepared (--baseline not given?)`);
  return e;
}

/**
 * esbuild with the harness's own settings: packages stay external (resolved from the node_modules
 * next to `out`, as in production), our code is bundled. Returns the output path or why it failed.
 */
export function bundleChild(src: string, out: string, cwd: string): string | { failed: string } {
  if (!existsSync(ESBUILD)) return { failed: 'esbuild not found' };
  mkdirSync(dirname(out), { recursive: true });
  const r = spawnSync(
    ESBUILD,
    [
      src,
      '--bundle',
      '--platform=node',
      '--format=esm',
      '--target=node20',
      '--packages=external',
      '--log-level=warning',
      `--outfile=${out}`,
    ],
    { cwd, encoding: 'utf8', timeout: 120_000 },
  );
  return r.status === 0 ? out : { failed: (r.stderr || r.error?.message || '').trim().slice(0, 200) };
}

/** Bundles both children to bench/results/build/*.mjs; falls back to the tsx loader if that fails. */
export function prepareEntries(useTsx: boolean): Entries {
  const entry = (kind: keyof typeof SOURCES, file: string, nodeArgs: string[]): ChildEntry => ({
    label: kind,
    file,
    nodeArgs,
    cwd: ROOT,
  });
  const tsx = (how: string): Entries => ({
    children: {
      callrelay: entry('callrelay', join(BENCH_DIR, SOURCES.callrelay), ['--import', 'tsx']),
      passthrough: entry('passthrough', join(BENCH_DIR, SOURCES.passthrough), ['--import', 'tsx']),
      uwsfloor: entry('uwsfloor', join(BENCH_DIR, SOURCES.uwsfloor), ['--import', 'tsx']),
    },
    compiled: false,
    how,
  });
  if (useTsx) return tsx('tsx loader (--tsx)');
  if (!existsSync(ESBUILD)) return tsx('tsx loader (esbuild not found)');
  const outDir = join(RESULTS_DIR, 'build');
  const bundle = (kind: keyof typeof SOURCES): string | { failed: string } =>
    bundleChild(join(BENCH_DIR, SOURCES[kind]), join(outDir, `${kind}.mjs`), ROOT);
  const callrelay = bundle('callrelay');
  const passthrough = bundle('passthrough');
  const uwsfloor = bundle('uwsfloor');
  if (typeof callrelay !== 'string') return tsx(`tsx loader (esbuild failed: ${callrelay.failed})`);
  if (typeof passthrough !== 'string') return tsx(`tsx loader (esbuild failed: ${passthrough.failed})`);
  if (typeof uwsfloor !== 'string') return tsx(`tsx loader (esbuild failed: ${uwsfloor.failed})`);
  return {
    children: {
      callrelay: entry('callrelay', callrelay, []),
      passthrough: entry('passthrough', passthrough, []),
      uwsfloor: entry('uwsfloor', uwsfloor, []),
    },
    compiled: true,
    how: 'compiled bundle (esbuild, packages external)',
  };
}

export interface ChildOptions {
  kind: RelayKind;
  entries: Entries;
  modelUrl: string;
  /** Core to pin to with taskset; null = not pinned. */
  core: number | null;
  startTimeoutMs?: number;
}

export class RelayChild {
  private waiter: { want: Reply['bench']; resolve: (m: Reply) => void } | null = null;
  private logLines = 0;

  private constructor(
    readonly kind: RelayKind,
    readonly label: string,
    private readonly proc: ChildProcess,
    readonly pid: number,
    readonly port: number,
    readonly exited: Promise<void>,
  ) {}

  static spawn(o: ChildOptions): Promise<RelayChild> {
    // --expose-gc only adds global.gc(), called between measurements for the retained-heap figure.
    // BENCH_RELAY_NODE_OPTIONS adds node flags for a diagnosis (e.g. --trace-gc).
    const extra = (process.env.BENCH_RELAY_NODE_OPTIONS ?? '').split(' ').filter((a) => a !== '');
    const entry = entryFor(o.entries, o.kind);
    const node = [process.execPath, '--expose-gc', ...extra, ...entry.nodeArgs, entry.file];
    const [cmd, ...args] = o.core === null ? node : ['taskset', '-c', String(o.core), ...node];
    const proc = spawn(cmd ?? process.execPath, args, {
      cwd: entry.cwd,
      env: {
        ...process.env,
        [MODEL_URL_ENV]: o.modelUrl,
        TWILIO_AUTH_TOKEN: BENCH_TWILIO_TOKEN,
        LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
        NODE_ENV: 'production',
      },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    live.add(proc);
    const exited = new Promise<void>((resolve) =>
      proc.once('exit', () => {
        live.delete(proc);
        resolve();
      }),
    );
    return new Promise((resolve, reject) => {
      let child: RelayChild | null = null;
      const timer = setTimeout(() => {
        proc.kill('SIGKILL');
        reject(new Error(`${entry.label}: no ready line within ${o.startTimeoutMs ?? 15_000} ms`));
      }, o.startTimeoutMs ?? 15_000);
      void exited.then(() => {
        clearTimeout(timer);
        if (!child)
          reject(
            new Error(`${entry.label}: exited before it was ready (code ${proc.exitCode ?? proc.signalCode ?? '?'})`),
          );
      });
      if (!proc.stdout) throw new Error('child has no stdout pipe');
      const lines = createInterface({ input: proc.stdout });
      lines.on('line', (line) => {
        const m = parseMessage(line);
        if (m?.bench === 'ready' && !child) {
          clearTimeout(timer);
          child = new RelayChild(o.kind, entry.label, proc, m.pid, m.port, exited);
          resolve(child);
        } else if (m && m.bench !== 'ready') child?.onReply(m);
        else child?.onLog(line);
      });
    });
  }

  /** Asks the child for its report (memory, after a full GC if `gc`; barge-in reaction times inside the relay). */
  async report(gc = false, timeoutMs = 5000): Promise<ReportMessage> {
    const m = await this.ask(gc ? 'report gc' : 'report', 'report', timeoutMs);
    if (m.bench !== 'report') throw new Error('unexpected reply');
    return m;
  }

  /** Starts a CPU profile of the child (the measuring window). */
  profileStart(): void {
    this.proc.stdin?.write('profile-start\n');
  }

  /** Stops the profile and has the child write it to `path`; resolves with the path ('' if none). */
  async profileStop(path: string, timeoutMs = 15_000): Promise<string> {
    const m = await this.ask(`profile-stop ${path}`, 'profiled', timeoutMs);
    return m.bench === 'profiled' ? m.path : '';
  }

  private ask(line: string, want: Reply['bench'], timeoutMs: number): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        reject(new Error(`${this.label}: no ${want} reply within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiter = {
        want,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      };
      this.proc.stdin?.write(`${line}\n`);
    });
  }

  /** SIGTERM (the child closes and exits, writing its profile), SIGKILL after the timeout. */
  async stop(timeoutMs = 5000): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), timeoutMs);
    await this.exited;
    clearTimeout(timer);
  }

  private onReply(m: Reply): void {
    const w = this.waiter;
    if (w?.want !== m.bench) return;
    this.waiter = null;
    w.resolve(m);
  }

  /** The relay's own output (warn and above): shown, but not flooding the terminal unless BENCH_CHILD_LOG=all. */
  private onLog(line: string): void {
    const all = process.env.BENCH_CHILD_LOG === 'all';
    if (++this.logLines <= 10 || all) process.stderr.write(`[${this.label}] ${line}\n`);
    else if (this.logLines === 11) process.stderr.write(`[${this.label}] (further log lines not shown)\n`);
  }
}
