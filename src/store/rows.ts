import { z } from 'zod';
import { CALL_TRANSPORTS, realtimeOptions } from './merchant-schema.js';
import type { CallRecordingInfo, RecordingUpdate } from './call-recording.js';
import {
  callDirectionSchema,
  jsonObjectSchema,
  timelineEntrySchema,
  toolCallSchema,
  transcriptEntrySchema,
  type CallRecord,
  type JsonObject,
} from './call-record.js';
import type {
  Appointment,
  AppointmentDetail,
  CallListItem,
  ConsoleLink,
  Customer,
  MerchantInput,
  MerchantRecord,
  Message,
} from './store.js';

// Rows as the database returns them (snake_case), parsed into the store's types. Every adapter goes
// through here: pg and PGlite hand back Dates and parsed JSON, PostgREST hands back ISO strings, and
// coercion makes both the same.

const date = z.coerce.date();
const nullableDate = z.coerce.date().nullable();

const merchantRow = z.object({
  id: z.string(),
  business_name: z.string(),
  time_zone: z.string(),
  provider: z.enum(['openai', 'openai-live', 'xai', 'sim']).nullable(),
  voice: z.string().nullable(),
  instructions: z.string(),
  greeting: z.string(),
  outbound_greeting: z.string(),
  voicemail_template: z.string(),
  greeting_interruptible: z.boolean(),
  slot_minutes: z.number().int(),
  business_hours: z.record(z.string(), z.array(z.string())),
  tools: z.array(z.string()),
  google_calendar_id: z.string().nullable(),
  google_refresh_token: z.string().nullable(),
  google_access_token: z.string().nullable(),
  google_token_expires_at: nullableDate,
  phone_numbers: z.array(z.string()),
  // Version 0003; absent in rows from a database that has not been migrated to it yet.
  transfer_targets: z
    .array(
      z.object({
        name: z.string(),
        number: z.string(),
        handles: z.string(),
        hours: z.record(z.string(), z.array(z.string())),
      }),
    )
    .nullish(),
  owner_sms_number: z.string().nullish(),
  owner_sms_show_caller: z.boolean().nullish(),
  webhook_url: z.string().nullish(),
  webhook_secret: z.string().nullish(),
  recording_notice: z.string().nullish(),
  // Version 0004.
  realtime_options: realtimeOptions.nullish(),
  // Version 0006.
  transport: z.enum(CALL_TRANSPORTS).nullish(),
});

export function toMerchant(row: unknown): MerchantRecord {
  const r = merchantRow.parse(row);
  const m: MerchantRecord = {
    id: r.id,
    name: r.business_name,
    timeZone: r.time_zone,
    phoneNumbers: r.phone_numbers,
    instructions: r.instructions,
    greeting: r.greeting,
    outboundGreeting: r.outbound_greeting,
    voicemailTemplate: r.voicemail_template,
    greetingInterruptible: r.greeting_interruptible,
    slotMinutes: r.slot_minutes,
    businessHours: r.business_hours,
    tools: r.tools,
    googleCalendarId: r.google_calendar_id,
    googleTokens: {
      refreshToken: r.google_refresh_token,
      accessToken: r.google_access_token,
      expiresAt: r.google_token_expires_at,
    },
  };
  // Optional overrides stay absent rather than undefined-valued, as in a hand-written Merchant.
  if (r.provider !== null) m.provider = r.provider;
  if (r.voice !== null) m.voice = r.voice;
  if (r.transfer_targets && r.transfer_targets.length > 0) m.transferTargets = r.transfer_targets;
  if (r.owner_sms_number)
    m.ownerNotifications = { number: r.owner_sms_number, showCallerNumber: r.owner_sms_show_caller ?? false };
  if (r.webhook_url && r.webhook_secret) m.postCallWebhook = { url: r.webhook_url, secret: r.webhook_secret };
  if (r.recording_notice) m.recording = { notice: r.recording_notice };
  if (r.realtime_options && Object.keys(r.realtime_options).length > 0) m.realtime = r.realtime_options;
  // The default stays implicit, as in the merchant file: only a sip merchant carries the field.
  if (r.transport === 'sip') m.transport = r.transport;
  return m;
}

/** The jsonb argument of the SQL function upsert_merchant; calendar keys only when given. */
export function merchantToJson(m: MerchantInput): JsonObject {
  const j: JsonObject = {
    id: m.id,
    business_name: m.name,
    time_zone: m.timeZone,
    phone_numbers: [...new Set(m.phoneNumbers)],
    provider: m.provider ?? null,
    voice: m.voice ?? null,
    instructions: m.instructions,
    greeting: m.greeting,
    outbound_greeting: m.outboundGreeting,
    voicemail_template: m.voicemailTemplate,
    greeting_interruptible: m.greetingInterruptible,
    slot_minutes: m.slotMinutes,
    business_hours: m.businessHours,
    tools: m.tools,
    transfer_targets: (m.transferTargets ?? []).map((t) => ({
      name: t.name,
      number: t.number,
      handles: t.handles,
      hours: t.hours,
    })),
    owner_sms_number: m.ownerNotifications?.number ?? null,
    owner_sms_show_caller: m.ownerNotifications?.showCallerNumber ?? false,
    webhook_url: m.postCallWebhook?.url ?? null,
    webhook_secret: m.postCallWebhook?.secret ?? null,
    recording_notice: m.recording?.notice ?? null,
    realtime_options: m.realtime ? { ...m.realtime } : null,
    transport: m.transport ?? 'media-streams',
  };
  if (m.googleCalendarId !== undefined) j.google_calendar_id = m.googleCalendarId;
  Object.assign(j, tokenColumns(m.googleTokens ?? {}));
  return j;
}

