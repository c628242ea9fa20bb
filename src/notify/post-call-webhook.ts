import { Webhook } from 'standardwebhooks';
import { z } from 'zod';
import { log } from '../log.js';
import type { MerchantDirectory } from '../merchants/directory.js';
import type { Merchant } from '../merchants/merchant.js';
import { type CallRecord, type JsonObject, type JsonValue, parseCallRecord } from '../store/call-record.js';
import type { CallRecordingInfo } from '../store/call-recording.js';
import { DurableQueue, type Delivery, type QueuedJob } from '../store/durable-queue.js';
import type { SummaryWriter } from './call-summary.js';

// One POST per finished call to the merchant's webhook (Merchant.postCallWebhook): the call record,
// the transcript, the tools called and what they answered, the end reason, the recording as far as
// known and a short summary. Signed with the Standard Webhooks scheme by its reference library
// (webhook-id, webhook-timestamp, webhook-signature: HMAC-SHA256 of id.timestamp.body under the
// merchant's whsec_ secret). Delivered at least once through a durable queue: the id is the same
// on every retry (msg_<CallSid>) so a receiver can drop repeats. 2xx is delivered; 408, 429, 5xx,
// timeouts and unreachable endpoints are retried with backoff; any other 4xx is the receiver
// refusing the payload for good and is dead-lettered (and logged) after that first answer.
// The summary is written on the first attempt, bounded in time; without one the POST goes anyway.

export const WEBHOOK_EVENT_TYPE = 'call.completed';

const jobSchema = z.object({
  merchantId: z.string(),
  url: z.string(),
  record: z.unknown().transform((r) => parseCallRecord(r)),
  /** undefined: not written yet; null: could not be. */
  summary: z.string().nullable().optional(),
  summaryError: z.string().optional(),
});
type WebhookJob = z.infer<typeof jobSchema>;

export interface PostCallWebhookOptions {
  directory: MerchantDirectory;
  /** Directory of the queue files (DATA_DIR/outbox). */
  dir: string;
  writeSummary: SummaryWriter | null;
  /** The call's recording when the POST goes out (the store's call_recordings). */
  recordingOf?: (callSid: string) => Promise<CallRecordingInfo | null>;
  /** Per POST. Default 10000. */
  timeoutMs?: number;
  /** For the summary. Default 10000. */
  summaryTimeoutMs?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Default: the global fetch (tests reach a local receiver through it). */
  fetch?: typeof fetch;
  /** How long the webhook of a call that went to a person waits for it to come back. Default 120000. */
  transferSettleMs?: number;
}

const wlog = log.child({ mod: 'post-call-webhook' });

export const webhookId = (callSid: string): string => `msg_${callSid}`;

/** Whether an HTTP answer is worth another try. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

function retryAfterMs(header: string | null): number | undefined {
  if (header === null) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds, 3600) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.min(at - Date.now(), 3600_000));
}

const iso = (d: Date | null | undefined): string | null => (d ? d.toISOString() : null);

/** The JSON body (the `data` of a Standard Webhooks payload). */
export function webhookData(
  record: CallRecord,
  summary: string | null,
  recording: CallRecordingInfo | null,
): JsonObject {
  const tools: JsonValue[] =
    record.toolCalls.length > 0
      ? record.toolCalls.map((t) => ({
          name: t.name,
          atMs: t.atMs,
          ms: t.ms,
          ok: t.ok,
          arguments: t.arguments,
          output: t.output,
        }))
      : // Without the tool log (a record written without it) the timeline still says what ran and how it went.
        record.timeline
          .filter((e) => e.kind === 'tool')
          .map((e) => ({ name: String(e.name ?? ''), atMs: e.atMs, ms: Number(e.ms ?? 0), ok: e.ok === true }));
  return {
    call: {
      callSid: record.callSid,
      merchantId: record.merchantId,
      direction: record.direction,
      callerPhone: record.callerPhone,
      calledNumber: record.calledNumber,
      answeredBy: record.answeredBy,
      startedAt: record.startedAt.toISOString(),
      endedAt: iso(record.endedAt),
      durationMs: record.durationMs,
      endReason: record.endReason,
      provider: record.provider,
      model: record.model,
      usage: record.usage,
    },
    endReason: record.endReason,
    summary,
    transcript: record.transcript.map((e) => ({ ...e })),
    transcriptText: record.transcriptText,
    tools,
    recording: recording
      ? {
          sid: recording.sid,
          status: recording.status,
          channels: recording.channels,
          durationSeconds: recording.durationSeconds,
          url: recording.url,
        }
      : null,
  };
}

export class PostCallWebhooks {
  private constructor(
    private readonly opts: PostCallWebhookOptions,
    private readonly queue: DurableQueue<WebhookJob>,
  ) {}

