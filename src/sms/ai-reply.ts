import OpenAI from 'openai';
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import type { Merchant } from '../merchants/merchant.js';
import type { ThreadMessage } from './conversations.js';

// The bot's text answer in a thread, through the OpenAI Chat Completions API (POST /chat/completions)
// from the merchant's instructions and the last messages of the thread. Without OPENAI_API_KEY the
// answer is a clearly labelled simulation, so a development setup still shows the whole flow.
//
// Privacy: participants' phone numbers are not sent to the model; each author becomes
// "Participant 1", "Participant 2", … in order of appearance.

/** A single SMS/MMS body must stay within 1,600 characters (Twilio's limit for Conversations). */
export const SMS_MAX_CHARS = 1600;
export const SIMULATED_LABEL = '[Simulated AI reply: OPENAI_API_KEY is not set]';

export interface ReplyRequest {
  merchant: Merchant | undefined;
  /** Oldest first; includes the message being answered. */
  history: ThreadMessage[];
  botIdentity: string;
}

export type ReplyWriter = (req: ReplyRequest, signal?: AbortSignal) => Promise<string>;

export interface ReplyWriterOptions {
  apiKey: string | undefined;
  baseUrl: string | undefined;
  model: string;
  timeoutMs?: number;
  /** Cap on the answer's length in tokens (default 500, comfortably under 1,600 characters). */
  maxTokens?: number;
}

/** Cuts to `max` characters at a sentence or word boundary when one is near, ending with '…'. */
export function truncateSms(text: string, max = SMS_MAX_CHARS): string {
  const t = text.trim();
  if (t.length <= max) return t;
  const room = t.slice(0, max - 1);
  const sentence = Math.max(
    room.lastIndexOf('. '),
    room.lastIndexOf('! '),
    room.lastIndexOf('? '),
    room.lastIndexOf('\n'),
  );
  if (sentence >= max * 0.6) return `${room.slice(0, sentence + 1).trimEnd()}…`;
  const space = room.lastIndexOf(' ');
  return `${(space >= max * 0.6 ? room.slice(0, space) : room).trimEnd()}…`;
}

export function systemPrompt(merchant: Merchant | undefined): string {
  const business = merchant
    ? `You are the text-message assistant of ${merchant.name}.`
    : 'You are a helpful text-message assistant.';
  return [
    business,
    merchant?.instructions ?? '',
    'You are replying in an SMS thread that may include several people. Answer the latest message.',
    'Reply in plain text (no markdown), briefly: one to three short sentences, never more than 1,500 characters.',
  ]
    .filter((s) => s.trim() !== '')
    .join('\n\n');
}

/** The thread as chat messages: the bot's own texts are the assistant's turns. */
export function chatMessages(req: ReplyRequest): ChatCompletionMessageParam[] {
  const labels = new Map<string, string>();
  const out: ChatCompletionMessageParam[] = [{ role: 'system', content: systemPrompt(req.merchant) }];
  for (const m of req.history) {
    if (m.body.trim() === '') continue;
    if (m.author === req.botIdentity) {
      out.push({ role: 'assistant', content: m.body });
      continue;
    }
    if (m.author === 'system') continue; // REST posts without an author: notices, not people
    let label = labels.get(m.author);
    if (label === undefined) {
      label = `Participant ${labels.size + 1}`;
      labels.set(m.author, label);
    }
    out.push({ role: 'user', content: `${label}: ${m.body}` });
  }
  return out;
}

function simulated(req: ReplyRequest): string {
  const last = [...req.history].reverse().find((m) => m.author !== req.botIdentity && m.body.trim() !== '');
  const quote = last ? truncateSms(last.body, 200) : '';
  return truncateSms(
    `${SIMULATED_LABEL} I got your message${quote ? `: "${quote}"` : ''}. A real answer needs an OpenAI API key.`,
  );
}

export function createReplyWriter(opts: ReplyWriterOptions): ReplyWriter {
  const apiKey = opts.apiKey;
  if (!apiKey) return (req) => Promise.resolve(simulated(req));
  // One retry for a transient 5xx/429/connection error: an answer twice would be harmless (nothing is
  // posted until it returns), a missing one is what the author would notice.
  const client = new OpenAI({ apiKey, baseURL: opts.baseUrl, maxRetries: 1, timeout: opts.timeoutMs ?? 20_000 });
  return async (req, signal) => {
    const completion = await client.chat.completions.create(
      { model: opts.model, messages: chatMessages(req), max_completion_tokens: opts.maxTokens ?? 500 },
      { signal },
    );
    const text = completion.choices[0]?.message.content ?? '';
    if (text.trim() === '') throw new Error('the model returned an empty answer');
    return truncateSms(text);
  };
}
