// The one-response-at-a-time rule of a realtime session: starts responses (client response.create,
// VAD turns, xAI force_message, tests), refuses a second one with the real API's error, cancels on
// response.cancel or barge-in, and asks the session's handler what each response should say.
import type { Logger } from '../../log.js';
import type { ResponseRequest } from './model-agent.js';
import { ProtocolError, type ResponseParams } from './model-protocol.js';
import { ResponseRun, type ResponseHost } from './model-response.js';
import type { RespondOptions, RespondResult } from './model-response-shape.js';

/** What to do for a response: what to say, or `false` to hold it open (a stuck model) until cancelled. */
export type ResponseDecision = RespondOptions | false;

export class Responder {
  private active: ResponseRun | undefined;
  private continuous: ResponseRun | undefined;

  constructor(
    private readonly host: ResponseHost,
    private readonly decide: (req: ResponseRequest) => ResponseDecision | Promise<ResponseDecision>,
    /** Called when a continuous (load) stream starts or ends: the session turns its VAD off/on. */
    private readonly onStreamingChange: () => void,
    private readonly log: Logger,
  ) {}

  get conversationId(): string {
    return this.host.conversationId;
  }

  get activeId(): string | undefined {
    return this.active?.active ? this.active.id : undefined;
  }

  /** A continuous load stream is playing (it is never interrupted by caller speech). */
  get streaming(): boolean {
    return this.continuous !== undefined;
  }

  assertIdle(): void {
    if (this.active?.active) {
      throw new ProtocolError(
        'conversation_already_has_active_response',
        `Conversation already has an active response in progress: ${this.active.id}. ` +
          'Wait until the response is finished before creating a new one.',
      );
    }
  }

  /** A response the handler fills in (client response.create or a VAD turn). */
  start(req: ResponseRequest, params: ResponseParams | undefined): void {
    this.assertIdle();
    const run = this.newRun(params);
    run.start();
    const play = (d: ResponseDecision): void => {
      if (!run.active) return;
      if (d === false) {
        void run.play({ stall: true });
        return;
      }
      if (d.continuous) this.trackContinuous(run);
      void run.play(d);
    };
    const fail = (err: unknown): void => {
      this.log.error({ err }, 'fake model response handler threw; cancelling the response');
      run.cancel('client_cancelled');
    };
    try {
      const d = this.decide(req);
      if (d instanceof Promise) d.then(play, fail);
      else play(d);
    } catch (err) {
      fail(err);
    }
  }

  /** A response with fixed content (tests, xAI force_message). */
  play(opts: RespondOptions): Promise<RespondResult> {
    this.assertIdle();
    const run = this.newRun(undefined);
    run.start();
    if (opts.continuous) this.trackContinuous(run);
    return run.play(opts);
  }

  /** Client response.cancel. */
  cancel(responseId: string | undefined): void {
    const run = this.active;
    if (!run?.active || (responseId !== undefined && responseId !== run.id)) {
      throw new ProtocolError('response_cancel_not_active', 'Cancellation failed: no active response found');
    }
    run.cancel('client_cancelled');
  }

  /** Caller speech started: cancel the playing response (server-side, reason turn_detected). */
  bargeIn(): void {
    const run = this.active;
    if (run?.active && run !== this.continuous) run.cancel('turn_detected');
  }

  /** The socket closed. */
  abort(): void {
    this.active?.abort();
    this.continuous?.abort();
  }

  private newRun(params: ResponseParams | undefined): ResponseRun {
    const run = new ResponseRun(this.host, {
      outOfBand: params?.conversation === 'none',
      metadata: params?.metadata ?? null,
      modalities: params?.output_modalities ?? this.host.view().outputModalities,
    });
    this.active = run;
    return run;
  }

  private trackContinuous(run: ResponseRun): void {
    this.continuous = run;
    this.onStreamingChange();
    void run.done.then(() => {
      if (this.continuous === run) this.continuous = undefined;
      this.onStreamingChange();
    });
  }
}
