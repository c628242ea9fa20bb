import { performance } from 'node:perf_hooks';
import { LoadRig, sleep } from './load-rig.js';
import { percentile } from './proc-stats.js';
import { entryFor, type Entries, type RelayKind } from './relay-child.js';

// Barge-in reaction: while every call's greeting streams, the fake model says the caller started
// talking (input_audio_buffer.speech_started) on one call at a time, and we time how long until
// that call's simulated Twilio receives `clear`. End to end, so two loopback hops and both event
// loops are in it; the real relay also reports its own part (speech_started in → clear out).

export interface BargeInResult {
  kind: RelayKind;
  label: string;
  calls: number;
  /** Barge-ins that got a clear within the timeout. */
  cleared: number;
  p50: number;
  p99: number;
  max: number;
  /** The relay's own measure (callrelay and its baseline; empty for the pass-through). */
  insideP50: number;
  insideP99: number;
}

const CLEAR_TIMEOUT_MS = 1000;

export async function runBargeIn(o: {
  kind: RelayKind;
  calls: number;
  entries: Entries;
  relayCore: number | null;
}): Promise<BargeInResult> {
  const rig = await LoadRig.start({ kind: o.kind, entries: o.entries, relayCore: o.relayCore });
  try {
    const pairs: Awaited<ReturnType<LoadRig['connectPaired']>>[] = [];
    for (let i = 0; i < o.calls; i++) pairs.push(await rig.connectPaired());
    await rig.waitForMedia(
      pairs.map((p) => p.caller),
      10_000,
    );
    await sleep(1500); // greetings playing, marks flowing: the relay has audio queued at "Twilio"
    const samples: number[] = [];
    for (const { caller, session } of pairs) {
      let t0 = 0;
      const got = new Promise<number>((resolve) => {
        const timer = setTimeout(() => {
          caller.off('clear', onClear);
          resolve(Number.NaN);
        }, CLEAR_TIMEOUT_MS);
        const onClear = ({ at }: { at: number }): void => {
          clearTimeout(timer);
          resolve(at - t0);
        };
        caller.once('clear', onClear);
      });
      t0 = performance.now();
      session.speechStarted();
      const ms = await got;
      if (Number.isFinite(ms)) samples.push(ms);
      await sleep(50);
    }
    // The two no-logic relays do not time their own reaction.
    const inside = o.kind === 'passthrough' || o.kind === 'uwsfloor' ? [] : (await rig.child.report()).bargeInMs;
    return {
      kind: o.kind,
      label: entryFor(o.entries, o.kind).label,
      calls: o.calls,
      cleared: samples.length,
      p50: percentile([...samples], 50),
      p99: percentile([...samples], 99),
      max: samples.length > 0 ? Math.max(...samples) : Number.NaN,
      insideP50: percentile([...inside], 50),
      insideP99: percentile([...inside], 99),
    };
  } finally {
    await rig.close();
  }
}
