import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_GREETING, DEFAULT_LINES } from '../src/sim/model/model-agent.js';
import type { SimOpenAISipOptions } from '../src/sim/openai-sip/sip-server.js';
import { at, str, type TestClient } from './model-server-client.js';
import { ACCEPT_BODY, sideband, sidebandRefusal, startSip, type SipSetup } from './support/openai-sip-harness.js';

const setups: SipSetup[] = [];
const clients: TestClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all(setups.splice(0).map((s) => s.close()));
});

const CALLER = { from: '+14155550123', to: '+18005550100' };

/** A call dialled, accepted with ACCEPT_BODY and watched by one sideband. */
async function answered(opts: Partial<SimOpenAISipOptions> = {}) {
  const s = await startSip({ agent: { transcriptDelayMs: 20, ...opts.agent }, ...opts });
  setups.push(s);
  const call = await s.sim.dial(CALLER);
  await s.openai.realtime.calls.accept(call.callId, ACCEPT_BODY);
  const client = await attach(s, call.callId);
  await client.next('session.created');
  return { ...s, call, client };
}

async function attach(s: SipSetup, callId: string): Promise<TestClient> {
  const client = await sideband(s.sim, callId);
  clients.push(client);
  return client;
}

function transcriptOf(done: unknown): string {
  const t = at(done, 'response.output.0.content.0.transcript');
  return typeof t === 'string' ? t : '';
}

