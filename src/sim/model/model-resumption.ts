// xAI session resumption, as the fake server imitates it: a session whose session.update enabled
// `resumption` has its conversation kept after its socket closes, for `keepMs`; a socket opened with
// `?conversation_id=` continues it: the same id in conversation.created, the earlier items replayed as
// conversation.item.added (as a recorded live resumption shows), the same items to answer from.
// xAI documents no refusal; this fake refuses in the two ways the relay must survive: the upgrade
// answered 404 (an unknown or expired id, or `refuse('upgrade')`), or a new, empty conversation under
// another id (`refuse('fresh')`).
import type { Conversation } from './model-conversation.js';
import type { IdGen } from './model-ids.js';
import type { JsonObject, ServerEvent } from './model-protocol.js';

/** A conversation that can be resumed by its id. */
export interface KeptConversation {
  conversationId: string;
  conversation: Conversation;
}

export type ResumeRefusal = 'upgrade' | 'fresh';

/** What an upgrade with `conversation_id` gets: the conversation, a fresh one, or HTTP 404. */
export type ResumeOutcome = { kind: 'resume'; kept: KeptConversation } | { kind: 'fresh' } | { kind: 'notFound' };

/** Whether a session.update (merged) enabled resumption: `session.resumption.enabled === true`. */
export function resumptionEnabled(session: JsonObject): boolean {
  const r = session.resumption;
  return typeof r === 'object' && r !== null && !Array.isArray(r) && r.enabled === true;
}

/** Sends the resumed conversation's items again, in order, before the client's session.update lands. */
export function replayItems(kept: KeptConversation, ids: IdGen, send: (ev: ServerEvent) => void): void {
  let previous: string | null = null;
  for (const item of kept.conversation.items) {
    send({ type: 'conversation.item.added', event_id: ids.next('event'), previous_item_id: previous, item });
    previous = item.id;
  }
}

/** The server's kept conversations. One per server; sessions hand theirs over when they close. */
export class ConversationKeeper {
  private readonly kept = new Map<string, { conv: KeptConversation; until: number }>();
  private refusing: ResumeRefusal | null = null;
  /** Resumptions asked for, and how each went, in order (for tests). */
  readonly asked: { conversationId: string; outcome: ResumeOutcome['kind'] }[] = [];

  constructor(private readonly keepMs: number) {}

  /** From now on every resumption is refused this way (null: resume again). */
  refuse(how: ResumeRefusal | null): void {
    this.refusing = how;
  }

  keep(conv: KeptConversation): void {
    this.kept.set(conv.conversationId, { conv, until: Date.now() + this.keepMs });
  }

  take(conversationId: string): ResumeOutcome {
    const entry = this.kept.get(conversationId);
    const outcome: ResumeOutcome =
      this.refusing === 'fresh'
        ? { kind: 'fresh' }
        : this.refusing === 'upgrade' || !entry || entry.until < Date.now()
          ? { kind: 'notFound' }
          : { kind: 'resume', kept: entry.conv };
    this.asked.push({ conversationId, outcome: outcome.kind });
    return outcome;
  }
}
