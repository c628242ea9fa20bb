import { randomBytes } from 'node:crypto';
import { base64ByteLength } from '../../audio/base64.js';

// OpenAI's side of a SIP call plays the assistant's audio to the caller itself, at real pace, however
// fast the model generates it. Over the sideband the application sees that playback only through the
// WebRTC/SIP events of the one output audio buffer: `output_audio_buffer.started` (the server began
// streaming audio to the caller), `.stopped` ("completely drained ... and no more audio is
// forthcoming", sent after response.done) and `.cleared` (cut: the caller spoke, VAD with
// interrupt_response). Shapes as the `openai` SDK types them (RealtimeServerEvent.OutputAudioBuffer*).
// The API reference marks these "WebRTC/SIP Only" (older versions: "WebRTC Only"; the newer followed).
// The reference describes a buffer, not a per-response player, so a response whose audio arrives
// while an earlier one still plays joins the same run: one `started`, one `stopped` at its end.

interface Run {
  /** The response whose audio was queued last (the id `stopped` carries). */
  responseId: string;
  /** performance.now() when the last queued audio will have been played. */
  endsAt: number;
  timer: NodeJS.Timeout | undefined;
}

export class ServerPlayback {
  private run: Run | undefined;

  /**
   * `emit`: sends one event to the sideband(s). `msOf`: how long this many bytes of output audio play
   * (the session's output format).
   */
  constructor(
    private readonly emit: (event: object) => void,
    private readonly msOf: (bytes: number) => number,
  ) {}

  /** An audio delta the model produced (it goes to the caller, not to the sideband). */
  audio(responseId: string, delta: string): void {
    const now = performance.now();
    const ms = this.msOf(base64ByteLength(delta));
    const r = this.run;
    if (r) {
      r.responseId = responseId;
      r.endsAt = Math.max(r.endsAt, now) + ms;
    } else {
      this.run = { responseId, endsAt: now + ms, timer: undefined };
      this.emit(this.event('output_audio_buffer.started', responseId));
    }
    this.schedule();
  }

  /** The caller started speaking and OpenAI interrupts itself: what was left is not played. */
  bargeIn(): void {
    const r = this.run;
    if (r) this.finish(r, 'output_audio_buffer.cleared');
  }

  stop(): void {
    if (this.run?.timer) clearTimeout(this.run.timer);
    this.run = undefined;
  }

  private schedule(): void {
    const r = this.run;
    if (!r) return;
    if (r.timer) clearTimeout(r.timer);
    r.timer = setTimeout(
      () => this.finish(r, 'output_audio_buffer.stopped'),
      Math.max(0, r.endsAt - performance.now()),
    );
    r.timer.unref();
  }

  private finish(r: Run, type: 'output_audio_buffer.stopped' | 'output_audio_buffer.cleared'): void {
    if (r.timer) clearTimeout(r.timer);
    if (this.run === r) this.run = undefined;
    this.emit(this.event(type, r.responseId));
  }

  private event(type: string, responseId: string): object {
    return { type, event_id: `event_${randomBytes(10).toString('hex')}`, response_id: responseId };
  }
}
