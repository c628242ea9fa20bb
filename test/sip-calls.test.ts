import { afterEach, describe, expect, it } from 'vitest';
import { BUSINESS, CALLER, startSipHarness, until, type SipHarness } from './support/sip-relay-harness.js';

// Whole SIP calls: OpenAI (imitated) offers a call by webhook, the relay accepts it with the
// merchant's session and runs the same call chart over the sideband socket; the audio never reaches
// the relay. Each ending is recorded once.

let h: SipHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('a SIP call', () => {
  it('is accepted with the merchant session, greeted over the sideband, and recorded when the caller hangs up', async () => {
    h = await startSipHarness();
    const call = await h.listening();
    expect(call.webhookStatus).toBe(200);
    const body = call.acceptBody;
    expect(body?.type).toBe('realtime');
    expect(body?.instructions).toBe(h.merchant.instructions);
    expect(body?.audio?.output?.voice).toBe(h.merchant.voice ?? 'marin');
    expect(JSON.stringify(body)).not.toContain('audio/pcmu');
    expect(body?.audio?.input?.turn_detection).toMatchObject({ type: 'server_vad', interrupt_response: true });
    expect((body?.tools ?? []).map((t) => ('name' in t ? t.name : ''))).toContain('endCall');
    const greet = call.session?.received.find((e) => e.type === 'response.create');
    expect(JSON.stringify(greet)).toContain('Hello from the SIP line.');
    call.hangUp();
    const rec = await h.recorder.waitFor(call.callId);
    expect(rec.endReason).toBe('caller_hung_up');
    expect(rec.callerPhone).toBe(CALLER);
    expect(rec.calledNumber).toBe(BUSINESS);
    expect(rec.provider).toBe('openai');
    expect(rec.stats.framesIn).toBe(0);
    expect(h.sip.requests.map((r) => r.op)).toEqual(['accept']);
    await new Promise((r) => setTimeout(r, 200));
    expect(h.recorder.records.filter((r) => r.callSid === call.callId)).toHaveLength(1);
  });
});