describe('OpenAI SIP imitation: the sideband', () => {
  it('serves the accepted session, speaks only when asked, and sends no audio deltas', async () => {
    const { call, client } = await answered();
    const created = client.events.find((e) => e.type === 'session.created');
    expect(at(created, 'session.instructions')).toBe(ACCEPT_BODY.instructions);
    expect(at(created, 'session.audio.output.voice')).toBe('marin');
    client.send({ type: 'session.update', session: { type: 'realtime', instructions: 'Be brief.' } });
    expect(at(await client.next('session.updated'), 'session.instructions')).toBe('Be brief.');
    expect(client.types()).not.toContain('response.created');

    client.send({ type: 'response.create' });
    const done = await client.next('response.done');
    expect(transcriptOf(done)).toBe(DEFAULT_GREETING);
    expect(client.types()).toContain('response.output_audio_transcript.delta');
    expect(client.types()).toContain('response.output_audio.done');
    expect(client.types()).not.toContain('response.output_audio.delta');
    expect(call.heard).toEqual([DEFAULT_GREETING]);
  });

  it('hears the caller: VAD turn, transcript of what was said, and the agent answers', async () => {
    const { call, client } = await answered();
    client.send({ type: 'response.create' });
    await client.next('response.done');
    await call.say('Hello, I would like to order a birthday cake');
    await client.next('input_audio_buffer.speech_started');
    const stopped = await client.next('input_audio_buffer.speech_stopped');
    const itemId = str(stopped, 'item_id');
    const transcript = await client.next('conversation.item.input_audio_transcription.completed');
    expect(transcript.item_id).toBe(itemId);
    expect(transcript.transcript).toBe('Hello, I would like to order a birthday cake');
    expect(transcriptOf(await client.next('response.done'))).toBe(DEFAULT_LINES[0]);
    expect(call.heard).toEqual([DEFAULT_GREETING, DEFAULT_LINES[0]]);
  });

  it('carries a tool call round trip', async () => {
    const { call, client } = await answered({ agent: { toolCallEveryNTurns: 1, transcriptDelayMs: 20 } });
    await call.say('Can you find my booking');
    const done = await client.next('response.done');
    const fn = at(done, 'response.output.1');
    expect(at(fn, 'type')).toBe('function_call');
    expect(at(fn, 'name')).toBe('lookup_booking');
    expect(JSON.parse(str(fn, 'arguments'))).toEqual({ code: 'simulated' });
    client.send({
      type: 'conversation.item.create',
      item: { type: 'function_call_output', call_id: str(fn, 'call_id'), output: '{"found":true}' },
    });
    client.send({ type: 'response.create' });
    expect(transcriptOf(await client.next('response.done'))).toMatch(/checked that for you/);
  });

  it('reports its own playback: started, then stopped once the audio has played at real pace', async () => {
    const { client } = await answered();
    const t0 = performance.now();
    client.send({ type: 'response.create' });
    const started = await client.next('output_audio_buffer.started');
    const done = await client.next('response.done');
    const stopped = await client.next('output_audio_buffer.stopped', () => true, 15_000);
    const playedMs = performance.now() - t0;
    expect(started.response_id).toBe(at(done, 'response.id'));
    expect(stopped.response_id).toBe(at(done, 'response.id'));
    // The greeting is generated faster than real time; the caller hears it at its own length.
    const audioMs = Number(at(done, 'response.usage.output_token_details.audio_tokens')) * 50;
    expect(audioMs).toBeGreaterThan(0);
    expect(playedMs).toBeGreaterThanOrEqual(audioMs * 0.9);
    expect(client.types().indexOf('output_audio_buffer.stopped')).toBeGreaterThan(
      client.types().indexOf('response.done'),
    );
  });

  it('clears its playback when the caller speaks over it', async () => {
    const { call, client } = await answered({ vad: true });
    client.send({ type: 'response.create' });
    await client.next('output_audio_buffer.started');
    await call.say('Hello? Sorry, one question');
    const cleared = await client.next('output_audio_buffer.cleared');
    expect(typeof cleared.response_id).toBe('string');
  });

  it('relays keypad presses as dtmf_event_received', async () => {
    const { call, client } = await answered();
    call.pressDigit('5');
    const dtmf = await client.next('input_audio_buffer.dtmf_event_received');
    expect(dtmf.event).toBe('5');
    expect(typeof dtmf.received_at).toBe('number');
  });

  it('survives a dropped sideband: a reattach finds the same session and conversation', async () => {
    const s = await answered();
    const { call, client } = s;
    client.send({ type: 'response.create' });
    const greetingDone = await client.next('response.done');
    const greetingItem = str(greetingDone, 'response.output.0.id');
    const session = call.session;
    call.dropSideband();
    expect((await client.closed).code).toBe(1006);
    expect(call.state).toBe('accepted');
    expect(call.sidebandsAttached).toBe(0);

    // What happens while nobody watches is not kept for the next sideband.
    const droppedBefore = call.eventsDropped;
    call.pressDigit('1');
    expect(call.eventsDropped).toBe(droppedBefore + 1);
    const again = await attach(s, call.callId);
    await call.waitForSideband();
    const created = await again.next('session.created');
    expect(at(created, 'session.id')).toBe(session?.id);
    expect(call.session).toBe(session);
    expect(call.sidebandsOpened).toBe(2);
    again.send({ type: 'conversation.item.retrieve', item_id: greetingItem });
    const retrieved = await again.next('conversation.item.retrieved');
    expect(at(retrieved, 'item.content.0.transcript')).toBe(DEFAULT_GREETING);
    // The conversation goes on where it was: the agent's next line follows its greeting.
    await call.say('Are you open on Sunday');
    expect(transcriptOf(await again.next('response.done'))).toBe(DEFAULT_LINES[0]);
    expect(again.types()).not.toContain('input_audio_buffer.dtmf_event_received');
  });

  it('refuses upgrades when told (503), before accept (404), with a wrong key (401)', async () => {
    const s = await startSip();
    setups.push(s);
    const call = await s.sim.dial(CALLER);
    expect(await sidebandRefusal(s.sim, call.callId)).toBe(404);
    await s.openai.realtime.calls.accept(call.callId, ACCEPT_BODY);
    expect(await sidebandRefusal(s.sim, call.callId, 'sk-wrong-key-000000')).toBe(401);
    call.refuseSideband(1);
    expect(await sidebandRefusal(s.sim, call.callId)).toBe(503);
    const client = await attach(s, call.callId);
    await client.next('session.created');
    expect(call.sidebandsOpened).toBe(1);
  });

  it('closes the sideband when the caller hangs up; a reattach gets 404', async () => {
    const s = await answered();
    const { call, client } = s;
    call.hangUp();
    expect(await client.closed).toEqual({ code: 1000, reason: 'caller hung up' });
    expect(call.state).toBe('ended');
    expect(call.session?.isOpen).toBe(false);
    expect(await sidebandRefusal(s.sim, call.callId)).toBe(404);
    await expect(call.waitFor('accepted')).rejects.toThrow(/ended/);
  });

  it('ends the call when the session reaches its maximum duration (error, then 1001)', async () => {
    const { call, client } = await answered({ maxSessionMs: 1000 });
    const error = await client.next('error');
    expect(at(error, 'error.code')).toBe('session_expired');
    expect((await client.closed).code).toBe(1001);
    expect(call.state).toBe('ended');
  });
});
