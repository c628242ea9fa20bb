import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import type { DeliveredCallback, ReachUrl } from './callbacks.js';
import { CallRedirects, type DialOutcome, type RedirectableCall } from './call-redirects.js';
import { Conversations, type FakeConversation, type FakeMessage, type NewConversation } from './conversations.js';
import { VoiceCalls, type FakeCall } from './voice-calls.js';
import { SmsMessages, type FakeSms } from './sms-messages.js';
import { CallRecordings, type FakeRecording } from './call-recordings.js';
import {
  errorJson,
  firstOf,
  notFound,
  parseBasic,
  parseForm,
  sid,
  TwilioError,
  type RestAnswer,
  type RestRequest,
} from './twilio-wire.js';

// A local stand-in for the slice of Twilio's REST API the SMS bot uses, so the real `twilio` client
// runs against it unchanged (TWILIO_API_BASE_URL): Conversations v1 (conversations create,
// participants list/create, messages list/create) and Voice 2010-04-01 (Calls.json create; Messages.json
// create and list; a call's Recordings.json create with its signed recording status callbacks). JSON
// shapes follow Twilio's (snake_case, list `meta` envelope, error `{code, message, more_info, status}`),
// Basic auth is checked, every request is recorded, and faults and latency can be injected.
// Error codes: 20003/20404/50433/50416/50434 are Twilio's; the validation codes of the other 400s
// are the closest documented ones, not verified against the live API.
// This module is the server: HTTP, auth, recorded requests, faults and latency; each resource
// answers in its own module.

export type { FakeConversation, FakeMessage, FakeParticipant } from './conversations.js';
export type { FakeCall } from './voice-calls.js';
export type { FakeSms } from './sms-messages.js';
export type { FakeRecording, FakeRecordingStatus } from './call-recordings.js';

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

export class FakeTwilioRestServer {
  readonly url: string;
  readonly accountSid: string;
  readonly authToken: string;
  readonly requests: TwilioRecordedRequest[] = [];
  readonly conversations: Map<string, FakeConversation>;
  readonly calls: FakeCall[];
  readonly sms: FakeSms[];
  readonly recordings: FakeRecording[];
  /** Every status callback sent, in the order they were answered. */
  readonly callbacks: DeliveredCallback[];
  delayMs: number;
  reach: ReachUrl;
  /** Live calls the application may redirect (transfers) or hang up (POST /Calls/{sid}.json). */
  readonly redirects: CallRedirects;
  private readonly faults: Array<TwilioFault & { remaining: number }> = [];
  private readonly conversationStore: Conversations;
  private readonly voiceCalls: VoiceCalls;
  private readonly smsMessages: SmsMessages;
  private readonly callRecordings: CallRecordings;

  private constructor(
    private readonly server: Server,
    opts: FakeTwilioOptions,
  ) {
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    this.accountSid = opts.accountSid ?? sid('AC');
    this.authToken = opts.authToken ?? randomBytes(16).toString('hex');
    this.delayMs = opts.delayMs ?? 0;
    this.reach = opts.reach ?? ((u) => u);
    // Callbacks read `reach` when they are sent: a test may set it after start().
    const reach: ReachUrl = (u) => this.reach(u);
    this.redirects = new CallRedirects({
      authToken: this.authToken,
      accountSid: this.accountSid,
      reach,
      ...(opts.dialOutcome ? { outcomeFor: opts.dialOutcome } : {}),
    });
    this.conversationStore = new Conversations(this.accountSid, this.url);
    this.voiceCalls = new VoiceCalls(this.accountSid, this.redirects);
    this.smsMessages = new SmsMessages(this.accountSid);
    this.callRecordings = new CallRecordings({
      accountSid: this.accountSid,
      authToken: this.authToken,
      reach,
      calls: this.voiceCalls.list,
    });
    this.conversations = this.conversationStore.all;
    this.calls = this.voiceCalls.list;
    this.sms = this.smsMessages.list;
    this.recordings = this.callRecordings.list;
    this.callbacks = this.callRecordings.callbacks;
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
  createConversation(opts: NewConversation = {}): FakeConversation {
    return this.conversationStore.create(opts);
  }

  /** A text arriving from a phone: stored, and returned as the onMessageAdded webhook params Twilio would POST. */
  inboundMessage(
    conversationSid: string,
    m: { author: string; body: string; source?: string },
  ): Record<string, string> {
    return this.conversationStore.inboundMessage(conversationSid, m);
  }

  /** Messages created through the REST API (what the bot posted), in order. */
  posted(conversationSid?: string): FakeMessage[] {
    return this.conversationStore.posted(conversationSid);
  }

  /** A call arriving from a phone, answered and in progress (its voice URL is the test's business). */
  inboundCall(opts: { from: string; to: string }): FakeCall {
    return this.voiceCalls.inbound(opts);
  }

  /** A call in progress on a stream (the simulated phone call), which the application may redirect. */
  liveCall(call: RedirectableCall, opts: { from: string; to: string }): FakeCall {
    return this.voiceCalls.live(call, opts);
  }

  /**
   * The call hangs up: its recordings stop and, as on Twilio, each becomes `completed` (or `absent`
   * when `absent` is set: too short or silent) and its status callback fires.
   */
  async completeCall(callSid: string, opts: { absent?: boolean; durationSeconds?: number } = {}): Promise<void> {
    const call = this.calls.find((c) => c.sid === callSid);
    if (!call) throw new Error(`no call ${callSid}`);
    call.status = 'completed';
    await this.callRecordings.stop(callSid, opts);
    await this.settled();
  }

  /** Resolves when every callback sent so far has been answered. */
  async settled(): Promise<void> {
    await this.callRecordings.settled();
  }

  requestsTo(method: string, path: RegExp): TwilioRecordedRequest[] {
    return this.requests.filter((r) => r.method === method && path.test(r.path));
  }

  async close(): Promise<void> {
    await this.settled();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const u = new URL(req.url ?? '/', this.url);
    const form = parseForm(Buffer.concat(chunks).toString('utf8'));
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
    const request: RestRequest = { method, url: u, form, one: firstOf(form), headers: req.headers };
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
        if (fault.applied) this.route(request);
        throw new TwilioError(
          fault.status,
          fault.code ?? (fault.status >= 500 ? 20500 : 20001),
          fault.message ?? (fault.status >= 500 ? 'Internal Server Error' : 'Bad request'),
        );
      }
      [status, body] = this.route(request);
    } catch (err) {
      const e =
        err instanceof TwilioError
          ? err
          : new TwilioError(500, 20500, err instanceof Error ? err.message : 'Internal Server Error');
      status = e.status;
      body = errorJson(e);
    }
    if (res.destroyed) return;
    res.writeHead(status, { 'Content-Type': 'application/json', 'Twilio-Request-Id': sid('RQ') });
    res.end(JSON.stringify(body));
  }

  private route(req: RestRequest): RestAnswer {
    const answer =
      this.conversationStore.route(req) ??
      this.voiceCalls.route(req) ??
      this.smsMessages.route(req) ??
      this.callRecordings.route(req);
    if (answer === undefined) throw notFound(req.url.pathname);
    return answer;
  }
}

function matches(pattern: string | RegExp, path: string): boolean {
  return typeof pattern === 'string' ? path === pattern || path.endsWith(pattern) : pattern.test(path);
}
