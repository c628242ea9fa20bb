import { afterEach, describe, expect, it } from 'vitest';
import { SimCaller } from '../src/sim/twilio/caller.js';
import { startRelayProcess, type RelayProcess } from './support/relay-process.js';
import { until } from './support/relay-harness.js';
import { openStore } from '../src/store/open-store.js';

// A rolling deploy: SIGTERM to a real relay process with live calls. No call is cut short inside
// the drain window, every call leaves a record, and the process exits 0.

let relay: RelayProcess | undefined;
afterEach(() => {
  if (relay && relay.child.exitCode === null) relay.kill('SIGKILL');
  relay = undefined;
});

const params = { merchantId: 'demo', callerPhone: '+14155550100', direction: 'inbound' };

describe('graceful drain on SIGTERM', () => {
  it('stops taking calls, lets live calls finish, records them all, exits 0', async () => {
    relay = await startRelayProcess({ PROVIDER: 'sim', DRAIN_SECONDS: '30' });
    const url = `ws://127.0.0.1:${relay.port}/media-stream`;
    const callers = await Promise.all([1, 2, 3].map(() => SimCaller.connect({ url, customParameters: params })));
    await until(() => callers.every((c) => c.heardBytes > 8 * 200), 10_000, 'every caller to hear the greeting');
    relay.kill('SIGTERM');
    await relay.waitForLog((l) => String(l.msg).startsWith('shutting down'));
    const health = await fetch(`http://127.0.0.1:${relay.port}/health`);
    expect(health.status).toBe(503);
    expect(await health.json()).toMatchObject({ status: 'draining', calls: 3 });
    await expect(SimCaller.connect({ url, customParameters: params })).rejects.toThrow(/503/);
    // Live calls go on: audio keeps arriving during the drain.
    const heard = callers.map((c) => c.heardBytes);
    await until(() => callers.every((c, i) => c.heardBytes > heard[i]! + 8 * 500), 10_000, 'audio during the drain');
    expect(callers.every((c) => c.state === 'open')).toBe(true);
    for (const c of callers) await c.hangUp();
    expect(await relay.exited).toBe(0);
    const records = relay.lines.filter((l) => l.msg === 'call record');
    expect(records.map((r) => r.callSid).sort()).toEqual(callers.map((c) => c.callSid).sort());
    expect(records.every((r) => r.endReason === 'caller_hung_up')).toBe(true);
    // …and they are in the database (embedded PGlite in the process's DATA_DIR).
    const store = await openStore({ dataDir: relay.dataDir });
    try {
      for (const c of callers) {
        const rec = await store.getCallRecord(c.callSid);
        expect(rec?.endReason).toBe('caller_hung_up');
        expect(rec?.transcript.length).toBeGreaterThan(0);
      }
    } finally {
      await store.close();
    }
  }, 120_000);

  it('asks calls still live after the window to wrap up, then ends them with a record', async () => {
    relay = await startRelayProcess({ PROVIDER: 'sim', DRAIN_SECONDS: '1' });
    const url = `ws://127.0.0.1:${relay.port}/media-stream`;
    const caller = await SimCaller.connect({ url, customParameters: params });
    await until(() => caller.heardBytes > 8 * 200, 10_000, 'greeting');
    relay.kill('SIGTERM');
    await caller.waitForClose(35_000);
    expect(await relay.exited).toBe(0);
    const rec = relay.lines.find((l) => l.msg === 'call record' && l.callSid === caller.callSid);
    expect(rec?.endReason).toBe('server_shutdown');
  }, 120_000);
});
