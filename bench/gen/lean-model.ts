import * as uWS from '../../src/transports/uws.js';
import { writeStampBase64 } from '../latency-book.js';

// The fake OpenAI Realtime (GA) model for load, on uWebSockets.js: only the events a relay acts on,
// in the order the real API sends them. A response streams one 20 ms audio delta per tick for as
// long as the call lasts; its delta is one buffer made when the response starts (ids fixed per
// response), so a tick only writes the 8 stamp characters into it. Barge-in is server VAD with
// interrupt_response: `speechStarted()` stops the audio at once and says so; the response ends
// (cancelled) when the relay cancels it or, if it never does, when the caller stops talking, and
// `speechStopped()` commits the caller's turn and starts the next response, as create_response does.

const PATH = '/v1/realtime';
/** base64 of a 160-byte silent frame from byte 6 on; the first 8 characters are the stamp. */
const REST = Buffer.alloc(154, 0xff).toString('base64');
const UNSTAMPED = Buffer.from(Buffer.alloc(6, 0xff).toString('base64'), 'latin1');
const AUDIO_KEY = Buffer.from('"audio":"', 'latin1');
const APPEND = Buffer.from('{"type":"input_audio_buffer.append"', 'latin1');

export interface ModelHooks {
  /** Downlink: an id for the delta about to leave (0: not stamped). */
  stamp(now: number): number;
  /** Uplink: an appended chunk's base64 begins at `bytes[at]`. */
  arrived(bytes: Uint8Array, at: number, now: number): void;
}

interface Response {
  id: string;
  item: string;
  /** The delta message, sent as is every tick after its stamp is written at `stampAt`. */
  delta: Buffer;
  stampAt: number;
  /** Audio flows (false from a barge-in until the response ends). */
  audio: boolean;
}

export class LeanSession {
  open = true;
  response: Response | null = null;
  private n = 0;
  private userItem = '';

  constructor(
    private readonly ws: uWS.WebSocket<{ session: LeanSession | null }>,
    private readonly tag: string,
    private readonly model: LeanModel,
  ) {
    this.send({ type: 'session.created', event_id: this.id('event'), session: this.sessionObject() });
    this.send({ type: 'conversation.created', event_id: this.id('event'), conversation: { id: this.id('conv') } });
  }

  /** Called when the socket has closed (the rig takes the session off the clock). */
  onClose: () => void = () => {};

  close(): void {
    this.open = false;
    this.onClose();
  }

  /** Streaming audio now: a call that is up. */
  get streaming(): boolean {
    return this.response?.audio === true;
  }

  tick(now: number): void {
    const r = this.response;
    if (!this.open || !r?.audio) return;
    const id = this.model.hooks?.stamp(now) ?? 0;
    if (id === 0) UNSTAMPED.copy(r.delta, r.stampAt);
    else writeStampBase64(id, r.delta, r.stampAt);
    this.ws.send(r.delta, false);
  }

  speechStarted(): void {
    if (!this.open) return;
    if (this.response) this.response.audio = false;
    this.userItem = this.id('item');
    this.send({
      type: 'input_audio_buffer.speech_started',
      event_id: this.id('event'),
      audio_start_ms: 0,
      item_id: this.userItem,
    });
  }

  /** The caller stopped: their turn is committed and answered, with audio or (`tool`) a function call. */
  speechStopped(tool?: string): void {
    if (!this.open) return;
    this.endResponse('cancelled', 'turn_detected');
    const item = this.userItem || this.id('item');
    this.send({
      type: 'input_audio_buffer.speech_stopped',
      event_id: this.id('event'),
      audio_end_ms: 0,
      item_id: item,
    });
    this.send({
      type: 'input_audio_buffer.committed',
      event_id: this.id('event'),
      previous_item_id: null,
      item_id: item,
    });
    if (tool) this.askTool(tool);
    else this.startResponse();
  }

  /** A response that only calls `name`: the relay runs it, sends its output and asks for the answer. */
  private askTool(name: string): void {
    const id = this.id('resp');
    const call = { id: this.id('item'), type: 'function_call', call_id: this.id('call'), name, arguments: '{}' };
    const at = { event_id: this.id('event'), response_id: id, output_index: 0 };
    const created = { id, status: 'in_progress', output: [] };
    this.send({ type: 'response.created', event_id: this.id('event'), response: created });
    this.send({ type: 'response.output_item.added', ...at, item: { ...call, status: 'in_progress', arguments: '' } });
    const args = { item_id: call.id, call_id: call.call_id, name, arguments: '{}' };
    this.send({ type: 'response.function_call_arguments.done', ...at, ...args });
    const done = { ...call, status: 'completed' };
    this.send({ type: 'response.output_item.done', ...at, item: done });
    const response = { id, status: 'completed', status_details: null, output: [done], usage: null };
    this.send({ type: 'response.done', event_id: this.id('event'), response });
  }

