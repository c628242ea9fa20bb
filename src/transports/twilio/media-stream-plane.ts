import { base64ByteLength } from '../../audio/base64.js';
import type { CallerSide, DataPlane, PlaneStats, ResponseReader } from '../../call/data-plane.js';
import { Playback, type Truncation } from '../../call/playback.js';
import type { HotCounters } from '../../obs/metrics.js';
import type { ModelLink } from '../../providers/reconnecting-connection.js';
import type { StreamListener, TwilioStream } from './twilio-stream.js';

// The data plane of one Media Streams call: the caller's frames go to the model and the model's
// audio goes to the caller through this process, 50 frames a second each way, without touching the
// chart. The chart's `audioOut` tag, mirrored into `gate`, decides per frame whether assistant audio
// may reach the caller; marks tell when the caller has heard it.

const APOLOGY_MARK = 'apology';

export interface MediaStreamPlaneOptions {
  /** The relay's own apology, mu-law 8 kHz, played when the model is gone. */
  apologyClip: Buffer;
  /** How much audio goes out between two marks (ms). */
  markEveryMs?: number;
  /** Process-wide frame counters (read by /metrics). */
  hot?: HotCounters;
}

export class MediaStreamPlane implements DataPlane, StreamListener {
  private side: CallerSide | null = null;
  private responses: ResponseReader | null = null;
  private gate = false;
  private readonly playback: Playback;
  private readonly hot: HotCounters;
  private framesIn = 0;
  private framesOut = 0;
  private lateDeltasDropped = 0;

  constructor(
    private readonly stream: TwilioStream,
    private readonly model: ModelLink,
    private readonly opts: MediaStreamPlaneOptions,
  ) {
    this.playback = new Playback(opts.markEveryMs ?? 100);
    this.hot = opts.hot ?? { framesIn: 0, framesOut: 0 };
  }

  attach(side: CallerSide, responses: ResponseReader): void {
    this.side = side;
    this.responses = responses;
  }

  // ---- caller → model (StreamListener) ------------------------------------------------------------

  /** Hot path: one 20 ms caller frame, forwarded untouched. */
  media(payload: string): void {
    this.framesIn++;
    this.hot.framesIn++;
    this.model.appendAudio(payload);
  }

  mark(name: string): void {
    if (name === APOLOGY_MARK) return;
    if (this.playback.echo(name, Date.now()) === 'drained') this.side?.drained();
  }

  dtmf(digit: string): void {
    this.side?.dtmf(digit);
  }

  stop(): void {
    this.side?.hungUp();
  }

  closed(): void {
    this.side?.lineClosed();
  }

  // ---- model → caller (DataPlane) -----------------------------------------------------------------

  setGate(open: boolean): void {
    this.gate = open;
  }

  /** Hot path: assistant audio to the caller, unless the chart closed the gate or it is stale. */
  assistantAudio(responseId: string, itemId: string, delta: string): void {
    const verdict = this.gate ? this.responses?.audio(responseId) : 'stale';
    if (verdict === 'stale' || verdict === undefined) {
      this.lateDeltasDropped++;
      return;
    }
    this.framesOut++;
    this.hot.framesOut++;
    if (verdict === 'first') this.side?.audioStarted();
    const mark = this.playback.sent(responseId, itemId, base64ByteLength(delta), Date.now());
    if (mark === null) this.stream.media(delta);
    else this.stream.mediaWithMark(delta, mark);
  }

  responseEnded(): void {
    // The end mark's echo tells the call when the caller has heard the whole response.
    this.stream.mark(this.playback.endMark());
  }

  interrupt(): Truncation[] {
    this.stream.clear();
    return this.playback.interrupt(Date.now());
  }

  playApology(): void {
    this.stream.clear();
    this.playback.interrupt(Date.now());
    const clip = this.opts.apologyClip;
    for (let i = 0; i < clip.length; i += 160) this.stream.media(clip.subarray(i, i + 160).toString('base64'));
    this.stream.mark(APOLOGY_MARK);
  }

  finish(): Truncation[] {
    const heard = this.playback.interrupt(Date.now());
    this.stream.close(1000, 'call ended');
    return heard;
  }

  stats(): PlaneStats {
    return {
      framesIn: this.framesIn,
      framesOut: this.framesOut,
      assistantAudioMs: Math.round(this.playback.totalSentMs),
      lateDeltasDropped: this.lateDeltasDropped,
      badTwilioMessages: this.stream.badMessages,
      twilioSendRefused: this.stream.sendRefused,
    };
  }
}
