import { afterEach, describe, expect, it } from 'vitest';
import { CallHarness, DELAYS } from './support/call-harness.js';

// Durations of the call chart's timers, on virtual time. The generated path tests only check
// that each timer is armed in the right states; these check *when* they fire.

const harnesses: CallHarness[] = [];
function call(machine = false, interruptible = true): CallHarness {
  const h = new CallHarness({ machine, interruptible, bargeIn: 'relay' });
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
    expect(h.clock.pending()).toEqual([DELAYS.responseTimeout, DELAYS.maxCall]);
    await h.apply({ type: 'model.responseCreated' });
    await h.apply({ type: 'model.audioStarted' });
    h.clock.advance(DELAYS.connectTimeout * 2);
    expect(h.value()).toBe('session.greeting.producing');
    expect(h.callsOf('playApology')).toHaveLength(0);
  });

  it('wraps up at maxCallMs counted from the start of the session', async () => {
    const h = call();
    h.clock.advance(3000); // connecting time does not count
    await toListening(h);
    // The caller is talking all along, so no silence re-prompt ends the call first.
    await h.apply({ type: 'model.speechStarted' });
    h.clock.advance(DELAYS.maxCall - 1);
    expect(h.value()).toBe('session.listening');
    h.clock.advance(1);
    // No response in flight, so the wrap-up is requested at once; the max-call timer is gone.
    expect(h.value()).toBe('wrappingUp.producing');
    expect(h.callsOf('requestWrapUp')).toHaveLength(1);
    expect(h.actor.getSnapshot().context.endReason).toBe('max_duration');
    expect(h.clock.pending()).toEqual([DELAYS.responseTimeout, DELAYS.wrapUpLimit]);
  });

  it('never arms the max-call timer for an answering machine; the voicemail limit ends it', async () => {
    const h = call(true);
    await h.apply({ type: 'model.ready' });
    expect(h.value()).toBe('voicemail.producing');
    expect(h.clock.pending()).toEqual([DELAYS.responseTimeout, DELAYS.voicemailLimit]);
    await h.apply({ type: 'model.responseCreated' });
    await h.apply({ type: 'model.audioStarted' });
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
    expect(h.callsOf('interrupt')).toEqual([{ type: 'interrupt', cancel: true, truncate: true }]);
    h.clock.advance(DELAYS.bargeInSettle - 1);
    expect(h.value()).toBe('session.bargeIn');
    h.clock.advance(1);
    expect(h.value()).toBe('session.listening');
    expect(h.clock.pending()).toEqual([DELAYS.silence, DELAYS.responseTimeout, DELAYS.maxCall]);
    // The cancelled response is not owed: the caller talking is not a stalled model.
    h.clock.advance(DELAYS.responseTimeout);
    expect(h.value()).toBe('session.listening');
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
    expect(h.clock.pending()).toEqual([DELAYS.silence, DELAYS.responseTimeout, DELAYS.maxCall]);
    expect(h.tools).toHaveLength(0); // the half-written call of the cancelled response never ran
  });

  it('ends a call whose model starts the wrap-up and never finishes it after 20 s', async () => {
    const h = call();
    await toListening(h);
    await h.apply({ type: 'server.shutdown' });
    expect(h.value()).toBe('wrappingUp.producing');
    await h.apply({ type: 'model.responseCreated' });
    await h.apply({ type: 'model.audioStarted' });
    h.clock.advance(DELAYS.wrapUpLimit - 1);
    expect(h.value()).toBe('wrappingUp.producing');
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
    await h.apply({ type: 'model.audioStarted' });
    h.clock.advance(DELAYS.maxCall);
    expect(h.value()).toBe('wrappingUp.waitingTurn');
    expect(h.callsOf('requestWrapUp')).toHaveLength(0);
    h.clock.advance(DELAYS.wrapUpLimit);
    expect(h.value()).toBe('teardown');
    expect(h.callsOf('requestWrapUp')).toHaveLength(0);
    expect(h.actor.getSnapshot().context.endReason).toBe('max_duration');
  });
});

