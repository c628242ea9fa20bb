import { E164, notFound, rfc2822, sid, TwilioError, type RestAnswer, type RestRequest } from './twilio-wire.js';

// The Messages resource of the 2010-04-01 API (the owner's SMS): create, with Twilio's refusals of
// a missing or malformed number and an empty or too long body, and list with Twilio's filters.

/** An SMS created through Messages.json. */
export interface FakeSms {
  sid: string;
  to: string;
  from: string;
  body: string;
  status: 'queued' | 'sent' | 'delivered' | 'failed';
  dateCreated: Date;
}

export class SmsMessages {
  readonly list: FakeSms[] = [];

  constructor(private readonly accountSid: string) {}

  /** POST and GET Messages.json; undefined when the request is neither. */
  route(req: RestRequest): RestAnswer | undefined {
    const p = req.url.pathname;
    const m = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\.json$/.exec(p);
    if (!m) return undefined;
    if (m[1] !== this.accountSid) throw notFound(p);
    if (req.method === 'POST') return [201, this.messageJson(this.create(req.one))];
    if (req.method === 'GET') return [200, this.page(req.url)];
    return undefined;
  }

  private create(one: (k: string) => string | undefined): FakeSms {
    const to = one('To');
    const from = one('From') ?? one('MessagingServiceSid');
    const body = one('Body');
    if (!to) throw new TwilioError(400, 21604, "A 'To' phone number is required.");
    if (!from) throw new TwilioError(400, 21603, "A 'From' phone number is required.");
    if (!E164.test(to)) throw new TwilioError(400, 21211, `Invalid 'To' Phone Number: ${to}`);
    if (body === undefined && one('MediaUrl') === undefined && one('ContentSid') === undefined)
      throw new TwilioError(400, 21602, 'Message body is required.');
    if (body !== undefined && body.length > 1600)
      throw new TwilioError(400, 21617, 'The concatenated message body exceeds the 1600 character limit');
    const msg: FakeSms = { sid: sid('SM'), to, from, body: body ?? '', status: 'queued', dateCreated: new Date() };
    this.list.push(msg);
    return msg;
  }

  /** GET Messages.json with Twilio's filters (To, From, DateSent>, DateSent<), newest first. */
  private page(u: URL): unknown {
    const q = u.searchParams;
    const to = q.get('To');
    const from = q.get('From');
    const after = q.get('DateSent>');
    const before = q.get('DateSent<');
    const list = this.list
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
      messages: list.slice(0, size).map((x) => this.messageJson(x)),
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

  private messageJson(s: FakeSms): unknown {
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
}
