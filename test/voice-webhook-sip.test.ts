import { afterEach, describe, expect, it } from 'vitest';
import { parseInvite } from '../src/transports/openai-sip/sip-invite.js';
import { startHarness, type Harness } from './support/relay-harness.js';

// The voice webhook for a merchant on `transport: sip`: Twilio is told to dial OpenAI's SIP endpoint,
// carrying the merchant and both numbers as headers the SIP path reads back; and a relay at
// MAX_LIVE_CALLS refuses new calls busy instead of answering them.

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const SIP_URI = 'sip:proj_test123@sip.api.openai.com;transport=tls';

async function voice(body: Record<string, string>): Promise<{ status: number; xml: string }> {
  const res = await fetch(`http://127.0.0.1:${h?.relay.port}/twilio/voice`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(body).toString(),
  });
  return { status: res.status, xml: await res.text() };
}

const inbound = { CallSid: 'CA77', From: '+14155550100', To: '+15005550006', Direction: 'inbound' };

describe('POST /twilio/voice for a SIP merchant', () => {
  it('dials OPENAI_SIP_URI with the merchant and the numbers, which the SIP path reads back', async () => {
    h = await startHarness({ merchant: { transport: 'sip' }, env: { OPENAI_SIP_URI: SIP_URI } });
    const { status, xml } = await voice(inbound);
    expect(status).toBe(200);
    expect(xml).not.toContain('<Stream');
    const m = /<Dial answerOnBridge="true"><Sip>([^<]+)<\/Sip><\/Dial>/.exec(xml);
    expect(m?.[1]).toBeDefined();
    const uri = (m?.[1] ?? '').replaceAll('&amp;', '&');
    expect(uri.startsWith(`${SIP_URI}?`)).toBe(true);
    // What OpenAI forwards: the INVITE's headers, To naming the project rather than the number.
    const headers = new URLSearchParams(uri.slice(uri.indexOf('?') + 1));
    const invite = parseInvite([
      { name: 'To', value: '<sip:proj_test123@sip.api.openai.com>' },
      { name: 'From', value: '"Twilio" <sip:+14155550100@twilio.example>;tag=1' },
      ...[...headers].map(([name, value]) => ({ name, value })),
    ]);
    expect(invite).toEqual({
      to: '+15005550006',
      from: '+14155550100',
      merchantId: h.merchant.id,
      direction: 'inbound',
    });
  });

  it('keeps a SIP merchant on Media Streams when OPENAI_SIP_URI is not set', async () => {
    h = await startHarness({ merchant: { transport: 'sip' } });
    const { xml } = await voice(inbound);
    expect(xml).toContain('<Connect><Stream url="wss://relay.test/media-stream">');
  });

  it('leaves a Media Streams merchant on Media Streams when OPENAI_SIP_URI is set', async () => {
    h = await startHarness({ env: { OPENAI_SIP_URI: SIP_URI } });
    const { xml } = await voice(inbound);
    expect(xml).toContain('<Connect><Stream url="wss://relay.test/media-stream">');
  });
});

describe('MAX_LIVE_CALLS', () => {
  it('refuses a call busy while that many calls are live, and answers again once one ends', async () => {
    h = await startHarness({ env: { MAX_LIVE_CALLS: '1' } });
    const { caller } = await h.call();
    const busy = await voice(inbound);
    expect(busy.status).toBe(200);
    expect(busy.xml).toContain('<Reject reason="busy"/>');
    await caller.hangUp();
    await h.recorder.waitFor(caller.callSid);
    const again = await voice(inbound);
    expect(again.xml).toContain('<Connect><Stream');
  });
});
