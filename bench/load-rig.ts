import { performance } from 'node:perf_hooks';
import { FakeModelServer, type FakeModelSession } from '../src/sim/model/model-server.js';
import { SimCaller } from '../src/sim/twilio/caller.js';
import { BENCH_TWILIO_TOKEN, streamSignature } from './child-protocol.js';
import { PhasedClock } from './phased-clock.js';
import { RelayChild, type Entries, type RelayKind } from './relay-child.js';

// The three parties of a benchmark check that needs the project's strict test doubles: simulated
// Twilio callers (SimCaller) and the fake realtime model (FakeModelServer) in this process, and the
// relay under test in a child process on the other core. The barge-in phase and the baseline's
// protocol check use it; the load levels use the lean generator (gen/lean-rig.ts), which costs a
// fraction of this. Every call gets a greeting that streams 20 ms deltas at real pace.

/** Long enough for any level; calls are dropped at the end of their measurement. */
const STREAM_MS = 30 * 60_000;
const CUSTOM = { merchantId: 'demo', callerPhone: '+14155550100', direction: 'inbound' };
const SIGNED = { 'X-Twilio-Signature': streamSignature(BENCH_TWILIO_TOKEN) };

export interface RigOptions {
  kind: RelayKind;
  entries: Entries;
  relayCore: number | null;
}

export class LoadRig {
  readonly callers: SimCaller[] = [];
  connectFailures = 0;
  /** `clear` frames the callers received (barge-ins the relay acted on). */
  clears = 0;
  private readonly trimTimer: NodeJS.Timeout;

  private constructor(
    readonly clock: PhasedClock,
    readonly model: FakeModelServer,
    readonly child: RelayChild,
  ) {
    // SimCaller keeps marks and clears even with record:false; load runs trim them to stay flat.
    this.trimTimer = setInterval(() => {
      for (const c of this.callers) {
        c.marksReceived.length = 0;
        c.marksEchoed.length = 0;
        c.clearsAt.length = 0;
      }
    }, 2000);
  }

  static async start(o: RigOptions): Promise<LoadRig> {
    const clock = new PhasedClock(20, 20);
    await clock.startPhases();
    const model = await FakeModelServer.start({
      dialect: 'openai',
      mode: 'scripted',
      recordAudioBytes: 0,
      clock,
      onSession: (s) => s.onResponseCreate(() => ({ continuous: true, audioMs: STREAM_MS })),
    });
    let child: RelayChild;
    try {
      child = await RelayChild.spawn({ kind: o.kind, entries: o.entries, modelUrl: model.url, core: o.relayCore });
    } catch (err) {
      await model.close();
      clock.stopPhases();
      throw err;
    }
    return new LoadRig(clock, model, child);
  }

  get url(): string {
    return `ws://127.0.0.1:${this.child.port}/media-stream`;
  }

  /** Dials one call. */
  async dial(): Promise<SimCaller> {
    const caller = await SimCaller.connect({
      url: this.url,
      headers: SIGNED,
      customParameters: CUSTOM,
      record: false,
      clock: this.clock,
    });
    caller.on('clear', () => this.clears++);
    return caller;
  }

  /** Model sessions open with their greeting streaming: calls that are really up. */
  get streaming(): number {
    return this.model.sessions.reduce((n, s) => n + (s.isOpen && s.activeResponseId !== undefined ? 1 : 0), 0);
  }

  /**
   * Dials `n` calls, `batch` handshakes at a time, each batch once the previous one streams (bounded
   * wait): a ramp faster than the relay can set calls up would only measure model-connect timeouts.
   * Failures are counted, not thrown.
   */
  async connect(n: number, batch = 25): Promise<SimCaller[]> {
    const made: SimCaller[] = [];
    const before = this.streaming;
    for (let i = 0; i < n; i += batch) {
      const got = await Promise.allSettled(Array.from({ length: Math.min(batch, n - i) }, () => this.dial()));
      for (const g of got) {
        if (g.status === 'fulfilled') made.push(g.value);
        else this.connectFailures++;
      }
      const end = performance.now() + 5000;
      while (this.streaming < before + made.length && performance.now() < end) await sleep(20);
    }
    this.callers.push(...made);
    return made;
  }

  /** Dials one call and returns it with its model session (calls must be dialled one at a time). */
  async connectPaired(): Promise<{ caller: SimCaller; session: FakeModelSession }> {
    const next = this.model.nextSession(5000);
    const caller = await this.dial();
    this.callers.push(caller);
    return { caller, session: await next };
  }

  /** Waits (bounded) until each call hears the model; returns how many do. */
  async waitForMedia(callers: readonly SimCaller[], timeoutMs: number): Promise<number> {
    const end = performance.now() + timeoutMs;
    const hearing = (): number => callers.reduce((n, c) => n + (c.mediaMessagesReceived > 0 ? 1 : 0), 0);
    while (hearing() < callers.length && performance.now() < end) await sleep(100);
    return hearing();
  }

  /** Tears the calls down abruptly (the relay sees the sockets go). */
  async drop(callers: readonly SimCaller[]): Promise<void> {
    await Promise.all(callers.map((c) => c.drop(1000).catch(() => undefined)));
    const gone = new Set(callers);
    const keep = this.callers.filter((c) => !gone.has(c));
    this.callers.length = 0;
    this.callers.push(...keep);
  }

  async close(): Promise<void> {
    clearInterval(this.trimTimer);
    await this.drop([...this.callers]);
    await this.child.stop();
    await this.model.close();
    this.clock.stopPhases();
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
