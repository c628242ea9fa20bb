import { z } from 'zod';
import { json } from '../http/uws-http.js';
import { log } from '../log.js';
import type { Merchant } from '../merchants/merchant.js';
import { type FormWebhookDeps, mountFormWebhook } from '../sms/form-webhook.js';
import { describeTwilioError, type TwilioClient } from '../sms/twilio-rest.js';
import type { RecordingUpdate } from '../store/call-recording.js';
import type { Store } from '../store/store.js';
import type { TemplatedApp } from '../transports/uws.js';

// Call recording, opt-in per merchant (Merchant.recording): once a call's stream has started, a
// dual-channel recording (caller on one channel, the assistant on the other) is started through
// Twilio's REST API with a signed recording status callback to POST /twilio/recording-status, and
// each status Twilio reports (in-progress, completed, absent) lands in call_recordings, which the
// call record reads. A forged callback (bad signature) is refused 403 by the edge guard and changes
// nothing. A returned transfer brings a second stream for the same call: the recording started for
// the first one goes on, so a second is not started.

export const RECORDING_STATUS_PATH = '/twilio/recording-status';

const CALL_SID = /^CA[0-9a-fA-F]{32}$/;

export type RecordingStart =
  | { kind: 'off' }
  | { kind: 'started'; sid: string }
  | { kind: 'already'; sid: string }
  | { kind: 'failed'; reason: string };

/** The sentence said before the greeting when the merchant records calls; null when it does not. */
export function recordingNotice(merchant: Pick<Merchant, 'recording'>): string | null {
  const text = merchant.recording?.notice.trim();
  if (!text) return null;
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

export interface CallRecordingsOptions {
  client: TwilioClient;
  store: Pick<Store, 'saveCallRecording' | 'getCallRecording'>;
  /** host[:port] Twilio reaches the relay at (PUBLIC_HOST); the callback URL is signed over it. */
  publicHost: string;
}

const rlog = log.child({ mod: 'recording' });

/** Twilio's RecordingStartTime is RFC 2822 ("Tue, 01 Jan 2031 10:00:00 +0000"). */
const startTime = z
  .string()
  .transform((s) => new Date(s))
  .refine((d) => !Number.isNaN(d.getTime()), 'not a date');

/** The form Twilio posts to the recording status callback, parsed at the edge. */
export const recordingCallbackSchema = z.object({
  CallSid: z.string().regex(CALL_SID),
  RecordingSid: z.string().regex(/^RE[0-9a-fA-F]{32}$/),
  RecordingStatus: z.enum(['in-progress', 'paused', 'stopped', 'processing', 'completed', 'absent', 'failed']),
  RecordingUrl: z.url({ protocol: /^https?$/ }).optional(),
  // -1 or absent while recording: only a real length is kept.
  RecordingDuration: z.coerce.number().int().optional(),
  RecordingChannels: z.coerce.number().int().min(1).max(2).optional(),
  RecordingStartTime: startTime.optional(),
  ErrorCode: z.coerce.number().int().optional(),
});

export function recordingUpdateFrom(params: URLSearchParams): RecordingUpdate | null {
  const raw: Record<string, string> = {};
  for (const [k, v] of params) if (v !== '') raw[k] = v;
  const p = recordingCallbackSchema.safeParse(raw);
  if (!p.success) return null;
  const r = p.data;
  return {
    sid: r.RecordingSid,
    callSid: r.CallSid,
    status: r.RecordingStatus,
    channels: r.RecordingChannels ?? null,
    durationSeconds: r.RecordingDuration !== undefined && r.RecordingDuration >= 0 ? r.RecordingDuration : null,
    url: r.RecordingUrl ?? null,
    errorCode: r.ErrorCode ?? null,
    startedAt: r.RecordingStartTime ?? null,
  };
}

/** Calls remembered as recording, so a returned transfer's second stream starts none (bounded). */
const MAX_REMEMBERED = 10_000;

export class CallRecordings {
  private readonly byCall = new Map<string, Promise<RecordingStart>>();

  constructor(private readonly opts: CallRecordingsOptions) {}

  get statusCallbackUrl(): string {
    return `https://${this.opts.publicHost}${RECORDING_STATUS_PATH}`;
  }

  /**
   * Starts the dual-channel recording of a call whose stream has just started, when the merchant
   * records calls. Safe to call again for the same call (a second stream after a returned transfer).
   * Never throws.
   */
  start(merchant: Pick<Merchant, 'id' | 'recording'>, callSid: string): Promise<RecordingStart> {
    if (!merchant.recording) return Promise.resolve({ kind: 'off' });
    const known = this.byCall.get(callSid);
    if (known) {
      return known.then((r) => (r.kind === 'started' || r.kind === 'already' ? { kind: 'already', sid: r.sid } : r));
    }
    const p = this.create(merchant.id, callSid);
    if (this.byCall.size >= MAX_REMEMBERED) {
      const oldest = this.byCall.keys().next();
      if (!oldest.done) this.byCall.delete(oldest.value);
    }
    this.byCall.set(callSid, p);
    // A failed start may be tried again by a later stream of the call.
    void p.then((r) => {
      if (r.kind === 'failed') this.byCall.delete(callSid);
    });
    return p;
  }

  private async create(merchantId: string, callSid: string): Promise<RecordingStart> {
    if (!CALL_SID.test(callSid)) return { kind: 'failed', reason: 'not a Twilio call' };
    // Started by an earlier stream of this call, perhaps on another instance or before a restart.
    const stored = await this.opts.store.getCallRecording(callSid).catch(() => null);
    if (stored && (stored.status === 'in-progress' || stored.status === 'paused'))
      return { kind: 'already', sid: stored.sid };
    try {
      const rec = await this.opts.client.calls(callSid).recordings.create({
        recordingChannels: 'dual',
        recordingTrack: 'both',
        recordingStatusCallback: this.statusCallbackUrl,
        recordingStatusCallbackMethod: 'POST',
        recordingStatusCallbackEvent: ['in-progress', 'completed', 'absent'],
      });
      rlog.info({ callSid, merchant: merchantId, recordingSid: rec.sid }, 'call recording started');
      await this.opts.store
        .saveCallRecording({
          sid: rec.sid,
          callSid,
          status: rec.status,
          channels: rec.channels ?? 2,
          startedAt: rec.startTime ?? new Date(),
        })
        .catch((err: unknown) =>
          rlog.warn(
            { callSid, err: err instanceof Error ? err.message : String(err) },
            'recording started but not stored yet; its status callback will store it',
          ),
        );
      return { kind: 'started', sid: rec.sid };
    } catch (err) {
      const e = describeTwilioError(err);
      rlog.error({ callSid, merchant: merchantId, ...e }, 'call recording could not be started');
      return { kind: 'failed', reason: `${e.status ?? 'no answer'} ${e.message}` };
    }
  }

  /** POST /twilio/recording-status: Twilio's signed callback; the status is stored. */
  mount(app: TemplatedApp, deps: FormWebhookDeps): void {
    mountFormWebhook(app, RECORDING_STATUS_PATH, deps, async (params) => {
      const update = recordingUpdateFrom(params);
      if (!update) return json(400, { error: 'not a recording status callback' });
      const saved = await this.opts.store.saveCallRecording(update);
      rlog.info(
        { callSid: update.callSid, recordingSid: update.sid, reported: update.status, status: saved.status },
        'recording status',
      );
      return json(200, { ok: true });
    });
  }
}
