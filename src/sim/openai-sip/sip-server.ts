// A local imitation of OpenAI's side of a SIP phone call (Realtime API over SIP): a call "reaches the
// trunk" (dial), OpenAI POSTs the signed `realtime.call.incoming` webhook, the application answers
// over REST (accept with the session, reject, refer, hangup) and controls the live session over
// sideband WebSockets (`/v1/realtime?call_id=…`) that carry the session's events but no audio. The
// model is the fake model session (agent or scripted); the caller's audio goes straight into it.
// Sources: developers.openai.com realtime-sip and realtime-server-controls guides, openai-node
// src/resources/realtime/calls.ts and src/resources/webhooks.ts; error answers in sip-errors.ts.
import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { sharedFrameClock, type FrameClock } from '../clock/frame-clock.js';
import type { AgentOptions } from '../model/model-agent.js';
import type { JsonObject } from '../model/model-protocol.js';
import { FakeModelSession } from '../model/model-server.js';
import type { SidebandHub } from './sideband-hub.js';
import { SipCall, type SimSipCall } from './sip-call.js';
import { HttpError, badKey, callNotFound, injected, invalidRequest, invalidUrl, unavailable } from './sip-errors.js';
import { SIP_OPS, parseBody, perform, type SipOp } from './sip-rest.js';
import { incomingCallEvent, newCallId, post, signed, type RawWebhook, type SipHeader } from './sip-webhook.js';

export type { SimSipCall, SimSipCallState } from './sip-call.js';

export interface SimOpenAISipOptions {
  /** Where signed webhooks are POSTed (the relay's POST /openai/webhook). */
  webhookUrl: string;
  /** `whsec_…`, the secret the application verifies with. */
  webhookSecret: string;
  /** The Bearer key REST calls and sideband upgrades must carry; otherwise 401. */
  apiKey: string;
  /** The model session's mode (default agent: VAD turns, greets when asked, answers, calls tools). */
  mode?: 'agent' | 'scripted';
  /**
   * A call neither accepted nor rejected within this is gone ('missed'; later requests get 404).
   * OpenAI does not document it; default 30 s, the usual carrier no-answer timeout.
   */
  ringTimeoutMs?: number;
  /** Passed to the model session, as FakeModelServerOptions of the same names. */
  agent?: AgentOptions;
  realtimeFactor?: number;
  chunkMs?: number;
  vadThresholdDbfs?: number;
  speechStartMs?: number;
  maxSessionMs?: number;
  /** Model when the accept names none (default gpt-realtime). */
  defaultModel?: string;
  /** Run the energy VAD in scripted mode too (agent mode always does). */
  vad?: boolean;
  /** Raw line audio kept per session for tests (default 0: the line carries silence all call long). */
  recordAudioBytes?: number;
  clock?: FrameClock;
  onSession?: (session: FakeModelSession, call: SimSipCall) => void;
}

export interface SimSipRequest {
  op: SipOp;
  callId: string;
  body: unknown;
  status: number;
  /** performance.now() when the request arrived (the bench's webhook-to-accept figure). */
  at: number;
}

const DEFAULT_RING_TIMEOUT_MS = 30_000;
const MAX_BODY_BYTES = 1024 * 1024;
const REALTIME_PATH = '/v1/realtime';
const CALL_PATH = /^\/v1\/realtime\/calls\/([^/]+)\/([a-z]+)$/;

