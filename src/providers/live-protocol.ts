// The OpenAI GPT-Live WebSocket protocol, as far as the relay uses it. The installed `openai` SDK
// (6.49) has no Live types yet, so they are spelled out here, following openai-node's
// `src/resources/live/live.ts` (where the Azure Foundry reference and Twilio's agent toolkit differ,
// that file was followed). Field names and literal values are copied, not invented; a type added
// here is one the relay sends or reads.
//
// The shape of it: connect to `/v1/live/sessions`, send `session.start` first (the model is in the
// config, never in the URL), wait for `session.started`. One `audio.format` serves both directions
// (`audio/pcmu` at 8000 Hz, which Realtime would refuse with a `rate`). There is no client-side
// response creation, cancellation or truncation: the model decides when to talk and when to stop.
// Function tools run on a Responses backend the session delegates to; its events arrive wrapped in
// `response.event`, and a result goes back as `response.item.create` plus `response.create`.

/** `audio/pcmu` at 8 kHz: Twilio's own format, so caller and assistant audio pass untouched. */
export interface LiveAudioFormatPcmu {
  type: 'audio/pcmu';
  rate: 8000;
}

export interface LiveFunctionTool {
  type: 'function';
  name: string;
  description?: string | null;
  parameters?: { [key: string]: unknown } | null;
}

export interface LiveSessionConfig {
  model: string;
  instructions?: string | null;
  audio?: { format?: LiveAudioFormatPcmu; output?: { voice?: string } };
  /** Who runs delegated tasks; `responses` lets the API run a Responses model with our tools. */
  delegation?: {
    type: 'responses';
    responses: { model: string; instructions?: string | null; tools?: LiveFunctionTool[] };
  } | null;
}

/** Every event the relay sends on a Live socket. */
export type LiveClientEvent =
  | { type: 'session.start'; session: LiveSessionConfig }
  | { type: 'session.input_audio.append'; audio: string }
  /** Plain text, limited to 500 tokens; `delegation_id` is required and null for general context. */
  | { type: 'session.instructions.append'; content: string; delegation_id: null }
  | {
      type: 'response.item.create';
      item: { type: 'function_call_output'; call_id: string; output: string };
    }
  | { type: 'response.create' }
  | { type: 'session.close' };

/** The server event types the relay acts on (the rest are read as `ignored`). */
export type LiveServerEventType =
  | 'session.started'
  | 'session.output_audio.delta'
  | 'session.output_transcript.delta'
  | 'session.input_transcript.delta'
  | 'response.event'
  | 'session.usage.updated'
  | 'session.closed'
  | 'error';

/** Responses streaming events nested in `response.event` that the relay reads. */
export type LiveNestedResponseType =
  | 'response.output_item.done'
  | 'response.completed'
  | 'response.failed'
  | 'response.incomplete';

/** Why a Live session closed (`session.closed.reason`). */
export type LiveCloseReason = 'close_requested' | 'expired' | 'content' | 'remote_hangup' | 'connection_lost';

/** The most a `session.instructions.append` may carry (500 tokens; ~4 characters a token, with room). */
export const LIVE_APPEND_MAX_CHARS = 1800;
