import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './support/relay-harness.js';

// Twilio's incoming-call webhook: TwiML that connects the call to our Media Stream.

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const form = (o: Record<string, string>) => new URLSearchParams(o).toString();

describe('POST /twilio/voice', () => {
  it('answers TwiML with a wss stream URL (no query string) and the call parameters', async () => {
    h = await startHarness();
    const res = await fetch(`http://127.0.0.1:${h.relay.port}/twilio/voice`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form({
        CallSid: 'CA123',
        From: '+14155550100',
        To: '+15005550006',
        Direction: 'inbound',
        AnsweredBy: 'human',
      }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/xml');
    const xml = await res.text();
    expect(xml).toContain('<Connect><Stream url="wss://relay.test/media-stream">');
    expect(xml).not.toMatch(/media-stream\?/);
    for (const [name, value] of [
      ['merchantId', 'demo'],
      ['callerPhone', '+14155550100'],
      ['calledNumber', '+15005550006'],
      ['direction', 'inbound'],
      ['callSid', 'CA123'],
      ['answeredBy', 'human'],
    ]) {
      expect(xml).toContain(`<Parameter name="${name}" value="${value}"/>`);
    }
  });

  it('on an outbound call the business number is From and the person called is To', async () => {
    h = await startHarness();
    const res = await fetch(`http://127.0.0.1:${h.relay.port}/twilio/voice`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form({
        CallSid: 'CA9',
        From: '+15005550006',
        To: '+14155550199',
        Direction: 'outbound-api',
        AnsweredBy: 'machine_end_beep',
      }),
    });
    const xml = await res.text();
    expect(xml).toContain('<Parameter name="direction" value="outbound"/>');
    expect(xml).toContain('<Parameter name="callerPhone" value="+14155550199"/>');
    expect(xml).toContain('<Parameter name="answeredBy" value="machine_end_beep"/>');
  });

  it('refuses bad requests with a clear status', async () => {
    h = await startHarness();
    const base = `http://127.0.0.1:${h.relay.port}/twilio/voice`;
    const json = await fetch(base, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(json.status).toBe(415);
    const missing = await fetch(base, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form({ From: '+1' }),
    });
    expect(missing.status).toBe(400);
    const huge = await fetch(base, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'a='.padEnd(200_000, 'x'),
    });
    expect(huge.status).toBe(413);
    const unknown = await fetch(`http://127.0.0.1:${h.relay.port}/nope`);
    expect(unknown.status).toBe(404);
  });
});
