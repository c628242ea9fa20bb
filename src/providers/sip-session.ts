import type { CallAcceptParams } from 'openai/resources/realtime/calls';
import type { RealtimeSessionCreateRequest } from 'openai/resources/realtime/realtime';
import { openaiDialect, type Dialect, type SessionSpec } from './dialect.js';

// A SIP call's session is the merchant's Media Streams session (built by openaiDialect, so the two
// paths cannot drift apart) with what SIP changes:
// - no audio formats: the trunk and OpenAI negotiate the codec in SDP (G.711 on a Twilio trunk), and
//   the relay never touches the audio;
// - barge-in is OpenAI's (`interrupt_response: true`): OpenAI hears the caller and holds the playback
//   buffer, the relay has nothing to clear. The chart still sees speech start and counts interruptions.
// Sources followed: developers.openai.com realtime-sip guide and openai-node `realtime/calls.ts`
// (CallAcceptParams is the accept body; it mirrors RealtimeSessionCreateRequest).

function realtimeSession(spec: SessionSpec, model: string): RealtimeSessionCreateRequest {
  const update = openaiDialect.sessionUpdate(spec, model);
  const session = update.session;
  if (!('type' in session) || session.type !== 'realtime') throw new Error('openaiDialect built no realtime session');
  const { input, output } = session.audio ?? {};
  const turn = input?.turn_detection;
  return {
    ...session,
    audio: {
      input: {
        ...(input?.transcription ? { transcription: input.transcription } : {}),
        ...(input?.noise_reduction ? { noise_reduction: input.noise_reduction } : {}),
        ...(turn ? { turn_detection: { ...turn, interrupt_response: true } } : {}),
      },
      output: output?.voice ? { voice: output.voice } : {},
    },
  };
}

/** The body of `POST /v1/realtime/calls/{call_id}/accept`: the whole session, as on Media Streams. */
export function sipAcceptParams(spec: SessionSpec, model: string): CallAcceptParams {
  const { type: _type, ...rest } = realtimeSession(spec, model);
  return { type: 'realtime', ...rest };
}

/**
 * The sideband socket of one SIP call (`…/v1/realtime?call_id=…`). It sends the same session again on
 * each attach, without the model (the call's session already has it): the `session.updated` answer is
 * what tells the call its control channel is up, as on a Media Streams call.
 */
export function sidebandDialect(callId: string): Dialect {
  return {
    name: 'openai',
    url: (base) => {
      const u = new URL(base);
      u.searchParams.set('call_id', callId);
      return u.toString();
    },
    headers: openaiDialect.headers,
    updateOn: 'open',
    sessionUpdate: (spec, model) => {
      const { model: _model, ...session } = realtimeSession(spec, model);
      return { type: 'session.update', session };
    },
  };
}
