// Energy VAD standing in for the model's server VAD: speech starts after `startMs` of consecutive
// 20 ms windows above a dBFS threshold and stops after `silenceMs` below it. Positions are ms of audio
// appended since the session began, which is the clock the real APIs report audio_start/end_ms on.
import type { AudioFormat } from './model-session-config.js';
import { bytesPerMs, levelDbfs } from './model-audio.js';

export interface VadParams {
  thresholdDbfs: number;
  /** Consecutive loud audio needed to declare speech (default ~60 ms). */
  startMs: number;
  silenceMs: number;
  prefixPaddingMs: number;
}

/** `speechMs`: from the first loud window to the last one, what the caller actually said. */
export type VadEvent = { kind: 'start'; audioStartMs: number } | { kind: 'stop'; audioEndMs: number; speechMs: number };

const WINDOW_MS = 20;

export class EnergyVad {
  private speaking = false;
  private loudMs = 0;
  private loudSinceMs = 0;
  private speechSinceMs = 0;
  private quietMs = 0;

  get inSpeech(): boolean {
    return this.speaking;
  }

  /** Forget any partial decision (input_audio_buffer.clear, or a manual speechStarted/Stopped). */
  reset(inSpeech = false): void {
    this.speaking = inSpeech;
    this.loudMs = 0;
    this.quietMs = 0;
  }

  /**
   * Feed one appended chunk that starts at `posMs` (ms of audio before it). Calls `onEvent` for each
   * transition; returns nothing so the per-frame path allocates nothing when nothing happens.
   */
  push(buf: Buffer, f: AudioFormat, posMs: number, p: VadParams, onEvent: (e: VadEvent) => void): void {
    const bpm = bytesPerMs(f);
    const win = Math.max(1, Math.round(WINDOW_MS * bpm));
    for (let off = 0; off < buf.length; off += win) {
      const end = Math.min(buf.length, off + win);
      const durMs = (end - off) / bpm;
      const atMs = posMs + off / bpm;
      const loud = levelDbfs(buf, off, end, f) > p.thresholdDbfs;
      if (loud) {
        if (this.loudMs === 0) this.loudSinceMs = atMs;
        this.loudMs += durMs;
        this.quietMs = 0;
        if (!this.speaking && this.loudMs >= p.startMs) {
          this.speaking = true;
          this.speechSinceMs = this.loudSinceMs;
          onEvent({ kind: 'start', audioStartMs: Math.max(0, Math.round(this.loudSinceMs - p.prefixPaddingMs)) });
        }
      } else {
        this.loudMs = 0;
        if (!this.speaking) continue;
        this.quietMs += durMs;
        if (this.quietMs >= p.silenceMs) {
          const spokeUntilMs = atMs + durMs - this.quietMs;
          this.speaking = false;
          this.quietMs = 0;
          onEvent({
            kind: 'stop',
            audioEndMs: Math.round(atMs + durMs),
            speechMs: Math.round(spokeUntilMs - this.speechSinceMs),
          });
        }
      }
    }
  }
}
