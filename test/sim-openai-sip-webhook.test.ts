import { afterEach, describe, expect, it } from 'vitest';
import OpenAI, { InvalidWebhookSignatureError } from 'openai';
import { API_KEY, WEBHOOK_SECRET, startSip, type SipSetup } from './support/openai-sip-harness.js';

const setups: SipSetup[] = [];
afterEach(async () => {
  await Promise.all(setups.splice(0).map((s) => s.close()));
});

async function setup(): Promise<SipSetup> {
  const s = await startSip();
  setups.push(s);
  return s;
}

const verifier = new OpenAI({ apiKey: API_KEY, webhookSecret: WEBHOOK_SECRET });

describe('OpenAI SIP imitation: the realtime.call.incoming webhook', () => {
  it('is signed so the openai SDK accepts it, and carries the call id and SIP headers', async () => {
    const { sim, receiver } = await setup();
    const call = await sim.dial({
      from: '+14155550123',
      to: '+18005550100',
      headers: [{ name: 'X-Shop', value: 'bakery' }],
    });
    expect(call.webhookStatus).toBe(200);
    expect(call.state).toBe('ringing');
    expect(receiver.received).toHaveLength(1);
    const got = receiver.received[0];
    if (!got) throw new Error('no webhook');
    expect(got.headers['user-agent']).toMatch(/^OpenAI\/1\.0/);
    const event = await verifier.webhooks.unwrap(got.body, got.headers);
    expect(event.type).toBe('realtime.call.incoming');
    if (event.type !== 'realtime.call.incoming') return;
    expect(event.data.call_id).toBe(call.callId);
    expect(event.id).toMatch(/^evt_/);
    const headers = Object.fromEntries(event.data.sip_headers.map((h) => [h.name, h.value]));
    expect(headers.From).toContain('+14155550123');
    expect(headers.To).toContain('+18005550100');
    expect(headers['Call-ID']).toBeTruthy();
    expect(headers['X-Shop']).toBe('bakery');
  });

  it('is refused by the SDK when the body is tampered with, the secret differs or the timestamp is stale', async () => {
    const { sim } = await setup();
    const call = await sim.dial({ from: '+14155550123', to: '+18005550100' });
    const { headers, body } = call.webhook;
    const tampered = body.replace(call.callId, 'rtc_u1_forged');
    await expect(verifier.webhooks.unwrap(tampered, headers)).rejects.toBeInstanceOf(InvalidWebhookSignatureError);
    const other = new OpenAI({ apiKey: API_KEY, webhookSecret: `whsec_${Buffer.alloc(32, 7).toString('base64')}` });
    await expect(other.webhooks.unwrap(body, headers)).rejects.toBeInstanceOf(InvalidWebhookSignatureError);
    const stale = sim.sign(body, new Date(Date.now() - 10 * 60_000));
    await expect(verifier.webhooks.unwrap(stale.body, stale.headers)).rejects.toThrow(/too old/);
    const fresh = sim.sign(body);
    await expect(verifier.webhooks.unwrap(fresh.body, fresh.headers)).resolves.toMatchObject({
      data: { call_id: call.callId },
    });
  });

  it('deliver() posts forged and replayed webhooks and reports the answer; dial() reports it too', async () => {
    const { sim, receiver } = await setup();
    receiver.answer = async (w) => {
      try {
        await verifier.webhooks.unwrap(w.body, w.headers);
        return 200;
      } catch {
        return 400;
      }
    };
    const call = await sim.dial({ from: '+14155550123', to: '+18005550100' });
    expect(call.webhookStatus).toBe(200);
    const forged = { headers: { ...call.webhook.headers, 'webhook-signature': 'v1,AAAA' }, body: call.webhook.body };
    expect(await sim.deliver(forged)).toBe(400);
    // The SDK does not dedupe webhook ids: a replay of the same delivery verifies again.
    expect(await sim.deliver(call.webhook)).toBe(200);
    expect(receiver.received).toHaveLength(3);

    receiver.answer = () => 503;
    const refused = await sim.dial({ from: '+14155550124', to: '+18005550100' });
    expect(refused.webhookStatus).toBe(503);
    expect(refused.state).toBe('ringing');
  });
});
