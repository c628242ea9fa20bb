// The input audio buffer of a fake realtime session: counts what the client appended (bytes and ms,
// in the session's input format), keeps a bounded copy of the raw bytes for tests, and runs the
// energy VAD over it. It only measures; the session turns measurements into server events.
import type { AudioFormat } from './model-session-config.js';
import { bytesPerMs } from './model-audio.js';
import { EnergyVad, type VadEvent, type VadParams } from './model-vad.js';

export class InputBuffer {
  /** input_audio_buffer.append events received (valid ones). */
  appendCount = 0;
  /** Decoded bytes appended over the whole session. */
  appendedBytes = 0;
  /** ms of audio appended over the whole session (the clock audio_start_ms/audio_end_ms use). */
  appendedMs = 0;
  /** ms appended since the last commit/clear (what a commit would turn into a user item). */
  bufferedMs = 0;
  readonly vad = new EnergyVad();
  private readonly chunks: Buffer[] = [];
  private recordedBytes = 0;

  constructor(private readonly recordLimitBytes: number) {}

  /** Accounts one decoded append; runs the VAD when `vad` is given. */
  append(bytes: Buffer, format: AudioFormat, vad: VadParams | null, onVad: (e: VadEvent) => void): void {
    const startMs = this.appendedMs;
    const ms = bytes.length / bytesPerMs(format);
    this.appendCount++;
    this.appendedBytes += bytes.length;
    this.appendedMs += ms;
    this.bufferedMs += ms;
    if (this.recordedBytes < this.recordLimitBytes) {
      const keep = bytes.subarray(0, this.recordLimitBytes - this.recordedBytes);
      this.chunks.push(Buffer.from(keep));
      this.recordedBytes += keep.length;
    }
    if (vad) this.vad.push(bytes, format, startMs, vad, onVad);
  }

  /** Empties the buffer (commit or clear); returns the ms it held. */
  take(): number {
    const ms = this.bufferedMs;
    this.bufferedMs = 0;
    return ms;
  }

  /** The recorded raw bytes (at most the record limit), concatenated. */
  recorded(): Buffer {
    return Buffer.concat(this.chunks, this.recordedBytes);
  }
}
