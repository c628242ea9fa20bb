import { z } from 'zod';
import { log, maskPhone } from '../log.js';
import type { Merchant } from '../merchants/merchant.js';
import { describeTwilioError, twilioErrorStatus, type TwilioClient } from '../sms/twilio-rest.js';
import { DurableQueue, type Delivery, type QueuedJob } from '../store/durable-queue.js';
import { type OwnerEvent, ownerEventId, ownerSmsText } from './owner-events.js';

// Owner SMS through Twilio's Messages API, through a durable queue (store/durable-queue.ts): written
// to disk before the first attempt, retried with backoff while Twilio is down or the relay restarts,
// sent once per event id. A send whose outcome is unknown (timeout, 5xx, a crash mid-request) may
// have gone out; before sending it again the owner's recent messages are read back and a text
// with the same body counts as sent.

/** `off`: the merchant has no owner number; `unconfigured`: the relay has no Twilio account. */
export type NotifyOutcome = 'queued' | 'duplicate' | 'off' | 'unconfigured' | 'failed';

/** What the call side and the tools call: never throws, resolves once the SMS is safely queued. */
export type NotifyOwner = (merchant: Merchant, event: OwnerEvent) => Promise<NotifyOutcome>;

const jobSchema = z.object({
  merchantId: z.string(),
  kind: z.string(),
  callSid: z.string(),
  to: z.string(),
  body: z.string(),
});
type SmsJob = z.infer<typeof jobSchema>;

export interface OwnerSmsOptions {
  client: TwilioClient;
  /** E.164 the texts come from (TWILIO_PHONE_NUMBER). */
  from: string;
  /** Directory of the queue files (DATA_DIR/outbox). */
  dir: string;
  baseDelayMs?: number;
  maxDelayMs?: number;
}

const nlog = log.child({ mod: 'owner-sms' });

/** Definite refusals: the number is wrong, opted out or not allowed; sending again cannot help. */
function isPermanent(status: number | undefined): boolean {
  return status !== undefined && status >= 400 && status < 500 && status !== 401 && status !== 408 && status !== 429;
}

export class OwnerSms {
  private constructor(
    private readonly opts: OwnerSmsOptions,
    private readonly queue: DurableQueue<SmsJob>,
  ) {}

  static async open(opts: OwnerSmsOptions): Promise<OwnerSms> {
    let self: OwnerSms | null = null;
    const queue = await DurableQueue.open<SmsJob>({
      dir: opts.dir,
      name: 'owner-sms',
      parse: (p) => jobSchema.parse(p),
      deliver: (job) => (self ? self.deliver(job) : Promise.resolve({ kind: 'retry', reason: 'starting' })),
      baseDelayMs: opts.baseDelayMs,
      maxDelayMs: opts.maxDelayMs,
    });
    self = new OwnerSms(opts, queue);
    return self;
  }

  depth(): number {
    return this.queue.depth();
  }

  readonly notify: NotifyOwner = async (merchant, event) => {
    const to = merchant.ownerNotifications?.number;
    if (!to) return 'off';
    const id = `${merchant.id}:${ownerEventId(event)}`;
    try {
      const outcome = await this.queue.enqueue(id, {
        merchantId: merchant.id,
        kind: event.kind,
        callSid: event.callSid,
        to,
        body: ownerSmsText(merchant, event),
      });
      nlog.info({ id, merchant: merchant.id, callSid: event.callSid, outcome }, 'owner SMS');
      return outcome;
    } catch (err) {
      nlog.error({ id, err: err instanceof Error ? err.message : String(err) }, 'owner SMS could not be queued');
      return 'failed';
    }
  };

  flush(timeoutMs: number): Promise<number> {
    return this.queue.flush(timeoutMs);
  }

  close(): Promise<void> {
    return this.queue.close();
  }

  private async deliver(job: QueuedJob<SmsJob>): Promise<Delivery<SmsJob>> {
    const { to, body } = job.payload;
    // attempts counts this one: above 1, an earlier attempt may have reached Twilio.
    if (job.attempts > 1 && (await this.alreadySent(job))) {
      nlog.info({ id: job.id }, 'owner SMS found already sent; not sent again');
      return { kind: 'done' };
    }
    try {
      const msg = await this.opts.client.messages.create({ to, from: this.opts.from, body });
      nlog.info({ id: job.id, sid: msg.sid, to: maskPhone(to) }, 'owner SMS sent');
      return { kind: 'done' };
    } catch (err) {
      const e = describeTwilioError(err);
      if (isPermanent(twilioErrorStatus(err))) {
        return { kind: 'dead', reason: `Twilio refused it: ${e.status} ${e.code ?? ''} ${e.message}` };
      }
      return { kind: 'retry', reason: `${e.status ?? 'no answer'} ${e.message}` };
    }
  }

  /** Whether a text with this body went to this number since the job was queued. */
  private async alreadySent(job: QueuedJob<SmsJob>): Promise<boolean> {
    try {
      // A few seconds of slack for the two clocks; an identical text from before this job is another event.
      const since = Date.parse(job.enqueuedAt) - 5000;
      const recent = await this.opts.client.messages.list({
        to: job.payload.to,
        from: this.opts.from,
        dateSentAfter: new Date(since),
        limit: 50,
      });
      return recent.some(
        (m) =>
          m.body === job.payload.body &&
          m.dateCreated.getTime() >= since &&
          m.status !== 'failed' &&
          m.status !== 'undelivered',
      );
    } catch {
      // Twilio is still down: the send below fails too and is retried.
      return false;
    }
  }
}
