// What a simulated caller says: queued mu-law cut into fixed frames at real pace, padded with
// silence, because Twilio sends a frame every 20 ms whether the caller talks or not.
import { MULAW_SILENCE } from '../../audio/mulaw.js';

interface SayItem {
  buf: Buffer;
  off: number;
  done: (sent: boolean) => void;
}

export class Speech {
  bytesSpoken = 0;
  private readonly queue: SayItem[] = [];
  private finished: SayItem[] = [];
  /** Reused for every frame: it is base64-encoded before the next one is filled. */
  private readonly frame: Buffer;

  constructor(private readonly frameBytes: number) {
    this.frame = Buffer.alloc(frameBytes, MULAW_SILENCE);
  }

  get speaking(): boolean {
    return this.queue.length > 0;
  }

  /** Resolves true once the last byte has gone out in a frame, false if stopped first. */
  say(mulaw: Buffer): Promise<boolean> {
    if (mulaw.length === 0) return Promise.resolve(true);
    return new Promise<boolean>((done) => this.queue.push({ buf: mulaw, off: 0, done }));
  }

  /** Drop everything queued; pending say() promises resolve false. */
  stop(): void {
    for (const s of this.queue.splice(0)) s.done(false);
  }

  /** The next frame to send (valid until the next call). Call frameSent() after sending it. */
  nextFrame(): Buffer {
    const f = this.frame;
    let filled = 0;
    while (filled < this.frameBytes) {
      const s = this.queue[0];
      if (!s) break;
      const n = Math.min(s.buf.length - s.off, this.frameBytes - filled);
      s.buf.copy(f, filled, s.off, s.off + n);
      s.off += n;
      filled += n;
      if (s.off >= s.buf.length) {
        this.queue.shift();
        this.finished.push(s);
      }
    }
    if (filled < this.frameBytes) f.fill(MULAW_SILENCE, filled);
    this.bytesSpoken += filled;
    return f;
  }

  /** Resolve the say() calls whose audio ended in the frame just sent. */
  frameSent(): void {
    if (this.finished.length === 0) return;
    const f = this.finished;
    this.finished = [];
    for (const s of f) s.done(true);
  }
}
