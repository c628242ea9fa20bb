import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { postSignedCallback, type DeliveredCallback, type ReachUrl } from './callbacks.js';
import { CallRedirects, type DialOutcome, type RedirectableCall } from './call-redirects.js';

// A local stand-in for the slice of Twilio's REST API the SMS bot uses, so the real `twilio` client
// runs against it unchanged (TWILIO_API_BASE_URL): Conversations v1 (conversations create,
// participants list/create, messages list/create) and Voice 2010-04-01 (Calls.json create; Messages.json
// create and list; a call's Recordings.json create with its signed recording status callbacks). JSON
// shapes follow Twilio's (snake_case, list `meta` envelope, error `{code, message, more_info, status}`),
// Basic auth is checked, every request is recorded, and faults and latency can be injected.
// Error codes: 20003/20404/50433/50416/50434 are Twilio's; the validation codes of the other 400s
// are the closest documented ones, not verified against the live API.

export interface TwilioRecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  /** Form body; repeated keys become arrays (twilio-node sends arrays as repeated keys). */
  form: Record<string, string | string[]>;
  auth: { username: string; password: string } | null;
  headers: IncomingHttpHeaders;
  at: number;
}

export interface FakeParticipant {
  sid: string;
  identity: string | null;
  address: string | null;
  proxyAddress: string | null;
  projectedAddress: string | null;
  dateCreated: Date;
}

export interface FakeMessage {
  sid: string;
  index: number;
  author: string;
  body: string | null;
  attributes: string;
  participantSid: string | null;
  /** Source as a webhook would report it (SMS, API, SDK, …). */
  source: string;
  /** Created through this REST API (what the bot posted), rather than by inboundMessage(). */
  viaRest: boolean;
  /** X-Twilio-Webhook-Enabled: true on the create request (would fire webhooks on Twilio). */
  webhookEnabled: boolean;
  dateCreated: Date;
}

export interface FakeConversation {
  sid: string;
  friendlyName: string | null;
  uniqueName: string | null;
  attributes: string;
  dateCreated: Date;
  participants: FakeParticipant[];
  messages: FakeMessage[];
}

export interface FakeCall {
  sid: string;
  to: string;
  from: string;
  url: string | null;
  params: Record<string, string | string[]>;
  dateCreated: Date;
  /** 'in-progress' for a call made by inboundCall(); 'completed' once completeCall() ended it. */
  status: 'queued' | 'in-progress' | 'completed';
  direction: 'inbound' | 'outbound-api';
}

/** An SMS created through Messages.json. */
export interface FakeSms {
  sid: string;
  to: string;
  from: string;
  body: string;
  status: 'queued' | 'sent' | 'delivered' | 'failed';
  dateCreated: Date;
}

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

export interface TwilioFault {
  method?: string;
  /** Matched against the request path (string: exact or suffix match). */
  path: string | RegExp;
  status: number;
  code?: number;
  message?: string;
  /** How many requests fail (default: all until clearFaults). */
  times?: number;
  /** The request is carried out and only its answer is the error (Twilio's answer lost on the way). */
  applied?: boolean;
}

export interface FakeTwilioOptions {
  accountSid?: string;
  authToken?: string;
  delayMs?: number;
  /** Where a callback URL (https://PUBLIC_HOST/…) is really delivered in a test. Default: as given. */
  reach?: ReachUrl;
  /** How a number dialled by a live call's <Dial> answers (default: nobody answers). */
  dialOutcome?: (number: string) => DialOutcome;
}

const sid = (prefix: string) => prefix + randomBytes(16).toString('hex');
const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
const rfc2822 = (d: Date) => d.toUTCString().replace('GMT', '+0000');

class TwilioError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

