// Client conversation.item.* events of a fake realtime session: create (messages, tool results,
// xAI force_message), truncate (recorded, checked against the audio actually sent), delete, retrieve.
import { itemFromClient, type Conversation, type TruncateRecord } from './model-conversation.js';
import type { IdGen } from './model-ids.js';
import {
  ProtocolError,
  type ClientItem,
  type Dialect,
  type ItemCreateEvent,
  type ItemDeleteEvent,
  type ItemRetrieveEvent,
  type ItemTruncateEvent,
  type ServerEvent,
} from './model-protocol.js';

export interface ItemHost {
  readonly ids: IdGen;
  readonly dialect: Dialect;
  readonly conversation: Conversation;
  readonly truncateSupported: boolean;
  send(ev: ServerEvent): void;
  /** A client item was added (the agent watches tool results and key presses). */
  noteItem(item: ClientItem): void;
  /** xAI force_message: speak `text` verbatim as a response of its own. */
  speak(text: string): void;
}

export class ItemEvents {
  /** Every conversation.item.truncate received, accepted or not. */
  readonly truncates: TruncateRecord[] = [];

  constructor(private readonly host: ItemHost) {}

  create(ev: ItemCreateEvent): void {
    const item = ev.item;
    if (item.type === 'force_message') {
      this.host.speak(item.text);
      return;
    }
    this.host.noteItem(item);
    const conv = itemFromClient(item, item.id ?? this.host.ids.next('item'));
    const inserted = this.host.conversation.insert(conv, ev.previous_item_id);
    // xAI always reports previous_item_id as null.
    const prev = this.host.dialect === 'xai' ? null : inserted;
    this.send('conversation.item.added', { previous_item_id: prev, item: conv });
    this.send('conversation.item.done', { previous_item_id: prev, item: conv });
  }

  truncate(ev: ItemTruncateEvent): void {
    const record: TruncateRecord = {
      itemId: ev.item_id,
      contentIndex: ev.content_index,
      audioEndMs: ev.audio_end_ms,
      sentMs: this.host.conversation.audioOf(ev.item_id)?.sentMs,
      accepted: false,
      receivedAt: Date.now(),
    };
    this.truncates.push(record);
    if (!this.host.truncateSupported) {
      throw new ProtocolError(
        'invalid_value',
        "Unsupported event type: 'conversation.item.truncate'. Truncation is not supported by this model.",
        'type',
      );
    }
    this.host.conversation.truncate(ev.item_id, ev.content_index, ev.audio_end_ms);
    record.accepted = true;
    this.send('conversation.item.truncated', {
      item_id: ev.item_id,
      content_index: ev.content_index,
      audio_end_ms: ev.audio_end_ms,
    });
  }

  delete(ev: ItemDeleteEvent): void {
    if (!this.host.conversation.delete(ev.item_id)) {
      throw new ProtocolError(
        'invalid_value',
        `Error deleting item: the item with id '${ev.item_id}' does not exist.`,
        'item_id',
      );
    }
    this.send('conversation.item.deleted', { item_id: ev.item_id });
  }

  retrieve(ev: ItemRetrieveEvent): void {
    const item = this.host.conversation.get(ev.item_id);
    if (!item)
      throw new ProtocolError(
        'invalid_value',
        `Error retrieving item: the item with id '${ev.item_id}' does not exist.`,
        'item_id',
      );
    this.send('conversation.item.retrieved', { item });
  }

  private send(type: string, fields: Record<string, unknown>): void {
    this.host.send({ type, event_id: this.host.ids.next('event'), ...fields });
  }
}
