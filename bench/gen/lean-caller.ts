import type { Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { writeStampBase64 } from '../latency-book.js';
import {
  FrameReader,
  OP_CLOSE,
  OP_PING,
  OP_TEXT,
  clientHeaderLength,
  openWebSocket,
  writeClientHeader,
} from './ws-wire.js';

// One simulated Twilio Media Streams call for load: the messages Twilio sends (connected, start,
// a media frame per 20 ms tick, marks echoed back, stop), nothing validated beyond telling media,
// mark and clear apart. The frame is 20 ms of mu-law silence, its base64 encoded once; a stamped
// frame differs in its first 8 base64 characters only (latency-book.ts), written into the outgoing
// buffer. Playback is a clock: each media frame received plays 20 ms after what is queued, a mark is
// echoed on the first tick after the audio before it has played, every pending one at once on a
// `clear` (which empties the queue), as Twilio does.

/** base64 of a 160-byte silent frame from byte 6 on (6 bytes are two whole base64 groups). */
const REST = Buffer.alloc(154, 0xff).toString('base64');
const UNSTAMPED = Buffer.from(Buffer.alloc(6, 0xff).toString('base64'), 'latin1');
const TAIL = Buffer.from(`${REST}"}}`, 'latin1');
const PAYLOAD_KEY = Buffer.from('"payload":"', 'latin1');
const NAME_KEY = Buffer.from('"name":"', 'latin1');
const QUOTE = 0x22;

export interface CallerHooks {
  /** Uplink: an id for the frame about to leave (0: not stamped). */
  stamp(now: number): number;
  /** Downlink: a media payload's base64 begins at `bytes[at]`. */
  arrived(bytes: Uint8Array, at: number, now: number): void;
}

export interface LeanCallerOptions {
  port: number;
  headers: Record<string, string>;
  customParameters: Record<string, string>;
  hooks: () => CallerHooks | null;
  now: () => number;
}

const sid = (prefix: string): string => prefix + randomBytes(16).toString('hex');

export class LeanCaller {
  state: 'open' | 'closed' = 'open';
  closeInfo: { code: number; reason: string } | null = null;
  mediaReceived = 0;
  clears = 0;
  /** Frames from the relay that were neither media, mark nor clear. */
  unknownFrames = 0;
  private readonly streamSid = sid('MZ');
  private readonly callSid = sid('CA');
  private readonly accountSid = sid('AC');
  private readonly mediaHead: string;
  private readonly markHead = '{"event":"mark","mark":{"name":';
  private readonly markTail: string;
  private seq = 0;
  private chunk = 0;
  private marks: { name: string; due: number }[] = [];
  /** When the audio received so far will have played (performance.now ms). */
  private playedAt = 0;

  private constructor(
    private readonly socket: Socket,
    private readonly o: LeanCallerOptions,
  ) {
    this.mediaHead = `{"event":"media","streamSid":"${this.streamSid}","sequenceNumber":"`;
    this.markTail = `,"streamSid":"${this.streamSid}"}`;
  }

  static async connect(o: LeanCallerOptions): Promise<LeanCaller> {
    const headers = { 'User-Agent': 'TwilioProxy/1.1', ...o.headers };
    const { socket, setReader } = await openWebSocket({ port: o.port, path: '/media-stream', headers });
    const c = new LeanCaller(socket, o);
    const reader = new FrameReader((op, data, start, end) => c.onFrame(op, data, start, end));
    setReader((chunk) => reader.push(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      c.state = 'closed';
      c.closeInfo ??= { code: 1006, reason: '' };
    });
    c.send('{"event":"connected","protocol":"Call","version":"1.0.0"}');
    const start = {
      event: 'start',
      sequenceNumber: String(++c.seq),
      start: {
        accountSid: c.accountSid,
        streamSid: c.streamSid,
        callSid: c.callSid,
        tracks: ['inbound'],
        mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
        customParameters: o.customParameters,
      },
      streamSid: c.streamSid,
    };
    c.send(JSON.stringify(start));
    return c;
  }

  /** One 20 ms tick: marks whose audio has played, then this tick's frame. */
  tick(now: number): void {
    if (this.state !== 'open') return;
    if (this.marks.length > 0 && (this.marks[0]?.due ?? 0) <= now) this.echoMarks(now);
    const chunk = ++this.chunk;
    const head = `${this.mediaHead}${++this.seq}","media":{"track":"inbound","chunk":"${chunk}","timestamp":"${
      (chunk - 1) * 20
    }","payload":"`;
    const len = head.length + 8 + TAIL.length;
    const buf = Buffer.allocUnsafe(clientHeaderLength(len) + len);
    let at = writeClientHeader(buf, len);
    at += buf.write(head, at, 'latin1');
    const id = this.o.hooks()?.stamp(now) ?? 0;
    if (id === 0) UNSTAMPED.copy(buf, at);
    else writeStampBase64(id, buf, at);
    TAIL.copy(buf, at + 8);
    this.socket.write(buf);
  }

  /** Ends the call the way Twilio does when the caller hangs up: a stop, then the socket closes. */
  hangUp(): void {
    if (this.state !== 'open') return;
    const stop = `"stop":{"accountSid":"${this.accountSid}","callSid":"${this.callSid}"}`;
    this.send(`{"event":"stop",${stop},"sequenceNumber":"${++this.seq}","streamSid":"${this.streamSid}"}`);
    this.socket.end();
    this.state = 'closed';
  }

  /** Drops the socket abruptly (no stop, no close frame). */
  drop(): void {
    this.socket.destroy();
    this.state = 'closed';
  }

  private send(text: string): void {
    const buf = Buffer.allocUnsafe(clientHeaderLength(text.length) + text.length);
    buf.write(text, writeClientHeader(buf, text.length), 'latin1');
    this.socket.write(buf);
  }

  /** Echoes the marks due by `upTo`, in order. */
  private echoMarks(upTo: number): void {
    let n = 0;
    for (const m of this.marks) {
      if (m.due > upTo) break;
      this.send(`${this.markHead}${JSON.stringify(m.name)}},"sequenceNumber":"${++this.seq}"${this.markTail}`);
      n++;
    }
    this.marks.splice(0, n);
  }

  private onFrame(op: number, data: Buffer, start: number, end: number): void {
    if (op === OP_TEXT) {
      // {"event":"media… / {"event":"mark… / {"event":"clear…: the 11th and 12th bytes tell them apart.
      const c10 = data[start + 10];
      const c11 = data[start + 11];
      if (c10 === 0x6d && c11 === 0x65) {
        this.mediaReceived++;
        const now = this.o.now();
        this.playedAt = Math.max(now, this.playedAt) + 20;
        const at = data.indexOf(PAYLOAD_KEY, start);
        if (at >= 0 && at < end) this.o.hooks()?.arrived(data, at + PAYLOAD_KEY.length, now);
      } else if (c10 === 0x6d && c11 === 0x61) {
        const at = data.indexOf(NAME_KEY, start);
        const close = at >= 0 ? data.indexOf(QUOTE, at + NAME_KEY.length) : -1;
        const due = Math.max(this.o.now(), this.playedAt);
        if (close > 0 && close < end)
          this.marks.push({ name: data.toString('latin1', at + NAME_KEY.length, close), due });
        else this.unknownFrames++;
      } else if (c10 === 0x63) {
        this.clears++;
        this.playedAt = 0;
        this.echoMarks(Number.POSITIVE_INFINITY);
      } else this.unknownFrames++;
    } else if (op === OP_CLOSE) {
      const code = end - start >= 2 ? data.readUInt16BE(start) : 1005;
      this.closeInfo = { code, reason: data.toString('utf8', start + 2, end) };
      const reply = Buffer.allocUnsafe(8);
      writeClientHeader(reply, 2, OP_CLOSE);
      reply.writeUInt16BE(code === 1005 ? 1000 : code, 6);
      this.socket.end(reply);
      this.state = 'closed';
    } else if (op === OP_PING) {
      const len = end - start;
      const pong = Buffer.allocUnsafe(clientHeaderLength(len) + len);
      data.copy(pong, writeClientHeader(pong, len, 0xa), start, end);
      this.socket.write(pong);
    }
  }
}
