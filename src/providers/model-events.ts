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
}

/** Adds one response's usage to a call's running total. */
export function addUsage(total: Required<Usage>, u: Usage | undefined): void {
  if (!u) return;
  total.inputTokens += u.inputTokens ?? 0;
  total.outputTokens += u.outputTokens ?? 0;
  total.totalTokens += u.totalTokens ?? 0;
}

export type ErrorSeverity = 'benign' | 'recoverable' | 'fatal';

export type ModelEvent =
  | { type: 'conversationCreated' }
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
  | { type: 'error'; code: string; message: string; severity: ErrorSeverity }
  | { type: 'ping' }
  | { type: 'ignored'; eventType: string }
  | { type: 'invalid'; reason: string };

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const s = (o: Obj, k: string): string => (typeof o[k] === 'string' ? (o[k] as string) : '');
const n = (o: Obj, k: string): number | undefined => (typeof o[k] === 'number' ? (o[k] as number) : undefined);

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
  return 'recoverable';
}

function parseUsage(v: unknown): Usage | undefined {
  if (!isObj(v)) return undefined;
  return { inputTokens: n(v, 'input_tokens'), outputTokens: n(v, 'output_tokens'), totalTokens: n(v, 'total_tokens') };
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

export function parseModelEvent(text: string): ModelEvent {
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
      const delta = raw.delta;
      if (typeof delta !== 'string' || !isBase64(delta))
        return { type: 'invalid', reason: `${t}: delta is not base64` };
      return { type: 'audio', responseId: s(raw, 'response_id'), itemId: s(raw, 'item_id'), delta };
    }
    case 'response.output_audio.done':
    case 'response.audio.done':
      return { type: 'audioDone', responseId: s(raw, 'response_id'), itemId: s(raw, 'item_id') };
    case 'conversation.created':
      return { type: 'conversationCreated' };
    case 'session.created': {
      const sess = isObj(raw.session) ? raw.session : {};
      return { type: 'sessionCreated', expiresAt: n(sess, 'expires_at') };
    }
    case 'session.updated':
      return { type: 'sessionUpdated' };
    case 'response.created': {
      const r = isObj(raw.response) ? raw.response : {};
      return { type: 'responseCreated', responseId: s(r, 'id') };
    }
    case 'response.done': {
      const r = isObj(raw.response) ? raw.response : {};
      const details = isObj(r.status_details) ? r.status_details : {};
      return {
        type: 'responseDone',
        responseId: s(r, 'id'),
        status: s(r, 'status') || 'completed',
        reason: s(details, 'reason') || undefined,
        functionCalls: functionCallsOf(r.output),
        usage: parseUsage(r.usage ?? raw.usage),
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
      };
    }
    case 'response.function_call_arguments.done':
      return {
        type: 'functionCall',
        responseId: s(raw, 'response_id'),
        call: { callId: s(raw, 'call_id'), name: s(raw, 'name'), arguments: s(raw, 'arguments') },
      };
    case 'response.output_item.added': {
      const item = isObj(raw.item) ? raw.item : {};
      if (item.type === 'message')
        return { type: 'assistantItem', responseId: s(raw, 'response_id'), itemId: s(item, 'id') };
      return { type: 'ignored', eventType: t };
    }
    case 'input_audio_buffer.speech_started':
      return { type: 'speechStarted', itemId: s(raw, 'item_id') || undefined, audioStartMs: n(raw, 'audio_start_ms') };
    case 'input_audio_buffer.speech_stopped':
      return { type: 'speechStopped', itemId: s(raw, 'item_id') || undefined };
    case 'input_audio_buffer.committed':
      return s(raw, 'item_id') ? { type: 'userItem', itemId: s(raw, 'item_id') } : { type: 'ignored', eventType: t };
    case 'conversation.item.input_audio_transcription.completed':
      // xAI sends partials on this same event with status "in_progress"; only the rest are final.
      if (raw.status === 'in_progress') return { type: 'ignored', eventType: t };
      return { type: 'userTranscript', itemId: s(raw, 'item_id'), text: s(raw, 'transcript') };
    case 'response.output_audio_transcript.delta':
    case 'response.audio_transcript.delta':
      return { type: 'assistantTranscriptDelta', itemId: s(raw, 'item_id'), delta: s(raw, 'delta') };
    case 'response.output_audio_transcript.done':
    case 'response.audio_transcript.done':
      return {
        type: 'assistantTranscript',
        responseId: s(raw, 'response_id'),
        itemId: s(raw, 'item_id'),
        text: s(raw, 'transcript'),
      };
    case 'conversation.item.truncated':
      return { type: 'truncated', itemId: s(raw, 'item_id'), audioEndMs: n(raw, 'audio_end_ms') ?? 0 };
    case 'error': {
      const e = isObj(raw.error) ? raw.error : {};
      const code = s(e, 'code') || s(e, 'type') || 'unknown';
      const message = maskNumbers(s(e, 'message'));
      return { type: 'error', code, message, severity: classifyError(code, message) };
    }
    case 'ping':
      return { type: 'ping' };
    default:
      return { type: 'ignored', eventType: t };
  }
}
