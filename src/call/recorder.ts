import type { Direction, EndReason } from '../../machines/call.types.js';
import type { Usage } from '../providers/model-events.js';
import type { TimelineEntry } from './timeline.js';
import type { TranscriptEntry } from './transcript.js';
import { log } from '../log.js';

// Everything the relay knows about a call when it ends, handed to a CallRecorder exactly once per
// call, whatever ended it. Storage fills the seam (database + durable outbox).

export interface CallSummary {
  callSid: string;
  streamSid: string;
  merchantId: string;
  callerPhone?: string;
  calledNumber?: string;
  direction: Direction;
  answeredBy?: string;
  conversationSid?: string;
  requester?: string;
  provider: string;
  model: string;
  startedAt: Date;
  endedAt: Date;
  durationMs: number;
  endReason: EndReason;
  transcript: TranscriptEntry[];
  transcriptText: string;
  /** States, barge-ins, tools, heard answers and the end, over time (see timeline.ts). */
  timeline: TimelineEntry[];
  usage: Usage;
  stats: CallStats;
}

/** What is known when a call begins: a crash-safe recorder notes it (see store/live-call-journal.ts). */
export type CallStart = Omit<
  CallSummary,
  'endedAt' | 'durationMs' | 'endReason' | 'transcript' | 'transcriptText' | 'timeline' | 'usage' | 'stats'
>;

export interface CallStats {
  framesIn: number;
  framesOut: number;
  bargeIns: number;
  assistantAudioMs: number;
  /** Caller audio dropped while the model was not ready (hold buffer full). */
  droppedCallerAudioMs: number;
  /** Model audio discarded after a barge-in (late deltas of the cancelled response). */
  lateDeltasDropped: number;
  modelConnectMs: number | null;
  badTwilioMessages: number;
  /**
   * Sends to Twilio refused by the transport (backlog full): non-zero means Twilio stopped reading
   * and the stream was closed.
   */
  twilioSendRefused: number;
}

export interface CallRecorder {
  record(summary: CallSummary): Promise<void>;
  /** The call began; `record` follows exactly once, unless the process dies first. */
  started?(call: CallStart): void;
}

/** Default until storage is configured: the summary goes to the log, and the last N stay in memory. */
export class MemoryCallRecorder implements CallRecorder {
  readonly records: CallSummary[] = [];
  private waiters: Array<{ callSid: string; resolve: (s: CallSummary) => void }> = [];

  constructor(private readonly keep = 1000) {}

  async record(summary: CallSummary): Promise<void> {
    this.records.push(summary);
    if (this.records.length > this.keep) this.records.shift();
    log.info(
      {
        callSid: summary.callSid,
        endReason: summary.endReason,
        durationMs: summary.durationMs,
        turns: summary.transcript.length,
      },
      'call record',
    );
    for (const w of this.waiters.filter((x) => x.callSid === summary.callSid)) w.resolve(summary);
    this.waiters = this.waiters.filter((x) => x.callSid !== summary.callSid);
  }

  /** Resolves when the record for this call arrives (or already has). */
  waitFor(callSid: string, timeoutMs = 10_000): Promise<CallSummary> {
    const have = this.records.find((r) => r.callSid === callSid);
    if (have) return Promise.resolve(have);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no call record for ${callSid} within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({
        callSid,
        resolve: (s) => {
          clearTimeout(t);
          resolve(s);
        },
      });
    });
  }
}
