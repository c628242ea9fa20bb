// One model response of the fake server, emitted with the real event order:
// response.created → output_item.added → conversation.item.added → content_part.added →
// output_audio.delta / output_audio_transcript.delta … → output_audio.done → transcript.done →
// content_part.done → output_item.done → conversation.item.done → (function_call items) → response.done.
// Audio is paced by timers (chunkMs of audio every chunkMs/realtimeFactor ms) or, in continuous load
// mode, by the shared 20 ms frame clock so hundreds of sessions share one timer.
import { log } from '../../log.js';
import type { FrameClock } from '../clock/frame-clock.js';
import type { Conversation, ConvItem, FunctionCallItem, MessageItem } from './model-conversation.js';
import type { IdGen } from './model-ids.js';
import type { Dialect, JsonObject, ServerEvent } from './model-protocol.js';
import type { AudioFormat, SessionView } from './model-session-config.js';
import { bytesPerMs, fromMulaw, voiceFor } from './model-audio.js';
import {
  responseJson,
  wordsWithin,
  type CancelReason,
  type FunctionCallSpec,
  type RespondOptions,
  type RespondResult,
  type ResponseSettings,
} from './model-response-shape.js';

/** What a response needs from its session. */
export interface ResponseHost {
  readonly ids: IdGen;
  readonly dialect: Dialect;
  readonly conversation: Conversation;
  readonly conversationId: string;
  view(): SessionView;
  send(ev: ServerEvent): void;
  /** Pre-serialised JSON (the per-delta hot path). */
  sendText(json: string): void;
  clock(): FrameClock;
  beforeSendDelta: ((bytes: Buffer) => void) | undefined;
  defaults: { chunkMs: number; realtimeFactor: number };
}

const DEFAULT_LINE = 'Hello! How can I help you today?';

export class ResponseRun {
  readonly id: string;
  status: 'in_progress' | 'completed' | 'cancelled' = 'in_progress';
  readonly itemIds: string[] = [];
  readonly done: Promise<RespondResult>;
  private readonly output: ConvItem[] = [];
  private resolveDone!: (r: RespondResult) => void;
  private cancelTimer: (() => void) | undefined;
  private wake: ((go: boolean) => void) | undefined;
  private unsubscribe: (() => void) | undefined;
  /** The message item being streamed (finished with status incomplete if cancelled). */
  private open: { item: MessageItem; index: number; said: string; audio: boolean } | undefined;
  private audioMs = 0;
  private textChars = 0;
  private readonly format: AudioFormat;
  private readonly voice: string;

  constructor(
    private readonly host: ResponseHost,
    private readonly settings: ResponseSettings,
  ) {
    this.id = host.ids.next('resp');
    this.format = host.view().outputFormat;
    this.voice = host.view().voice;
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
  }

  get active(): boolean {
    return this.status === 'in_progress';
  }

  start(): void {
    this.host.send({
      type: 'response.created',
      event_id: this.host.ids.next('event'),
      response: this.responseObject(),
    });
  }

  /** Streams the response; resolves when response.done went out. */
  play(opts: RespondOptions): Promise<RespondResult> {
    if (!opts.stall && this.active) {
      void this.run(opts).catch((err: unknown) => {
        log.error({ err, responseId: this.id }, 'fake model response failed');
        this.abort();
      });
    }
    return this.done;
  }

  /** Server-side cancel: close the open item as incomplete and send response.done (status cancelled). */
  cancel(reason: CancelReason): void {
    if (!this.active) return;
    this.status = 'cancelled';
    this.stopPacing();
    if (this.open) this.finishMessage('incomplete');
    this.finish({ type: 'cancelled', reason });
  }

  /** The socket is gone: stop timers and settle without sending anything. */
  abort(): void {
    if (!this.active) return;
    this.status = 'cancelled';
    this.stopPacing();
    this.resolveDone({ responseId: this.id, itemIds: this.itemIds, status: 'cancelled' });
  }

  private async run(opts: RespondOptions): Promise<void> {
    const calls = opts.functionCalls ?? [];
    const speaks =
      opts.text !== undefined || opts.audio !== undefined || opts.audioMs !== undefined || calls.length === 0;
    if (speaks) {
      const text = opts.text ?? DEFAULT_LINE;
      const item = this.openMessage(text);
      if (this.settings.modalities.includes('audio')) {
        if (opts.continuous) {
          this.streamContinuous(item, text, opts);
          return; // finishes from the clock callback
        }
        if (!(await this.streamAudio(item, text, opts))) return;
      } else if (!(await this.streamText(item, text, opts))) return;
      this.finishMessage('completed');
    }
    for (const call of calls) {
      if (!(await this.pause(0))) return;
      this.emitFunctionCall(call);
    }
    this.status = 'completed';
    this.finish(null);
  }

