import type { TwilioClient } from './twilio-rest.js';
import { describeTwilioError, twilioErrorCode } from './twilio-rest.js';
import { LruMap } from '../security/lru-map.js';
import { log } from '../log.js';

// The Twilio Conversations calls the bot makes (docs/protocols.md, "Conversations REST calls"), with
// the two memories that keep it from calling Twilio on every message: which conversations already
// have the bot participant, and a short-lived copy of each conversation's participant list.

/** Twilio error 50433: the participant is already in the conversation (adding the bot again is a no-op). */
export const PARTICIPANT_EXISTS = 50433;

export interface Participant {
  sid: string;
  identity: string | null;
  /** SMS participant's own number. */
  address: string | undefined;
  /** The Twilio number an SMS participant talks to (1:1 threads). */
  proxyAddress: string | undefined;
  /** The Twilio number a chat participant appears as in group MMS. */
  projectedAddress: string | undefined;
}

export interface ThreadMessage {
  sid: string;
  index: number;
  author: string;
  body: string;
}

/** Whom to add to a new group: an SMS number (address only, group MMS) or a chat identity. */
export type GroupMember = { address: string } | { identity: string };

export interface GatewayOptions {
  botIdentity: string;
  botProjectedAddress: string;
  /** How long a participant list is reused (default 30 s): joins are rare, messages are not. */
  participantsTtlMs?: number;
  /** Bound on remembered conversations for each memory (default 50k). */
  maxConversations?: number;
  clock?: () => number;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** messaging_binding comes back as raw JSON (snake_case, untyped in twilio-node). */
function readBinding(binding: unknown): Pick<Participant, 'address' | 'proxyAddress' | 'projectedAddress'> {
  if (typeof binding !== 'object' || binding === null)
    return { address: undefined, proxyAddress: undefined, projectedAddress: undefined };
  const b = binding as Record<string, unknown>;
  return { address: str(b.address), proxyAddress: str(b.proxy_address), projectedAddress: str(b.projected_address) };
}

export class ConversationsGateway {
  private readonly botIn = new LruMap<true>();
  private readonly lists = new LruMap<{ at: number; list: Participant[] }>();
  private readonly inflight = new Map<string, Promise<Participant[]>>();
  private readonly ttlMs: number;
  private readonly max: number;
  private readonly clock: () => number;

  constructor(
    private readonly client: TwilioClient,
    private readonly opts: GatewayOptions,
  ) {
    this.ttlMs = opts.participantsTtlMs ?? 30_000;
    this.max = opts.maxConversations ?? 50_000;
    this.clock = opts.clock ?? Date.now;
  }

  get botIdentity(): string {
    return this.opts.botIdentity;
  }

  private remember<V>(map: LruMap<V>, key: string, value: V): void {
    map.set(key, value);
    while (map.size > this.max) {
      const o = map.oldest();
      if (o === undefined) break;
      map.delete(o.key);
    }
  }

  /** Marks the bot as present (e.g. in a conversation we just created with it). */
  rememberBot(conversationSid: string): void {
    this.remember(this.botIn, conversationSid, true);
  }

  /**
   * Adds the bot participant (identity + projected address) once per conversation. 'remembered':
   * known from an earlier message, no request; 'existing': Twilio said 50433 (already there).
   */
  async ensureBot(conversationSid: string): Promise<'remembered' | 'created' | 'existing'> {
    if (this.botIn.get(conversationSid)) return 'remembered';
    const cached = this.lists.get(conversationSid);
    if (
      cached &&
      this.clock() - cached.at < this.ttlMs &&
      cached.list.some((p) => p.identity === this.opts.botIdentity)
    ) {
      this.rememberBot(conversationSid);
      return 'remembered';
    }
    const created = await this.addBot(conversationSid);
    this.rememberBot(conversationSid);
    return created ? 'created' : 'existing';
  }