describe('response watchdog: a model that accepted the session but stops speaking', () => {
  const stalledAt = (h: CallHarness, state: string) => {
    h.clock.advance(DELAYS.responseTimeout - 1);
    expect(h.value()).toBe(state);
    expect(h.callsOf('playApology')).toHaveLength(0);
    h.clock.advance(1);
  };

  it('apologises and ends the call (model_stalled) when the greeting never comes', async () => {
    const h = call();
    await h.apply({ type: 'model.ready' });
    stalledAt(h, 'session.greeting.producing');
    expect(h.value()).toBe('apologizing');
    expect(h.callsOf('playApology')).toHaveLength(1);
    expect(h.actor.getSnapshot().context.endReason).toBe('model_stalled');
    h.clock.advance(DELAYS.apologyHangup);
    expect(h.value()).toBe('teardown');
  });

  it('also when the greeting response was created but no audio follows', async () => {
    const h = call();
    await h.apply({ type: 'model.ready' });
    await h.apply({ type: 'model.responseCreated' });
    stalledAt(h, 'session.greeting.producing');
    expect(h.actor.getSnapshot().context.endReason).toBe('model_stalled');
  });

  it('stands down once audio flows: a long greeting is not a stall', async () => {
    const h = call();
    await h.apply({ type: 'model.ready' });
    await h.apply({ type: 'model.responseCreated' });
    await h.apply({ type: 'model.audioStarted' });
    h.clock.advance(DELAYS.responseTimeout * 3);
    expect(h.value()).toBe('session.greeting.producing');
    expect(h.callsOf('playApology')).toHaveLength(0);
  });

  it('never fires while the caller has the floor and nothing is owed', async () => {
    const h = call();
    await toListening(h);
    await h.apply({ type: 'model.speechStarted' }); // the caller talks (and so is not silent either)
    h.clock.advance(DELAYS.responseTimeout * 3);
    expect(h.value()).toBe('session.listening');
    expect(h.callsOf('playApology')).toHaveLength(0);
  });

  it('watches a keypad answer even after earlier responses spoke (the owed response is the new one)', async () => {
    const h = call();
    await h.apply({ type: 'model.ready' });
    await h.apply({ type: 'model.responseCreated' });
    await h.apply({ type: 'model.audioStarted' });
    await h.apply({ type: 'model.responseDone', status: 'completed' });
    await h.apply({ type: 'playback.drained' });
    h.clock.advance(DELAYS.responseTimeout - 100);
    await h.apply({ type: 'caller.dtmf' });
    stalledAt(h, 'session.listening');
    expect(h.value()).toBe('apologizing');
    expect(h.actor.getSnapshot().context.endReason).toBe('model_stalled');
  });

  it('watches the answer to tool outputs, and a response created by the model that never speaks', async () => {
    const h = call();
    await toListening(h);
    await h.apply({ type: 'model.responseCreated' });
    await h.apply({ type: 'model.audioStarted' });
    await h.apply({ type: 'model.responseDoneWithTools', calls: 1, spoke: false });
    await h.apply({ type: 'tool.done', directive: 'none' });
    expect(h.callsOf('sendToolOutputs')).toHaveLength(1);
    expect(h.value()).toBe('session.listening');
    h.clock.advance(DELAYS.responseTimeout - 1);
    await h.apply({ type: 'model.responseCreated' });
    stalledAt(h, 'session.speaking.producing');
    expect(h.actor.getSnapshot().context.endReason).toBe('model_stalled');
  });

  it('ends a voicemail whose message never comes without an apology, skips a goodbye that never comes', async () => {
    const v = call(true);
    await v.apply({ type: 'model.ready' });
    stalledAt(v, 'voicemail.producing');
    expect(v.value()).toBe('teardown');
    expect(v.callsOf('playApology')).toHaveLength(0);
    expect(v.actor.getSnapshot().context.endReason).toBe('model_stalled');

    const w = call();
    await toListening(w);
    await w.apply({ type: 'server.shutdown' });
    stalledAt(w, 'wrappingUp.producing');
    expect(w.value()).toBe('teardown');
    expect(w.actor.getSnapshot().context.endReason).toBe('server_shutdown');
  });
});