  private openMessage(text: string): MessageItem {
    const audio = this.settings.modalities.includes('audio');
    const item: MessageItem = {
      id: this.host.ids.next('item'),
      object: 'realtime.item',
      type: 'message',
      status: 'in_progress',
      role: 'assistant',
      content: [],
    };
    const index = this.addOutput(item);
    const part = audio ? { type: 'audio', transcript: '' } : { type: 'text', text: '' };
    this.send('response.content_part.added', { item_id: item.id, output_index: index, content_index: 0, part });
    item.content.push(audio ? { type: 'output_audio', transcript: '' } : { type: 'output_text', text: '' });
    this.open = { item, index, said: '', audio };
    if (audio && !this.settings.outOfBand)
      this.host.conversation.trackAudio(item.id, { sentMs: 0, totalMs: 0, fullTranscript: text });
    return item;
  }

  private async streamAudio(item: MessageItem, text: string, opts: RespondOptions): Promise<boolean> {
    const bpm = bytesPerMs(this.format);
    const source = opts.audio ? fromMulaw(opts.audio, this.format) : voiceFor(text, this.format);
    const totalBytes = opts.audioMs !== undefined ? this.wholeSamples(opts.audioMs * bpm) : source.length;
    const chunkMs = opts.chunkMs ?? this.host.defaults.chunkMs;
    const factor = opts.realtimeFactor ?? this.host.defaults.realtimeFactor;
    const delay = opts.paceMs ?? (Number.isFinite(factor) && factor > 0 ? chunkMs / factor : 0);
    const chunkBytes = Math.max(2, this.wholeSamples(chunkMs * bpm));
    const track = this.host.conversation.audioOf(item.id);
    if (track) track.totalMs = totalBytes / bpm;
    for (let sent = 0; sent < totalBytes; ) {
      const n = Math.min(chunkBytes, totalBytes - sent);
      this.sendAudioDelta(item.id, source, sent, n);
      sent += n;
      this.audioMs = sent / bpm;
      if (track) track.sentMs += n / bpm;
      this.sendTranscriptUpTo(wordsWithin(text, sent / totalBytes), text);
      if (sent < totalBytes && !(await this.pause(delay))) return false;
    }
    this.sendTranscriptUpTo(text.length, text);
    return true;
  }

  private streamContinuous(item: MessageItem, text: string, opts: RespondOptions): void {
    const clock = this.host.clock();
    const bpm = bytesPerMs(this.format);
    const source = opts.audio ? fromMulaw(opts.audio, this.format) : voiceFor(text, this.format);
    const frameBytes = this.wholeSamples(clock.periodMs * bpm);
    const totalBytes = this.wholeSamples((opts.audioMs ?? 60_000) * bpm);
    const track = this.host.conversation.audioOf(item.id);
    if (track) track.totalMs = totalBytes / bpm;
    this.sendTranscriptUpTo(text.length, text);
    let sent = 0;
    this.unsubscribe = clock.subscribe(() => {
      if (!this.active) return;
      const n = Math.min(frameBytes, totalBytes - sent);
      this.sendAudioDelta(item.id, source, sent, n);
      sent += n;
      this.audioMs = sent / bpm;
      if (track) track.sentMs += n / bpm;
      if (sent >= totalBytes) {
        this.stopPacing();
        this.finishMessage('completed');
        this.status = 'completed';
        this.finish(null);
      }
    });
  }

  private async streamText(item: MessageItem, text: string, opts: RespondOptions): Promise<boolean> {
    const words = text.split(/(?<= )/);
    const delay = opts.paceMs ?? 0;
    for (const w of words) {
      if (!(await this.pause(delay))) return false;
      this.send('response.output_text.delta', {
        item_id: item.id,
        output_index: this.open?.index ?? 0,
        content_index: 0,
        delta: w,
      });
      if (this.open) this.open.said += w;
      this.textChars += w.length;
    }
    return true;
  }

  /** Rounds a byte count to whole samples (PCM16 samples are 2 bytes). */
  private wholeSamples(bytes: number): number {
    const n = Math.round(bytes);
    return this.format.type === 'audio/pcm' ? n - (n % 2) : n;
  }

  private sendAudioDelta(itemId: string, source: Buffer, offset: number, n: number): void {
    const hook = this.host.beforeSendDelta;
    const start = source.length > 0 ? offset % source.length : 0;
    let bytes: Buffer;
    if (source.length === 0) bytes = Buffer.alloc(n);
    else if (!hook && start + n <= source.length) bytes = source.subarray(start, start + n);
    else {
      // Copy (the hook may stamp the bytes; the cached voice must stay intact), looping the voice.
      bytes = Buffer.allocUnsafe(n);
      for (let w = 0, pos = start; w < n; pos = 0) {
        const take = Math.min(n - w, source.length - pos);
        source.copy(bytes, w, pos, pos + take);
        w += take;
      }
    }
    if (hook) hook(bytes);
    const index = this.open?.index ?? 0;
    this.host.sendText(
      `{"type":"response.output_audio.delta","event_id":"${this.host.ids.next('event')}","response_id":"${this.id}",` +
        `"item_id":"${itemId}","output_index":${index},"content_index":0,"delta":"${bytes.toString('base64')}"}`,
    );
  }