export class FakeTwilioRestServer {
  readonly url: string;
  readonly accountSid: string;
  readonly authToken: string;
  readonly requests: TwilioRecordedRequest[] = [];
  readonly conversations = new Map<string, FakeConversation>();
  readonly calls: FakeCall[] = [];
  readonly sms: FakeSms[] = [];
  readonly recordings: FakeRecording[] = [];
  /** Every status callback sent, in the order they were answered. */
  readonly callbacks: DeliveredCallback[] = [];
  delayMs: number;
  reach: ReachUrl;
  /** Live calls the application may redirect (transfers) or hang up (POST /Calls/{sid}.json). */
  readonly redirects: CallRedirects;
  private pendingCallbacks = new Set<Promise<unknown>>();
  private readonly faults: Array<TwilioFault & { remaining: number }> = [];
  private readonly chatServiceSid = sid('IS');
  private readonly messagingServiceSid = sid('MG');

  private constructor(
    private readonly server: Server,
    opts: FakeTwilioOptions,
  ) {
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    this.accountSid = opts.accountSid ?? sid('AC');
    this.authToken = opts.authToken ?? randomBytes(16).toString('hex');
    this.delayMs = opts.delayMs ?? 0;
    this.reach = opts.reach ?? ((u) => u);
    this.redirects = new CallRedirects({
      authToken: this.authToken,
      accountSid: this.accountSid,
      reach: (u) => this.reach(u),
      ...(opts.dialOutcome ? { outcomeFor: opts.dialOutcome } : {}),
    });
  }