  static async open(opts: PostCallWebhookOptions): Promise<PostCallWebhooks> {
    let self: PostCallWebhooks | null = null;
    const queue = await DurableQueue.open<WebhookJob>({
      dir: opts.dir,
      name: 'post-call-webhooks',
      parse: (p) => jobSchema.parse(p),
      deliver: (job) => (self ? self.deliver(job) : Promise.resolve({ kind: 'retry', reason: 'starting' })),
      attemptTimeoutMs: (opts.timeoutMs ?? 10_000) + (opts.summaryTimeoutMs ?? 10_000) + 5000,
      baseDelayMs: opts.baseDelayMs ?? 5000,
      maxDelayMs: opts.maxDelayMs,
    });
    self = new PostCallWebhooks(opts, queue);
    return self;
  }

  depth(): number {
    return this.queue.depth();
  }

  /**
   * A call's record is written: its webhook is queued (once per call), if the merchant has one. A
   * call that went to a person may come back (nobody answered) and be recorded again, both halves in
   * one record: its webhook waits a while, and a later record of the call replaces the waiting one.
   */
  async callRecorded(record: CallRecord): Promise<void> {
    if (!record.merchantId) return;
    const merchant = await this.opts.directory.byId(record.merchantId).catch(() => undefined);
    const hook = merchant?.postCallWebhook;
    if (!hook) return;
    const id = webhookId(record.callSid);
    const job: WebhookJob = { merchantId: record.merchantId, url: hook.url, record };
    const hold = record.endReason === 'transferred' ? { delayMs: this.opts.transferSettleMs ?? 120_000 } : {};
    try {
      const outcome = (await this.queue.replace(id, job, hold)) ? 'replaced' : await this.queue.enqueue(id, job, hold);
      wlog.info({ callSid: record.callSid, merchant: record.merchantId, outcome }, 'post-call webhook queued');
    } catch (err) {
      wlog.error(
        { callSid: record.callSid, err: err instanceof Error ? err.message : String(err) },
        'post-call webhook could not be queued',
      );
    }
  }

  flush(timeoutMs: number): Promise<number> {
    return this.queue.flush(timeoutMs);
  }

  close(): Promise<void> {
    return this.queue.close();
  }

  private async summarise(merchant: Merchant, job: WebhookJob): Promise<WebhookJob> {
    if (job.summary !== undefined) return job;
    if (!this.opts.writeSummary) return { ...job, summary: null, summaryError: 'no summary model' };
    try {
      const signal = AbortSignal.timeout(this.opts.summaryTimeoutMs ?? 10_000);
      return { ...job, summary: await this.opts.writeSummary(merchant, job.record, signal) };
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      wlog.warn({ callSid: job.record.callSid, err: why }, 'call summary failed; the webhook goes without one');
      return { ...job, summary: null, summaryError: why };
    }
  }

  private async deliver(q: QueuedJob<WebhookJob>): Promise<Delivery<WebhookJob>> {
    const merchant = await this.opts.directory.byId(q.payload.merchantId).catch(() => undefined);
    const hook = merchant?.postCallWebhook;
    // The secret is read now, never stored with the job: a rotated secret signs the retries.
    if (!merchant || !hook) return { kind: 'dead', reason: 'the merchant no longer has a post-call webhook' };
    const job = await this.summarise(merchant, q.payload);
    const recording = (await this.opts.recordingOf?.(job.record.callSid).catch(() => null)) ?? null;
    const id = q.id;
    const now = new Date();
    const body = JSON.stringify({
      type: WEBHOOK_EVENT_TYPE,
      timestamp: now.toISOString(),
      data: webhookData(job.record, job.summary ?? null, recording),
    });
    let signature: string;
    try {
      signature = new Webhook(hook.secret).sign(id, now, body);
    } catch (err) {
      return { kind: 'dead', reason: `bad webhook secret: ${err instanceof Error ? err.message : String(err)}` };
    }
    const callSid = job.record.callSid;
    try {
      const res = await (this.opts.fetch ?? fetch)(job.url, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'User-Agent': 'callrelay-webhook/1',
          'webhook-id': id,
          'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
          'webhook-signature': signature,
        },
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 10_000),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.status >= 200 && res.status < 300) {
        wlog.info({ callSid, status: res.status, attempts: q.attempts }, 'post-call webhook delivered');
        return { kind: 'done', update: job };
      }
      if (isRetryableStatus(res.status)) {
        return {
          kind: 'retry',
          reason: `endpoint answered ${res.status}`,
          retryAfterMs: retryAfterMs(res.headers.get('retry-after')),
          update: job,
        };
      }
      wlog.error(
        { callSid, status: res.status, url: job.url },
        'post-call webhook refused by the endpoint; dead-lettered, not retried',
      );
      return { kind: 'dead', reason: `endpoint answered ${res.status}`, update: job };
    } catch (err) {
      return { kind: 'retry', reason: err instanceof Error ? err.message : String(err), update: job };
    }
  }
}
