import type { RealtimeResponse, RealtimeServerEvent } from 'openai/resources/realtime/realtime';
import { isBase64 } from '../audio/base64.js';
import type { FunctionCall } from '../../machines/call.types.js';
import { maskPhone } from '../log.js';

// Server events of the OpenAI Realtime GA / xAI Grok Voice sockets, parsed at the edge into one
// union. Only what the relay acts on is kept; everything else becomes `ignored` (with its type, so
// unknown events can be logged once).

export interface Usage {
  inputTokens?: number;
  outputTokens?: number;
  totalTokens?: number;
  /** GPT-Live bills audio time: the session's cumulative seconds (the latest report, never a sum). */
  audioSeconds?: number;
}

/** Adds one response's usage to a call's running total. */
export function addUsage(total: Required<Omit<Usage, 'audioSeconds'>> & Usage, u: Usage | undefined): void {
  if (!u) return;
  if (u.audioSeconds !== undefined) total.audioSeconds = Math.max(total.audioSeconds ?? 0, u.audioSeconds);
  total.inputTokens += u.inputTokens ?? 0;
  total.outputTokens += u.outputTokens ?? 0;
  total.totalTokens += u.totalTokens ?? 0;
}

export type ErrorSeverity = 'benign' | 'recoverable' | 'fatal';

export type ModelEvent =
  /** `conversationId`: what xAI resumes a dropped session by (empty when the server sent none). */
  | { type: 'conversationCreated'; conversationId: string }
  | { type: 'sessionCreated'; expiresAt?: number }
  | { type: 'sessionUpdated' }
  | { type: 'audio'; responseId: string; itemId: string; delta: string }
  | { type: 'audioDone'; responseId: string; itemId: string }
  | { type: 'responseCreated'; responseId: string }
  | {
      type: 'responseDone';
      responseId: string;
      status: string;
      reason?: string;
      functionCalls: FunctionCall[];
      /** The response spoke before its first function call (a preamble): no filler is needed. */
      spokeBeforeCalls: boolean;
      usage?: Usage;
    }
  | { type: 'functionCall'; responseId: string; call: FunctionCall }
  | { type: 'speechStarted'; itemId?: string; audioStartMs?: number }
  | { type: 'speechStopped'; itemId?: string }
  | { type: 'userItem'; itemId: string }
  | { type: 'userTranscript'; itemId: string; text: string }
  | { type: 'assistantItem'; responseId: string; itemId: string }
  | { type: 'assistantTranscript'; responseId: string; itemId: string; text: string }
  | { type: 'assistantTranscriptDelta'; itemId: string; delta: string }
  | { type: 'truncated'; itemId: string; audioEndMs: number }
  /** A keypad press: only over a SIP call's sideband (Media Streams DTMF comes from Twilio). */
  | { type: 'dtmf'; digit: string }
  /** SIP/WebRTC only: OpenAI's own playback of a response started, played to its end, or was cut. */
  | { type: 'outputBuffer'; phase: 'started' | 'stopped' | 'cleared'; responseId: string }
  /** `param`: the client field the error names (e.g. `session.reasoning.effort`), when it names one. */
  | { type: 'error'; code: string; message: string; severity: ErrorSeverity; param?: string }
  | { type: 'ping' }
  /** Usage reported outside a response's end (GPT-Live: session audio seconds, delegated tokens). */
  | { type: 'usage'; usage: Usage }
  | { type: 'ignored'; eventType: string }
  | { type: 'invalid'; reason: string };

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const s = (o: Obj, k: string): string => (typeof o[k] === 'string' ? (o[k] as string) : '');
const n = (o: Obj, k: string): number | undefined => (typeof o[k] === 'number' ? (o[k] as number) : undefined);