function bearer(req: IncomingMessage): string | undefined {
  const m = /^Bearer\s+(.+)$/i.exec(req.headers.authorization?.trim() ?? '');
  return m?.[1];
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) req.destroy(new Error('body too large'));
      else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function refuseUpgrade(socket: Duplex, e: HttpError): void {
  const text = JSON.stringify(e.body);
  socket.end(
    `HTTP/1.1 ${e.status} ${STATUS_CODES[e.status] ?? ''}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
  );
}

export class SimOpenAISip {
  readonly apiBaseUrl: string;
  readonly realtimeUrl: string;
  /** Every REST call received, in order (the body parsed when it was JSON, else the raw text). */
  readonly requests: SimSipRequest[] = [];
  private readonly calls = new Map<string, SipCall>();
  private failures: { left: number; status: number } = { left: 0, status: 500 };
  private closing = false;

  private constructor(
    port: number,
    private readonly http: Server,
    private readonly wss: WebSocketServer,
    private readonly opts: SimOpenAISipOptions,
  ) {
    this.apiBaseUrl = `http://127.0.0.1:${port}/v1`;
    this.realtimeUrl = `ws://127.0.0.1:${port}${REALTIME_PATH}`;
  }

  static async start(opts: SimOpenAISipOptions): Promise<SimOpenAISip> {
    const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
    let sim: SimOpenAISip | undefined;
    const http = createServer((req, res) => void sim?.onRequest(req, res));
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(0, '127.0.0.1', () => {
        http.off('error', reject);
        resolve();
      });
    });
    const started = new SimOpenAISip((http.address() as AddressInfo).port, http, wss, opts);
    sim = started;
    http.on('upgrade', (req, socket, head) => started.onUpgrade(req, socket, head));
    return started;
  }

  /** A call reaches the trunk: a call_id is made and the signed webhook POSTed; resolves with its answer. */
  async dial(o: { from: string; to: string; headers?: SipHeader[] }): Promise<SimSipCall> {
    const call: SipCall = new SipCall(newCallId(), {
      ringTimeoutMs: this.opts.ringTimeoutMs ?? DEFAULT_RING_TIMEOUT_MS,
      clock: this.opts.clock ?? sharedFrameClock(20),
      makeSession: (hub, session, callerTranscript) => this.makeSession(call, hub, session, callerTranscript),
    });
    this.calls.set(call.callId, call);
    const event = incomingCallEvent(call.callId, o.from, o.to, o.headers);
    call.webhook = signed(this.opts.webhookSecret, JSON.stringify(event));
    call.webhookSentAt = performance.now();
    call.webhookStatus = await post(this.opts.webhookUrl, call.webhook);
    return call;
  }

  /** POSTs an arbitrary webhook (forged signature, stale timestamp, replay); the HTTP status (0: none). */
  deliver(raw: RawWebhook): Promise<number> {
    return post(this.opts.webhookUrl, raw);
  }

  /** The webhook `body` signed afresh (new webhook-id, timestamp `at`): what a retry would send. */
  sign(body: string, at?: Date): RawWebhook {
    return signed(this.opts.webhookSecret, body, at);
  }

  /** A call by id (every dialled call is kept, ended ones too). */
  call(callId: string): SimSipCall | undefined {
    return this.calls.get(callId);
  }

  /** The next n accept requests fail with `status` (default 500) and an OpenAI error body. */
  failAccept(n: number, status = 500): void {
    this.failures = { left: n, status };
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    for (const call of this.calls.values()) call.shutdown();
    for (const ws of this.wss.clients) ws.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  private makeSession(
    call: SipCall,
    hub: SidebandHub,
    session: JsonObject,
    callerTranscript: () => string | undefined,
  ): FakeModelSession {
    const o = this.opts;
    const mode = o.mode ?? 'agent';
    const model = typeof session.model === 'string' ? session.model : (o.defaultModel ?? 'gpt-realtime');
    const s = new FakeModelSession(hub, {
      dialect: 'openai',
      mode,
      model,
      truncateSupported: true,
      pingIntervalMs: 0,
      vad: o.vad ?? false,
      vadThresholdDbfs: o.vadThresholdDbfs ?? -40,
      speechStartMs: o.speechStartMs ?? 60,
      chunkMs: o.chunkMs ?? 100,
      realtimeFactor: o.realtimeFactor ?? 4,
      recordAudioBytes: o.recordAudioBytes ?? 0,
      maxSessionMs: o.maxSessionMs ?? 3_600_000,
      agent: o.agent ?? {},
      clock: o.clock ?? sharedFrameClock(20),
      requestHeaders: {},
      onAudioAppended: undefined,
      beforeSendDelta: undefined,
      initialSession: session,
      callerTranscript,
    });
    o.onSession?.(s, call);
    return s;
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const at = performance.now();
    const answer = (status: number, e?: HttpError): void => {
      if (e) res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(e.body));
      else res.writeHead(status).end();
    };
    let text: string;
    try {
      text = await readBody(req);
    } catch {
      return answer(413, invalidRequest('Request body too large.'));
    }
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const m = CALL_PATH.exec(path);
    const op = SIP_OPS.find((x) => x === m?.[2]);
    const callId = decodeURIComponent(m?.[1] ?? '');
    const record = (status: number): void => {
      if (!op) return;
      let body: unknown = text;
      try {
        body = text.trim() === '' ? undefined : JSON.parse(text);
      } catch {
        // kept as the raw text
      }
      this.requests.push({ op, callId, body, status, at });
    };
    try {
      const key = bearer(req);
      if (key !== this.opts.apiKey) throw badKey(key);
      if (!op || req.method !== 'POST') throw invalidUrl(req.method ?? 'GET', path);
      if (op === 'accept' && this.failures.left > 0) {
        this.failures.left--;
        throw injected(this.failures.status);
      }
      perform(op, this.calls.get(callId), parseBody(text), this.opts.defaultModel ?? 'gpt-realtime');
      record(200);
      answer(200);
    } catch (err) {
      const e = err instanceof HttpError ? err : injected(500);
      record(e.status);
      answer(e.status, e);
    }
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const url = new URL(req.url ?? '/', 'http://x');
    try {
      if (this.closing || url.pathname !== REALTIME_PATH) throw invalidUrl('GET', url.pathname);
      const key = bearer(req);
      if (key !== this.opts.apiKey) throw badKey(key);
      const callId = url.searchParams.get('call_id');
      // Only sidebands are imitated here; a new session by ?model= is the fake model server's job.
      if (!callId)
        throw invalidRequest("Missing required parameter: 'call_id'.", 'missing_required_parameter', 'call_id');
      const call = this.calls.get(callId);
      if (call?.state !== 'accepted') throw callNotFound();
      if (call.refusesUpgrade()) throw unavailable();
      this.wss.handleUpgrade(req, socket, head, (ws) => call.attach(ws));
    } catch (err) {
      refuseUpgrade(socket, err instanceof HttpError ? err : injected(500));
    }
  }
}
