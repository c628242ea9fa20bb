import type { CallSession } from '../call/call-session.js';
import { log, type Logger } from '../log.js';
import { parseTwilioMessage, type TwilioStart } from './messages.js';

// One Twilio Media Streams WebSocket. Parses each frame at the edge; bad input is logged once per
// call (with the call id once known) and dropped, and the call goes on. The call session is created
// on `start`; frames that arrive while it is being set up (merchant lookup) are held, not lost.

/** Frames above this are dropped (Twilio's are ~400 bytes). uWS closes at the transport limit. */
export const MAX_FRAME_BYTES = 64 * 1024;
const MAX_HELD_FRAMES = 500; // 10 s of audio while the call is being set up

export interface StreamSocket {
  send(text: string): void;
  close(code: number, reason: string): void;
  cork?(fn: () => void): void;
}

export type SessionFactory = (start: TwilioStart, socket: StreamSocket) => Promise<CallSession | { refused: string }>;

/** A streamSid as Twilio makes them (MZ + 32 hex) is logged; anything else is the sender's text, so only its length. */
function sidForLog(sid: string): string {
  return /^MZ[0-9a-f]{32}$/i.test(sid) ? sid : `(not a stream sid, ${sid.length} chars)`;
}

export class MediaStreamConnection {
  private phase: 'awaiting-start' | 'starting' | 'live' | 'ended' = 'awaiting-start';
  private session: CallSession | null = null;
  private streamSid = '';
  private held: string[] = [];
  private warned = new Set<string>();
  private log: Logger;
  badMessages = 0;

  constructor(
    private readonly socket: StreamSocket,
    private readonly createSession: SessionFactory,
    remote: string,
    private readonly onBad: () => void = () => {},
  ) {
    this.log = log.child({ remote });
  }

  onMessage(text: string | null, bytes: number, isBinary: boolean): void {
    if (isBinary) return this.bad('binary', 'binary frame from Twilio; dropped (Twilio sends JSON text only)');
    if (bytes > MAX_FRAME_BYTES || text === null)
      return this.bad('oversized', `frame of ${bytes} bytes over the ${MAX_FRAME_BYTES}-byte limit; dropped`);
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
      this.begin(msg);
      return;
    }
    const session = this.session;
    if (!session) return this.bad(`before-start:${msg.event}`, `${msg.event} before start; dropped`);
    if (msg.streamSid !== this.streamSid)
      return this.bad('wrong-stream', `${msg.event} for another streamSid; dropped`, { got: sidForLog(msg.streamSid) });
    switch (msg.event) {
      case 'media':
        if (msg.media.track !== 'inbound' && msg.media.track !== 'inbound_track') return;
        session.onCallerAudio(msg.media.payload);
        return;
      case 'mark':
        session.onMark(msg.mark.name);
        return;
      case 'dtmf':
        session.onDtmf(msg.dtmf.digit);
        return;
      case 'stop':
        this.phase = 'ended';
        session.onStop();
        return;
    }
  }

  private begin(start: TwilioStart): void {
    this.phase = 'starting';
    this.streamSid = start.streamSid;
    this.log = this.log.child({ callSid: start.start.callSid, streamSid: start.streamSid });
    this.createSession(start, this.socket).then(
      (result) => {
        if ('refused' in result) {
          this.log.warn({ reason: result.refused }, 'call refused');
          this.phase = 'ended';
          this.socket.close(1008, result.refused.slice(0, 100));
          return;
        }
        this.session = result;
        if (this.phase === 'ended') {
          // The socket closed while we were setting up.
          result.onTwilioClosed();
          return;
        }
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
    this.log.warn(
      { bufferedBytes },
      'Twilio is not reading (send refused past the backpressure limit); closing the stream',
    );
    this.session?.noteSendRefused();
  }

  onClose(code: number): void {
    const wasLive = this.phase === 'live';
    this.phase = 'ended';
    this.held = [];
    if (this.session && !this.session.isEnded) {
      this.log.info({ code }, wasLive ? 'Twilio socket closed' : 'Twilio socket closed after stop');
      this.session.onTwilioClosed();
    }
  }

  private bad(key: string, msg: string, extra?: Record<string, unknown>): void {
    this.badMessages++;
    this.onBad();
    if (this.session) return this.session.warnOnce(`twilio:${key}`, msg, extra);
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.log.warn(extra ?? {}, msg);
  }
}
