import { afterEach, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import { ACCEPT_BODY, apiError, sideband, startSip, type SipSetup } from './support/openai-sip-harness.js';

const setups: SipSetup[] = [];
afterEach(async () => {
  await Promise.all(setups.splice(0).map((s) => s.close()));
});

async function setup(...args: Parameters<typeof startSip>): Promise<SipSetup> {
  const s = await startSip(...args);
  setups.push(s);
  return s;
}

const CALLER = { from: '+14155550123', to: '+18005550100' };

describe('OpenAI SIP imitation: call control over REST', () => {
  it('accepts a ringing call with its session, and refuses a second accept with 400', async () => {
    const { sim, openai } = await setup();
    const call = await sim.dial(CALLER);
    await openai.realtime.calls.accept(call.callId, ACCEPT_BODY);
    expect(call.state).toBe('accepted');
    expect(call.acceptBody).toEqual(ACCEPT_BODY);
    expect(call.session?.view.instructions).toBe(ACCEPT_BODY.instructions);
    expect(call.session?.view.tools.map((t) => t.name)).toEqual(['lookup_booking']);
    const again = await apiError(openai.realtime.calls.accept(call.callId, ACCEPT_BODY));
    expect(again.status).toBe(400);
    expect(again.type).toBe('invalid_request_error');
    expect(sim.requests.map((r) => [r.op, r.callId, r.status])).toEqual([
      ['accept', call.callId, 200],
      ['accept', call.callId, 400],
    ]);
    expect(sim.requests[0]?.body).toEqual(ACCEPT_BODY);
  });

  it('takes an accept made from inside the webhook handler, before the webhook is answered', async () => {
    const { sim, openai, receiver } = await setup();
    receiver.answer = async (w) => {
      const event = await openai.webhooks.unwrap(w.body, w.headers);
      if (event.type === 'realtime.call.incoming') await openai.realtime.calls.accept(event.data.call_id, ACCEPT_BODY);
      return 200;
    };
    const call = await sim.dial(CALLER);
    expect(call.webhookStatus).toBe(200);
    expect(call.state).toBe('accepted');
  });

  it('answers an unknown call with 404 call_id_not_found and a wrong key with 401', async () => {
    const { sim, openai } = await setup();
    const unknown = await apiError(openai.realtime.calls.accept('rtc_u1_nosuchcall', ACCEPT_BODY));
    expect(unknown.status).toBe(404);
    expect(unknown.code).toBe('call_id_not_found');
    expect(unknown.error).toMatchObject({ message: 'No session found for the provided call_id' });
    const call = await sim.dial(CALLER);
    const wrong = new OpenAI({ apiKey: 'sk-wrong-key-000000', baseURL: sim.apiBaseUrl, maxRetries: 0 });
    const denied = await apiError(wrong.realtime.calls.accept(call.callId, ACCEPT_BODY));
    expect(denied.status).toBe(401);
    expect(denied.code).toBe('invalid_api_key');
    expect(call.state).toBe('ringing');
  });

  it('refuses an accept whose session is invalid (400, the call keeps ringing)', async () => {
    const { sim, openai } = await setup();
    const call = await sim.dial(CALLER);
    const bad = await apiError(
      openai.realtime.calls.accept(call.callId, { ...ACCEPT_BODY, output_modalities: ['audio', 'text'] }),
    );
    expect(bad.status).toBe(400);
    expect(bad.code).toBe('invalid_value');
    expect(bad.param).toBe('output_modalities');
    expect(call.state).toBe('ringing');
    await openai.realtime.calls.accept(call.callId, ACCEPT_BODY);
    expect(call.state).toBe('accepted');
  });

  it('rejects with 603 by default or the status given; a rejected call is gone', async () => {
    const { sim, openai } = await setup();
    const declined = await sim.dial(CALLER);
    await openai.realtime.calls.reject(declined.callId);
    expect(declined.state).toBe('rejected');
    expect(declined.rejectStatus).toBe(603);
    const busy = await sim.dial(CALLER);
    await openai.realtime.calls.reject(busy.callId, { status_code: 486 });
    expect(busy.rejectStatus).toBe(486);
    expect((await apiError(openai.realtime.calls.accept(busy.callId, ACCEPT_BODY))).status).toBe(404);
  });

  it('refers an accepted call (the call leaves: sideband closed, later requests 404)', async () => {
    const { sim, openai } = await setup();
    const call = await sim.dial(CALLER);
    const early = await apiError(openai.realtime.calls.refer(call.callId, { target_uri: 'tel:+14155550199' }));
    expect(early.status).toBe(400);
    await openai.realtime.calls.accept(call.callId, ACCEPT_BODY);
    const bad = await apiError(openai.realtime.calls.refer(call.callId, { target_uri: 'mailto:someone' }));
    expect(bad.status).toBe(400);
    expect(bad.param).toBe('target_uri');
    const client = await sideband(sim, call.callId);
    await openai.realtime.calls.refer(call.callId, { target_uri: 'tel:+14155550199' });
    expect(call.state).toBe('referred');
    expect(call.referTarget).toBe('tel:+14155550199');
    expect((await client.closed).code).toBe(1000);
    const after = await apiError(openai.realtime.calls.refer(call.callId, { target_uri: 'sip:desk@example.com' }));
    expect(after.status).toBe(404);
    expect(after.code).toBe('call_id_not_found');
    expect((await apiError(openai.realtime.calls.hangup(call.callId))).status).toBe(404);
  });

  it('hangs up an accepted call; hang-up and refer of the ended call get 404', async () => {
    const { sim, openai } = await setup();
    const call = await sim.dial(CALLER);
    await openai.realtime.calls.accept(call.callId, ACCEPT_BODY);
    const session = call.session;
    await openai.realtime.calls.hangup(call.callId);
    expect(call.state).toBe('ended');
    expect(session?.isOpen).toBe(false);
    expect((await apiError(openai.realtime.calls.hangup(call.callId))).status).toBe(404);
    expect((await apiError(openai.realtime.calls.refer(call.callId, { target_uri: 'tel:+1415' }))).status).toBe(404);
  });

  it('fails the next accepts on request; the SDK retries 5xx on its own', async () => {
    const { sim, openai } = await setup();
    const call = await sim.dial(CALLER);
    sim.failAccept(1, 503);
    const failed = await apiError(openai.realtime.calls.accept(call.callId, ACCEPT_BODY));
    expect(failed.status).toBe(503);
    expect(failed.type).toBe('server_error');
    expect(call.state).toBe('ringing');

    const retrying = await setup({}, { maxRetries: 2 });
    const second = await retrying.sim.dial(CALLER);
    retrying.sim.failAccept(2);
    await retrying.openai.realtime.calls.accept(second.callId, ACCEPT_BODY);
    expect(second.state).toBe('accepted');
    expect(retrying.sim.requests.map((r) => r.status)).toEqual([500, 500, 200]);
  });

  it('a call nobody answers rings out: missed, and a late accept gets 404', async () => {
    const { sim, openai } = await setup({ ringTimeoutMs: 150 });
    const call = await sim.dial(CALLER);
    await call.waitFor('missed', 3000);
    const late = await apiError(openai.realtime.calls.accept(call.callId, ACCEPT_BODY));
    expect(late.status).toBe(404);
    expect(late.code).toBe('call_id_not_found');
  });
});
