import type { FakeConversation, FakeMessage, FakeParticipant } from './conversations.js';
import { iso } from './twilio-wire.js';

// Conversations v1 resources as Twilio writes them: snake_case fields, ISO dates, absolute `url`s and
// `links`, and lists in the `meta` envelope the twilio client pages through.

/** The account and the services a conversation belongs to. */
export interface ConversationService {
  accountSid: string;
  chatServiceSid: string;
  messagingServiceSid: string;
}

/** A page of a v1 list, `meta` linking the pages on `baseUrl` (this server). */
export function listPage(baseUrl: string, u: URL, key: string, all: unknown[]): unknown {
  const size = Math.min(100, Math.max(1, Number(u.searchParams.get('PageSize') ?? 50) || 50));
  const page = Math.max(0, Number(u.searchParams.get('Page') ?? 0) || 0);
  const at = (n: number) => `${baseUrl}${u.pathname}?PageSize=${size}&Page=${n}`;
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

export function conversationJson(service: ConversationService, c: FakeConversation): unknown {
  const url = `https://conversations.twilio.com/v1/Conversations/${c.sid}`;
  return {
    account_sid: service.accountSid,
    chat_service_sid: service.chatServiceSid,
    messaging_service_sid: service.messagingServiceSid,
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

export function participantJson(accountSid: string, c: FakeConversation, p: FakeParticipant): unknown {
  const binding =
    p.address !== null
      ? { type: 'sms', address: p.address, proxy_address: p.proxyAddress }
      : p.projectedAddress !== null
        ? { type: 'sms', projected_address: p.projectedAddress }
        : null;
  return {
    account_sid: accountSid,
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

export function messageJson(accountSid: string, c: FakeConversation, m: FakeMessage): unknown {
  const url = `https://conversations.twilio.com/v1/Conversations/${c.sid}/Messages/${m.sid}`;
  return {
    account_sid: accountSid,
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