// The SDK's server event types name the fields the parser reads: `view<Of<'…'>>(raw)` only accepts
// keys of that event, so a renamed field fails to compile. Values are still checked at run time (the
// socket is untrusted). xAI's extras (ping, response.cancelled, the pre-GA `response.audio.*` names)
// are not in the SDK and are read through the GA event they mirror.
type ServerType = RealtimeServerEvent['type'];
type Of<T extends ServerType> = Extract<RealtimeServerEvent, { type: T }>;
type Keys<E> = Extract<keyof E, string>;
function view<E>(o: Obj) {
  return {
    str: (k: Keys<E>): string => s(o, k),
    num: (k: Keys<E>): number | undefined => n(o, k),
    obj: (k: Keys<E>): Obj => (isObj(o[k]) ? o[k] : {}),
    raw: (k: Keys<E>): unknown => o[k],
  };
}

const FATAL_CODES = new Set([
  'session_expired',
  'invalid_api_key',
  'beta_api_shape_disabled',
  'insufficient_quota',
  'model_not_found',
]);
const BENIGN_CODES = new Set(['response_cancel_not_active']);

/** Error text is logged; a model may quote what the caller said, phone numbers included. */
function maskNumbers(text: string): string {
  return text.replace(/\+?\d{10,15}/g, (m) => maskPhone(m) ?? '');
}

export function classifyError(code: string, message: string): ErrorSeverity {
  if (FATAL_CODES.has(code)) return 'fatal';
  if (BENIGN_CODES.has(code)) return 'benign';
  // Cancel/truncate races are expected around barge-in (xAI may not support truncate at all).
  if (/no active response|truncat|already shorter than/i.test(message)) return 'benign';
  // xAI's two documented races (protocols notes, from pipecat's and openclaw's xAI providers): a
  // cancel that finds "no active response found", and a response.create that lands while the
  // server's own VAD turn "already has an active response". The turn in progress answers the caller
  // either way. OpenAI's `conversation_already_has_active_response` code stays recoverable: there it
  // means the relay asked twice, which is worth a warning.
  if (/already has an active response/i.test(message) && code !== 'conversation_already_has_active_response')
    return 'benign';
  return 'recoverable';
}

function parseUsage(v: unknown): Usage | undefined {
  if (!isObj(v)) return undefined;
  return { inputTokens: n(v, 'input_tokens'), outputTokens: n(v, 'output_tokens'), totalTokens: n(v, 'total_tokens') };
}

/**
 * Did the response say something to the caller before its first function call? gpt-realtime-2 marks
 * such a message `phase: "commentary"` (a preamble); older models and xAI may also speak first,
 * unmarked. The phase is not read (the SDK's item types do not have it yet): what matters for never
 * speaking twice is that audio came before the call, whatever it is called. An output the provider
 * leaves empty (xAI has been seen to) counts as silent, so the filler stays.
 */
function spokeBeforeCalls(output: unknown): boolean {
  if (!Array.isArray(output)) return false;
  for (const item of output) {
    if (!isObj(item)) continue;
    if (item.type === 'function_call') return false;
    const content = item.type === 'message' && item.role === 'assistant' ? item.content : undefined;
    if (Array.isArray(content) && content.some((c) => isObj(c) && (c.type === 'output_audio' || c.type === 'audio')))
      return true;
  }
  return false;
}

function functionCallsOf(output: unknown): FunctionCall[] {
  if (!Array.isArray(output)) return [];
  const calls: FunctionCall[] = [];
  for (const item of output) {
    if (isObj(item) && item.type === 'function_call' && typeof item.call_id === 'string') {
      calls.push({ callId: item.call_id, name: s(item, 'name'), arguments: s(item, 'arguments') });
    }
  }
  return calls;
}

