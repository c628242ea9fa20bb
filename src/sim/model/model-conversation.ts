// The server-side conversation of a fake realtime session: ordered items as the real API serialises
// them, plus, for assistant audio items, how much audio was actually sent, which is what
// conversation.item.truncate is checked against ("Audio content of Xms is already shorter than Yms").
import type {
  RealtimeConversationItemAssistantMessage,
  RealtimeConversationItemFunctionCall,
  RealtimeConversationItemFunctionCallOutput,
  RealtimeConversationItemSystemMessage,
  RealtimeConversationItemUserMessage,
} from 'openai/resources/realtime/realtime';
import { ProtocolError, type ClientItem } from './model-protocol.js';

// Items are the SDK's conversation item types, with the fields a server always fills in made
// required: what the fake server sends is then checked against the published schema by tsc.
type Served<T> = Omit<T, 'id' | 'object' | 'status'> & ItemBase;

export type ItemStatus = 'completed' | 'incomplete' | 'in_progress';

interface ItemBase {
  id: string;
  object: 'realtime.item';
  status: ItemStatus;
}
export type MessageItem =
  | Served<RealtimeConversationItemSystemMessage>
  | Served<RealtimeConversationItemUserMessage>
  | Served<RealtimeConversationItemAssistantMessage>;
export type ConvContent = MessageItem['content'][number];
export type FunctionCallItem = Served<RealtimeConversationItemFunctionCall>;
export type FunctionCallOutputItem = Served<RealtimeConversationItemFunctionCallOutput>;
export type ConvItem = MessageItem | FunctionCallItem | FunctionCallOutputItem;

/** Audio sent for one assistant item. `fullTranscript` is what the whole item would have said. */
export interface AssistantAudio {
  sentMs: number;
  totalMs: number;
  fullTranscript: string;
}

/** A conversation.item.truncate the server accepted or refused, as tests assert it. */
export interface TruncateRecord {
  itemId: string;
  contentIndex: number;
  audioEndMs: number;
  /** ms of audio the server had sent for the item when the truncate arrived (undefined: unknown item). */
  sentMs: number | undefined;
  accepted: boolean;
  receivedAt: number;
}

/** The conversation item a client-created item becomes (force_message is not an item: it is spoken). */
export function itemFromClient(item: Exclude<ClientItem, { type: 'force_message' }>, id: string): ConvItem {
  const base = { id, object: 'realtime.item' as const, status: 'completed' as const };
  switch (item.type) {
    case 'message': {
      // The parser already allowed only the role's part types (PART_TYPES); the filters narrow the
      // types to the SDK's per-role content and drop nothing.
      const parts = item.content;
      if (item.role === 'assistant')
        return {
          ...base,
          type: 'message',
          role: 'assistant',
          content: parts.flatMap((p) => (p.type === 'output_text' ? [p] : [])),
        };
      if (item.role === 'system')
        return {
          ...base,
          type: 'message',
          role: 'system',
          content: parts.flatMap((p) => (p.type === 'input_text' ? [p] : [])),
        };
      // An audio part without a transcript leaves the field out: the schema has no null for it.
      const user = parts.flatMap((p): RealtimeConversationItemUserMessage.Content[] => {
        if (p.type === 'input_text') return [p];
        if (p.type !== 'input_audio') return [];
        return [
          p.transcript === undefined ? { type: 'input_audio' } : { type: 'input_audio', transcript: p.transcript },
        ];
      });
      return { ...base, type: 'message', role: 'user', content: user };
    }
    case 'function_call':
      return { ...base, type: 'function_call', call_id: item.call_id, name: item.name, arguments: item.arguments };
    case 'function_call_output':
      return { ...base, type: 'function_call_output', call_id: item.call_id, output: item.output };
  }
}

/** Cut `text` to about `fraction` of its length, at a word boundary. */
export function trimTranscript(text: string, fraction: number): string {
  if (fraction >= 1) return text;
  if (fraction <= 0) return '';
  const cut = Math.round(text.length * fraction);
  const space = text.lastIndexOf(' ', cut);
  return text.slice(0, space > 0 ? space : cut).trimEnd();
}

export class Conversation {
  readonly items: ConvItem[] = [];
  private readonly audio = new Map<string, AssistantAudio>();

  /** Inserts `item`; returns the id of the item now before it (null at the start). */
  insert(item: ConvItem, previousItemId?: string | null): string | null {
    let at = this.items.length;
    if (previousItemId === 'root') at = 0;
    else if (previousItemId !== undefined && previousItemId !== null) {
      const i = this.items.findIndex((x) => x.id === previousItemId);
      if (i < 0) {
        throw new ProtocolError(
          'invalid_value',
          `Error adding item: the previous item with id '${previousItemId}' does not exist.`,
          'previous_item_id',
        );
      }
      at = i + 1;
    }
    if (this.items.some((x) => x.id === item.id)) {
      throw new ProtocolError(
        'invalid_value',
        `Error adding item: an item with id '${item.id}' already exists.`,
        'item.id',
      );
    }
    this.items.splice(at, 0, item);
    return at === 0 ? null : (this.items[at - 1]?.id ?? null);
  }

  get(id: string): ConvItem | undefined {
    return this.items.find((x) => x.id === id);
  }

  has(id: string): boolean {
    return this.items.some((x) => x.id === id);
  }

  delete(id: string): boolean {
    const i = this.items.findIndex((x) => x.id === id);
    if (i < 0) return false;
    this.items.splice(i, 1);
    this.audio.delete(id);
    return true;
  }

  trackAudio(itemId: string, audio: AssistantAudio): void {
    this.audio.set(itemId, audio);
  }

  audioOf(itemId: string): AssistantAudio | undefined {
    return this.audio.get(itemId);
  }

  /** True once any assistant audio went out (the voice can no longer change, per the GA API). */
  get assistantAudioPresent(): boolean {
    for (const a of this.audio.values()) if (a.sentMs > 0) return true;
    return false;
  }

  /** Applies a truncate to an assistant audio item; throws the real API's error when it cannot. */
  truncate(itemId: string, contentIndex: number, audioEndMs: number): void {
    const item = this.get(itemId);
    if (!item)
      throw new ProtocolError(
        'invalid_value',
        `Error truncating item: the item with id '${itemId}' does not exist.`,
        'item_id',
      );
    if (item.type !== 'message' || item.role !== 'assistant') {
      throw new ProtocolError(
        'invalid_value',
        'Error truncating item: only assistant messages can be truncated.',
        'item_id',
      );
    }
    const part = item.content[contentIndex];
    if (part?.type !== 'output_audio') {
      throw new ProtocolError(
        'invalid_value',
        `Error truncating item: content index ${contentIndex} is not an audio content part.`,
        'content_index',
      );
    }
    const audio = this.audio.get(itemId);
    const have = audio?.sentMs ?? 0;
    if (audioEndMs > have) {
      throw new ProtocolError(
        'invalid_value',
        `Audio content of ${Math.floor(have)}ms is already shorter than ${audioEndMs}ms`,
        'audio_end_ms',
      );
    }
    const full = audio?.fullTranscript ?? part.transcript ?? '';
    const total = audio?.totalMs ?? have;
    item.content[contentIndex] = {
      type: 'output_audio',
      transcript: trimTranscript(full, total > 0 ? audioEndMs / total : 0),
    };
    if (audio) audio.sentMs = audioEndMs;
  }
}
