// A minimal realtime-API client for the fake model server tests: collects every server event and lets
// a test await them in order (each event satisfies one wait, like the fake's own waitFor).
import WebSocket from 'ws';

export type Ev = { type: string } & Record<string, unknown>;

function isEv(v: unknown): v is Ev {
  return typeof v === 'object' && v !== null && typeof (v as { type?: unknown }).type === 'string';
}

/** Reads a dotted path ("response.output.0.type") out of an event. */
export function at(v: unknown, path: string): unknown {
  let cur: unknown = v;
  for (const key of path.split('.')) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

export function str(v: unknown, path: string): string {
  const x = at(v, path);
  if (typeof x !== 'string') throw new Error(`${path} is not a string: ${JSON.stringify(x)}`);
  return x;
}

export function num(v: unknown, path: string): number {
  const x = at(v, path);
  if (typeof x !== 'number') throw new Error(`${path} is not a number: ${JSON.stringify(x)}`);
  return x;
}

export class TestClient {
  readonly events: Ev[] = [];
  readonly raw: string[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private readonly consumed = new WeakSet<Ev>();
  private waiters: { test: (e: Ev) => boolean; resolve: (e: Ev) => void }[] = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const text = data.toString();
      this.raw.push(text);
      const parsed: unknown = JSON.parse(text);
      if (!isEv(parsed)) return;
      this.events.push(parsed);
      const w = this.waiters.find((x) => x.test(parsed));
      if (w) {
        this.consumed.add(parsed);
        this.waiters = this.waiters.filter((x) => x !== w);
        w.resolve(parsed);
      }
    });
    this.closed = new Promise((resolve) =>
      ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
  }

  static connect(
    url: string,
    opts: { headers?: Record<string, string>; protocols?: string[] } = {},
  ): Promise<TestClient> {
    const ws = new WebSocket(url, opts.protocols ?? [], { headers: opts.headers ?? {} });
    const client = new TestClient(ws);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(client));
      ws.once('error', reject);
    });
  }

  /** Opens and resolves with the HTTP status of a refused upgrade (throws if it opened). */
  static refusedStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
    const ws = new WebSocket(url, { headers });
    return new Promise((resolve, reject) => {
      ws.once('unexpected-response', (_req, res) => {
        resolve(res.statusCode ?? 0);
        ws.terminate();
      });
      ws.once('open', () => {
        ws.close();
        reject(new Error('upgrade was accepted'));
      });
      ws.once('error', () => undefined);
    });
  }

  send(ev: object | string): void {
    this.ws.send(typeof ev === 'string' ? ev : JSON.stringify(ev));
  }

  /** The next not-yet-awaited event of `type` (already received ones count). */
  next(type: string, predicate: (e: Ev) => boolean = () => true, timeoutMs = 3000): Promise<Ev> {
    const test = (e: Ev): boolean => e.type === type && !this.consumed.has(e) && predicate(e);
    const hit = this.events.find(test);
    if (hit) {
      this.consumed.add(hit);
      return Promise.resolve(hit);
    }
    return new Promise((resolve, reject) => {
      const w = {
        test,
        resolve: (e: Ev) => {
          clearTimeout(timer);
          resolve(e);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(new Error(`timed out waiting for ${type}; got: ${this.types().slice(-15).join(', ')}`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  types(): string[] {
    return this.events.map((e) => e.type);
  }

  /** Event types from `response.created` of `responseId` to its `response.done`; each delta type listed once. */
  responseSequence(responseId: string): string[] {
    const out: string[] = [];
    for (const e of this.events) {
      const rid = at(e, 'response_id') ?? at(e, 'response.id');
      const inResponse =
        rid === responseId ||
        (e.type.startsWith('conversation.item.') && out.length > 0 && !out.includes('response.done'));
      if (!inResponse || out.includes('response.done')) continue;
      if (e.type.endsWith('.delta') && out.includes(e.type)) continue;
      out.push(e.type);
    }
    return out;
  }

  appendAudio(bytes: Buffer, frameBytes = 160): void {
    for (let i = 0; i < bytes.length; i += frameBytes) {
      this.send({ type: 'input_audio_buffer.append', audio: bytes.subarray(i, i + frameBytes).toString('base64') });
    }
  }

  close(): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.terminate();
  }
}