// The hot path reads an audio delta in exactly the shape the Realtime API writes (its field order,
// no whitespace) with one regular expression instead of JSON.parse: ids without escapes or control
// characters, small integer indexes, a base64 delta, nothing else. Anything else, valid or not, goes
// to the full parser, so the two always agree (test/model-events-fast.test.ts checks it).
const PLAIN = '([^"\\\\\\x00-\\x1f]*)';
const INDEX = '(?:0|[1-9][0-9]{0,8})';
// The alphabet of isBase64 (src/audio/base64.ts); the length is checked after the match.
const AUDIO_DELTA = new RegExp(
  `^\\{"type":"response\\.(?:output_)?audio\\.delta","event_id":"${PLAIN}","response_id":"${PLAIN}",` +
    `"item_id":"${PLAIN}","output_index":${INDEX},"content_index":${INDEX},"delta":"([A-Za-z0-9+/]*={0,2})"\\}$`,
);

/** The hot path: an audio delta in the common shape, or undefined (the full parser decides). */
export function fastAudioDelta(text: string): ModelEvent | undefined {
  const m = AUDIO_DELTA.exec(text);
  if (m === null) return undefined;
  const delta = m[4] as string;
  if (delta.length % 4 !== 0) return undefined;
  return { type: 'audio', responseId: m[2] as string, itemId: m[3] as string, delta };
}

export function parseModelEvent(text: string): ModelEvent {
  return fastAudioDelta(text) ?? parseModelEventFull(text);
}

const BUFFER_PHASE = {
  'output_audio_buffer.started': 'started',
  'output_audio_buffer.stopped': 'stopped',
  'output_audio_buffer.cleared': 'cleared',
} as const;

