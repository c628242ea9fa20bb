// Caller turns of a fake realtime session: appended audio → (energy VAD or the test's say-so)
// input_audio_buffer.speech_started → speech_stopped → committed → conversation.item.added (user
// item) → later, the caller transcript. Manual turns (commit/clear) follow the same path. What happens
// next (barge-in, a response) is the session's call, through TurnHost.
import type { Conversation, MessageItem } from './model-conversation.js';
import type { IdGen } from './model-ids.js';
import { InputBuffer } from './model-input.js';
import { ProtocolError, type Dialect, type ServerEvent } from './model-protocol.js';
import type { SessionView } from './model-session-config.js';
import type { VadEvent, VadParams } from './model-vad.js';

export interface TurnHost {
  readonly ids: IdGen;
  readonly dialect: Dialect;
  readonly conversation: Conversation;
  view(): SessionView;
  send(ev: ServerEvent): void;
  /** speech_started went out (the session decides about barge-in). */
  onSpeechStarted(): void;
  /** A user item was committed (`ms`: speech in it); `byVad` turns are the ones create_response applies to. */
  onCommitted(itemId: string, ms: number, byVad: boolean): void;
}

const MIN_COMMIT_MS = 100;

export class InputTurns {
  readonly buffer: InputBuffer;
  /** null = no VAD (manual turns only). */
  vadParams: VadParams | null = null;
  lastUserItemId: string | undefined;
  private speechItemId: string | undefined;
  private readonly turnMs = new Map<string, number>();

  constructor(
    private readonly host: TurnHost,
    recordLimitBytes: number,
  ) {
    this.buffer = new InputBuffer(recordLimitBytes);
  }

  append(bytes: Buffer): void {
    this.buffer.append(bytes, this.host.view().inputFormat, this.vadParams, this.onVad);
  }

  /** Client input_audio_buffer.commit. */
  commit(): void {
    const ms = this.buffer.bufferedMs;
    if (ms < MIN_COMMIT_MS) {
      throw new ProtocolError(
        'input_audio_buffer_commit_empty',
        `Error committing input audio buffer: buffer too small. Expected at least ${MIN_COMMIT_MS}ms of audio, ` +
          `but buffer only has ${ms.toFixed(2)}ms of audio.`,
      );
    }
    const itemId = this.speechItemId ?? this.host.ids.next('item');
    this.speechItemId = undefined;
    this.buffer.vad.reset(false);
    this.commitTurn(itemId, false);
  }

  /** Client input_audio_buffer.clear. */
  clear(): void {
    this.buffer.take();
    this.buffer.vad.reset(false);
    this.speechItemId = undefined;
    this.host.send({ type: 'input_audio_buffer.cleared', event_id: this.host.ids.next('event') });
  }

  speechStarted(): string {
    this.buffer.vad.reset(true);
    return this.beginSpeech(Math.round(this.buffer.appendedMs));
  }

  speechStopped(): string {
    this.buffer.vad.reset(false);
    return this.endSpeech(Math.round(this.buffer.appendedMs));
  }

  /** Sends the caller transcript for a user item (default: the last committed one). */
  transcript(itemId: string | undefined, text: string): void {
    const id = itemId ?? this.lastUserItemId;
    if (!id) throw new Error('no committed user item to transcribe');
    const item = this.host.conversation.get(id);
    if (item?.type === 'message' && item.role === 'user') {
      item.content = item.content.map((p) =>
        p.type === 'input_audio' ? { type: 'input_audio', transcript: text } : p,
      );
    }
    const { ids, dialect } = this.host;
    const base = { item_id: id, content_index: 0 };
    if (dialect === 'openai') {
      this.host.send({
        type: 'conversation.item.input_audio_transcription.delta',
        event_id: ids.next('event'),
        ...base,
        delta: text,
      });
    }
    const seconds = Math.round((this.turnMs.get(id) ?? 0) / 100) / 10;
    this.host.send({
      type: 'conversation.item.input_audio_transcription.completed',
      event_id: ids.next('event'),
      ...base,
      transcript: text,
      ...(dialect === 'openai' ? { usage: { type: 'duration', seconds } } : {}),
    });
  }

  private readonly onVad = (e: VadEvent): void => {
    if (e.kind === 'start') this.beginSpeech(e.audioStartMs);
    else this.endSpeech(e.audioEndMs, e.speechMs);
  };

  private beginSpeech(audioStartMs: number): string {
    if (this.speechItemId) return this.speechItemId;
    const itemId = this.host.ids.next('item');
    this.speechItemId = itemId;
    this.host.send({
      type: 'input_audio_buffer.speech_started',
      event_id: this.host.ids.next('event'),
      audio_start_ms: audioStartMs,
      item_id: itemId,
    });
    this.host.onSpeechStarted();
    return itemId;
  }

  /** `speechMs`: what the caller said (VAD); without it, the whole buffered turn. */
  private endSpeech(audioEndMs: number, speechMs?: number): string {
    const itemId = this.speechItemId ?? this.beginSpeech(audioEndMs);
    this.speechItemId = undefined;
    this.host.send({
      type: 'input_audio_buffer.speech_stopped',
      event_id: this.host.ids.next('event'),
      audio_end_ms: audioEndMs,
      item_id: itemId,
    });
    this.commitTurn(itemId, true, speechMs);
    return itemId;
  }

  /** The buffered audio becomes a user message item. */
  private commitTurn(itemId: string, byVad: boolean, speechMs?: number): void {
    const ids = this.host.ids;
    const send = (ev: ServerEvent): void => this.host.send(ev);
    const ms = this.buffer.take();
    const item: MessageItem = {
      id: itemId,
      object: 'realtime.item',
      type: 'message',
      status: 'completed',
      role: 'user',
      // No transcript yet: the field is left out (the published schema has no null for it).
      content: [{ type: 'input_audio' }],
    };
    const inserted = this.host.conversation.insert(item);
    // xAI always reports previous_item_id as null.
    const prev = this.host.dialect === 'xai' ? null : inserted;
    this.lastUserItemId = itemId;
    this.turnMs.set(itemId, ms);
    send({
      type: 'input_audio_buffer.committed',
      event_id: ids.next('event'),
      previous_item_id: prev,
      item_id: itemId,
    });
    send({ type: 'conversation.item.added', event_id: ids.next('event'), previous_item_id: prev, item });
    send({ type: 'conversation.item.done', event_id: ids.next('event'), previous_item_id: prev, item });
    // The buffer also holds whatever the caller's line carried before they spoke (the greeting's
    // seconds of silence): the turn's length is what was said, when the VAD knows it.
    this.host.onCommitted(itemId, speechMs ?? ms, byVad);
  }
}
