import { afterEach, describe, expect, it } from 'vitest';
import { onlyMerchant, startSipHarness, until, type SipHarness } from './support/sip-relay-harness.js';

// POST /openai/webhook refuses what it must before any REST call is made (forged, stale, replayed,
// malformed), and a verified offer is rejected with a SIP status when the relay cannot take it, or
// accepted even when OpenAI's accept fails a few times within the ring window.

let h: SipHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const offer = (callId: string, to = '+15005550006') =>
  JSON.stringify({
    object: 'event',
    id: `evt_${callId}`,
    type: 'realtime.call.incoming',
    created_at: Math.floor(Date.now() / 1000),
    data: {
      call_id: callId,
      sip_headers: [
        { name: 'From', value: '<sip:+14155550100@carrier.example>;tag=1' },
        { name: 'To', value: `<sip:${to}@sip.api.openai.com>` },
      ],
    },
  });

async function post(headers: Record<string, string>, body: string): Promise<{ status: number; text: string }> {
  const res = await fetch(h?.webhookUrl ?? '', { method: 'POST', headers, body });
  return { status: res.status, text: await res.text() };
}

describe('POST /openai/webhook refusals', () => {
  it('401 for a forged or missing signature and a stale timestamp; no REST call is made', async () => {
    h = await startSipHarness();
    const signed = h.sip.sign(offer('rtc_forged'));
    const forged = { ...signed.headers, 'webhook-signature': `v1,${Buffer.alloc(32, 1).toString('base64')}` };
    expect((await post(forged, signed.body)).status).toBe(401);
    const { 'webhook-signature': _gone, ...unsigned } = signed.headers;
    expect((await post(unsigned, signed.body)).status).toBe(401);
    const stale = h.sip.sign(offer('rtc_stale'), new Date(Date.now() - 10 * 60_000));
    const staleAnswer = await post(stale.headers, stale.body);
    expect(staleAnswer.status).toBe(401);
    expect(staleAnswer.text).toContain('webhook not verified');
    // Tampered after signing.
    const tampered = h.sip.sign(offer('rtc_tampered'));
    expect((await post(tampered.headers, tampered.body.replace('+15005550006', '+15005550007'))).status).toBe(401);
    await new Promise((r) => setTimeout(r, 100));
    expect(h.sip.requests).toEqual([]);
  });

  it('400 for a replayed webhook id: the call is accepted once', async () => {
    h = await startSipHarness();
    const call = await h.dial();
    await call.waitFor('accepted', 5000);
    expect(await h.sip.deliver(call.webhook)).toBe(400);
    await new Promise((r) => setTimeout(r, 100));
    expect(h.sip.requests.filter((r) => r.op === 'accept')).toHaveLength(1);
    call.hangUp();
  });

  it('400 for a signed call offer without a call id; other event types are acknowledged', async () => {
    h = await startSipHarness();
    const bad = h.sip.sign(JSON.stringify({ ...JSON.parse(offer('x')), data: { sip_headers: [] } }));
    const answer = await post(bad.headers, bad.body);
    expect(answer.status).toBe(400);
    expect(answer.text).toContain('call_id');
    const other = h.sip.sign(
      JSON.stringify({ object: 'event', id: 'evt_b', type: 'batch.completed', created_at: 1, data: { id: 'batch_1' } }),
    );
    expect((await post(other.headers, other.body)).status).toBe(200);
    expect(h.sip.requests).toEqual([]);
  });
});

describe('SIP call offers the relay cannot take', () => {
  it('rejects a number no merchant owns with 404 when there is no fallback merchant', async () => {
    h = await startSipHarness({ directory: onlyMerchant });
    const call = await h.dial({ to: '+15005550009' });
    await call.waitFor('rejected', 5000);
    expect(call.rejectStatus).toBe(404);
    expect(h.sip.requests.map((r) => r.op)).toEqual(['reject']);
  });

  it('rejects busy (486) past MAX_LIVE_CALLS, and takes calls again once one ends', async () => {
    h = await startSipHarness({ env: { MAX_LIVE_CALLS: '1' } });
    const first = await h.listening();
    const second = await h.dial();
    await second.waitFor('rejected', 5000);
    expect(second.rejectStatus).toBe(486);
    first.hangUp();
    await h.recorder.waitFor(first.callId);
    const third = await h.dial();
    await third.waitFor('accepted', 5000);
    third.hangUp();
  });

  it('retries a failing accept within the ring window', async () => {
    h = await startSipHarness();
    h.sip.failAccept(2, 500);
    const call = await h.dial();
    await call.waitFor('accepted', 8000);
    expect(h.sip.requests.map((r) => `${r.op} ${r.status}`)).toEqual(['accept 500', 'accept 500', 'accept 200']);
    await call.waitForSideband(5000);
    call.hangUp();
    expect((await h.recorder.waitFor(call.callId)).endReason).toBe('caller_hung_up');
  });

  it('leaves the call to ring out when accept keeps failing, and counts it', async () => {
    h = await startSipHarness();
    h.sip.failAccept(100, 503);
    const call = await h.dial();
    await until(() => h?.sip.requests.length === 6, 10_000, 'six accept attempts');
    await new Promise((r) => setTimeout(r, 2500));
    expect(h.sip.requests.every((r) => r.op === 'accept' && r.status === 503)).toBe(true);
    expect(h.sip.requests).toHaveLength(6);
    expect(call.sidebandsOpened).toBe(0);
    const metrics = await h.relay.metrics.registry.getSingleMetricAsString('callrelay_sip_calls_total');
    expect(metrics).toContain('outcome="accept_failed"} 1');
  }, 20_000);
});
