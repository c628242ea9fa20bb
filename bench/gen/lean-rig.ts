import { performance } from 'node:perf_hooks';
import { BENCH_TWILIO_TOKEN, streamSignature } from '../child-protocol.js';
import { PhasedClock } from '../phased-clock.js';
import { RelayChild, type Entries, type RelayKind } from '../relay-child.js';
import { LeanCaller, type CallerHooks } from './lean-caller.js';
import { LeanModel, type LeanSession, type ModelHooks } from './lean-model.js';

// The three parties of one load measurement: lean simulated callers (raw sockets, pre-encoded
// frames) and the lean fake model (uWebSockets.js) in this process on the generator's core, and
// the relay under test in a child process on the other. Every caller and every model session is a
// subscriber of one PhasedClock (20 phases of one 20 ms clock, so calls keep distinct phases as
// real ones do): 50 frames a second each way per call, sent from the tick, no timer per call.

const CUSTOM = { merchantId: 'demo', callerPhone: '+14155550100', direction: 'inbound' };
const SIGNED = { 'X-Twilio-Signature': streamSignature(BENCH_TWILIO_TOKEN) };
const now = (): number => performance.now();

export interface LeanRigOptions {
  kind: RelayKind;
  entries: Entries;
  relayCore: number | null;
}

export class LeanRig {
  readonly callers: LeanCaller[] = [];
  connectFailures = 0;
  /** Set freely: read on every frame (null: nothing measured). */
  callerHooks: CallerHooks | null = null;
  private readonly ticking = new Map<LeanCaller, () => void>();
  private stopInterrupting: () => void = () => {};

  private constructor(
    readonly clock: PhasedClock,
    readonly model: LeanModel,
    readonly child: RelayChild,
  ) {}

  static async start(o: LeanRigOptions): Promise<LeanRig> {
    const clock = new PhasedClock(20, 20);
    await clock.startPhases();
    const model = await LeanModel.start(now, (s: LeanSession) => {
      const off = clock.subscribe((_n, t) => s.tick(t));
      s.onClose = off;
    });
    let child: RelayChild;
    try {
      child = await RelayChild.spawn({ kind: o.kind, entries: o.entries, modelUrl: model.url, core: o.relayCore });
    } catch (err) {
      model.close();
      clock.stopPhases();
      throw err;
    }
    return new LeanRig(clock, model, child);
  }

  set modelHooks(h: ModelHooks | null) {
    this.model.hooks = h;
  }

  /** Model sessions open with a response streaming: calls that are really up. */
  get streaming(): number {
    return this.model.streaming;
  }

  /** `clear` frames the callers received (barge-ins the relay acted on). */
  get clears(): number {
    let n = 0;
    for (const c of this.callers) n += c.clears;
    return n;
  }

  async dial(): Promise<LeanCaller> {
    const c = await LeanCaller.connect({
      port: this.child.port,
      headers: SIGNED,
      customParameters: CUSTOM,
      hooks: () => this.callerHooks,
      now,
    });
    this.ticking.set(
      c,
      this.clock.subscribe((_n, t) => c.tick(t)),
    );
    return c;
  }

  /**
   * Dials `n` calls, `batch` handshakes at a time, each batch once the previous one streams (bounded
   * wait): a ramp faster than the relay can set calls up would only measure model-connect timeouts.
   */
  async connect(n: number, batch = 25): Promise<LeanCaller[]> {
    const made: LeanCaller[] = [];
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

  /** Waits (bounded) until each call hears the model; returns how many do. */
  async waitForMedia(callers: readonly LeanCaller[], timeoutMs: number): Promise<number> {
    const end = performance.now() + timeoutMs;
    const hearing = (): number => callers.reduce((n, c) => n + (c.mediaReceived > 0 ? 1 : 0), 0);
    while (hearing() < callers.length && performance.now() < end) await sleep(100);
    return hearing();
  }

  /**
   * A barge-in on every live call every `everyMs`, calls spread evenly over the period: the model's
   * VAD says the caller started talking, and `speechMs` later that they stopped, which commits their
   * turn and starts the next response (a call of `tool` when given). Returns the stop.
   */
  interrupt(everyMs: number, speechMs: number, tool?: string): { stop: () => void; sent: () => number } {
    const sessions = this.model.sessions.filter((s) => s.open);
    const t0 = performance.now();
    let sent = 0;
    const pending = new Set<NodeJS.Timeout>();
    const tick = setInterval(() => {
      const due = Math.floor(((performance.now() - t0) / everyMs) * sessions.length);
      // At most one round of the calls per tick, however late the timer fired.
      for (let k = 0; sent < due && k < sessions.length; k++, sent++) {
        const s = sessions[sent % sessions.length];
        if (!s?.open) continue;
        s.speechStarted();
        const t = setTimeout(() => {
          pending.delete(t);
          s.speechStopped(tool);
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

  /** Tears the calls down abruptly (the relay sees the sockets go). */
  drop(callers: readonly LeanCaller[]): void {
    const gone = new Set(callers);
    for (const c of callers) {
      this.ticking.get(c)?.();
      this.ticking.delete(c);
      c.drop();
    }
    const keep = this.callers.filter((c) => !gone.has(c));
    this.callers.length = 0;
    this.callers.push(...keep);
  }

  async close(): Promise<void> {
    this.stopInterrupting();
    this.callerHooks = null;
    this.model.hooks = null;
    this.drop([...this.callers]);
    await this.child.stop();
    this.model.close();
    this.clock.stopPhases();
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
