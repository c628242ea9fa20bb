import { describe, expect, it } from 'vitest';
import { parseModelEvent } from '../src/providers/model-events.js';

const ev = (o: unknown) => parseModelEvent(JSON.stringify(o));

describe('model server events', () => {
  it('accepts both GA and beta audio delta names and refuses non-base64 deltas', () => {
    expect(ev({ type: 'response.output_audio.delta', response_id: 'r1', item_id: 'i1', delta: 'AAAA' })).toEqual({
      type: 'audio',
      responseId: 'r1',
      itemId: 'i1',
      delta: 'AAAA',
    });
    expect(ev({ type: 'response.audio.delta', response_id: 'r1', item_id: 'i1', delta: 'AA==' })).toMatchObject({
      type: 'audio',
    });
    // A delta is spliced into Twilio JSON: a quote must never pass.
    expect(ev({ type: 'response.output_audio.delta', response_id: 'r1', item_id: 'i1', delta: 'AA"}' })).toMatchObject({
      type: 'invalid',
    });
  });

  it('collects function calls and usage from response.done', () => {
    const done = ev({
      type: 'response.done',
      response: {
        id: 'r2',
        status: 'completed',
        output: [
          { type: 'message' },
          { type: 'function_call', call_id: 'c1', name: 'lookupCustomer', arguments: '{"phone":"+1"}' },
        ],
        usage: { input_tokens: 5, output_tokens: 7, total_tokens: 12 },
      },
    });
    expect(done).toEqual({
      type: 'responseDone',
      responseId: 'r2',
      status: 'completed',
      reason: undefined,
      functionCalls: [{ callId: 'c1', name: 'lookupCustomer', arguments: '{"phone":"+1"}' }],
      spokeBeforeCalls: false,
      usage: { inputTokens: 5, outputTokens: 7, totalTokens: 12 },
    });
  });

  it('tells a response that spoke before its function call (a preamble) from one that did not', () => {
    const call = { type: 'function_call', call_id: 'c1', name: 'lookupCustomer', arguments: '{}' };
    const said = {
      type: 'message',
      role: 'assistant',
      phase: 'commentary',
      content: [{ type: 'output_audio', transcript: 'Let me look that up.' }],
    };
    const done = (output: unknown[]) =>
      ev({ type: 'response.done', response: { id: 'r', status: 'completed', output } });
    expect(done([said, call])).toMatchObject({ spokeBeforeCalls: true });
    expect(done([call])).toMatchObject({ spokeBeforeCalls: false });
    // Speech after the call is the answer, not a lead-in; an empty message said nothing.
    expect(done([call, said])).toMatchObject({ spokeBeforeCalls: false });
    expect(done([{ type: 'message', role: 'assistant', content: [] }, call])).toMatchObject({
      spokeBeforeCalls: false,
    });
  });

  it('reads an xAI response.cancelled as the end of that response', () => {
    expect(ev({ type: 'response.cancelled', response: { id: 'r3' } })).toEqual({
      type: 'responseDone',
      responseId: 'r3',
      status: 'cancelled',
      functionCalls: [],
      spokeBeforeCalls: false,
    });
    expect(ev({ type: 'response.cancelled', response_id: 'r4' })).toMatchObject({
      type: 'responseDone',
      responseId: 'r4',
      status: 'cancelled',
    });
  });

  it('treats xAI partial transcripts as not final', () => {
    expect(
      ev({
        type: 'conversation.item.input_audio_transcription.completed',
        item_id: 'u1',
        transcript: 'hel',
        status: 'in_progress',
      }),
    ).toMatchObject({ type: 'ignored' });
    expect(
      ev({ type: 'conversation.item.input_audio_transcription.completed', item_id: 'u1', transcript: 'hello' }),
    ).toEqual({ type: 'userTranscript', itemId: 'u1', text: 'hello' });
  });

  it('classifies errors: cancel/truncate races are benign, expiry is fatal, the rest recoverable', () => {
    expect(
      ev({
        type: 'error',
        error: { code: 'response_cancel_not_active', message: 'Cancellation failed: no active response found' },
      }),
    ).toMatchObject({ severity: 'benign' });
    expect(
      ev({
        type: 'error',
        error: { type: 'invalid_request_error', message: 'Unknown event conversation.item.truncate' },
      }),
    ).toMatchObject({ severity: 'benign' });
    expect(
      ev({
        type: 'error',
        error: { code: 'session_expired', message: 'Your session hit the maximum duration of 60 minutes.' },
      }),
    ).toMatchObject({ severity: 'fatal' });
    expect(
      ev({ type: 'error', error: { code: 'conversation_already_has_active_response', message: 'x' } }),
    ).toMatchObject({ severity: 'recoverable' });
  });

  it("classifies xAI's two response races as benign, whatever their code", () => {
    for (const message of [
      'no active response found',
      'Conversation already has an active response',
      'Cannot create response: conversation already has an active response (resp_9)',
    ]) {
      expect(ev({ type: 'error', error: { type: 'invalid_request_error', message } })).toMatchObject({
        type: 'error',
        severity: 'benign',
      });
    }
    // OpenAI's own code for the second means the relay asked twice: still worth a warning.
    expect(
      ev({
        type: 'error',
        error: {
          code: 'conversation_already_has_active_response',
          message: 'Conversation already has an active response in progress: resp_1.',
        },
      }),
    ).toMatchObject({ severity: 'recoverable' });
  });

  it('never throws on garbage', () => {
    expect(parseModelEvent('{')).toMatchObject({ type: 'invalid' });
    expect(parseModelEvent('null')).toMatchObject({ type: 'invalid' });
    expect(ev({ type: 'ping' })).toEqual({ type: 'ping' });
    expect(ev({ type: 'rate_limits.updated' })).toEqual({ type: 'ignored', eventType: 'rate_limits.updated' });
  });
});
