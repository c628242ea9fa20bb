// The transport of a SIP call's model session: it outlives the sideband sockets. Events go to every
// sideband attached now (several may be, as several servers may watch one call); what a sideband sends
// goes into the session. Audio deltas never go out: on a SIP call the audio flows between the trunk
// and OpenAI, and the sideband carries everything else (developers.openai.com realtime-sip guide).
// Events sent while no sideband is attached are dropped and counted: OpenAI does not document
// buffering them for a later attach, so a test must not rely on it.
import type { WebSocket } from 'ws';
import type { SessionTransport, TransportHandlers } from '../model/model-transport.js';
import type { ServerPlayback } from './server-playback.js';

// Every audio delta the fake session sends is pre-serialised with its type first (model-response.ts).
const AUDIO_DELTA = '{"type":"response.output_audio.delta"';
const TRANSCRIPT_DONE = '"type":"response.output_audio_transcript.done"';
const SPEECH_STARTED = '"type":"input_audio_buffer.speech_started"';

function transcriptOf(text: string): string | undefined {
  const parsed: unknown = JSON.parse(text);
  if (typeof parsed !== 'object' || parsed === null || !('transcript' in parsed)) return undefined;
  return typeof parsed.transcript === 'string' ? parsed.transcript : undefined;
}

export class SidebandHub implements SessionTransport {
  /** Sideband sockets ever attached. */
  attachedEver = 0;
  /** Events sent while no sideband was attached (dropped). */
  dropped = 0;
  /** What the caller heard: one transcript per assistant audio item, cut short where it was cut short. */
  readonly heard: string[] = [];
  private readonly sockets = new Set<WebSocket>();
  private handlers: TransportHandlers | undefined;
  private ended = false;
  /** OpenAI's own playback to the caller, once the session exists (its output format). */
  playback: ServerPlayback | undefined;

  /** `onChange`: a sideband attached or went away. `onEnd`: the session ended itself (e.g. expiry). */
  constructor(
    private readonly onChange: () => void,
    private readonly onEnd: (code: number, reason: string) => void,
  ) {}

  /** Sideband sockets attached and open now. */
  get attached(): number {
    let n = 0;
    for (const ws of this.sockets) if (ws.readyState === ws.OPEN) n++;
    return n;
  }

  get isOpen(): boolean {
    return !this.ended;
  }

  bind(handlers: TransportHandlers): void {
    this.handlers = handlers;
  }

  /** A sideband socket joins; `greeting` is sent to it alone, first. */
  attach(ws: WebSocket, greeting: readonly string[]): void {
    this.sockets.add(ws);
    this.attachedEver++;
    ws.on('message', (data, isBinary) => this.handlers?.message(data, isBinary));
    ws.on('error', (err) => this.handlers?.error(err));
    ws.once('close', () => {
      this.sockets.delete(ws);
      this.onChange();
    });
    for (const text of greeting) ws.send(text);
    this.onChange();
  }

  send(data: string | Buffer): void {
    if (typeof data === 'string') this.sendText(data);
    else this.forward(data);
  }

  private sendText(text: string): void {
    if (text.startsWith(AUDIO_DELTA)) {
      const delta = JSON.parse(text) as { response_id?: unknown; delta?: unknown };
      if (typeof delta.response_id === 'string' && typeof delta.delta === 'string')
        this.playback?.audio(delta.response_id, delta.delta);
      return;
    }
    // VAD heard the caller: OpenAI cuts its own playback (interrupt_response is on for SIP calls).
    if (text.includes(SPEECH_STARTED)) this.playback?.bargeIn();
    if (text.includes(TRANSCRIPT_DONE)) {
      const t = transcriptOf(text);
      if (t !== undefined) this.heard.push(t);
    }
    this.forward(text);
  }

  private forward(data: string | Buffer): void {
    let sent = false;
    for (const ws of this.sockets) {
      if (ws.readyState !== ws.OPEN) continue;
      ws.send(data);
      sent = true;
    }
    if (!sent) this.dropped++;
  }

  /** A network drop of every attached sideband (no close frame); the session goes on. */
  dropSidebands(): void {
    const dropped = [...this.sockets];
    this.sockets.clear();
    for (const ws of dropped) ws.terminate();
    this.onChange();
  }

  /** The session ends itself (expiry, drop()): the call ends with it. */
  close(code: number, reason: string): void {
    this.onEnd(code, reason);
  }

  terminate(): void {
    this.onEnd(1006, '');
  }

  /** The call is over: sidebands get `code`, the session is closed. Idempotent. */
  end(code: number, reason: string): void {
    if (this.ended) return;
    this.ended = true;
    this.playback?.stop();
    for (const ws of this.sockets) code === 1006 ? ws.terminate() : ws.close(code, reason);
    this.handlers?.closed(code, reason);
  }
}
