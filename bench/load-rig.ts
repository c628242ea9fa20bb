import { performance } from 'node:perf_hooks';
import { FakeModelServer, type FakeModelSession } from '../src/sim/model/model-server.js';
import { SimCaller } from '../src/sim/twilio/caller.js';
import { BENCH_TWILIO_TOKEN, streamSignature } from './child-protocol.js';
import { PhasedClock } from './phased-clock.js';
import { RelayChild, type Entries, type RelayKind } from './relay-child.js';

// The three parties of one benchmark measurement: simulated Twilio callers and the fake realtime
// model in this process (on the generator's core), and the relay under test in a child process on
// the other core. Every call gets a greeting that streams 20 ms deltas at real pace for as long as
// the call lasts, while its caller sends a 20 ms frame every 20 ms: 50 frames a second each way.

/** Long enough for any level; calls are dropped at the end of their measurement. */
const STREAM_MS = 30 * 60_000;
const CUSTOM = { merchantId: 'demo', callerPhone: '+14155550100', direction: 'inbound' };
/** How long after a barge-in the interrupted response's audio may still be in flight (not owed). */
const CANCEL_GRACE_MS = 300;
const SIGNED = { 'X-Twilio-Signature': streamSignature(BENCH_TWILIO_TOKEN) };

export interface RigHooks {
  /** Caller → relay frame, before encoding (may stamp it). */
  uplinkSend?: (frame: Buffer, now: number) => void;
  /** Relay → model frame, decoded, as the fake model receives it. */
  uplinkArrive?: (bytes: Buffer, now: number) => void;
  /** Model → relay frame, before base64 (may stamp it). */
  downlinkSend?: (bytes: Buffer, now: number) => void;
  /** Relay → caller media payload (base64) as it arrives. */
  downlinkArrive?: (payload: string, now: number) => void;
}

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
  /** Model deltas not stamped because they were in flight past a barge-in (see CANCEL_GRACE_MS). */
  unstamped = 0;
  /** The response each session was streaming when its caller last barged in, and when. */
  readonly interrupted = new Map<FakeModelSession, { responseId: string | undefined; at: number }>();
  /** Set freely: read on every frame. */
  hooks: RigHooks = {};
  private readonly trimTimer: NodeJS.Timeout;
  private stopInterrupting: () => void = () => {};

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
    const rig: { current: LoadRig | null } = { current: null };
    const model = await FakeModelServer.start({
      dialect: 'openai',
      mode: 'scripted',
      recordAudioBytes: 0,
      clock,
      onSession: (s) => s.onResponseCreate(() => ({ continuous: true, audioMs: STREAM_MS })),
      onAudioAppended: (bytes) => rig.current?.hooks.uplinkArrive?.(bytes, performance.now()),
      beforeSendDelta: (bytes, session) => {
        const r = rig.current;
        if (!r) return;
        const now = performance.now();
        // Audio of a response the caller just talked over: a relay that cancels it rightly drops
        // what the model sent before the cancel arrived, so that is not owed to the caller. Later
        // audio of the same response (a relay that never cancels) is owed and stamped as usual.
        const cut = r.interrupted.get(session);
        if (cut && cut.responseId === session.activeResponseId && now - cut.at < CANCEL_GRACE_MS) {
          r.unstamped++;
          return;
        }
        r.hooks.downlinkSend?.(bytes, now);
      },
    });
    let child: RelayChild;
    try {
      child = await RelayChild.spawn({ kind: o.kind, entries: o.entries, modelUrl: model.url, core: o.relayCore });
    } catch (err) {
      await model.close();
      clock.stopPhases();
      throw err;
    }
    rig.current = new LoadRig(clock, model, child);
    return rig.current;
  }

  get url(): string {
    return `ws://127.0.0.1:${this.child.port}/media-stream`;
  }

  /** Dials one call (nothing measured unless hooks are set). */
  async dial(): Promise<SimCaller> {
    const caller = await SimCaller.connect({
      url: this.url,
      headers: SIGNED,
      customParameters: CUSTOM,
      record: false,
      clock: this.clock,
      onBeforeSendFrame: (frame) => this.hooks.uplinkSend?.(frame, performance.now()),
      onMediaReceived: (payload, at) => this.hooks.downlinkArrive?.(payload, at),
    });
    caller.on('clear', () => this.clears++);
    return caller;
  }

  /**
   * A barge-in on every live call every `everyMs`, calls spread evenly over the period: the fake
   * model's VAD says the caller started talking (cancelling what it streams), and `speechMs` later
   * that they stopped, which commits their turn and starts the next response. Returns the stop.
   */
  interrupt(everyMs: number, speechMs: number): { stop: () => void; sent: () => number } {
    const sessions = this.model.sessions.filter((s) => s.isOpen);
    const t0 = performance.now();
    let sent = 0;
    const pending = new Set<NodeJS.Timeout>();
    const tick = setInterval(() => {
      const due = Math.floor(((performance.now() - t0) / everyMs) * sessions.length);
      // At most one round of the calls per tick, however late the timer fired.
      for (let k = 0; sent < due && k < sessions.length; k++, sent++) {
        const s = sessions[sent % sessions.length];
        if (!s?.isOpen) continue;
        this.interrupted.set(s, { responseId: s.activeResponseId, at: performance.now() });
        s.speechStarted();
        const t = setTimeout(() => {
          pending.delete(t);
          if (s.isOpen) s.speechStopped();
        }, speechMs);
        pending.add(t);
      }
    }, 20);
    this.stopInterrupting = () => {
      clearInterval(tick);
      for (const t of pending) clearTimeout(t);
    };
    return { stop: () => this.stopInterrupting(), sent: () => sent };
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
    this.stopInterrupting();
    this.hooks = {};
    await this.drop([...this.callers]);
    await this.child.stop();
    await this.model.close();
    this.clock.stopPhases();
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
