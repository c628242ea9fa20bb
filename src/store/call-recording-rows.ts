import { z } from 'zod';
import type { CallRecordingInfo, RecordingUpdate } from './call-recording.js';
import type { JsonObject } from './call-record.js';
import { date, nullableDate } from './row-dates.js';

// A call_recordings row both ways: read into CallRecordingInfo, written through save_call_recording.

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
