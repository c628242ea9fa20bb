import type {
  RealtimeAudioConfigInput,
  RealtimeAudioInputTurnDetection,
  RealtimeFunctionTool,
  RealtimeSessionCreateRequest,
  SessionUpdateEvent,
} from 'openai/resources/realtime/realtime';
import type { ProviderName } from '../merchants/merchant.js';
import type { ToolSpec } from '../tools/tool.js';
import { isReasoningModel, type RealtimeOptions } from './realtime-options.js';

// What differs between the OpenAI Realtime GA and xAI Grok Voice sockets. Everything else (event
// names, audio deltas, tool round trips) is shared; see docs/protocols.md, "xAI Grok Voice:
// differences from OpenAI".

export interface SessionSpec {
  instructions: string;
  voice: string;
  tools: ToolSpec[];
  /** Caller-side transcription model (OpenAI) or on/off (xAI). */
  transcription: string | null;
  /** The merchant's OpenAI session choices (OpenAI only; absent fields keep the API's defaults). */
  options?: RealtimeOptions;
}

export interface Dialect {
  name: Exclude<ProviderName, 'sim'>;
  url(base: string, model: string): string;
  headers(apiKey: string | undefined): Record<string, string>;
  sessionUpdate(spec: SessionSpec, model: string): OutboundSessionUpdate;
  /** OpenAI accepts session.update right away; xAI wants it after conversation.created. */
  updateOn: 'open' | 'conversationCreated';
  /**
   * Where a dropped session's conversation is resumed (xAI only; OpenAI keeps no conversation
   * across sockets): the new socket continues it, nothing has to be seeded.
   */
  resumeUrl?: (base: string, model: string, conversationId: string) => string;
}

/**
 * xAI's session.update: the OpenAI shape minus `type`/`model` (the model is only in the URL), with
 * `voice` and `turn_detection` at the top of the session. No SDK types it, so it is spelled out here.
 * Checked against Grok Voice 3 (docs.x.ai's Voice Agent guide, its session parameters; summarised in
 * docs/protocols.md, "xAI Grok Voice: differences from OpenAI"): the formats only in the nested
 * `audio.{input,output}.format`; the old flat `input_audio_format` fields are silently ignored and the
 * caller would hear 24 kHz PCM read as mu-law.
 */
export interface XaiSessionUpdateEvent {
  type: 'session.update';
  session: {
    instructions: string;
    voice: string;
    turn_detection: RealtimeAudioInputTurnDetection.ServerVad;
    audio: {
      input: { format: { type: 'audio/pcmu' }; transcription?: { model: string } };
      output: { format: { type: 'audio/pcmu' } };
    };
    tools: RealtimeFunctionTool[];
    /** Keeps the conversation at xAI after a drop, to be resumed by its id (resumeUrl below). */
    resumption: { enabled: true };
  };
}

/** What a dialect sends to configure its session: the SDK's type for OpenAI, ours for xAI. */
export type OutboundSessionUpdate = SessionUpdateEvent | XaiSessionUpdateEvent;

// Barge-in is decided by the relay (the call chart), not by the server: interrupt_response is
// off so a non-interruptible greeting stays uninterrupted, and the relay sends response.cancel.
const turnDetection: RealtimeAudioInputTurnDetection.ServerVad = {
  type: 'server_vad',
  threshold: 0.5,
  prefix_padding_ms: 300,
  silence_duration_ms: 500,
  create_response: true,
  interrupt_response: false,
};

function bearer(apiKey: string | undefined): Record<string, string> {
  return apiKey ? { Authorization: `Bearer ${apiKey}` } : {};
}

function withModel(base: string, model: string): string {
  const u = new URL(base);
  u.searchParams.set('model', model);
  return u.toString();
}

