// The shapes around one fake model response: the options a test or the agent gives it, what it
// resolves with, and the `response` object response.created / response.done carry (GA field set).
import type { ConvItem } from './model-conversation.js';
import type { JsonObject } from './model-protocol.js';
import type { AudioFormat } from './model-session-config.js';

export interface FunctionCallSpec {
  name: string;
  /** JSON text, as the model streams it. */
  arguments: string;
  callId?: string;
}

export interface RespondOptions {
  /** What the assistant says (transcript, and the speech-like audio's length). Default: a short line. */
  text?: string;
  /** Exact audio length; the voice is looped or cut to fit. */
  audioMs?: number;
  /** Explicit 8 kHz mu-law audio to send (converted to the session's output format). */
  audio?: Buffer;
  functionCalls?: FunctionCallSpec[];
  /** ms of audio per delta (default: server option, 100). */
  chunkMs?: number;
  /** Fixed delay between deltas; 0 = burst. Overrides realtimeFactor. */
  paceMs?: number;
  /** Send audio this many times faster than real time (default: server option, 4; Infinity = burst). */
  realtimeFactor?: number;
  /** Load mode: one 20 ms delta per tick of the shared frame clock (real pace) for audioMs. */
  continuous?: boolean;
  /** Send response.created and nothing else until cancelled (a stuck model). */
  stall?: boolean;
}

export interface RespondResult {
  responseId: string;
  itemIds: string[];
  status: 'completed' | 'cancelled';
}

export type CancelReason = 'turn_detected' | 'client_cancelled';

export interface ResponseSettings {
  outOfBand: boolean;
  metadata: JsonObject | null;
  modalities: ('audio' | 'text')[];
}

/** Length of the whole words of `text` that fit in `fraction` of it (transcripts run with the audio). */
export function wordsWithin(text: string, fraction: number): number {
  if (fraction >= 1) return text.length;
  const cut = Math.floor(text.length * fraction);
  const space = text.lastIndexOf(' ', cut);
  return space < 0 ? 0 : space + 1;
}

export function formatJson(f: AudioFormat): JsonObject {
  return f.type === 'audio/pcm' ? { type: f.type, rate: f.rate } : { type: f.type };
}

export interface ResponseJsonFields {
  id: string;
  status: 'in_progress' | 'completed' | 'cancelled';
  details: JsonObject | null;
  output: readonly ConvItem[];
  outOfBand: boolean;
  conversationId: string;
  modalities: ('audio' | 'text')[];
  format: AudioFormat;
  voice: string;
  audioMs: number;
  textChars: number;
  metadata: JsonObject | null;
}

/** The `response` object; output and usage are filled once it is no longer in progress. */
export function responseJson(r: ResponseJsonFields): JsonObject {
  const done = r.status !== 'in_progress';
  // Plausible token counts: ~20 audio tokens a second, ~4 characters a text token.
  const audioTokens = Math.round(r.audioMs / 50);
  const textTokens = Math.ceil(r.textChars / 4);
  return {
    object: 'realtime.response',
    id: r.id,
    status: r.status,
    status_details: r.details,
    // A deep copy: later truncation must not rewrite what response.done reported.
    output: done ? (JSON.parse(JSON.stringify(r.output)) as JsonObject[]) : [],
    conversation_id: r.outOfBand ? null : r.conversationId,
    output_modalities: r.modalities,
    max_output_tokens: 'inf',
    audio: { output: { format: formatJson(r.format), voice: r.voice } },
    usage: done
      ? {
          total_tokens: audioTokens + textTokens,
          input_tokens: 0,
          output_tokens: audioTokens + textTokens,
          input_token_details: {
            text_tokens: 0,
            audio_tokens: 0,
            image_tokens: 0,
            cached_tokens: 0,
            cached_tokens_details: { text_tokens: 0, audio_tokens: 0, image_tokens: 0 },
          },
          output_token_details: { text_tokens: textTokens, audio_tokens: audioTokens },
        }
      : null,
    metadata: r.metadata,
  };
}
