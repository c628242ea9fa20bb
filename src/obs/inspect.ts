import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import type { AnyEventObject, InspectionEvent, Observer } from 'xstate';
import { ConfigError, readEnv, type EnvSource } from '../config.js';
import { log, maskPhone } from '../log.js';

// Opt-in live inspection of call actors, for development only (INSPECT is refused in production).
//
//   INSPECT=1              Stately inspector protocol over a WebSocket to INSPECT_URL (default
//                          ws://127.0.0.1:8089, loopback only): run `npm run inspect-server` and open
//                          its page; the page hands the events to https://stately.ai/inspect.
//   INSPECT=jsonl:<dir>    offline flight recorder: one <dir>/<callSid>.jsonl per call, no network.
//   INSPECT_CALLS=CA…,CA…  only these calls (default: every call; each inspected event costs ~60 µs).
//
// Everything leaving the process is scrubbed first: phone numbers are masked with maskPhone and free
// text (transcripts, tool arguments and results, SMS bodies) is replaced by its length. The
// @statelyai/inspect module is imported only when INSPECT asks for the WebSocket.

export { DEFAULT_INSPECT_URL } from '../config/env-schema.js';

export type InspectMode = { kind: 'off' } | { kind: 'ws'; url: string } | { kind: 'jsonl'; dir: string };

export interface InspectSettings {
  mode: InspectMode;
  /** CallSids to inspect; null = all. */
  calls: ReadonlySet<string> | null;
}

/** Picks the inspector observer for a call (undefined = not inspected). */
export interface CallInspector {
  (callSid: string): Observer<InspectionEvent> | undefined;
  /** Flushes the flight-recorder files and closes the inspector socket. */
  close(): Promise<void>;
}

/** Reads INSPECT / INSPECT_URL / INSPECT_CALLS; throws ConfigError on anything unsafe or unclear. */
export function parseInspectEnv(env: EnvSource): InspectSettings {
  return readEnv(env, (r): InspectSettings => {
    const inspect = r.get('INSPECT');
    if (inspect.kind === 'off') return { mode: { kind: 'off' }, calls: null };
    if (r.get('NODE_ENV') === 'production') {
      r.problem(
        'INSPECT',
        'is not allowed in production: inspection exposes call state and costs CPU on every event; unset it',
      );
      return { mode: { kind: 'off' }, calls: null };
    }
    const list = r.get('INSPECT_CALLS');
    const calls = list === undefined ? null : new Set(list);
    switch (inspect.kind) {
      case 'jsonl':
        return { mode: { kind: 'jsonl', dir: inspect.dir }, calls };
      case 'ws':
        // INSPECT_URL is read (and checked: loopback only) only when the WebSocket inspector is on.
        return { mode: { kind: 'ws', url: r.get('INSPECT_URL') }, calls };
      default:
        return inspect satisfies never;
    }
  });
}

// ---- scrubbing -----------------------------------------------------------------------------------

/** Keys whose string values are what people said or typed: replaced by their length. */
const TEXT_KEYS = new Set([
  'text',
  'transcript',
  'delta',
  'body',
  'content',
  'arguments',
  'output',
  'instructions',
  'caption',
]);
/** Keys whose string values are phone numbers, whatever their format. */
const PHONE_KEY = /phone|number|^from$|^to$|caller|callee|msisdn/i;
const E164 = /\+\d{7,15}\b/g;
const MAX_DEPTH = 10;

const REDACTED = /^\[redacted: \d+ chars\]$/;

function scrubString(key: string | undefined, s: string): string {
  // Idempotent: @statelyai/inspect serialises events queued before its socket opened a second time.
  if (key !== undefined && TEXT_KEYS.has(key)) return REDACTED.test(s) ? s : `[redacted: ${s.length} chars]`;
  if (key !== undefined && PHONE_KEY.test(key) && /\d{5,}/.test(s.replace(/[\s().-]/g, ''))) return maskPhone(s) ?? '';
  return s.replace(E164, (m) => maskPhone(m) ?? '');
}

function isPlainObject(v: object): boolean {
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function scrubValue(v: unknown, key: string | undefined, depth: number, seen: WeakSet<object>): unknown {
  if (typeof v === 'string') return scrubString(key, v);
  if (typeof v === 'function' || typeof v === 'symbol') return undefined;
  if (v === null || typeof v !== 'object') return v;
  if (depth >= MAX_DEPTH) return '[…]';
  if (seen.has(v)) return '[circular]';
  if (ArrayBuffer.isView(v)) return `[${v.byteLength} bytes]`;
  if (v instanceof Date) return v.toISOString();
  if (v instanceof Error) return { name: v.name, message: scrubString('message', v.message) };
  if (Array.isArray(v) || v instanceof Set) {
    seen.add(v);
    return [...v].map((x: unknown) => scrubValue(x, key, depth + 1, seen));
  }
  // Actor refs, machines, Maps…: their insides are not the inspector's business (and can be huge).
  if (!isPlainObject(v)) {
    const id: unknown = 'id' in v ? v.id : undefined;
    return `[${v.constructor.name}${typeof id === 'string' ? ` ${id}` : ''}]`;
  }
  seen.add(v);
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    const s = scrubValue(x, k, depth + 1, seen);
    if (s !== undefined) out[k] = s;
  }
  return out;
}

/**
 * A copy of `v` safe to show outside the process: phone numbers masked, free text replaced by its
 * length, functions dropped, class instances (actor refs, machines) named instead of expanded.
 */
export function scrubForInspection<T>(v: T): T {
  // Same shape with strings replaced and non-data members removed: readers treat it as T's JSON form.
  return scrubValue(v, undefined, 0, new WeakSet()) as T;
}

