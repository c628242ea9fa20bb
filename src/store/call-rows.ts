import { z } from 'zod';
import {
  callDirectionSchema,
  jsonObjectSchema,
  timelineEntrySchema,
  toolCallSchema,
  transcriptEntrySchema,
  type CallRecord,
  type JsonObject,
} from './call-record.js';
import { date, nullableDate } from './row-dates.js';
import type { CallListItem } from './store.js';

// A calls row both ways: read whole into a CallRecord or as a line of the call list, and written
// from a CallRecord in column order.

/** The columns of the call list (the transcript stays in the database). */
export const CALL_LIST_COLUMNS = [
  'call_sid',
  'merchant_id',
  'caller_phone',
  'direction',
  'started_at',
  'duration_ms',
  'end_reason',
] as const;

const callListRow = z.object({
  call_sid: z.string(),
  merchant_id: z.string().nullable(),
  caller_phone: z.string().nullable(),
  direction: callDirectionSchema,
  started_at: date,
  duration_ms: z.number().int().nullable(),
  end_reason: z.string().nullable(),
});

export function toCallListItem(row: unknown): CallListItem {
  const r = callListRow.parse(row);
  return {
    callSid: r.call_sid,
    merchantId: r.merchant_id,
    callerPhone: r.caller_phone,
    direction: r.direction,
    startedAt: r.started_at,
    durationMs: r.duration_ms,
    endReason: r.end_reason,
  };
}

const callRow = z.object({
  call_sid: z.string(),
  stream_sid: z.string().nullable(),
  merchant_id: z.string().nullable(),
  caller_phone: z.string().nullable(),
  called_number: z.string().nullable(),
  direction: callDirectionSchema,
  answered_by: z.string().nullable(),
  started_at: date,
  ended_at: nullableDate,
  duration_ms: z.number().int().nullable(),
  end_reason: z.string().nullable(),
  provider: z.string().nullable(),
  model: z.string().nullable(),
  usage: jsonObjectSchema,
  stats: jsonObjectSchema,
  transcript: z.array(transcriptEntrySchema),
  transcript_text: z.string(),
  timeline: z.array(timelineEntrySchema).default([]),
  tool_calls: z.array(toolCallSchema).default([]),
  created_at: date,
});

export function toCallRecord(row: unknown): CallRecord {
  const r = callRow.parse(row);
  return {
    callSid: r.call_sid,
    streamSid: r.stream_sid,
    merchantId: r.merchant_id,
    callerPhone: r.caller_phone,
    calledNumber: r.called_number,
    direction: r.direction,
    answeredBy: r.answered_by,
    startedAt: r.started_at,
    endedAt: r.ended_at,
    durationMs: r.duration_ms,
    endReason: r.end_reason,
    provider: r.provider,
    model: r.model,
    usage: r.usage,
    stats: r.stats,
    transcript: r.transcript,
    transcriptText: r.transcript_text,
    timeline: r.timeline,
    toolCalls: r.tool_calls,
    createdAt: r.created_at,
  };
}

/** The calls row to write, in column order (created_at is the database's). */
export const CALL_COLUMNS = [
  'call_sid',
  'stream_sid',
  'merchant_id',
  'caller_phone',
  'called_number',
  'direction',
  'answered_by',
  'started_at',
  'ended_at',
  'duration_ms',
  'end_reason',
  'provider',
  'model',
  'usage',
  'stats',
  'transcript',
  'transcript_text',
  'timeline',
  'tool_calls',
] as const;
export type CallColumn = (typeof CALL_COLUMNS)[number];

export function callRecordToRow(r: CallRecord): Record<CallColumn, JsonObject[string]> {
  return {
    call_sid: r.callSid,
    stream_sid: r.streamSid,
    merchant_id: r.merchantId,
    caller_phone: r.callerPhone,
    called_number: r.calledNumber,
    direction: r.direction,
    answered_by: r.answeredBy,
    started_at: r.startedAt.toISOString(),
    ended_at: r.endedAt === null ? null : r.endedAt.toISOString(),
    duration_ms: r.durationMs === null ? null : Math.round(r.durationMs),
    end_reason: r.endReason,
    provider: r.provider,
    model: r.model,
    usage: r.usage,
    stats: r.stats,
    transcript: r.transcript.map((e) =>
      e.interrupted === undefined ? { role: e.role, text: e.text, atMs: e.atMs } : { ...e, interrupted: e.interrupted },
    ),
    transcript_text: r.transcriptText,
    timeline: r.timeline,
    tool_calls: r.toolCalls,
  };
}
