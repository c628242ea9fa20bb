import { describe, expect, it } from 'vitest';
import type { CallRecord } from '../src/store/call-record.js';
import { expectAuth, useFakePostgrest } from './support/fake-postgrest.js';

// The Supabase store's call requests: the record upserted on call_sid, its recordings, the console's call search.

const api = useFakePostgrest();

describe('SupabaseStore call records', () => {
  it('saves a call record as an upsert on call_sid (merge-duplicates), so a replay updates the same row', async () => {
    api.reply = () => ({ status: 201 });
    const rec: CallRecord = {
      callSid: 'CA9',
      streamSid: 'MZ9',
      merchantId: 'sunny',
      callerPhone: '+14155550123',
      calledNumber: '+15005550006',
      direction: 'inbound',
      answeredBy: null,
      startedAt: new Date('2030-01-01T10:00:00Z'),
      endedAt: new Date('2030-01-01T10:01:00Z'),
      durationMs: 60_000,
      endReason: 'caller_hung_up',
      provider: 'openai',
      model: 'gpt-realtime',
      usage: { totalTokens: 5 },
      stats: {},
      transcript: [{ role: 'caller', text: 'hi', atMs: 1 }],
      transcriptText: 'Caller: hi',
      timeline: [{ atMs: 0, kind: 'state', state: 'connecting' }],
      toolCalls: [],
    };
    await api.store.saveCallRecord(rec);
    const s = api.only();
    expect([s.method, s.path]).toEqual(['POST', '/rest/v1/calls']);
    expect(s.query).toEqual({ on_conflict: 'call_sid' });
    expect(s.headers.prefer).toBe('resolution=merge-duplicates');
    expectAuth(s);
    expect(s.body).toEqual({
      call_sid: 'CA9',
      stream_sid: 'MZ9',
      merchant_id: 'sunny',
      caller_phone: '+14155550123',
      called_number: '+15005550006',
      direction: 'inbound',
      answered_by: null,
      started_at: '2030-01-01T10:00:00.000Z',
      ended_at: '2030-01-01T10:01:00.000Z',
      duration_ms: 60_000,
      end_reason: 'caller_hung_up',
      provider: 'openai',
      model: 'gpt-realtime',
      usage: { totalTokens: 5 },
      stats: {},
      transcript: [{ role: 'caller', text: 'hi', atMs: 1 }],
      transcript_text: 'Caller: hi',
      timeline: [{ atMs: 0, kind: 'state', state: 'connecting' }],
      tool_calls: [],
    });
  });

  it("searches calls with the text quoted inside or=(…), so commas and parentheses stay the user's", async () => {
    api.reply = () => ({
      body: [
        {
          call_sid: 'CA1',
          merchant_id: 'sunny',
          caller_phone: '+14155550123',
          direction: 'inbound',
          started_at: '2030-01-01T10:00:00Z',
          duration_ms: 1000,
          end_reason: 'caller_hung_up',
        },
      ],
    });
    const got = await api.store.listCalls({ merchantId: 'sunny', text: 'a,b) "x"', direction: 'inbound', limit: 51 });
    const s = api.only();
    expect([s.method, s.path]).toEqual(['GET', '/rest/v1/calls']);
    expect(s.query).toMatchObject({
      select: 'call_sid,merchant_id,caller_phone,direction,started_at,duration_ms,end_reason',
      merchant_id: 'eq.sunny',
      direction: 'eq.inbound',
      limit: '51',
      or: `(${['call_sid', 'caller_phone', 'transcript_text'].map((c) => `${c}.ilike."*a,b) \\"x\\"*"`).join(',')})`,
    });
    expect(got[0]).toMatchObject({ callSid: 'CA1', durationMs: 1000, startedAt: new Date('2030-01-01T10:00:00Z') });
  });
});

describe('SupabaseStore call recordings', () => {
  const row = {
    recording_sid: `RE${'a'.repeat(32)}`,
    call_sid: `CA${'1'.repeat(32)}`,
    status: 'completed',
    channels: 2,
    duration_seconds: 42,
    url: 'https://api.twilio.com/x',
    error_code: null,
    started_at: '2031-01-01T10:00:00+00:00',
    updated_at: '2031-01-01T10:01:00+00:00',
  };

  it('saves a recording through the save_call_recording RPC and reads the newest one of a call', async () => {
    api.reply = () => ({ body: [row] });
    const saved = await api.store.saveCallRecording({
      sid: row.recording_sid,
      callSid: row.call_sid,
      status: 'completed',
      durationSeconds: 42,
    });
    const s = api.only();
    expect(s.method).toBe('POST');
    expect(s.path).toBe('/rest/v1/rpc/save_call_recording');
    expectAuth(s);
    expect(s.body).toEqual({
      r: {
        recording_sid: row.recording_sid,
        call_sid: row.call_sid,
        status: 'completed',
        channels: null,
        duration_seconds: 42,
        url: null,
        error_code: null,
        started_at: null,
      },
    });
    expect(saved).toMatchObject({ sid: row.recording_sid, status: 'completed', durationSeconds: 42 });

    api.seen.length = 0;
    const got = await api.store.getCallRecording(row.call_sid);
    const g = api.only();
    expect(g.method).toBe('GET');
    expect(g.path).toBe('/rest/v1/call_recordings');
    expect(g.query).toMatchObject({ call_sid: `eq.${row.call_sid}`, limit: '1' });
    expect(got?.startedAt).toEqual(new Date('2031-01-01T10:00:00Z'));
  });
});
