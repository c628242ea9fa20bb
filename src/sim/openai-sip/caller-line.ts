// The caller's side of a SIP call: what the trunk sends OpenAI. Every 20 ms a frame of what the caller
// says (speech-like audio for the text, as the Media Streams caller makes it) or silence goes straight
// into the call's model session, in the session's input format, so its VAD, turns and transcripts run
// exactly as on a Media Streams call. Nothing passes through the application.
import { speechForText } from '../../audio/speechlike.js';
import type { FrameClock } from '../clock/frame-clock.js';
import { fromMulaw } from '../model/model-audio.js';
import type { FakeModelSession } from '../model/model-server.js';
import { Speech } from '../twilio/caller-speech.js';

const FRAME_BYTES = 160; // 20 ms of 8 kHz mu-law, one RTP packet of G.711

export class CallerLine {
  private readonly speech = new Speech(FRAME_BYTES);
  private unsubscribe: (() => void) | undefined;
  private said: string[] = [];

  constructor(private readonly clock: FrameClock) {}

  get speaking(): boolean {
    return this.speech.speaking;
  }

  /** The call is answered: the line starts carrying audio to `session`. */
  start(session: FakeModelSession): void {
    this.unsubscribe = this.clock.subscribe(() => {
      session.appendInput(fromMulaw(this.speech.nextFrame(), session.view.inputFormat));
      this.speech.frameSent();
    });
  }

  /** Resolves true once the words have been spoken, false if the call ended first. */
  say(text: string): Promise<boolean> {
    this.said.push(text);
    return this.speech.say(speechForText(text));
  }

  /** What the caller said since the last committed turn (a perfect transcriber's transcript). */
  takeSaid(): string | undefined {
    if (this.said.length === 0) return undefined;
    const text = this.said.join(' ');
    this.said = [];
    return text;
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.speech.stop();
  }
}