  onMessage(buf: Buffer, now: number): void {
    if (buf.length > APPEND.length && buf.compare(APPEND, 0, APPEND.length, 0, APPEND.length) === 0) {
      const at = buf.indexOf(AUDIO_KEY, APPEND.length);
      if (at > 0) this.model.hooks?.arrived(buf, at + AUDIO_KEY.length, now);
      return;
    }
    let ev: { type?: unknown; item_id?: unknown; audio_end_ms?: unknown };
    try {
      ev = JSON.parse(buf.toString('utf8')) as typeof ev;
    } catch {
      return;
    }
    switch (ev.type) {
      case 'input_audio_buffer.append': // another field order: not measured, still accepted
        return;
      case 'session.update':
        this.send({ type: 'session.updated', event_id: this.id('event'), session: this.sessionObject() });
        return;
      case 'response.create':
        if (this.response) this.error('conversation_already_has_active_response', 'A response is in progress.');
        else this.startResponse();
        return;
      case 'response.cancel':
        if (this.response) this.endResponse('cancelled', 'client_cancelled');
        else this.error('response_cancel_not_active', 'Cancellation failed: no active response found.');
        return;
      case 'conversation.item.truncate':
        this.send({
          type: 'conversation.item.truncated',
          event_id: this.id('event'),
          item_id: ev.item_id,
          content_index: 0,
          audio_end_ms: ev.audio_end_ms,
        });
        return;
      default:
        return;
    }
  }

  private startResponse(): void {
    const id = this.id('resp');
    const item = this.id('item');
    const head =
      `{"type":"response.output_audio.delta","event_id":"${this.id('event')}","response_id":"${id}",` +
      `"item_id":"${item}","output_index":0,"content_index":0,"delta":"`;
    const delta = Buffer.from(`${head}${'/'.repeat(8)}${REST}"}`, 'latin1');
    this.send({
      type: 'response.created',
      event_id: this.id('event'),
      response: { id, status: 'in_progress', output: [] },
    });
    const message = { id: item, type: 'message', status: 'in_progress', role: 'assistant', content: [] };
    this.send({
      type: 'response.output_item.added',
      event_id: this.id('event'),
      response_id: id,
      output_index: 0,
      item: message,
    });
    this.response = { id, item, delta, stampAt: head.length, audio: true };
  }

  private endResponse(status: 'completed' | 'cancelled', reason: string): void {
    const r = this.response;
    if (!r) return;
    this.response = null;
    const at = { event_id: this.id('event'), response_id: r.id, item_id: r.item, output_index: 0, content_index: 0 };
    this.send({ type: 'response.output_audio.done', ...at });
    this.send({ type: 'response.output_audio_transcript.done', ...at, transcript: 'Hello! How can I help?' });
    const item = { id: r.item, type: 'message', status: 'incomplete', role: 'assistant', content: [] };
    this.send({
      type: 'response.output_item.done',
      event_id: this.id('event'),
      response_id: r.id,
      output_index: 0,
      item,
    });
    const response = { id: r.id, status, status_details: { type: status, reason }, output: [item], usage: null };
    this.send({ type: 'response.done', event_id: this.id('event'), response });
  }

  private error(code: string, message: string): void {
    const error = { type: 'invalid_request_error', code, message, param: null, event_id: null };
    this.send({ type: 'error', event_id: this.id('event'), error });
  }

  private sessionObject(): object {
    return { type: 'realtime', object: 'realtime.session', id: `sess_${this.tag}`, model: 'gpt-realtime' };
  }

  private id(prefix: string): string {
    return `${prefix}_${this.tag}_${(++this.n).toString(36)}`;
  }

  private send(ev: object): void {
    if (this.open) this.ws.send(JSON.stringify(ev), false);
  }
}

export class LeanModel {
  readonly sessions: LeanSession[] = [];
  hooks: ModelHooks | null = null;
  private listen: uWS.us_listen_socket | null = null;

  private constructor(
    private readonly app: uWS.TemplatedApp,
    readonly port: number,
  ) {}

  get url(): string {
    return `ws://127.0.0.1:${this.port}${PATH}`;
  }

  /** `onSession`: each session as it opens (the rig puts it on the frame clock). */
  static async start(now: () => number, onSession: (s: LeanSession) => void): Promise<LeanModel> {
    const app = uWS.App();
    const holder: { model: LeanModel | null } = { model: null };
    let count = 0;
    app.ws<{ session: LeanSession | null }>(PATH, {
      compression: uWS.DISABLED,
      maxPayloadLength: 1024 * 1024,
      maxBackpressure: 4 * 1024 * 1024,
      idleTimeout: 0,
      upgrade: (res, req, context) =>
        res.upgrade(
          { session: null },
          req.getHeader('sec-websocket-key'),
          req.getHeader('sec-websocket-protocol'),
          req.getHeader('sec-websocket-extensions'),
          context,
        ),
      open: (ws) => {
        const m = holder.model;
        if (!m) return void ws.end(1013, 'not ready');
        const s = new LeanSession(ws, (++count).toString(36), m);
        ws.getUserData().session = s;
        m.sessions.push(s);
        onSession(s);
      },
      message: (ws, message) => ws.getUserData().session?.onMessage(Buffer.from(message), now()),
      close: (ws) => {
        const s = ws.getUserData().session;
        if (s) s.close();
      },
    });
    const listen = await new Promise<uWS.us_listen_socket>((resolve, reject) =>
      app.listen('127.0.0.1', 0, (ls) => (ls ? resolve(ls) : reject(new Error('lean model: listen failed')))),
    );
    const model = new LeanModel(app, uWS.us_socket_local_port(listen));
    model.listen = listen;
    holder.model = model;
    return model;
  }

  /** Sessions up and streaming. */
  get streaming(): number {
    let n = 0;
    for (const s of this.sessions) if (s.open && s.streaming) n++;
    return n;
  }

  close(): void {
    if (this.listen) uWS.us_listen_socket_close(this.listen);
    this.listen = null;
    this.app.close();
  }
}
