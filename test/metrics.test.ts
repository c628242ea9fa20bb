import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, until, type Harness } from './support/relay-harness.js';

// What an operator scrapes after a call: the counters move with what happened on the call.

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const value = (text: string, series: string): number => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : Number.NaN;
};

describe('/metrics', () => {
  it('reports calls, frames, barge-ins and latencies after a scripted call (loopback port, no token)', async () => {
    h = await startHarness();
    const { caller, model } = await h.call();
    model.onResponseCreate(() => ({ text: 'Hi.', audioMs: 200 }));
    await until(() => h!.states.get(caller.callSid)?.at(-1) === 'session.listening', 8000, 'listening');
    const scrape = async () => (await fetch(`http://127.0.0.1:${h!.relay.server.metricsPort}/metrics`)).text();
    expect(value(await scrape(), 'callrelay_live_calls')).toBe(1);
    const answering = model.respond({ text: 'A long answer.', audioMs: 2000, realtimeFactor: 1.5 });
    await until(() => caller.clearsAt.length === 0 && caller.heardBytes > 8 * 1000, 5000, 'playing');
    model.speechStarted();
    await until(() => caller.clearsAt.length === 1, 1000, 'clear');
    await answering;
    await caller.hangUp();
    await h.recorder.waitFor(caller.callSid);
    const text = await scrape();
    expect(value(text, 'callrelay_live_calls')).toBe(0);
    expect(value(text, 'callrelay_calls_total{reason="caller_hung_up"}')).toBe(1);
    expect(value(text, 'callrelay_barge_ins_total')).toBe(1);
    expect(value(text, 'callrelay_barge_in_reaction_seconds_count')).toBe(1);
    expect(value(text, 'callrelay_frames_relayed_total{direction="in"}')).toBeGreaterThan(10);
    expect(value(text, 'callrelay_frames_relayed_total{direction="out"}')).toBeGreaterThan(5);
    expect(value(text, 'callrelay_model_connect_seconds_count{provider="openai"}')).toBe(1);
    // Counters keep counting across scrapes (not reset by the scrape that reads them).
    expect(value(await scrape(), 'callrelay_frames_relayed_total{direction="in"}')).toBeGreaterThanOrEqual(
      value(text, 'callrelay_frames_relayed_total{direction="in"}'),
    );
  });

  it('serves /metrics on the main port only with the bearer token when METRICS_TOKEN is set', async () => {
    h = await startHarness({ env: { METRICS_TOKEN: 's3cret-metrics' } });
    const url = `http://127.0.0.1:${h.relay.port}/metrics`;
    expect((await fetch(url)).status).toBe(401);
    expect((await fetch(url, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    const ok = await fetch(url, { headers: { authorization: 'Bearer s3cret-metrics' } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('callrelay_live_calls');
    expect(h.relay.server.metricsPort).toBeNull();
  });
});