/** A machine definition (JSON text of its config) with the same scrubbing applied to its values. */
function scrubDefinition(definition: string | undefined): string | undefined {
  if (definition === undefined) return undefined;
  try {
    return JSON.stringify(scrubForInspection(JSON.parse(definition)));
  } catch {
    return undefined;
  }
}

function scrubEvent(e: AnyEventObject): AnyEventObject {
  const scrubbed = scrubValue(e, undefined, 0, new WeakSet());
  return { ...(typeof scrubbed === 'object' && scrubbed !== null ? scrubbed : {}), type: e.type };
}

// ---- JSONL flight recorder -------------------------------------------------------------------------

function actorId(ref: InspectionEvent['actorRef']): string {
  const id: unknown = 'id' in ref ? ref.id : undefined;
  return typeof id === 'string' ? id : ref.sessionId;
}

/** One line of the flight recorder for an inspection event (already scrubbed). */
export function flightRecord(e: InspectionEvent, t: number): Record<string, unknown> {
  const base = { t: Math.round(t * 10) / 10, type: e.type, actor: actorId(e.actorRef) };
  switch (e.type) {
    case '@xstate.actor':
      return base;
    case '@xstate.event':
      return { ...base, source: e.sourceRef ? e.sourceRef.sessionId : undefined, event: scrubEvent(e.event) };
    case '@xstate.snapshot': {
      const s: Record<string, unknown> = { ...e.snapshot };
      return {
        ...base,
        event: e.event.type,
        snapshot: scrubForInspection({
          status: s.status,
          value: s.value,
          context: s.context,
          output: s.output,
          error: s.error,
        }),
      };
    }
    case '@xstate.microstep':
      return {
        ...base,
        event: e.event.type,
        transitions: e._transitions.map((tr) => ({
          source: tr.source.id,
          target: tr.target?.map((n) => n.id) ?? [],
          event: tr.eventType,
        })),
      };
    case '@xstate.action':
      return { ...base, action: e.action.type, params: scrubForInspection(e.action.params) };
    case '@xstate.transition':
      return { ...base, event: e.event.type };
  }
}

class FlightRecorder {
  private readonly open = new Map<string, WriteStream>();

  constructor(private readonly dir: string) {
    // Created now so a bad directory stops start-up instead of failing call by call.
    mkdirSync(dir, { recursive: true });
  }

  observer(callSid: string): Observer<InspectionEvent> {
    const file = join(this.dir, `${callSid.replace(/[^A-Za-z0-9_-]/g, '_')}.jsonl`);
    const stream = createWriteStream(file, { flags: 'a' });
    let failed = false;
    stream.on('error', (err) => {
      failed = true;
      log.warn({ err: err.message, callSid }, 'inspect: flight recorder cannot write; this call is not recorded');
    });
    const key = `${callSid}#${this.open.size}#${Date.now()}`;
    this.open.set(key, stream);
    const t0 = performance.now();
    return {
      next: (e) => {
        if (failed || stream.writableEnded) return;
        stream.write(`${JSON.stringify(flightRecord(e, performance.now() - t0))}\n`);
        // The root actor reaching a final (or failed/stopped) status ends the call's file.
        if (e.type === '@xstate.snapshot' && e.actorRef.sessionId === e.rootId && e.snapshot.status !== 'active') {
          stream.end();
          this.open.delete(key);
        }
      },
    };
  }

  async close(): Promise<void> {
    const streams = [...this.open.values()];
    this.open.clear();
    await Promise.all(streams.map((s) => new Promise<void>((r) => (s.writableEnded ? r() : s.end(r)))));
  }
}

// ---- entry point -----------------------------------------------------------------------------------

/** Builds the per-call inspector picker once at start-up; `INSPECT` unset → always undefined. */
export async function createCallInspector(env: EnvSource): Promise<CallInspector> {
  const { mode, calls } = parseInspectEnv(env);
  const wanted = (callSid: string): boolean => calls === null || calls.has(callSid);
  if (mode.kind === 'off') {
    return Object.assign((_callSid: string): Observer<InspectionEvent> | undefined => undefined, {
      close: async () => {},
    });
  }
  if (mode.kind === 'jsonl') {
    const recorder = new FlightRecorder(mode.dir);
    log.warn(
      { dir: mode.dir, calls: calls ? [...calls] : 'all' },
      'INSPECT: writing a JSONL flight record of every inspected call',
    );
    return Object.assign((callSid: string) => (wanted(callSid) ? recorder.observer(callSid) : undefined), {
      close: () => recorder.close(),
    });
  }
  const { createWebSocketInspector } = await import('@statelyai/inspect').catch((err: unknown) => {
    throw new ConfigError(
      'INSPECT',
      'needs the @statelyai/inspect package, a dev dependency (npm install without --omit=dev): ' +
        (err instanceof Error ? err.message : String(err)),
    );
  });
  const inspector = createWebSocketInspector({
    url: mode.url,
    // Applied to every message, including the actor registrations and snapshots of child actors
    // (tool calls carry arguments and results in their input/output, not in the context) and the
    // machine definition, whose static context/input would otherwise go out as written.
    serialize: (e) =>
      e.type === '@xstate.actor'
        ? { ...scrubForInspection(e), definition: scrubDefinition(e.definition) }
        : scrubForInspection(e),
  });
  log.warn(
    { url: mode.url, calls: calls ? [...calls] : 'all' },
    'INSPECT: call actors are sent to the Stately inspector relay (development only)',
  );
  return Object.assign((callSid: string) => (wanted(callSid) ? inspector.inspect : undefined), {
    close: async () => inspector.stop(),
  });
}
