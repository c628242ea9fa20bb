// What a simulated Twilio caller hears: the relay's media is buffered and played in order, one frame
// per clock tick, exactly as Twilio does. Marks sit in the queue after the audio sent before them and
// are echoed once that audio has played (immediately if nothing is buffered); `clear` drops the
// buffer and echoes every pending mark at once.
import { MULAW_SILENCE } from '../../audio/mulaw.js';

/** A run of consecutive ticks that played relay audio; times are performance.now() ms. */
export interface HeardSegment {
  startAt: number;
  /** When the last audio of the run finished playing (tick time + its bytes / 8). */
  endAt: number;
  bytes: number;
}

export interface EchoedMark {
  name: string;
  at: number;
  /** True when echoed because of a clear rather than because its audio played. */
  cleared: boolean;
}

export interface PlaybackHooks {
  /** Echo a mark to the relay. `cleared` = echoed because of a clear, not because it played. */
  echoMark(name: string, cleared: boolean): void;
  onHeardFrame?: ((frame: Buffer, at: number) => void) | undefined;
}

type Item = { kind: 'audio'; buf: Buffer; off: number } | { kind: 'mark'; name: string };

export class Playback {
  private items: Item[] = [];
  private head = 0;
  private bufferedBytes = 0;
  /** Marks whose audio finished part-way through the last tick: echoed at the next tick. */
  private deferred: string[] = [];
  private current: HeardSegment | undefined;
  private readonly silenceFrame: Buffer;
  private readonly chunks: Buffer[] = [];
  heardBytes = 0;
  readonly segments: HeardSegment[] = [];

  constructor(
    private readonly frameBytes: number,
    private readonly hooks: PlaybackHooks,
    /** Keep every played frame (incl. silence) for heardAudio(); off for load tests. */
    private readonly record: boolean,
  ) {
    this.silenceFrame = Buffer.alloc(frameBytes, MULAW_SILENCE);
  }

  /** Bytes received but not yet played. */
  get queuedBytes(): number {
    return this.bufferedBytes;
  }

  /** True while the last tick played relay audio. */
  get playing(): boolean {
    return this.current !== undefined;
  }

  private get empty(): boolean {
    return this.head >= this.items.length;
  }

  enqueueAudio(buf: Buffer): void {
    if (buf.length === 0) return;
    this.items.push({ kind: 'audio', buf, off: 0 });
    this.bufferedBytes += buf.length;
  }

  enqueueMark(name: string): void {
    if (this.empty && this.deferred.length === 0) this.hooks.echoMark(name, false);
    else this.items.push({ kind: 'mark', name });
  }

  /** Drop everything buffered; echo pending marks (in order). Returns their names. */
  clear(): string[] {
    const names = this.deferred;
    this.deferred = [];
    for (let i = this.head; i < this.items.length; i++) {
      const it = this.items[i];
      if (it?.kind === 'mark') names.push(it.name);
    }
    this.items = [];
    this.head = 0;
    this.bufferedBytes = 0;
    for (const n of names) this.hooks.echoMark(n, true);
    return names;
  }

  private pop(): void {
    this.head++;
    // Compact now and then so a long call's queue does not grow without bound.
    if (this.head > 256 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }

  /** Play one frame at tick time `now`. */
  tick(now: number): void {
    if (this.deferred.length > 0) {
      const d = this.deferred;
      this.deferred = [];
      for (const n of d) this.hooks.echoMark(n, false);
    }
    let it = this.items[this.head];
    while (it?.kind === 'mark') {
      this.pop();
      this.hooks.echoMark(it.name, false);
      it = this.items[this.head];
    }

    let frame: Buffer | undefined;
    let filled = 0;
    while (filled < this.frameBytes && it) {
      if (it.kind === 'mark') {
        this.deferred.push(it.name);
      } else {
        const avail = it.buf.length - it.off;
        const need = this.frameBytes - filled;
        const n = Math.min(avail, need);
        if (filled === 0 && n === this.frameBytes) {
          frame = it.buf.subarray(it.off, it.off + n); // whole frame inside one payload: no copy
        } else {
          frame ??= Buffer.alloc(this.frameBytes, MULAW_SILENCE);
          it.buf.copy(frame, filled, it.off, it.off + n);
        }
        it.off += n;
        filled += n;
        this.bufferedBytes -= n;
        if (it.off < it.buf.length) break;
      }
      this.pop();
      it = this.items[this.head];
    }

    if (frame && filled > 0) {
      this.heardBytes += filled;
      const endAt = now + filled / 8;
      if (this.current) {
        this.current.endAt = endAt;
        this.current.bytes += filled;
      } else {
        this.current = { startAt: now, endAt, bytes: filled };
        this.segments.push(this.current);
      }
      if (this.record) this.chunks.push(frame);
      this.hooks.onHeardFrame?.(frame, now);
    } else {
      this.current = undefined;
      if (this.record) this.chunks.push(this.silenceFrame);
    }
  }

  /** Everything played since the call started, silence included (8 kHz mu-law). Empty if not recording. */
  heardAudio(): Buffer {
    return Buffer.concat(this.chunks);
  }
}