/** Token columns for the keys present; expiry as ISO text (valid for both jsonb and PostgREST). */
export function tokenColumns(t: {
  refreshToken?: string | null;
  accessToken?: string | null;
  expiresAt?: Date | null;
}): JsonObject {
  const j: JsonObject = {};
  if (t.refreshToken !== undefined) j.google_refresh_token = t.refreshToken;
  if (t.accessToken !== undefined) j.google_access_token = t.accessToken;
  if (t.expiresAt !== undefined) j.google_token_expires_at = t.expiresAt === null ? null : t.expiresAt.toISOString();
  return j;
}

const customerRow = z.object({
  id: z.string(),
  merchant_id: z.string(),
  phone: z.string(),
  name: z.string().nullable(),
  email: z.string().nullable(),
  notes: z.string().nullable(),
  created_at: date,
  updated_at: date,
});

export function toCustomer(row: unknown): Customer {
  const r = customerRow.parse(row);
  return {
    id: r.id,
    merchantId: r.merchant_id,
    phone: r.phone,
    name: r.name,
    email: r.email,
    notes: r.notes,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

const appointmentRow = z.object({
  id: z.string(),
  merchant_id: z.string(),
  customer_id: z.string(),
  starts_at: date,
  ends_at: date,
  status: z.enum(['booked', 'cancelled']),
  calendar_event_id: z.string().nullable(),
  notes: z.string().nullable(),
  created_by_call_sid: z.string().nullable(),
  created_at: date,
  cancelled_at: nullableDate,
});

export function toAppointment(row: unknown): Appointment {
  const r = appointmentRow.parse(row);
  return {
    id: r.id,
    merchantId: r.merchant_id,
    customerId: r.customer_id,
    startsAt: r.starts_at,
    endsAt: r.ends_at,
    status: r.status,
    calendarEventId: r.calendar_event_id,
    notes: r.notes,
    createdByCallSid: r.created_by_call_sid,
    createdAt: r.created_at,
    cancelledAt: r.cancelled_at,
  };
}

const messageRow = z.object({
  id: z.string(),
  merchant_id: z.string(),
  caller_name: z.string().nullable(),
  caller_phone: z.string().nullable(),
  body: z.string(),
  urgency: z.enum(['low', 'normal', 'urgent']),
  call_sid: z.string().nullable(),
  created_at: date,
  read_at: nullableDate.optional().transform((v) => v ?? null),
});

export function toMessage(row: unknown): Message {
  const r = messageRow.parse(row);
  return {
    id: r.id,
    merchantId: r.merchant_id,
    callerName: r.caller_name,
    callerPhone: r.caller_phone,
    body: r.body,
    urgency: r.urgency,
    callSid: r.call_sid,
    createdAt: r.created_at,
    readAt: r.read_at,
  };
}

const customerOfAppointment = z.object({ customer_name: z.string().nullable(), customer_phone: z.string() });

/** A row of the appointment_details view. */
export function toAppointmentDetail(row: unknown): AppointmentDetail {
  const c = customerOfAppointment.parse(row);
  return { ...toAppointment(row), customerName: c.customer_name, customerPhone: c.customer_phone };
}

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

const consoleLinkRow = z.object({
  id: z.string(),
  merchant_id: z.string(),
  created_at: date,
  expires_at: date,
  revoked_at: nullableDate,
});

export function toConsoleLink(row: unknown): ConsoleLink {
  const r = consoleLinkRow.parse(row);
  return {
    id: r.id,
    merchantId: r.merchant_id,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    revokedAt: r.revoked_at,
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

const recordingRow = z.object({
  recording_sid: z.string(),
  call_sid: z.string(),
  status: z.string(),
  channels: z.number().int().nullable(),
  duration_seconds: z.number().int().nullable(),
  url: z.string().nullable(),
  error_code: z.number().int().nullable(),
  started_at: nullableDate,
  updated_at: date,
});

/** A row of call_recordings. */
export function toCallRecording(row: unknown): CallRecordingInfo {
  const r = recordingRow.parse(row);
  return {
    sid: r.recording_sid,
    callSid: r.call_sid,
    status: r.status,
    channels: r.channels,
    durationSeconds: r.duration_seconds,
    url: r.url,
    errorCode: r.error_code,
    startedAt: r.started_at,
    updatedAt: r.updated_at,
  };
}

/** The jsonb argument of the SQL function save_call_recording. */
export function recordingToJson(u: RecordingUpdate): JsonObject {
  return {
    recording_sid: u.sid,
    call_sid: u.callSid,
    status: u.status,
    channels: u.channels ?? null,
    duration_seconds: u.durationSeconds ?? null,
    url: u.url ?? null,
    error_code: u.errorCode ?? null,
    started_at: u.startedAt ? u.startedAt.toISOString() : null,
  };
}