  private sendTranscriptUpTo(chars: number, text: string): void {
    const o = this.open;
    if (!o || chars <= o.said.length) return;
    const delta = text.slice(o.said.length, chars);
    o.said += delta;
    this.textChars += delta.length;
    this.send('response.output_audio_transcript.delta', {
      item_id: o.item.id,
      output_index: o.index,
      content_index: 0,
      delta,
    });
  }

  private finishMessage(status: 'completed' | 'incomplete'): void {
    const o = this.open;
    if (!o) return;
    this.open = undefined;
    const base = { item_id: o.item.id, output_index: o.index, content_index: 0 };
    if (o.audio) {
      this.send('response.output_audio.done', base);
      this.send('response.output_audio_transcript.done', { ...base, transcript: o.said });
      this.send('response.content_part.done', { ...base, part: { type: 'audio', transcript: o.said } });
      o.item.content[0] = { type: 'output_audio', transcript: o.said };
    } else {
      this.send('response.output_text.done', { ...base, text: o.said });
      this.send('response.content_part.done', { ...base, part: { type: 'text', text: o.said } });
      o.item.content[0] = { type: 'output_text', text: o.said };
    }
    o.item.status = status;
    this.closeOutput(o.item, o.index);
  }

  private emitFunctionCall(call: FunctionCallSpec): void {
    const callId = call.callId ?? this.host.ids.next('call');
    const item: FunctionCallItem = {
      id: this.host.ids.next('item'),
      object: 'realtime.item',
      type: 'function_call',
      status: 'in_progress',
      call_id: callId,
      name: call.name,
      arguments: '',
    };
    const index = this.addOutput(item);
    const base = { item_id: item.id, output_index: index, call_id: callId };
    const half = Math.ceil(call.arguments.length / 2);
    for (const delta of [call.arguments.slice(0, half), call.arguments.slice(half)]) {
      if (delta) this.send('response.function_call_arguments.delta', { ...base, delta });
    }
    this.send('response.function_call_arguments.done', { ...base, name: call.name, arguments: call.arguments });
    item.arguments = call.arguments;
    item.status = 'completed';
    this.closeOutput(item, index);
  }

  private addOutput(item: ConvItem): number {
    const index = this.output.length;
    this.output.push(item);
    this.itemIds.push(item.id);
    this.send('response.output_item.added', { output_index: index, item });
    if (!this.settings.outOfBand) {
      const prev = this.host.conversation.insert(item);
      this.host.send({
        type: 'conversation.item.added',
        event_id: this.host.ids.next('event'),
        previous_item_id: this.host.dialect === 'xai' ? null : prev,
        item,
      });
    }
    return index;
  }

  private closeOutput(item: ConvItem, index: number): void {
    this.send('response.output_item.done', { output_index: index, item });
    if (!this.settings.outOfBand)
      this.host.send({ type: 'conversation.item.done', event_id: this.host.ids.next('event'), item });
  }

  private finish(details: JsonObject | null): void {
    this.stopPacing();
    this.host.send({
      type: 'response.done',
      event_id: this.host.ids.next('event'),
      response: this.responseObject(details),
    });
    this.resolveDone({
      responseId: this.id,
      itemIds: this.itemIds,
      status: this.status === 'completed' ? 'completed' : 'cancelled',
    });
  }

  private send(type: string, fields: Record<string, unknown>): void {
    this.host.send({ type, event_id: this.host.ids.next('event'), response_id: this.id, ...fields });
  }

  /** Waits `ms` (0: one setImmediate, so client events like response.cancel interleave); false if stopped. */
  private pause(ms: number): Promise<boolean> {
    if (!this.active) return Promise.resolve(false);
    return new Promise((resolve) => {
      this.wake = resolve;
      const go = (): void => {
        this.cancelTimer = undefined;
        this.wake = undefined;
        resolve(this.active);
      };
      if (ms > 0) {
        const t = setTimeout(go, ms);
        this.cancelTimer = () => clearTimeout(t);
      } else {
        const t = setImmediate(go);
        this.cancelTimer = () => clearImmediate(t);
      }
    });
  }

  private stopPacing(): void {
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    const wake = this.wake;
    this.wake = undefined;
    wake?.(false);
  }

  private responseObject(details: JsonObject | null = null): JsonObject {
    return responseJson({
      id: this.id,
      status: this.status,
      details,
      output: this.output,
      outOfBand: this.settings.outOfBand,
      conversationId: this.host.conversationId,
      modalities: this.settings.modalities,
      format: this.format,
      voice: this.voice,
      audioMs: this.audioMs,
      textChars: this.textChars,
      metadata: this.settings.metadata,
    });
  }
}
