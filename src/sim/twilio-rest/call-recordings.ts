import { postSignedCallback, type DeliveredCallback, type ReachUrl } from './callbacks.js';
import type { FakeCall } from './voice-calls.js';
import {
  notFound,
  rfc2822,
  sid,
  TwilioError,
  type RestAnswer,
  type RestRequest,
  type TwilioForm,
} from './twilio-wire.js';

// A call's Recordings resource (POST Calls/{sid}/Recordings.json) and the recording status callbacks
// Twilio sends for it, signed: the start when asked for, then `completed` (or `absent`: too short or
// silent) when the call hangs up.

export type FakeRecordingStatus = 'in-progress' | 'completed' | 'absent';

/** A recording started through a call's Recordings.json. */
export interface FakeRecording {
  sid: string;
  callSid: string;
  channels: 1 | 2;
  track: string;
  status: FakeRecordingStatus;
  startTime: Date;
  /** Whole seconds, once completed. */
  duration: number | null;
  statusCallback: string | null;
  /** Events the callback was asked for (Twilio's default: completed only). */
  statusCallbackEvents: string[];
}

export interface CallRecordingsOptions {
  accountSid: string;
  authToken: string;
  reach: ReachUrl;
  /** The account's calls: only one in progress can be recorded. */
  calls: readonly FakeCall[];
}

export class CallRecordings {
  readonly list: FakeRecording[] = [];
  /** Every status callback sent, in the order they were answered. */
  readonly callbacks: DeliveredCallback[] = [];
  private readonly pending = new Set<Promise<unknown>>();

  constructor(private readonly opts: CallRecordingsOptions) {}

  /** POST Calls/{sid}/Recordings.json; undefined when the request is not that. */
  route(req: RestRequest): RestAnswer | undefined {
    const p = req.url.pathname;
    const m = /^\/2010-04-01\/Accounts\/([^/]+)\/Calls\/([^/]+)\/Recordings\.json$/.exec(p);
    if (!m || req.method !== 'POST') return undefined;
    if (m[1] !== this.opts.accountSid) throw notFound(p);
    const rec = this.create(m[2] ?? '', req.form, req.one);
    // Twilio answers first and then reports the start to the status callback, when asked to.
    setImmediate(() => void this.callback(rec));
    return [201, this.recordingJson(rec)];
  }

  /** The call hung up: each recording in progress ends and its callback is sent. */
  async stop(callSid: string, opts: { absent?: boolean; durationSeconds?: number }): Promise<void> {
    for (const r of this.list.filter((x) => x.callSid === callSid && x.status === 'in-progress')) {
      r.status = opts.absent ? 'absent' : 'completed';
      r.duration = opts.absent
        ? 0
        : (opts.durationSeconds ?? Math.max(1, Math.round((Date.now() - r.startTime.getTime()) / 1000)));
      await this.callback(r);
    }
  }

  /** Resolves when every callback sent so far has been answered. */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  private create(callSid: string, form: TwilioForm, one: (k: string) => string | undefined): FakeRecording {
    const call = this.opts.calls.find((c) => c.sid === callSid);
    if (!call)
      throw new TwilioError(404, 20404, `The requested resource /Calls/${callSid}/Recordings.json was not found`);
    if (call.status !== 'in-progress') throw new TwilioError(400, 21220, 'Call is not in-progress. Cannot record.');
    const channels = one('RecordingChannels') ?? 'mono';
    if (channels !== 'mono' && channels !== 'dual')
      throw new TwilioError(400, 21201, `RecordingChannels must be mono or dual, got ${channels}`);
    // twilio-node repeats the key per event; the documented form is one space-separated value.
    const raw = form.RecordingStatusCallbackEvent;
    const events = (Array.isArray(raw) ? raw : raw === undefined ? ['completed'] : [raw]).flatMap((e) =>
      e.split(/\s+/).filter((x) => x !== ''),
    );
    const rec: FakeRecording = {
      sid: sid('RE'),
      callSid,
      channels: channels === 'dual' ? 2 : 1,
      track: one('RecordingTrack') ?? 'both',
      status: 'in-progress',
      startTime: new Date(),
      duration: null,
      statusCallback: one('RecordingStatusCallback') ?? null,
      statusCallbackEvents: events,
    };
    this.list.push(rec);
    return rec;
  }

  /** The recording status callback for the recording's current status, when one was asked for. */
  private callback(r: FakeRecording): Promise<void> {
    if (r.statusCallback === null || !r.statusCallbackEvents.includes(r.status)) return Promise.resolve();
    const { accountSid, authToken, reach } = this.opts;
    const params: Record<string, string> = {
      AccountSid: accountSid,
      CallSid: r.callSid,
      RecordingSid: r.sid,
      RecordingUrl: `https://api.twilio.com/2010-04-01/Accounts/${accountSid}/Recordings/${r.sid}`,
      RecordingStatus: r.status,
      RecordingChannels: String(r.channels),
      RecordingStartTime: rfc2822(r.startTime),
      RecordingSource: 'StartCallRecordingAPI',
      RecordingTrack: r.track,
    };
    if (r.duration !== null) params.RecordingDuration = String(r.duration);
    if (r.status === 'absent') params.ErrorCode = '16101';
    const sent = postSignedCallback(r.statusCallback, params, authToken, reach).then((d) => {
      this.callbacks.push(d);
    });
    this.pending.add(sent);
    return sent.finally(() => this.pending.delete(sent));
  }

  private recordingJson(r: FakeRecording): unknown {
    const accountSid = this.opts.accountSid;
    return {
      account_sid: accountSid,
      api_version: '2010-04-01',
      call_sid: r.callSid,
      conference_sid: null,
      channels: r.channels,
      date_created: rfc2822(r.startTime),
      date_updated: rfc2822(r.startTime),
      start_time: rfc2822(r.startTime),
      price: null,
      price_unit: null,
      duration: r.duration === null ? null : String(r.duration),
      sid: r.sid,
      source: 'StartCallRecordingAPI',
      status: r.status,
      error_code: null,
      encryption_details: null,
      track: r.track,
      uri: `/2010-04-01/Accounts/${accountSid}/Calls/${r.callSid}/Recordings/${r.sid}.json`,
    };
  }
}
