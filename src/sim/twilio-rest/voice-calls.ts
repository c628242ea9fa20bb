import type { CallRedirects, RedirectableCall } from './call-redirects.js';
import { E164, notFound, rfc2822, sid, TwilioError, type RestAnswer, type RestRequest } from './twilio-wire.js';

// The Calls resource of the 2010-04-01 API: an outbound call created (POST Calls.json, queued and
// never dialled), a live call updated (POST Calls/{sid}.json: new TwiML or a hang-up, carried out by
// CallRedirects); and the test's side: a call arriving from a phone, or one on a simulated stream.

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

export class VoiceCalls {
  readonly list: FakeCall[] = [];

  constructor(
    private readonly accountSid: string,
    private readonly redirects: CallRedirects,
  ) {}

  /** A call arriving from a phone, answered and in progress (its voice URL is the test's business). */
  inbound(opts: { from: string; to: string }): FakeCall {
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
    this.list.push(call);
    return call;
  }

  /** A call in progress on a stream (the simulated phone call), which the application may redirect. */
  live(call: RedirectableCall, opts: { from: string; to: string }): FakeCall {
    this.redirects.register(call);
    const fake = this.inbound(opts);
    fake.sid = call.callSid;
    return fake;
  }

  /** POST Calls.json and Calls/{sid}.json; undefined when the request is neither. */
  route(req: RestRequest): RestAnswer | undefined {
    if (req.method !== 'POST') return undefined;
    const p = req.url.pathname;
    let m = /^\/2010-04-01\/Accounts\/([^/]+)\/Calls\.json$/.exec(p);
    if (m) {
      if (m[1] !== this.accountSid) throw notFound(p);
      return [201, this.callJson(this.create(req))];
    }
    m = /^\/2010-04-01\/Accounts\/([^/]+)\/Calls\/([^/.]+)\.json$/.exec(p);
    if (m) {
      if (m[1] !== this.accountSid) throw notFound(p);
      const callSid = m[2] ?? '';
      const result = this.redirects.update(callSid, req.form);
      if (result.status !== 200) throw new TwilioError(result.status, result.code, result.message);
      const call = this.list.find((c) => c.sid === callSid);
      if (call && req.one('Status') === 'completed') call.status = 'completed';
      return [200, call ? this.callJson(call) : { sid: callSid }];
    }
    return undefined;
  }

  private create({ form, one }: RestRequest): FakeCall {
    const to = one('To');
    const from = one('From');
    if (!to) throw new TwilioError(400, 21201, "No 'To' number is specified");
    if (!from) throw new TwilioError(400, 21213, "No 'From' number is specified");
    if (!E164.test(to)) throw new TwilioError(400, 21211, `Invalid 'To' Phone Number: ${to}`);
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
    this.list.push(call);
    return call;
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