/** The full parser: JSON.parse, then every event type. */
export function parseModelEventFull(text: string): ModelEvent {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { type: 'invalid', reason: 'not JSON' };
  }
  if (!isObj(raw) || typeof raw.type !== 'string') return { type: 'invalid', reason: 'no type' };
  const t = raw.type;
  switch (t) {
    case 'response.output_audio.delta':
    case 'response.audio.delta': {
      const ev = view<Of<'response.output_audio.delta'>>(raw);
      const delta = ev.raw('delta');
      if (typeof delta !== 'string' || !isBase64(delta))
        return { type: 'invalid', reason: `${t}: delta is not base64` };
      return { type: 'audio', responseId: ev.str('response_id'), itemId: ev.str('item_id'), delta };
    }
    case 'response.output_audio.done':
    case 'response.audio.done': {
      const ev = view<Of<'response.output_audio.done'>>(raw);
      return { type: 'audioDone', responseId: ev.str('response_id'), itemId: ev.str('item_id') };
    }
    case 'conversation.created': {
      const conversation = view<Of<'conversation.created'>['conversation']>(
        view<Of<'conversation.created'>>(raw).obj('conversation'),
      );
      return { type: 'conversationCreated', conversationId: conversation.str('id') };
    }
    case 'session.created': {
      // expires_at is on the session object the server sends, not on the request type the SDK reuses.
      const sess = view<Of<'session.created'>>(raw).obj('session');
      return { type: 'sessionCreated', expiresAt: n(sess, 'expires_at') };
    }
    case 'session.updated':
      return { type: 'sessionUpdated' };
    case 'response.created': {
      const r = view<RealtimeResponse>(view<Of<'response.created'>>(raw).obj('response'));
      return { type: 'responseCreated', responseId: r.str('id') };
    }
    case 'response.done': {
      const r = view<RealtimeResponse>(view<Of<'response.done'>>(raw).obj('response'));
      const details = view<NonNullable<RealtimeResponse['status_details']>>(r.obj('status_details'));
      return {
        type: 'responseDone',
        responseId: r.str('id'),
        status: r.str('status') || 'completed',
        reason: details.str('reason') || undefined,
        functionCalls: functionCallsOf(r.raw('output')),
        spokeBeforeCalls: spokeBeforeCalls(r.raw('output')),
        // xAI has been seen putting usage beside the response rather than in it.
        usage: parseUsage(r.raw('usage') ?? raw.usage),
      };
    }
    // xAI's cookbook handles a `response.cancelled` (unconfirmed whether it is sent). Read as the
    // response's end so a barge-in never leaves a response "active"; a later response.done for the
    // same id is dropped by the call session.
    case 'response.cancelled': {
      const r = isObj(raw.response) ? raw.response : {};
      return {
        type: 'responseDone',
        responseId: s(r, 'id') || s(raw, 'response_id'),
        status: 'cancelled',
        functionCalls: [],
        spokeBeforeCalls: false,
      };
    }
    case 'response.function_call_arguments.done': {
      const ev = view<Of<'response.function_call_arguments.done'>>(raw);
      return {
        type: 'functionCall',
        responseId: ev.str('response_id'),
        call: { callId: ev.str('call_id'), name: ev.str('name'), arguments: ev.str('arguments') },
      };
    }
    case 'response.output_item.added': {
      const ev = view<Of<'response.output_item.added'>>(raw);
      const item = ev.obj('item');
      if (item.type === 'message')
        return { type: 'assistantItem', responseId: ev.str('response_id'), itemId: s(item, 'id') };
      return { type: 'ignored', eventType: t };
    }
    case 'input_audio_buffer.speech_started': {
      const ev = view<Of<'input_audio_buffer.speech_started'>>(raw);
      return { type: 'speechStarted', itemId: ev.str('item_id') || undefined, audioStartMs: ev.num('audio_start_ms') };
    }
    case 'input_audio_buffer.speech_stopped':
      return { type: 'speechStopped', itemId: view<Of<typeof t>>(raw).str('item_id') || undefined };
    case 'input_audio_buffer.committed': {
      const itemId = view<Of<typeof t>>(raw).str('item_id');
      return itemId ? { type: 'userItem', itemId } : { type: 'ignored', eventType: t };
    }
    case 'conversation.item.input_audio_transcription.completed': {
      // xAI sends partials on this same event with status "in_progress"; only the rest are final.
      if (raw.status === 'in_progress') return { type: 'ignored', eventType: t };
      const ev = view<Of<typeof t>>(raw);
      return { type: 'userTranscript', itemId: ev.str('item_id'), text: ev.str('transcript') };
    }
    case 'response.output_audio_transcript.delta':
    case 'response.audio_transcript.delta': {
      const ev = view<Of<'response.output_audio_transcript.delta'>>(raw);
      return { type: 'assistantTranscriptDelta', itemId: ev.str('item_id'), delta: ev.str('delta') };
    }
    case 'response.output_audio_transcript.done':
    case 'response.audio_transcript.done': {
      const ev = view<Of<'response.output_audio_transcript.done'>>(raw);
      return {
        type: 'assistantTranscript',
        responseId: ev.str('response_id'),
        itemId: ev.str('item_id'),
        text: ev.str('transcript'),
      };
    }
    case 'conversation.item.truncated': {
      const ev = view<Of<typeof t>>(raw);
      return { type: 'truncated', itemId: ev.str('item_id'), audioEndMs: ev.num('audio_end_ms') ?? 0 };
    }
    case 'error': {
      const e = view<Of<'error'>['error']>(view<Of<'error'>>(raw).obj('error'));
      const code = e.str('code') || e.str('type') || 'unknown';
      const message = maskNumbers(e.str('message'));
      const param = e.str('param');
      return { type: 'error', code, message, severity: classifyError(code, message), ...(param ? { param } : {}) };
    }
    case 'output_audio_buffer.started':
    case 'output_audio_buffer.stopped':
    case 'output_audio_buffer.cleared':
      return { type: 'outputBuffer', phase: BUFFER_PHASE[t], responseId: view<Of<typeof t>>(raw).str('response_id') };
    case 'input_audio_buffer.dtmf_event_received': {
      const digit = view<Of<typeof t>>(raw).str('event');
      return /^[0-9*#A-D]$/.test(digit) ? { type: 'dtmf', digit } : { type: 'invalid', reason: `${t}: not a key` };
    }
    case 'ping':
      return { type: 'ping' };
    default:
      return { type: 'ignored', eventType: t };
  }
}
