import type { CallRecorder, CallSummary } from '../call/recorder.js';
import { log } from '../log.js';
import type { CallRecord, JsonObject } from './call-record.js';
import type { RecordingSink, WriteOutcome } from './outbox.js';

// The call core's CallRecorder seam, filled by storage: each finished call becomes one `calls` row,
// written through the durable outbox so a database outage never loses it.

export function callRecordFromSummary(s: CallSummary): CallRecord {
  const usage: JsonObject = {};
  for (const [k, v] of Object.entries(s.usage)) if (typeof v === 'number') usage[k] = v;
  const stats: JsonObject = { ...s.stats };
  return {
    callSid: s.callSid,
    streamSid: s.streamSid || null,
    merchantId: s.merchantId || null,
    callerPhone: s.callerPhone ?? null,
    calledNumber: s.calledNumber ?? null,
    direction: s.direction,
    answeredBy: s.answeredBy ?? null,
    startedAt: s.startedAt,
    endedAt: s.endedAt,
    durationMs: Math.max(0, Math.round(s.durationMs)),
    endReason: s.endReason,
    provider: s.provider,
    model: s.model,
    usage,
    stats,
    transcript: s.transcript.map((e) => ({ ...e })),
    transcriptText: s.transcriptText,
  };
}

export class StoreCallRecorder implements CallRecorder {
  constructor(private readonly sink: RecordingSink) {}

  async record(summary: CallSummary): Promise<void> {
    let outcome: WriteOutcome;
    try {
      outcome = await this.sink.write(callRecordFromSummary(summary));
    } catch (err) {
      // Only a closed writer or a full disk gets here; the call is over either way, so log, don't throw.
      log.error({ callSid: summary.callSid, err: { message: err instanceof Error ? err.message : String(err) } }, 'call record lost');
      return;
    }
    log.info({ callSid: summary.callSid, endReason: summary.endReason, durationMs: summary.durationMs, outcome }, 'call record');
  }
}
