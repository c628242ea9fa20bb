import {
  conversationJson,
  listPage,
  messageJson,
  participantJson,
  type ConversationService,
} from './conversations-json.js';
import { iso, sid, TwilioError, type RestAnswer, type RestRequest } from './twilio-wire.js';

// Conversations v1 as the SMS bot uses it: conversations create, participants list/create (with
// Twilio's refusals: a duplicate identity or binding, a group MMS chat participant without a
// projected address), messages list/create; and the test's side of a thread: a conversation as an
// SMS thread leaves it, a text arriving from a phone, what the bot posted.

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

export type NewConversation = {
  participants?: Array<Partial<Omit<FakeParticipant, 'sid' | 'dateCreated'>>>;
  friendlyName?: string;
};

export class Conversations {
  readonly all = new Map<string, FakeConversation>();
  readonly service: ConversationService;

  constructor(
    accountSid: string,
    /** The server's own URL, which list pages link to. */
    private readonly baseUrl: string,
  ) {
    this.service = { accountSid, chatServiceSid: sid('IS'), messagingServiceSid: sid('MG') };
  }

  create(opts: NewConversation = {}): FakeConversation {
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
    this.all.set(conv.sid, conv);
    return conv;
  }

  /** A text arriving from a phone: stored, and returned as the onMessageAdded webhook params. */
  inboundMessage(
    conversationSid: string,
    m: { author: string; body: string; source?: string },
  ): Record<string, string> {
    const conv = this.get(conversationSid);
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
      AccountSid: this.service.accountSid,
      ChatServiceSid: this.service.chatServiceSid,
      ConversationSid: conv.sid,
      MessageSid: msg.sid,
      MessagingServiceSid: this.service.messagingServiceSid,
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
    const convs = conversationSid ? [this.get(conversationSid)] : [...this.all.values()];
    return convs.flatMap((c) => c.messages.filter((m) => m.viaRest));
  }

  /** /v1/Conversations and its Participants and Messages; undefined when the request is not one of them. */
  route(req: RestRequest): RestAnswer | undefined {
    const { method, url: u, one } = req;
    const accountSid = this.service.accountSid;
    if (method === 'POST' && u.pathname === '/v1/Conversations') {
      const conv = this.create({ friendlyName: one('FriendlyName') });
      conv.uniqueName = one('UniqueName') ?? null;
      conv.attributes = one('Attributes') ?? '{}';
      return [201, conversationJson(this.service, conv)];
    }
    const m = /^\/v1\/Conversations\/([^/]+)\/(Participants|Messages)$/.exec(u.pathname);
    if (!m) return undefined;
    const conv = this.get(m[1] ?? '');
    if (m[2] === 'Participants' && method === 'GET') {
      const all = conv.participants.map((x) => participantJson(accountSid, conv, x));
      return [200, listPage(this.baseUrl, u, 'participants', all)];
    }
    if (m[2] === 'Participants' && method === 'POST')
      return [201, participantJson(accountSid, conv, this.addParticipant(conv, one))];
    if (m[2] === 'Messages' && method === 'GET') {
      const list = u.searchParams.get('Order') === 'desc' ? [...conv.messages].reverse() : conv.messages;
      const all = list.map((x) => messageJson(accountSid, conv, x));
      return [200, listPage(this.baseUrl, u, 'messages', all)];
    }
    if (m[2] === 'Messages' && method === 'POST')
      return [201, messageJson(accountSid, conv, this.postMessage(conv, req))];
    return undefined;
  }

  private get(conversationSid: string): FakeConversation {
    const c = this.all.get(conversationSid);
    if (!c) throw new TwilioError(404, 20404, `The requested resource /Conversations/${conversationSid} was not found`);
    return c;
  }

  private postMessage(conv: FakeConversation, { one, headers }: RestRequest): FakeMessage {
    const body = one('Body');
    if (body === undefined && one('MediaSid') === undefined && one('ContentSid') === undefined)
      throw new TwilioError(400, 50006, 'Body, MediaSid or ContentSid is required');
    if (body !== undefined && body.length > 1600)
      throw new TwilioError(400, 21617, 'The concatenated message body exceeds the 1600 character limit');
    const enabled = String(headers['x-twilio-webhook-enabled'] ?? '').toLowerCase() === 'true';
    return this.addMessage(conv, {
      author: one('Author') ?? 'system',
      body: body ?? null,
      attributes: one('Attributes') ?? '{}',
      source: 'API',
      viaRest: true,
      webhookEnabled: enabled,
    });
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
}
