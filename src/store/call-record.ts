import { z } from 'zod';
import type { CallRecordingInfo } from './call-recording.js';

// One finished call, field for field the `calls` table (camelCase here, snake_case there). The same
// schema parses rows coming back from any adapter and lines replayed from the outbox file, so a
// record is validated wherever it re-enters the process.

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

const jsonValue: z.ZodType<JsonValue> = z.lazy(() =>
  z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(jsonValue), z.record(z.string(), jsonValue)]),
);
export const jsonObjectSchema: z.ZodType<JsonObject> = z.record(z.string(), jsonValue);

export const transcriptEntrySchema = z.object({
  role: z.enum(['caller', 'assistant', 'tool', 'system']),
  text: z.string(),
  /** ms since the call started. */
  atMs: z.number(),
  interrupted: z.boolean().optional(),
});
export type StoredTranscriptEntry = z.infer<typeof transcriptEntrySchema>;

export const callDirectionSchema = z.enum(['inbound', 'outbound']);

/**
 * One moment of the call's timeline (src/call/timeline.ts): `kind` says which, `atMs` is ms since the
 * start. Kinds this version does not know are kept as they are, so a newer relay's records still read.
 */
export const timelineEntrySchema = z.object({ atMs: z.number(), kind: z.string() }).catchall(jsonValue);
export type StoredTimelineEntry = z.infer<typeof timelineEntrySchema>;

/** A tool the model called: its arguments as the model wrote them and what went back. */
export const toolCallSchema = z.object({
  name: z.string(),
  /** ms since the call started, when the tool was called. */
  atMs: z.number(),
  ms: z.number(),
  ok: z.boolean(),
  /** JSON text as the model produced it (may be invalid JSON). */
  arguments: z.string(),
  /** The function_call_output text the model was given. */
  output: z.string(),
});
export type StoredToolCall = z.infer<typeof toolCallSchema>;

export interface CallRecord {
  callSid: string;
  streamSid: string | null;
  merchantId: string | null;
  callerPhone: string | null;
  calledNumber: string | null;
  direction: 'inbound' | 'outbound';
  /** Twilio AnsweredBy (human, machine_end_beep, …) on outbound calls. */
  answeredBy: string | null;
  startedAt: Date;
  endedAt: Date | null;
  durationMs: number | null;
  endReason: string | null;
  provider: string | null;
  model: string | null;
  /** Provider token usage as reported (e.g. {inputTokens, outputTokens, totalTokens}). */
  usage: JsonObject;
  /** Data-plane counters (frames, barge-ins, dropped audio…). */
  stats: JsonObject;
  transcript: StoredTranscriptEntry[];
  transcriptText: string;
  /** States, barge-ins, tools, heard answers and the end, over time. */
  timeline: StoredTimelineEntry[];
  toolCalls: StoredToolCall[];
  /** Set by the database; absent on a record that has not been stored yet. */
  createdAt?: Date;
  /** The call's recording as last reported (opt-in per merchant); read by getCallRecord, never written with the row. */
  recording?: CallRecordingInfo | null;
}

const nullableString = z
  .string()
  .nullable()
  .optional()
  .transform((v) => v ?? null);

/** Accepts Dates or ISO strings (JSON lines, PostgREST) and returns a CallRecord. */
export const callRecordSchema = z.object({
  callSid: z.string().min(1),
  streamSid: nullableString,
  merchantId: nullableString,
  callerPhone: nullableString,
  calledNumber: nullableString,
  direction: callDirectionSchema,
  answeredBy: nullableString,
  startedAt: z.coerce.date(),
  endedAt: z.coerce
    .date()
    .nullable()
    .optional()
    .transform((v) => v ?? null),
  durationMs: z
    .number()
    .int()
    .nonnegative()
    .nullable()
    .optional()
    .transform((v) => v ?? null),
  endReason: nullableString,
  provider: nullableString,
  model: nullableString,
  usage: jsonObjectSchema.optional().transform((v) => v ?? {}),
  stats: jsonObjectSchema.optional().transform((v) => v ?? {}),
  transcript: z.array(transcriptEntrySchema),
  transcriptText: z.string(),
  // Absent on outbox lines written before version 0002 of the schema.
  timeline: z
    .array(timelineEntrySchema)
    .optional()
    .transform((v) => v ?? []),
  toolCalls: z
    .array(toolCallSchema)
    .optional()
    .transform((v) => v ?? []),
  createdAt: z.coerce.date().optional(),
});

export function parseCallRecord(input: unknown): CallRecord {
  return callRecordSchema.parse(input);
}

const ROLE_LABEL: Record<StoredTranscriptEntry['role'], string> = {
  caller: 'Caller',
  assistant: 'Assistant',
  tool: 'Tool',
  system: 'System',
};

/** The transcript as lines a person reads in psql (same format as the call core's Transcript.text()). */
export function renderTranscript(entries: readonly StoredTranscriptEntry[]): string {
  return entries.map((e) => `${ROLE_LABEL[e.role]}: ${e.text}${e.interrupted ? ' [interrupted]' : ''}`).join('\n');
}