/** The merchant's turn detection. Barge-in stays the relay's (interrupt_response off) either way. */
function turnDetectionFor(o: RealtimeOptions | undefined): RealtimeAudioInputTurnDetection {
  if (o?.turnDetection !== 'semantic_vad') return turnDetection;
  return {
    type: 'semantic_vad',
    eagerness: o.eagerness ?? 'auto',
    create_response: true,
    interrupt_response: false,
  };
}

/** Only the fields the merchant set: the rest stay the API's defaults. */
function sessionExtras(o: RealtimeOptions | undefined, model: string): Partial<RealtimeSessionCreateRequest> {
  const out: Partial<RealtimeSessionCreateRequest> = {};
  if (o?.reasoningEffort && isReasoningModel(model)) out.reasoning = { effort: o.reasoningEffort };
  if (o?.truncation !== undefined)
    out.truncation =
      typeof o.truncation === 'number' ? { type: 'retention_ratio', retention_ratio: o.truncation } : o.truncation;
  return out;
}

function noiseReduction(o: RealtimeOptions | undefined): Pick<RealtimeAudioConfigInput, 'noise_reduction'> {
  // The API reference turns noise reduction off with `null`, which the SDK's type lacks; a new
  // session starts with it off, so `off` is sent as nothing (the SDK's type is followed).
  if (!o?.noiseReduction || o.noiseReduction === 'off') return {};
  return { noise_reduction: { type: o.noiseReduction } };
}

function functionTools(tools: ToolSpec[]): RealtimeFunctionTool[] {
  return tools.map((t) => ({ type: 'function', name: t.name, description: t.description, parameters: t.parameters }));
}

export const openaiDialect: Dialect = {
  name: 'openai',
  url: withModel,
  headers: bearer,
  updateOn: 'open',
  sessionUpdate: (spec, model) => ({
    type: 'session.update',
    session: {
      type: 'realtime',
      model,
      ...sessionExtras(spec.options, model),
      output_modalities: ['audio'],
      instructions: spec.instructions,
      audio: {
        input: {
          format: { type: 'audio/pcmu' },
          // Omitted rather than null: a new session starts without transcription, and the SDK's
          // AudioTranscription type has no null.
          ...(spec.transcription ? { transcription: { model: spec.transcription } } : {}),
          turn_detection: turnDetectionFor(spec.options),
          ...noiseReduction(spec.options),
        },
        output: { format: { type: 'audio/pcmu' }, voice: spec.voice },
      },
      tools: functionTools(spec.tools),
      tool_choice: 'auto',
    },
  }),
};

// xAI session resumption. Sources (xAI's own page was not at hand, so the weaker ones are named):
// pydantic-ai's xAI realtime provider and its recorded live exchange (a cassette of a real
// grok-voice-latest session dropped and resumed, 2026-07), and its issue #6622 quoting docs.x.ai's
// voice-agent page. Followed: `session.resumption.enabled = true` in every session.update (the resumed
// session's too); reconnect to the same URL plus `conversation_id=<conversation.created's id>`; a
// resumed socket announces the same id in its conversation.created and replays earlier items as
// conversation.item.added before session.updated (ignored here). What a refusal looks like is
// documented nowhere; see reconnecting-connection.ts for what the relay takes as one.
function resumeUrl(base: string, model: string, conversationId: string): string {
  const u = new URL(withModel(base, model));
  u.searchParams.set('conversation_id', conversationId);
  return u.toString();
}

export const xaiDialect: Dialect = {
  name: 'xai',
  url: withModel,
  resumeUrl,
  headers: bearer,
  updateOn: 'conversationCreated',
  sessionUpdate: (spec) => ({
    type: 'session.update',
    session: {
      instructions: spec.instructions,
      voice: spec.voice,
      turn_detection: turnDetection,
      audio: {
        input: {
          format: { type: 'audio/pcmu' },
          ...(spec.transcription ? { transcription: { model: 'grok-transcribe' } } : {}),
        },
        output: { format: { type: 'audio/pcmu' } },
      },
      tools: functionTools(spec.tools),
      resumption: { enabled: true },
    },
  }),
};