  /** True when created, false when it already existed (50433); throws on any other failure. */
  private async addBot(conversationSid: string): Promise<boolean> {
    try {
      await this.client.conversations.v1.conversations(conversationSid).participants.create({
        identity: this.opts.botIdentity,
        'messagingBinding.projectedAddress': this.opts.botProjectedAddress,
      });
      return true;
    } catch (err) {
      if (twilioErrorCode(err) === PARTICIPANT_EXISTS) return false;
      throw err;
    }
  }

  /** The conversation's participants (reused for `participantsTtlMs`). */
  async participants(conversationSid: string): Promise<Participant[]> {
    const cached = this.lists.get(conversationSid);
    if (cached && this.clock() - cached.at < this.ttlMs) return cached.list;
    // A burst of texts in one thread shares one request.
    const pending = this.inflight.get(conversationSid);
    if (pending) return pending;
    const p = this.fetchParticipants(conversationSid).finally(() => this.inflight.delete(conversationSid));
    this.inflight.set(conversationSid, p);
    return p;
  }

  private async fetchParticipants(conversationSid: string): Promise<Participant[]> {
    const rows = await this.client.conversations.v1
      .conversations(conversationSid)
      .participants.list({ limit: 100, pageSize: 100 });
    const list = rows.map((p): Participant => {
      const binding: unknown = p.messagingBinding;
      return { sid: p.sid, identity: str(p.identity) ?? null, ...readBinding(binding) };
    });
    this.remember(this.lists, conversationSid, { at: this.clock(), list });
    return list;
  }

  /** The last `limit` messages, oldest first. */
  async recentMessages(conversationSid: string, limit = 10): Promise<ThreadMessage[]> {
    const rows = await this.client.conversations.v1
      .conversations(conversationSid)
      .messages.list({ order: 'desc', limit, pageSize: limit });
    return rows
      .map((m) => ({ sid: m.sid, index: m.index, author: m.author ?? 'system', body: m.body ?? '' }))
      .sort((a, b) => a.index - b.index);
  }

  /**
   * Posts as the bot. No X-Twilio-Webhook-Enabled header: REST-created messages then fire no
   * webhook, which is the first guard against reply loops (the inbox also ignores the bot's own).
   */
  async post(conversationSid: string, body: string): Promise<string> {
    const m = await this.client.conversations.v1
      .conversations(conversationSid)
      .messages.create({ author: this.opts.botIdentity, body });
    return m.sid;
  }

  /**
   * A new group MMS conversation: members (SMS numbers with address only, no proxy address), then
   * the bot with its projected address, then `intro` posted as the bot. Members that cannot be
   * added are returned in `failed`; a failure to create the conversation itself throws.
   */
  async createGroup(opts: {
    friendlyName: string;
    attributes: Record<string, string>;
    members: GroupMember[];
    intro: string;
  }): Promise<{
    conversationSid: string;
    added: GroupMember[];
    failed: GroupMember[];
    introPosted: boolean;
  }> {
    const conv = await this.client.conversations.v1.conversations.create({
      friendlyName: opts.friendlyName.slice(0, 256),
      attributes: JSON.stringify(opts.attributes),
    });
    const participants = this.client.conversations.v1.conversations(conv.sid).participants;
    const added: GroupMember[] = [];
    const failed: GroupMember[] = [];
    for (const member of opts.members) {
      try {
        await participants.create(
          'address' in member ? { 'messagingBinding.address': member.address } : { identity: member.identity },
        );
        added.push(member);
      } catch (err) {
        if (twilioErrorCode(err) === PARTICIPANT_EXISTS) added.push(member);
        else failed.push(member);
      }
    }
    let introPosted = false;
    if (added.length > 0) {
      try {
        await this.addBot(conv.sid);
        this.rememberBot(conv.sid);
        await this.post(conv.sid, opts.intro);
        introPosted = true;
      } catch (err) {
        // The group exists and its members are in: the requester is told the intro is missing.
        log.warn(
          { err: describeTwilioError(err), conversationSid: conv.sid },
          'new group: adding the bot or posting the intro failed',
        );
      }
    }
    return { conversationSid: conv.sid, added, failed, introPosted };
  }
}
