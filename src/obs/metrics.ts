import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

// Prometheus metrics. Per-frame counts are plain numbers bumped on the hot path (a field increment)
// and turned into counters only when /metrics is scraped; everything else is observed where it
// happens (a few times per call).

export interface HotCounters {
  framesIn: number;
  framesOut: number;
}

export class RelayMetrics {
  readonly registry = new Registry();
  readonly hot: HotCounters = { framesIn: 0, framesOut: 0 };
  private reported: HotCounters = { framesIn: 0, framesOut: 0 };

  readonly liveCalls: Gauge;
  readonly callsEnded: Counter<'reason'>;
  readonly bargeIns: Counter;
  readonly bargeInReaction: Histogram;
  readonly toolLatency: Histogram<'tool' | 'outcome'>;
  readonly modelConnect: Histogram<'provider'>;
  readonly firstAudio: Histogram;
  readonly relayFrameLatency: Histogram<'direction'>;
  readonly outboxDepth: Gauge;
  readonly rateLimited: Counter<'limit'>;
  readonly demoFallbackCalls: Counter;
  readonly badMessages: Counter<'source'>;
  readonly twilioStalled: Counter;
  readonly sipAcceptDelay: Histogram;
  readonly sipCalls: Counter<'outcome'>;

  constructor(opts: { defaultMetrics?: boolean; liveCalls?: () => number; outboxDepth?: () => number } = {}) {
    const registers = [this.registry];
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'callrelay_' });
    const self = this;
    new Counter({
      name: 'callrelay_frames_relayed_total',
      help: 'Audio frames relayed (in = caller to model, out = model to caller).',
      labelNames: ['direction'],
      registers,
      collect() {
        this.inc({ direction: 'in' }, self.hot.framesIn - self.reported.framesIn);
        this.inc({ direction: 'out' }, self.hot.framesOut - self.reported.framesOut);
        self.reported = { ...self.hot };
      },
    });
    this.liveCalls = new Gauge({
      name: 'callrelay_live_calls',
      help: 'Calls in progress.',
      registers,
      collect() {
        if (opts.liveCalls) this.set(opts.liveCalls());
      },
    });
    this.callsEnded = new Counter({
      name: 'callrelay_calls_total',
      help: 'Finished calls by end reason.',
      labelNames: ['reason'],
      registers,
    });
    this.bargeIns = new Counter({
      name: 'callrelay_barge_ins_total',
      help: 'Times a caller talked over the assistant.',
      registers,
    });
    this.bargeInReaction = new Histogram({
      name: 'callrelay_barge_in_reaction_seconds',
      help: 'From the model speech_started event to the Twilio clear leaving the relay.',
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.05],
      registers,
    });
    this.toolLatency = new Histogram({
      name: 'callrelay_tool_seconds',
      help: 'Tool call duration by tool and outcome.',
      labelNames: ['tool', 'outcome'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8],
      registers,
    });
    this.modelConnect = new Histogram({
      name: 'callrelay_model_connect_seconds',
      help: 'From opening the model socket to session.updated.',
      labelNames: ['provider'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8],
      registers,
    });
    this.firstAudio = new Histogram({
      name: 'callrelay_response_latency_seconds',
      help: "From the caller's end of speech to the first assistant audio sent to Twilio.",
      buckets: [0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5],
      registers,
    });
    this.relayFrameLatency = new Histogram({
      name: 'callrelay_frame_relay_seconds',
      help: 'Time the relay adds to a frame (sampled), by direction.',
      labelNames: ['direction'],
      buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01],
      registers,
    });
    this.outboxDepth = new Gauge({
      name: 'callrelay_outbox_depth',
      help: 'Call records waiting in the durable outbox.',
      registers,
      collect() {
        if (opts.outboxDepth) this.set(opts.outboxDepth());
      },
    });
    this.rateLimited = new Counter({
      name: 'callrelay_rate_limited_total',
      help: 'Requests refused by a rate limit.',
      labelNames: ['limit'],
      registers,
    });
    this.sipAcceptDelay = new Histogram({
      name: 'callrelay_sip_accept_seconds',
      help: "From OpenAI's realtime.call.incoming webhook arriving to the accept request leaving the relay.",
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2],
      registers,
    });
    this.sipCalls = new Counter({
      name: 'callrelay_sip_calls_total',
      help: 'SIP calls offered by OpenAI, by what the relay did (accepted, rejected_busy, rejected_unknown, …).',
      labelNames: ['outcome'],
      registers,
    });
    this.demoFallbackCalls = new Counter({
      name: 'callrelay_demo_fallback_calls_total',
      help: 'Signed Twilio calls to a number no merchant owns that reached the demo merchant.',
      registers,
    });
    this.badMessages = new Counter({
      name: 'callrelay_bad_messages_total',
      help: 'Malformed messages dropped, by source.',
      labelNames: ['source'],
      registers,
    });
    this.twilioStalled = new Counter({
      name: 'callrelay_twilio_stalled_total',
      help: 'Media streams closed because Twilio stopped reading (uWS backpressure limit).',
      registers,
    });
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
