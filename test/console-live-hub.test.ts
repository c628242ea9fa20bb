import { afterEach, describe, expect, it } from 'vitest';
import type { Call } from '../src/call/call.js';
import { LiveHub, type LiveSink } from '../src/console/live-hub.js';

// The live feed behind the console: what viewers receive as calls change state, and what a viewer
// that stops reading costs (nothing queued for it; a fresh snapshot once it drains).

interface FakeCall {
  info: { callSid: string; merchant: { id: string; name: string }; callerPhone: string; direction: string };
  startedAt: number;
  state: string;
  isEnded: boolean;
}

const calls: FakeCall[] = [];
const call = (callSid: string, merchantId: string): FakeCall => {
  const c: FakeCall = {
    info: {
      callSid,
      merchant: { id: merchantId, name: merchantId },
      callerPhone: '+14155550123',
      direction: 'inbound',
    },
    startedAt: Date.now(),
    state: 'connecting',
    isEnded: false,
  };
  calls.push(c);
  return c;
};
const asCall = (c: FakeCall): Call => c as unknown as Call;

class Sink implements LiveSink {
  readonly events: Array<{ event: string; data: unknown }> = [];
  backedUp = false;
  closed = false;
  send(text: string): boolean {
    for (const block of text.split('\n\n').filter((b) => b !== '')) {
      const [ev, data] = block.split('\n');
      this.events.push({ event: (ev ?? '').slice('event: '.length), data: JSON.parse((data ?? '').slice(6)) });
    }
    return !this.backedUp;
  }
  close(): void {
    this.closed = true;
  }
  states(): string[] {
    return this.events.filter((e) => e.event === 'call').map((e) => (e.data as { state: string }).state);
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
let hub: LiveHub | undefined;
afterEach(() => {
  hub?.close();
  calls.length = 0;
});

describe('live hub', () => {
  it('starts each viewer with the calls it may see, then sends every state change in order', async () => {
    hub = new LiveHub({ calls: () => calls.map(asCall), flushMs: 10 });
    const a = call('CA1', 'demo');
    const b = call('CA2', 'bikes');
    const operator = new Sink();
    const owner = new Sink();
    hub.subscribe(null, operator);
    hub.subscribe('bikes', owner);
    expect(operator.events[0]).toMatchObject({ event: 'snapshot' });
    const sids = (sink: Sink) =>
      (sink.events[0]?.data as Array<{ callSid: string }> | undefined)?.map((c) => c.callSid);
    expect(sids(operator)).toEqual(['CA1', 'CA2']);
    expect(sids(owner)).toEqual(['CA2']);
    for (const s of ['session.speaking.producing', 'session.bargeIn', 'session.listening']) {
      a.state = s;
      hub.changed(asCall(a), s);
    }
    b.state = 'session.greeting.producing';
    hub.changed(asCall(b), b.state);
    // Nothing is written on the call path itself.
    expect(operator.events).toHaveLength(1);
    await sleep(40);
    expect(operator.states()).toEqual([
      'session.speaking.producing',
      'session.bargeIn',
      'session.listening',
      'session.greeting.producing',
    ]);
    expect(owner.states()).toEqual(['session.greeting.producing']);
    a.isEnded = true;
    hub.changed(asCall(a), 'teardown');
    await sleep(40);
    expect(operator.events.at(-1)).toEqual({ event: 'ended', data: { callSid: 'CA1' } });
    expect(owner.events.some((e) => e.event === 'ended')).toBe(false);
  });

  it('stops writing to a viewer that is backed up, resyncs it with a snapshot when it drains', async () => {
    hub = new LiveHub({ calls: () => calls.map(asCall), flushMs: 5 });
    const a = call('CA1', 'demo');
    const slow = new Sink();
    const fast = new Sink();
    const sub = hub.subscribe(null, slow);
    hub.subscribe(null, fast);
    slow.backedUp = true;
    for (let i = 0; i < 50; i++) {
      a.state = i % 2 ? 'session.listening' : 'session.speaking.producing';
      hub.changed(asCall(a), a.state);
      await sleep(8);
    }
    // One write found it backed up; after that nothing more was written to it.
    expect(slow.states().length).toBeLessThanOrEqual(1);
    expect(fast.states().length).toBe(50);
    slow.backedUp = false;
    sub.drained();
    expect(slow.events.at(-1)?.event).toBe('snapshot');
    expect((slow.events.at(-1)?.data as Array<{ state: string }> | undefined)?.[0]?.state).toBe(a.state);
  });

  it('disconnects a viewer that stays backed up past the limit, and does nothing without viewers', async () => {
    hub = new LiveHub({ calls: () => calls.map(asCall), flushMs: 5, heartbeatMs: 20, stallLimitMs: 30 });
    const a = call('CA1', 'demo');
    hub.changed(asCall(a), 'session.listening');
    const slow = new Sink();
    slow.backedUp = true;
    hub.subscribe(null, slow);
    expect(hub.viewerCount).toBe(1);
    await sleep(120);
    expect(slow.closed).toBe(true);
    expect(hub.viewerCount).toBe(0);
  });
});
