import { log, type Logger } from '../../log.js';
import { assertNever } from '../../util/never.js';
import { outbound, parseTwilioMessage, type TwilioStart } from './messages.js';

// One Twilio Media Streams WebSocket, both ways. Inbound, each frame is parsed at the edge into the
// typed union (base64 payloads included); bad input is logged once per kind (with the call's ids
// once known), counted and dropped, and the call goes on. Outbound, it frames media, marks and
// clears, pairs a media frame with its mark in one corked write, and counts sends the transport
// refused. The call is created on `start`; frames that arrive while it is being set up (merchant
// lookup) are held, not lost.

/** Frames above this are dropped (Twilio's are ~400 bytes). uWS closes at the transport limit. */
export const MAX_FRAME_BYTES = 64 * 1024;
const MAX_HELD_FRAMES = 500; // 10 s of audio while the call is being set up

/** The transport under the stream (a uWS socket in production). */
export interface StreamSocket {
  send(text: string): void;
  close(code: number, reason: string): void;
  /** Batches the sends made inside `fn` into one write (uWS cork). */
  cork(fn: () => void): void;
}

/** What the stream tells its call, once the call exists. */
export interface StreamListener {
  /** Hot path: one 20 ms caller frame, base64 mu-law, already checked. */
  media(payload: string): void;
  mark(name: string): void;
  dtmf(digit: string): void;
  stop(): void;
  closed(): void;
}

/** Sets up the call for a `start`; a refusal closes the stream with 1008 and the reason. */
export type StreamStarter = (start: TwilioStart, stream: TwilioStream) => Promise<StreamListener | { refused: string }>;

/** A streamSid as Twilio makes them (MZ + 32 hex) is logged; anything else is the sender's text, so only its length. */
function sidForLog(sid: string): string {
  return /^MZ[0-9a-f]{32}$/i.test(sid) ? sid : `(not a stream sid, ${sid.length} chars)`;
}

export class TwilioStream {
  private phase: 'awaiting-start' | 'starting' | 'live' | 'ended' = 'awaiting-start';
  private listener: StreamListener | null = null;
  private streamSid = '';
  /** `outbound.mediaHead(streamSid)`, made once the streamSid is known. */
  private mediaHead = outbound.mediaHead('');
  private held: string[] = [];
  private warned = new Set<string>();
  private log: Logger;
  private closedByRelay = false;
  /** Inbound frames dropped as bad input. */
  badMessages = 0;
  /** Outbound frames the transport refused (Twilio stopped reading). */
  sendRefused = 0;

  constructor(
    private readonly socket: StreamSocket,
    private readonly starter: StreamStarter,
    remote: string,
    private readonly onBad: () => void = () => {},
  ) {
    this.log = log.child({ remote });
  }

  // ---- Twilio → relay ---------------------------------------------------------------------------

  onMessage(text: string | null, bytes: number, isBinary: boolean): void {
    if (isBinary) return this.bad('binary', 'binary frame from Twilio; dropped (Twilio sends JSON text only)');
    if (bytes > MAX_FRAME_BYTES || text === null) {
      return this.bad('oversized', `frame of ${bytes} bytes over the ${MAX_FRAME_BYTES}-byte limit; dropped`);
    }
    if (this.phase === 'starting') {
      if (this.held.length < MAX_HELD_FRAMES) this.held.push(text);
      else this.bad('held-overflow', 'too many frames while the call was being set up; dropped');
      return;
    }
    this.dispatch(text);
  }

  private dispatch(text: string): void {
    const parsed = parseTwilioMessage(text);
    if (!parsed.ok)
      return this.bad(`parse:${parsed.error.slice(0, 40)}`, `bad Twilio message (${parsed.error}); dropped`);
    const msg = parsed.msg;
    if (msg.event === 'connected') return;
    if (msg.event === 'start') {
      if (this.phase !== 'awaiting-start') return this.bad('second-start', 'second start on one stream; dropped');
      return this.begin(msg);
    }
    const listener = this.listener;
    if (!listener) return this.bad(`before-start:${msg.event}`, `${msg.event} before start; dropped`);
    if (msg.streamSid !== this.streamSid) {
      return this.bad('wrong-stream', `${msg.event} for another streamSid; dropped`, { got: sidForLog(msg.streamSid) });
    }
    switch (msg.event) {
      case 'media':
        if (msg.media.track === 'inbound' || msg.media.track === 'inbound_track') listener.media(msg.media.payload);
        return;
      case 'mark':
        return listener.mark(msg.mark.name);
      case 'dtmf':
        return listener.dtmf(msg.dtmf.digit);
      case 'stop':
        this.phase = 'ended';
        return listener.stop();
      default:
        return assertNever(msg);
    }
  }

  private begin(start: TwilioStart): void {
    this.phase = 'starting';
    this.streamSid = start.streamSid;
    this.mediaHead = outbound.mediaHead(start.streamSid);
    this.log = this.log.child({ callSid: start.start.callSid, streamSid: start.streamSid });
    this.starter(start, this).then(
      (result) => {
        if ('refused' in result) {
          this.log.warn({ reason: result.refused }, 'call refused');
          this.phase = 'ended';
          this.socket.close(1008, result.refused.slice(0, 100));
          return;
        }
        this.listener = result;
        // The socket closed while we were setting up.
        if (this.phase === 'ended') return result.closed();
        this.phase = 'live';
        for (const text of this.held.splice(0)) this.dispatch(text);
      },
      (err: unknown) => {
        this.log.error({ err }, 'could not start call');
        this.phase = 'ended';
        this.socket.close(1011, 'could not start call');
      },
    );
  }

  /** The transport refused a send: Twilio is not reading. The socket is being closed. */
  onSendRefused(bufferedBytes: number): void {
    this.sendRefused++;
    this.log.warn(
      { bufferedBytes },
      'Twilio is not reading (send refused past the backpressure limit); closing the stream',
    );
  }

  onClose(code: number): void {
    const wasLive = this.phase === 'live';
    this.phase = 'ended';
    this.held = [];
    // Closed by the relay: the call has ended already.
    if (!this.listener || this.closedByRelay) return;
    this.log.info({ code }, wasLive ? 'Twilio socket closed' : 'Twilio socket closed after stop');
    this.listener.closed();
  }

  private bad(key: string, msg: string, extra?: Record<string, unknown>): void {
    this.badMessages++;
    this.onBad();
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.log.warn(extra ?? {}, msg);
  }

  // ---- relay → Twilio ---------------------------------------------------------------------------

  /** Hot path: one frame of assistant audio (base64 mu-law, already checked). */
  media(payload: string): void {
    this.socket.send(`${this.mediaHead}${payload}"}}`);
  }

  /**
   * Media and the mark that follows it leave in one write (outside uWS's own callbacks, uncorked
   * sends are one system call each).
   */
  mediaWithMark(payload: string, mark: string): void {
    const media = `${this.mediaHead}${payload}"}}`;
    const markText = outbound.mark(this.streamSid, mark);
    this.socket.cork(() => {
      this.socket.send(media);
      this.socket.send(markText);
    });
  }

  mark(name: string): void {
    this.socket.send(outbound.mark(this.streamSid, name));
  }

  /** Twilio drops everything it has queued for the caller and echoes the pending marks. */
  clear(): void {
    this.socket.send(outbound.clear(this.streamSid));
  }

  close(code: number, reason: string): void {
    this.closedByRelay = true;
    this.socket.close(code, reason);
  }
}
