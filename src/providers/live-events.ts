import { isBase64 } from '../audio/base64.js';
import type { FunctionCall } from '../../machines/call.types.js';
import type { LiveCloseReason, LiveNestedResponseType, LiveServerEventType } from './live-protocol.js';
import { classifyError, type ErrorSeverity, type Usage } from './model-events.js';

// GPT-Live server events parsed at the edge into one union (the protocol: live-protocol.ts). Only
// what the relay acts on is kept; everything else is `ignored` with its type.

export type LiveEvent =
  | { type: 'started' }
  | { type: 'audio'; delta: string }
  | { type: 'outputText'; delta: string }
  | { type: 'inputText'; delta: string }
  /** A delegated Responses call finished one function call (only `completed` ones are run). */
  | { type: 'functionCall'; responseId: string; call: FunctionCall }
  /** A delegated Responses response ended (completed, failed or incomplete). */
  | { type: 'delegationDone'; responseId: string; usage?: Usage }
  /** Cumulative audio seconds of the session (not to be summed). */
  | { type: 'usage'; audioSeconds: number }
  | { type: 'closed'; reason: LiveCloseReason | 'unknown' }
  | { type: 'error'; code: string; message: string; severity: ErrorSeverity; param?: string }
  | { type: 'ignored'; eventType: string }
  | { type: 'invalid'; reason: string };

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (o: Obj, k: string): string => (typeof o[k] === 'string' ? (o[k] as string) : '');
const num = (o: Obj, k: string): number | undefined => (typeof o[k] === 'number' ? (o[k] as number) : undefined);
const CLOSE_REASONS: readonly LiveCloseReason[] = [
  'close_requested',
  'expired',
  'content',
  'remote_hangup',
  'connection_lost',
];

function nested(raw: Obj): LiveEvent {
  const inner = isObj(raw.event) ? raw.event : {};
  const t = str(inner, 'type') as LiveNestedResponseType | '';
  switch (t) {
    case 'response.output_item.done': {
      const item = isObj(inner.item) ? inner.item : {};
      // A call cut short can carry half its arguments: only completed ones run.
      if (item.type !== 'function_call' || item.status !== 'completed' || !str(item, 'call_id'))
        return { type: 'ignored', eventType: `response.event/${t}` };
      return {
        type: 'functionCall',
        responseId: str(inner, 'response_id'),
        call: { callId: str(item, 'call_id'), name: str(item, 'name'), arguments: str(item, 'arguments') },
      };
    }
    case 'response.completed':
    case 'response.failed':
    case 'response.incomplete': {
      const r = isObj(inner.response) ? inner.response : {};
      const u = isObj(r.usage) ? r.usage : undefined;
      const usage = u
        ? {
            inputTokens: num(u, 'input_tokens'),
            outputTokens: num(u, 'output_tokens'),
            totalTokens: num(u, 'total_tokens'),
          }
        : undefined;
      return { type: 'delegationDone', responseId: str(r, 'id'), ...(usage ? { usage } : {}) };
    }
    default:
      return { type: 'ignored', eventType: `response.event/${t || '?'}` };
  }
}

export function parseLiveEvent(text: string): LiveEvent {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { type: 'invalid', reason: 'not JSON' };
  }
  if (!isObj(raw) || typeof raw.type !== 'string') return { type: 'invalid', reason: 'no type' };
  const t = raw.type as LiveServerEventType;
  switch (t) {
    case 'session.started':
      return { type: 'started' };
    case 'session.output_audio.delta': {
      const delta = raw.delta;
      if (typeof delta !== 'string' || !isBase64(delta))
        return { type: 'invalid', reason: `${t}: delta is not base64` };
      return { type: 'audio', delta };
    }
    case 'session.output_transcript.delta':
      return { type: 'outputText', delta: str(raw, 'delta') };
    case 'session.input_transcript.delta':
      return { type: 'inputText', delta: str(raw, 'delta') };
    case 'response.event':
      return nested(raw);
    case 'session.usage.updated': {
      const seconds = isObj(raw.usage) ? num(raw.usage, 'seconds') : undefined;
      return seconds === undefined ? { type: 'ignored', eventType: t } : { type: 'usage', audioSeconds: seconds };
    }
    case 'session.closed': {
      const reason = CLOSE_REASONS.find((r) => r === raw.reason) ?? 'unknown';
      return { type: 'closed', reason };
    }
    case 'error': {
      const e = isObj(raw.error) ? raw.error : {};
      const code = str(e, 'code') || str(e, 'type') || 'unknown';
      const message = str(e, 'message');
      const param = str(e, 'param');
      return { type: 'error', code, message, severity: classifyError(code, message), ...(param ? { param } : {}) };
    }
    default:
      return { type: 'ignored', eventType: raw.type };
  }
}
