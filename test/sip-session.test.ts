import { describe, expect, it } from 'vitest';
import { openaiDialect, type SessionSpec } from '../src/providers/dialect.js';
import { sidebandDialect, sipAcceptParams } from '../src/providers/sip-session.js';

// A SIP call is accepted with the session a Media Streams call of the same merchant gets, built by the
// same code, minus what SIP decides itself (the codec) and with barge-in left to OpenAI.

const spec: SessionSpec = {
  instructions: 'You are the receptionist of Sunny Side Dental.',
  voice: 'cedar',
  tools: [{ name: 'createBooking', description: 'Book a slot.', parameters: { type: 'object', properties: {} } }],
  transcription: 'gpt-4o-transcribe',
  options: { turnDetection: 'semantic_vad', eagerness: 'low', noiseReduction: 'far_field', reasoningEffort: 'low' },
};

describe('the SIP session', () => {
  it('is the Media Streams session without audio formats, with OpenAI interrupting', () => {
    const media = openaiDialect.sessionUpdate(spec, 'gpt-realtime-2.1').session;
    const accept = sipAcceptParams(spec, 'gpt-realtime-2.1');
    expect(accept).toMatchObject({
      type: 'realtime',
      model: 'gpt-realtime-2.1',
      instructions: spec.instructions,
      reasoning: { effort: 'low' },
      tools: [{ type: 'function', name: 'createBooking' }],
      audio: {
        input: {
          transcription: { model: 'gpt-4o-transcribe' },
          noise_reduction: { type: 'far_field' },
          turn_detection: { type: 'semantic_vad', eagerness: 'low', interrupt_response: true },
        },
        output: { voice: 'cedar' },
      },
    });
    expect(JSON.stringify(accept)).not.toContain('audio/pcmu');
    // Everything else is the Media Streams session's.
    const { audio: _a, ...restAccept } = accept;
    const { audio: _m, ...restMedia } = media as typeof media & { audio?: unknown };
    expect(restAccept).toEqual(restMedia);
  });

  it('is sent again on each sideband attach without the model, to ?call_id=', () => {
    const d = sidebandDialect('rtc_abc');
    expect(d.url('wss://api.openai.com/v1/realtime', 'gpt-realtime-2.1')).toBe(
      'wss://api.openai.com/v1/realtime?call_id=rtc_abc',
    );
    const update = d.sessionUpdate(spec, 'gpt-realtime-2.1');
    expect(update.type).toBe('session.update');
    expect('model' in update.session).toBe(false);
    expect(update.session).toMatchObject({ instructions: spec.instructions });
  });
});
