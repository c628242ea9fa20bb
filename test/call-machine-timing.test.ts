import { afterEach, describe, expect, it } from 'vitest';
import { CallHarness, DELAYS } from './support/call-harness.js';

// Durations of the call chart's timers, on virtual time. The generated path tests only check
// that each timer is armed in the right states; these check *when* they fire.

const harnesses: CallHarness[] = [];
function call(machine = false, interruptible = true): CallHarness {
  const h = new CallHarness({ machine, interruptible });
  harnesses.push(h);
  return h;
}
afterEach(() => {
  for (const h of harnesses.splice(0)) h.stop();
});

/** Greeting done and played out: the caller has the floor. */
async function toListening(h: CallHarness): Promise<void> {
  await h.apply({ type: 'model.ready' });
  await h.apply({ type: 'model.responseCreated' });
  await h.apply({ type: 'model.responseDone', status: 'completed' });
  await h.apply({ type: 'playback.drained' });
  expect(h.value()).toBe('session.listening');
}

describe('call chart timers', () => {
  it('gives up on the model at connectTimeoutMs, not before, then apologises for 3 s and hangs up', () => {
    const h = call();
    expect(h.clock.pending()).toEqual([DELAYS.connectTimeout]);
    h.clock.advance(DELAYS.connectTimeout - 1);
    expect(h.value()).toBe('connecting');
    expect(h.callsOf('playApology')).toHaveLength(0);

    h.clock.advance(1);
    expect(h.value()).toBe('apologizing');
    expect(h.callsOf('playApology')).toHaveLength(1);
    expect(h.actor.getSnapshot().context.endReason).toBe('model_connect_timeout');

    h.clock.advance(DELAYS.apologyHangup - 1);
    expect(h.value()).toBe('apologizing');
    expect(h.callsOf('finish')).toHaveLength(0);
    h.clock.advance(1);
    expect(h.value()).toBe('teardown');
    expect(h.callsOf('finish')).toHaveLength(1);
    expect(h.actor.getSnapshot().status).toBe('done');
    expect(h.clock.pending()).toEqual([]);
  });

  it('cancels the connect timeout once the model is ready and arms the max-call timer', async () => {
    const h = call();
    h.clock.advance(5000);
    await h.apply({ type: 'model.ready' });
    expect(h.clock.pending()).toEqual([DELAYS.maxCall]);
    h.clock.advance(DELAYS.connectTimeout * 2);
    expect(h.value()).toBe('session.greeting.producing');
    expect(h.callsOf('playApology')).toHaveLength(0);
  });

  it('wraps up at maxCallMs counted from the start of the session', async () => {
    const h = call();
    h.clock.advance(3000); // connecting time does not count
    await toListening(h);
    h.clock.advance(DELAYS.maxCall - 1);
    expect(h.value()).toBe('session.listening');
    h.clock.advance(1);
    // No response in flight, so the wrap-up is requested at once; the max-call timer is gone.
    expect(h.value()).toBe('wrappingUp.saying');
    expect(h.callsOf('requestWrapUp')).toHaveLength(1);
    expect(h.actor.getSnapshot().context.endReason).toBe('max_duration');
    expect(h.clock.pending()).toEqual([DELAYS.wrapUpLimit]);
  });

  it('never arms the max-call timer for an answering machine; the voicemail limit ends it', async () => {
    const h = call(true);
    await h.apply({ type: 'model.ready' });
    expect(h.value()).toBe('voicemail.producing');
    expect(h.clock.pending()).toEqual([DELAYS.voicemailLimit]);
    h.clock.advance(DELAYS.voicemailLimit - 1);
    expect(h.value()).toBe('voicemail.producing');
    h.clock.advance(1);
    expect(h.value()).toBe('teardown');
    expect(h.actor.getSnapshot().context.endReason).toBe('voicemail_left');
    expect(h.callsOf('requestWrapUp')).toHaveLength(0);
  });

  it('settles a barge-in to listening after 2000 ms when no response.done arrives', async () => {
    const h = call();
    await toListening(h);
    await h.apply({ type: 'model.responseCreated' });
    await h.apply({ type: 'model.speechStarted' });
    expect(h.value()).toBe('session.bargeIn');
    expect(h.callsOf('interrupt')).toEqual([{ type: 'interrupt', cancel: true }]);
    h.clock.advance(DELAYS.bargeInSettle - 1);
    expect(h.value()).toBe('session.bargeIn');
    h.clock.advance(1);
    expect(h.value()).toBe('session.listening');
    expect(h.clock.pending()).toEqual([DELAYS.maxCall]);
  });

  it('restarts the barge-in settle timer on every new barge-in', async () => {
    const h = call();
    await toListening(h);
    await h.apply({ type: 'model.responseCreated' });
    await h.apply({ type: 'model.speechStarted' });
    h.clock.advance(1500);
    await h.apply({ type: 'model.responseCreated' }); // the model answers, the caller talks over it again
    expect(h.value()).toBe('session.speaking.producing');
    h.clock.advance(300);
    await h.apply({ type: 'model.speechStarted' });
    h.clock.advance(DELAYS.bargeInSettle - 1); // 3799 ms after the first barge-in
    expect(h.value()).toBe('session.bargeIn');
    h.clock.advance(1);
    expect(h.value()).toBe('session.listening');
  });

  it('leaves barge-in at response.done without waiting, and drops the settle timer', async () => {
    const h = call();
    await toListening(h);
    await h.apply({ type: 'model.responseCreated' });
    await h.apply({ type: 'model.speechStarted' });
    h.clock.advance(400);
    await h.apply({ type: 'model.responseDone', status: 'cancelled' });
    expect(h.value()).toBe('session.listening');
    expect(h.clock.pending()).toEqual([DELAYS.maxCall]);
    expect(h.tools).toHaveLength(0); // the half-written call of the cancelled response never ran
  });

  it('ends a call whose model never answers the wrap-up after 20 s', async () => {
    const h = call();
    await toListening(h);
    await h.apply({ type: 'server.shutdown' });
    expect(h.value()).toBe('wrappingUp.saying');
    h.clock.advance(DELAYS.wrapUpLimit - 1);
    expect(h.value()).toBe('wrappingUp.saying');
    expect(h.callsOf('finish')).toHaveLength(0);
    h.clock.advance(1);
    expect(h.value()).toBe('teardown');
    expect(h.callsOf('finish')).toHaveLength(1);
    expect(h.actor.getSnapshot().context.endReason).toBe('server_shutdown');
  });

  it('waits for the running response before the wrap-up, but still within the 20 s limit', async () => {
    const h = call();
    await toListening(h);
    await h.apply({ type: 'model.responseCreated' });
    h.clock.advance(DELAYS.maxCall);
    expect(h.value()).toBe('wrappingUp.waitingTurn');
    expect(h.callsOf('requestWrapUp')).toHaveLength(0);
    h.clock.advance(DELAYS.wrapUpLimit);
    expect(h.value()).toBe('teardown');
    expect(h.callsOf('requestWrapUp')).toHaveLength(0);
    expect(h.actor.getSnapshot().context.endReason).toBe('max_duration');
  });
});