  static async start(opts: FakeTwilioOptions = {}): Promise<FakeTwilioRestServer> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const fake = new FakeTwilioRestServer(server, opts);
    server.on('request', (req, res) => void fake.handle(req, res).catch(() => res.destroy()));
    return fake;
  }

  fail(fault: TwilioFault): void {
    this.faults.push({ ...fault, remaining: fault.times ?? Number.POSITIVE_INFINITY });
  }

  clearFaults(): void {
    this.faults.length = 0;
  }

  /** A conversation as Twilio would have it after an SMS thread started (not recorded as a request). */
  createConversation(
    opts: { participants?: Array<Partial<Omit<FakeParticipant, 'sid' | 'dateCreated'>>>; friendlyName?: string } = {},
  ): FakeConversation {
    const conv: FakeConversation = {
      sid: sid('CH'),
      friendlyName: opts.friendlyName ?? null,
      uniqueName: null,
      attributes: '{}',
      dateCreated: new Date(),
      participants: [],
      messages: [],
    };
    for (const p of opts.participants ?? []) {
      conv.participants.push({
        sid: sid('MB'),
        identity: p.identity ?? null,
        address: p.address ?? null,
        proxyAddress: p.proxyAddress ?? null,
        projectedAddress: p.projectedAddress ?? null,
        dateCreated: new Date(),
      });
    }
    this.conversations.set(conv.sid, conv);
    return conv;
  }

  /** A text arriving from a phone: stored, and returned as the onMessageAdded webhook params Twilio would POST. */
  inboundMessage(
    conversationSid: string,
    m: { author: string; body: string; source?: string },
  ): Record<string, string> {
    const conv = this.conv(conversationSid);
    const msg = this.addMessage(conv, {
      author: m.author,
      body: m.body,
      attributes: '{}',
      source: m.source ?? 'SMS',
      viaRest: false,
      webhookEnabled: false,
    });
    return {
      EventType: 'onMessageAdded',
      AccountSid: this.accountSid,
      ChatServiceSid: this.chatServiceSid,
      ConversationSid: conv.sid,
      MessageSid: msg.sid,
      MessagingServiceSid: this.messagingServiceSid,
      Index: String(msg.index),
      Author: msg.author,
      Body: msg.body ?? '',
      Attributes: msg.attributes,
      ParticipantSid: msg.participantSid ?? '',
      DateCreated: iso(msg.dateCreated),
      Source: msg.source,
      RetryCount: '0',
    };
  }

  /** Messages created through the REST API (what the bot posted), in order. */
  posted(conversationSid?: string): FakeMessage[] {
    const convs = conversationSid ? [this.conv(conversationSid)] : [...this.conversations.values()];
    return convs.flatMap((c) => c.messages.filter((m) => m.viaRest));
  }

  /** A call arriving from a phone, answered and in progress (its voice URL is the test's business). */
  inboundCall(opts: { from: string; to: string }): FakeCall {
    const call: FakeCall = {
      sid: sid('CA'),
      to: opts.to,
      from: opts.from,
      url: null,
      params: {},
      dateCreated: new Date(),
      status: 'in-progress',
      direction: 'inbound',
    };
    this.calls.push(call);
    return call;
  }

  /** A call in progress on a stream (the simulated phone call), which the application may redirect. */
  liveCall(call: RedirectableCall, opts: { from: string; to: string }): FakeCall {
    this.redirects.register(call);
    const fake = this.inboundCall(opts);
    fake.sid = call.callSid;
    return fake;
  }

  /**
   * The call hangs up: its recordings stop and, as on Twilio, each becomes `completed` (or `absent`
   * when `absent` is set: too short or silent) and its status callback fires.
   */
  async completeCall(callSid: string, opts: { absent?: boolean; durationSeconds?: number } = {}): Promise<void> {
    const call = this.calls.find((c) => c.sid === callSid);
    if (!call) throw new Error(`no call ${callSid}`);
    call.status = 'completed';
    for (const r of this.recordings.filter((x) => x.callSid === callSid && x.status === 'in-progress')) {
      r.status = opts.absent ? 'absent' : 'completed';
      r.duration = opts.absent
        ? 0
        : (opts.durationSeconds ?? Math.max(1, Math.round((Date.now() - r.startTime.getTime()) / 1000)));
      await this.recordingCallback(r);
    }
    await this.settled();
  }

  /** Resolves when every callback sent so far has been answered. */
  async settled(): Promise<void> {
    while (this.pendingCallbacks.size > 0) await Promise.all([...this.pendingCallbacks]);
  }

  requestsTo(method: string, path: RegExp): TwilioRecordedRequest[] {
    return this.requests.filter((r) => r.method === method && path.test(r.path));
  }

  async close(): Promise<void> {
    await this.settled();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private conv(conversationSid: string): FakeConversation {
    const c = this.conversations.get(conversationSid);
    if (!c) throw new TwilioError(404, 20404, `The requested resource /Conversations/${conversationSid} was not found`);
    return c;
  }

  private addMessage(
    conv: FakeConversation,
    m: Omit<FakeMessage, 'sid' | 'index' | 'participantSid' | 'dateCreated'>,
  ): FakeMessage {
    const last = conv.messages.at(-1);
    const participant = conv.participants.find((p) => p.identity === m.author || p.address === m.author);
    const msg: FakeMessage = {
      ...m,
      sid: sid('IM'),
      index: last ? last.index + 1 : 0,
      participantSid: participant?.sid ?? null,
      dateCreated: new Date(),
    };
    conv.messages.push(msg);
    return msg;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const u = new URL(req.url ?? '/', this.url);
    const form: Record<string, string | string[]> = {};
    for (const [k, v] of new URLSearchParams(Buffer.concat(chunks).toString('utf8'))) {
      const prev = form[k];
      form[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
    }
    const auth = parseBasic(req.headers.authorization);
    const method = (req.method ?? 'GET').toUpperCase();
    this.requests.push({
      method,
      path: u.pathname,
      query: Object.fromEntries(u.searchParams),
      form,
      auth,
      headers: req.headers,
      at: Date.now(),
    });
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    let status = 200;
    let body: unknown;
    try {
      if (!auth || auth.username !== this.accountSid || auth.password !== this.authToken)
        throw new TwilioError(401, 20003, 'Authenticate');
      const fault = this.faults.find(
        (f) =>
          f.remaining > 0 &&
          (f.method === undefined || f.method.toUpperCase() === method) &&
          matches(f.path, u.pathname),
      );
      if (fault) {
        fault.remaining--;
        if (fault.applied) this.route(method, u, form, req.headers);
        throw new TwilioError(
          fault.status,
          fault.code ?? (fault.status >= 500 ? 20500 : 20001),
          fault.message ?? (fault.status >= 500 ? 'Internal Server Error' : 'Bad request'),
        );
      }
      [status, body] = this.route(method, u, form, req.headers);
    } catch (err) {
      const e =
        err instanceof TwilioError
          ? err
          : new TwilioError(500, 20500, err instanceof Error ? err.message : 'Internal Server Error');
      status = e.status;
      body = {
        code: e.code,
        message: e.message,
        more_info: `https://www.twilio.com/docs/errors/${e.code}`,
        status: e.status,
      };
    }
    if (res.destroyed) return;
    res.writeHead(status, { 'Content-Type': 'application/json', 'Twilio-Request-Id': sid('RQ') });
    res.end(JSON.stringify(body));
  }

  private route(
    method: string,
    u: URL,
    form: Record<string, string | string[]>,
    headers: IncomingHttpHeaders,
  ): [number, unknown] {
    const one = (k: string) => {
      const v = form[k];
      return Array.isArray(v) ? v[0] : v;
    };
    const p = u.pathname;
    if (method === 'POST' && p === '/v1/Conversations') {
      const conv = this.createConversation({ friendlyName: one('FriendlyName') });
      conv.uniqueName = one('UniqueName') ?? null;
      conv.attributes = one('Attributes') ?? '{}';
      return [201, this.conversationJson(conv)];
    }
    let m = /^\/v1\/Conversations\/([^/]+)\/(Participants|Messages)$/.exec(p);
    if (m) {
      const conv = this.conv(m[1] ?? '');
      if (m[2] === 'Participants' && method === 'GET')
        return [
          200,
          this.page(
            u,
            'participants',
            conv.participants.map((x) => this.participantJson(conv, x)),
          ),
        ];
      if (m[2] === 'Participants' && method === 'POST')
        return [201, this.participantJson(conv, this.addParticipant(conv, one))];
      if (m[2] === 'Messages' && method === 'GET') {
        const list = u.searchParams.get('Order') === 'desc' ? [...conv.messages].reverse() : conv.messages;
        return [
          200,
          this.page(
            u,
            'messages',
            list.map((x) => this.messageJson(conv, x)),
          ),
        ];
      }
      if (m[2] === 'Messages' && method === 'POST') {
        const body = one('Body');
        if (body === undefined && one('MediaSid') === undefined && one('ContentSid') === undefined)
          throw new TwilioError(400, 50006, 'Body, MediaSid or ContentSid is required');
        if (body !== undefined && body.length > 1600)
          throw new TwilioError(400, 21617, 'The concatenated message body exceeds the 1600 character limit');
        const enabled = String(headers['x-twilio-webhook-enabled'] ?? '').toLowerCase() === 'true';
        const msg = this.addMessage(conv, {
          author: one('Author') ?? 'system',
          body: body ?? null,
          attributes: one('Attributes') ?? '{}',
          source: 'API',
          viaRest: true,
          webhookEnabled: enabled,
        });
        return [201, this.messageJson(conv, msg)];
      }
    }
    m = /^\/2010-04-01\/Accounts\/([^/]+)\/Calls\.json$/.exec(p);
    if (m && method === 'POST') {
      if (m[1] !== this.accountSid) throw new TwilioError(404, 20404, `The requested resource ${p} was not found`);
      const to = one('To');
      const from = one('From');
      if (!to) throw new TwilioError(400, 21201, "No 'To' number is specified");
      if (!from) throw new TwilioError(400, 21213, "No 'From' number is specified");
      if (!/^\+[1-9]\d{6,14}$/.test(to)) throw new TwilioError(400, 21211, `Invalid 'To' Phone Number: ${to}`);
      if (!one('Url') && !one('Twiml') && !one('ApplicationSid'))
        throw new TwilioError(400, 21205, 'Url parameter is required.');
      const call: FakeCall = {
        sid: sid('CA'),
        to,
        from,
        url: one('Url') ?? null,
        params: form,
        dateCreated: new Date(),
        status: 'queued',
        direction: 'outbound-api',
      };
      this.calls.push(call);
      return [201, this.callJson(call)];
    }
    m = /^\/2010-04-01\/Accounts\/([^/]+)\/Calls\/([^/.]+)\.json$/.exec(p);
    if (m && method === 'POST') {
      if (m[1] !== this.accountSid) throw new TwilioError(404, 20404, `The requested resource ${p} was not found`);
      const result = this.redirects.update(m[2] ?? '', form);
      if (result.status !== 200) throw new TwilioError(result.status, result.code, result.message);
      const call = this.calls.find((c) => c.sid === m?.[2]);
      if (call && one('Status') === 'completed') call.status = 'completed';
      return [200, call ? this.callJson(call) : { sid: m[2] }];
    }
    m = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\.json$/.exec(p);
    if (m) {
      if (m[1] !== this.accountSid) throw new TwilioError(404, 20404, `The requested resource ${p} was not found`);
      if (method === 'POST') return [201, this.messageResourceJson(this.createSms(one))];
      if (method === 'GET') return [200, this.smsPage(u)];
    }
    m = /^\/2010-04-01\/Accounts\/([^/]+)\/Calls\/([^/]+)\/Recordings\.json$/.exec(p);
    if (m && method === 'POST') {
      if (m[1] !== this.accountSid) throw new TwilioError(404, 20404, `The requested resource ${p} was not found`);
      const rec = this.createRecording(m[2] ?? '', form, one);
      // Twilio answers first and then reports the start to the status callback, when asked to.
      setImmediate(() => void this.recordingCallback(rec));
      return [201, this.recordingJson(rec)];
    }
    throw new TwilioError(404, 20404, `The requested resource ${p} was not found`);
  }

  private addParticipant(conv: FakeConversation, one: (k: string) => string | undefined): FakeParticipant {
    const identity = one('Identity') ?? null;
    const address = one('MessagingBinding.Address') ?? null;
    const proxyAddress = one('MessagingBinding.ProxyAddress') ?? null;
    const projectedAddress = one('MessagingBinding.ProjectedAddress') ?? null;
    if (identity === null && address === null)
      throw new TwilioError(400, 20001, 'Either Identity or MessagingBinding.Address is required');
    if (identity !== null && conv.participants.some((p) => p.identity === identity))
      throw new TwilioError(409, 50433, 'Participant already exists');
    if (address !== null && conv.participants.some((p) => p.address === address && p.proxyAddress === proxyAddress)) {
      throw new TwilioError(
        409,
        50416,
        `A binding for this participant and proxy address already exists in Conversation ${conv.sid}`,
      );
    }
    // Group MMS (SMS participants without a proxy address): chat participants must carry a projected address.
    const groupMms =
      conv.participants.some((p) => p.address !== null && p.proxyAddress === null) ||
      (address !== null && proxyAddress === null);
    const chatWithoutProjection = conv.participants.some((p) => p.identity !== null && p.projectedAddress === null);
    if (
      groupMms &&
      ((identity !== null && projectedAddress === null) ||
        (address !== null && proxyAddress === null && chatWithoutProjection))
    ) {
      throw new TwilioError(400, 50434, 'Participant projected address not provided');
    }
    const p: FakeParticipant = {
      sid: sid('MB'),
      identity,
      address,
      proxyAddress,
      projectedAddress,
      dateCreated: new Date(),
    };
    conv.participants.push(p);
    return p;
  }

  private createSms(one: (k: string) => string | undefined): FakeSms {
    const to = one('To');
    const from = one('From') ?? one('MessagingServiceSid');
    const body = one('Body');
    if (!to) throw new TwilioError(400, 21604, "A 'To' phone number is required.");
    if (!from) throw new TwilioError(400, 21603, "A 'From' phone number is required.");
    if (!/^\+[1-9]\d{6,14}$/.test(to)) throw new TwilioError(400, 21211, `Invalid 'To' Phone Number: ${to}`);
    if (body === undefined && one('MediaUrl') === undefined && one('ContentSid') === undefined)
      throw new TwilioError(400, 21602, 'Message body is required.');
    if (body !== undefined && body.length > 1600)
      throw new TwilioError(400, 21617, 'The concatenated message body exceeds the 1600 character limit');
    const msg: FakeSms = { sid: sid('SM'), to, from, body: body ?? '', status: 'queued', dateCreated: new Date() };
    this.sms.push(msg);
    return msg;
  }

  /** GET Messages.json with Twilio's filters (To, From, DateSent>, DateSent<), newest first. */
  private smsPage(u: URL): unknown {
    const q = u.searchParams;
    const to = q.get('To');
    const from = q.get('From');
    const after = q.get('DateSent>');
    const before = q.get('DateSent<');
    const list = this.sms
      .filter(
        (s) =>
          (to === null || s.to === to) &&
          (from === null || s.from === from) &&
          (after === null || s.dateCreated.getTime() >= Date.parse(after)) &&
          (before === null || s.dateCreated.getTime() < Date.parse(before)),
      )
      .reverse();
    const size = Math.min(1000, Math.max(1, Number(q.get('PageSize') ?? 50) || 50));
    const uri = `/2010-04-01/Accounts/${this.accountSid}/Messages.json?PageSize=${size}&Page=0`;
    return {
      messages: list.slice(0, size).map((x) => this.messageResourceJson(x)),
      end: Math.max(0, Math.min(size, list.length) - 1),
      first_page_uri: uri,
      next_page_uri: null,
      page: 0,
      page_size: size,
      previous_page_uri: null,
      start: 0,
      uri,
    };
  }

  private createRecording(
    callSid: string,
    form: Record<string, string | string[]>,
    one: (k: string) => string | undefined,
  ): FakeRecording {
    const call = this.calls.find((c) => c.sid === callSid);
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
    this.recordings.push(rec);
    return rec;
  }

  /** The recording status callback for the recording's current status, when one was asked for. */
  private recordingCallback(r: FakeRecording): Promise<void> {
    if (r.statusCallback === null || !r.statusCallbackEvents.includes(r.status)) return Promise.resolve();
    const params: Record<string, string> = {
      AccountSid: this.accountSid,
      CallSid: r.callSid,
      RecordingSid: r.sid,
      RecordingUrl: `https://api.twilio.com/2010-04-01/Accounts/${this.accountSid}/Recordings/${r.sid}`,
      RecordingStatus: r.status,
      RecordingChannels: String(r.channels),
      RecordingStartTime: rfc2822(r.startTime),
      RecordingSource: 'StartCallRecordingAPI',
      RecordingTrack: r.track,
    };
    if (r.duration !== null) params.RecordingDuration = String(r.duration);
    if (r.status === 'absent') params.ErrorCode = '16101';
    const sent = postSignedCallback(r.statusCallback, params, this.authToken, this.reach).then((d) => {
      this.callbacks.push(d);
    });
    this.pendingCallbacks.add(sent);
    return sent.finally(() => this.pendingCallbacks.delete(sent));
  }

  private messageResourceJson(s: FakeSms): unknown {
    const uri = `/2010-04-01/Accounts/${this.accountSid}/Messages/${s.sid}.json`;
    return {
      account_sid: this.accountSid,
      api_version: '2010-04-01',
      body: s.body,
      date_created: rfc2822(s.dateCreated),
      date_sent: null,
      date_updated: rfc2822(s.dateCreated),
      direction: 'outbound-api',
      error_code: null,
      error_message: null,
      from: s.from,
      messaging_service_sid: null,
      num_media: '0',
      num_segments: String(Math.max(1, Math.ceil(s.body.length / 153))),
      price: null,
      price_unit: 'USD',
      sid: s.sid,
      status: s.status,
      subresource_uris: { media: uri.replace('.json', '/Media.json') },
      to: s.to,
      uri,
    };
  }

  private recordingJson(r: FakeRecording): unknown {
    return {
      account_sid: this.accountSid,
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
      uri: `/2010-04-01/Accounts/${this.accountSid}/Calls/${r.callSid}/Recordings/${r.sid}.json`,
    };
  }

  private page(u: URL, key: string, all: unknown[]): unknown {
    const size = Math.min(100, Math.max(1, Number(u.searchParams.get('PageSize') ?? 50) || 50));
    const page = Math.max(0, Number(u.searchParams.get('Page') ?? 0) || 0);
    const at = (n: number) => `${this.url}${u.pathname}?PageSize=${size}&Page=${n}`;
    const more = (page + 1) * size < all.length;
    return {
      meta: {
        page,
        page_size: size,
        first_page_url: at(0),
        previous_page_url: page > 0 ? at(page - 1) : null,
        url: at(page),
        next_page_url: more ? at(page + 1) : null,
        key,
      },
      [key]: all.slice(page * size, (page + 1) * size),
    };
  }

  private conversationJson(c: FakeConversation): unknown {
    const url = `https://conversations.twilio.com/v1/Conversations/${c.sid}`;
    return {
      account_sid: this.accountSid,
      chat_service_sid: this.chatServiceSid,
      messaging_service_sid: this.messagingServiceSid,
      sid: c.sid,
      friendly_name: c.friendlyName,
      unique_name: c.uniqueName,
      attributes: c.attributes,
      state: 'active',
      date_created: iso(c.dateCreated),
      date_updated: iso(c.dateCreated),
      timers: {},
      url,
      bindings: null,
      links: { participants: `${url}/Participants`, messages: `${url}/Messages`, webhooks: `${url}/Webhooks` },
    };
  }

  private participantJson(c: FakeConversation, p: FakeParticipant): unknown {
    const binding =
      p.address !== null
        ? { type: 'sms', address: p.address, proxy_address: p.proxyAddress }
        : p.projectedAddress !== null
          ? { type: 'sms', projected_address: p.projectedAddress }
          : null;
    return {
      account_sid: this.accountSid,
      conversation_sid: c.sid,
      sid: p.sid,
      identity: p.identity,
      attributes: '{}',
      messaging_binding: binding,
      role_sid: null,
      date_created: iso(p.dateCreated),
      date_updated: iso(p.dateCreated),
      url: `https://conversations.twilio.com/v1/Conversations/${c.sid}/Participants/${p.sid}`,
      last_read_message_index: null,
      last_read_timestamp: null,
    };
  }

  private messageJson(c: FakeConversation, m: FakeMessage): unknown {
    const url = `https://conversations.twilio.com/v1/Conversations/${c.sid}/Messages/${m.sid}`;
    return {
      account_sid: this.accountSid,
      conversation_sid: c.sid,
      sid: m.sid,
      index: m.index,
      author: m.author,
      body: m.body,
      media: null,
      attributes: m.attributes,
      participant_sid: m.participantSid,
      date_created: iso(m.dateCreated),
      date_updated: iso(m.dateCreated),
      delivery: null,
      url,
      content_sid: null,
      links: { delivery_receipts: `${url}/Receipts`, channel_metadata: `${url}/ChannelMetadata` },
    };
  }

  private callJson(c: FakeCall): unknown {
    const uri = `/2010-04-01/Accounts/${this.accountSid}/Calls/${c.sid}.json`;
    return {
      account_sid: this.accountSid,
      annotation: null,
      answered_by: null,
      api_version: '2010-04-01',
      caller_name: null,
      date_created: rfc2822(c.dateCreated),
      date_updated: rfc2822(c.dateCreated),
      direction: c.direction,
      duration: null,
      end_time: null,
      forwarded_from: null,
      from: c.from,
      from_formatted: c.from,
      group_sid: null,
      parent_call_sid: null,
      phone_number_sid: null,
      price: null,
      price_unit: 'USD',
      sid: c.sid,
      start_time: null,
      status: c.status,
      to: c.to,
      to_formatted: c.to,
      trunk_sid: null,
      uri,
      queue_time: '0',
      subresource_uris: {
        notifications: uri.replace('.json', '/Notifications.json'),
        recordings: uri.replace('.json', '/Recordings.json'),
      },
    };
  }
}

function parseBasic(header: string | undefined): { username: string; password: string } | null {
  const m = /^Basic\s+(.+)$/i.exec(header ?? '');
  if (!m) return null;
  const text = Buffer.from(m[1] ?? '', 'base64').toString('utf8');
  const i = text.indexOf(':');
  return i < 0 ? null : { username: text.slice(0, i), password: text.slice(i + 1) };
}

function matches(pattern: string | RegExp, path: string): boolean {
  return typeof pattern === 'string' ? path === pattern || path.endsWith(pattern) : pattern.test(path);
}
