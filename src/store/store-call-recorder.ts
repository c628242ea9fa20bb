import type { CallRecorder, CallStart, CallSummary } from '../call/recorder.js';
import { log } from '../log.js';
import type { CallRecord, JsonObject, StoredTimelineEntry, StoredToolCall } from './call-record.js';
import type { RecordingSink, WriteOutcome } from './outbox.js';

// The call core's CallRecorder seam, filled by storage: each finished call becomes one `calls` row,
// written through the durable outbox so a database outage never loses it.

/** The row as far as it is known at the start of a call (journaled in case the process dies). */
export function callRecordFromStart(s: CallStart): CallRecord {
  return {
    callSid: s.callSid,
    streamSid: s.streamSid || null,
    merchantId: s.merchantId || null,
    callerPhone: s.callerPhone ?? null,
    calledNumber: s.calledNumber ?? null,
    direction: s.direction,
    answeredBy: s.answeredBy ?? null,
    startedAt: s.startedAt,
    endedAt: null,
    durationMs: null,
    endReason: null,
    provider: s.provider,
    model: s.model,
    usage: {},
    stats: {},
    transcript: [],
    transcriptText: '',
    timeline: [],
    toolCalls: [],
  };
}

export function callRecordFromSummary(s: CallSummary, toolCalls: StoredToolCall[] = []): CallRecord {
  const usage: JsonObject = {};
  for (const [k, v] of Object.entries(s.usage)) if (typeof v === 'number') usage[k] = v;
  const stats: JsonObject = { ...s.stats };
  return {
    ...callRecordFromStart(s),
    endedAt: s.endedAt,
    durationMs: Math.max(0, Math.round(s.durationMs)),
    endReason: s.endReason,
    usage,
    stats,
    transcript: s.transcript.map((e) => ({ ...e })),
    transcriptText: s.transcriptText,
    timeline: s.timeline.map((e): StoredTimelineEntry => ({ ...e })),
    toolCalls,
  };
}

export interface StoreCallRecorderOptions {
  /** The call's tool calls with arguments and outputs (see tool-call-log.ts). */
  toolCalls?: (callSid: string, startedAt: Date) => StoredToolCall[];
}

export class StoreCallRecorder implements CallRecorder {
  constructor(
    private readonly sink: RecordingSink,
    private readonly opts: StoreCallRecorderOptions = {},
  ) {}

  started(call: CallStart): void {
    this.sink.started?.(callRecordFromStart(call));
  }

  async record(summary: CallSummary): Promise<void> {
    let outcome: WriteOutcome;
    try {
      const toolCalls = this.opts.toolCalls?.(summary.callSid, summary.startedAt) ?? [];
      outcome = await this.sink.write(callRecordFromSummary(summary, toolCalls));
    } catch (err) {
      // Only a closed writer or a full disk gets here; the call is over either way, so log, don't throw.
      log.error(
        { callSid: summary.callSid, err: { message: err instanceof Error ? err.message : String(err) } },
        'call record lost',
      );
      return;
    }
    log.info(
      { callSid: summary.callSid, endReason: summary.endReason, durationMs: summary.durationMs, outcome },
      'call record',
    );
  }
}
