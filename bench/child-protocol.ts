import { createHmac, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';

// The line protocol between the load generator and a relay child (the real relay or the `ws`
// pass-through). Children print one JSON line per message on stdout with a `bench` key, so the
// generator can tell them from the relay's own pino lines; the generator writes commands on stdin.

/** process.memoryUsage() of the child, in KiB. */
export interface MemoryKiB {
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

export type ChildMessage =
  | { bench: 'ready'; port: number; pid: number }
  /** bargeInMs: per barge-in, ms from speech_started arriving to the Twilio `clear` leaving (callrelay only). */
  /** toolMs: per tool round trip, the relay's own ms around the tool (callrelay only; absent from older ones). */
  | { bench: 'report'; bargeInMs: number[]; toolMs: number[]; calls: number; memory: MemoryKiB }
  /** A CPU profile of the measuring window was written to `path` ('' if profiling failed). */
  | { bench: 'profiled'; path: string };

export function memoryKiB(): MemoryKiB {
  const m = process.memoryUsage();
  const k = (n: number): number => Math.round(n / 1024);
  return {
    rss: k(m.rss),
    heapTotal: k(m.heapTotal),
    heapUsed: k(m.heapUsed),
    external: k(m.external),
    arrayBuffers: k(m.arrayBuffers),
  };
}

/** report with gc: a full garbage collection first (children run with --expose-gc), so heapUsed is what is retained. */
export type ChildCommand =
  | { cmd: 'report'; gc: boolean }
  | { cmd: 'profile-start' }
  | { cmd: 'profile-stop'; path: string };

/** The tool the relay child offers, and how long it works (the tool round-trip phase subtracts it). */
export const BENCH_TOOL = 'benchTool';
export const BENCH_TOOL_MS = 5;

/** The URL of the fake model server, handed to a child in its environment. */
export const MODEL_URL_ENV = 'BENCH_MODEL_URL';

/** The relay runs as in production: PUBLIC_HOST set and every stream upgrade signature-checked. */
export const BENCH_PUBLIC_HOST = 'relay.bench';
export const BENCH_TWILIO_TOKEN = randomBytes(16).toString('hex');

/** X-Twilio-Signature of a Media Streams upgrade: HMAC-SHA1 of wss://PUBLIC_HOST<path>, no params. */
export function streamSignature(authToken: string, path = '/media-stream'): string {
  return createHmac('sha1', authToken).update(`wss://${BENCH_PUBLIC_HOST}${path}`).digest('base64');
}

export function encodeMessage(m: ChildMessage): string {
  return `${JSON.stringify(m)}\n`;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** One stdout line → a message, or null for anything else (relay logs). */
export function parseMessage(line: string): ChildMessage | null {
  if (!line.startsWith('{"bench":')) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return null;
  }
  if (!isObj(raw)) return null;
  if (raw.bench === 'ready' && isNum(raw.port) && isNum(raw.pid))
    return { bench: 'ready', port: raw.port, pid: raw.pid };
  if (raw.bench === 'profiled' && typeof raw.path === 'string') return { bench: 'profiled', path: raw.path };
  const m = raw.memory;
  if (raw.bench === 'report' && Array.isArray(raw.bargeInMs) && isNum(raw.calls) && isObj(m)) {
    const num = (k: string): number => (isNum(m[k]) ? m[k] : Number.NaN);
    const memory = {
      rss: num('rss'),
      heapTotal: num('heapTotal'),
      heapUsed: num('heapUsed'),
      external: num('external'),
      arrayBuffers: num('arrayBuffers'),
    };
    const toolMs = Array.isArray(raw.toolMs) ? raw.toolMs.filter(isNum) : [];
    return { bench: 'report', bargeInMs: raw.bargeInMs.filter(isNum), toolMs, calls: raw.calls, memory };
  }
  return null;
}

/** Calls `onReport` for each `report` line on stdin, and serves the gc and profiling commands (children). */
export function onCommands(onReport: () => void): void {
  let buf = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (chunk: string) => {
    buf += chunk;
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const c = parseCommand(buf.slice(0, i).trim());
      buf = buf.slice(i + 1);
      if (c?.cmd === 'report') {
        if (c.gc) globalThis.gc?.();
        onReport();
      } else if (c?.cmd === 'profile-start') void profiler.start();
      else if (c?.cmd === 'profile-stop') {
        void profiler.stop(c.path).then((path) => process.stdout.write(encodeMessage({ bench: 'profiled', path })));
      }
    }
  });
}

function parseCommand(line: string): ChildCommand | null {
  if (line === 'report' || line === 'report gc') return { cmd: 'report', gc: line === 'report gc' };
  if (line === 'profile-start') return { cmd: line };
  if (line.startsWith('profile-stop ')) return { cmd: 'profile-stop', path: line.slice('profile-stop '.length) };
  return null;
}

/**
 * V8 CPU profile of the measuring window only (not start-up, ramp or teardown), taken through the
 * in-process inspector; the sampler runs on its own thread and the profile is written after the window.
 */
class WindowProfiler {
  private session: Session | null = null;

  async start(): Promise<void> {
    const s = new Session();
    s.connect();
    await s.post('Profiler.enable');
    await s.post('Profiler.start');
    this.session = s;
  }

  async stop(path: string): Promise<string> {
    const s = this.session;
    this.session = null;
    if (!s) return '';
    try {
      const { profile } = await s.post('Profiler.stop');
      writeFileSync(path, JSON.stringify(profile));
      return path;
    } catch {
      return '';
    } finally {
      s.disconnect();
    }
  }
}
const profiler = new WindowProfiler();

/** Exit cleanly on SIGTERM/SIGINT or when the generator goes away (stdin closes), so --cpu-prof is written. */
export function exitWith(close: () => Promise<void>): void {
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    const force = setTimeout(() => process.exit(0), 2000);
    force.unref();
    close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.stdin.on('end', stop);
}
