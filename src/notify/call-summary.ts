import OpenAI from 'openai';
import type { Merchant, ProviderName } from '../merchants/merchant.js';
import type { CallRecord } from '../store/call-record.js';

// The short summary of a finished call that goes into the post-call webhook, written by the
// merchant's own model provider as plain text through Chat Completions (OpenAI's, or xAI's
// OpenAI-compatible one). Phone numbers are not sent; the transcript already names roles.

export type SummaryWriter = (merchant: Merchant, record: CallRecord, signal?: AbortSignal) => Promise<string>;

export interface TextModel {
  /** Unset: this provider writes no summaries. */
  apiKey: string | undefined;
  /** e.g. http://127.0.0.1:4010/v1 in tests; unset: the provider's own. */
  baseUrl: string | undefined;
  model: string;
}

export interface SummaryWriterOptions {
  /** The relay's PROVIDER, for merchants that do not name one. */
  defaultProvider: ProviderName;
  openai: TextModel;
  xai: TextModel;
  timeoutMs?: number;
}

export const XAI_TEXT_BASE_URL = 'https://api.x.ai/v1';
/** Longest transcript sent (characters, from the end: how a call ended matters most). */
const MAX_TRANSCRIPT = 12_000;
export const SUMMARY_MAX_CHARS = 600;

export class NoSummaryModel extends Error {}

/** Phone numbers (tool outputs echo the caller's) become "[number]": the summary does not need them. */
export function withoutNumbers(text: string): string {
  return text.replace(/\+?\d[\d ().-]{5,}\d/g, '[number]');
}

export function summaryPrompt(merchant: Pick<Merchant, 'name'>, record: CallRecord): string {
  const tools = record.toolCalls.map(
    (t) => `${t.name} (${t.ok ? 'ok' : 'failed'}): ${withoutNumbers(t.output.slice(0, 300))}`,
  );
  const text = withoutNumbers(record.transcriptText);
  const transcript = text.length > MAX_TRANSCRIPT ? `…${text.slice(-MAX_TRANSCRIPT)}` : text;
  return [
    `Phone call to ${merchant.name}, ${record.direction}, ${Math.round((record.durationMs ?? 0) / 1000)} s, ` +
      `ended: ${record.endReason ?? 'unknown'}.`,
    tools.length > 0 ? `Tools used:\n${tools.join('\n')}` : 'No tools were used.',
    `Transcript:\n${transcript || '(nothing was said)'}`,
  ].join('\n\n');
}

const SYSTEM =
  'You summarise phone calls for the owner of the business that was called. In one to three short ' +
  'sentences of plain text (no markdown): who called, what they wanted, what was done (bookings, ' +
  'cancellations, messages, transfers) and anything the business still has to do. Do not invent details.';

export function createSummaryWriter(opts: SummaryWriterOptions): SummaryWriter {
  const clients = new Map<'openai' | 'xai', OpenAI>();
  const clientFor = (p: 'openai' | 'xai'): { client: OpenAI; model: string } => {
    const conf = p === 'openai' ? opts.openai : opts.xai;
    if (!conf.apiKey) throw new NoSummaryModel(`no ${p === 'openai' ? 'OPENAI_API_KEY' : 'XAI_API_KEY'} for summaries`);
    let client = clients.get(p);
    if (!client) {
      const baseURL = conf.baseUrl ?? (p === 'xai' ? XAI_TEXT_BASE_URL : undefined);
      // No retries here: the webhook goes out without a summary rather than wait.
      client = new OpenAI({ apiKey: conf.apiKey, baseURL, maxRetries: 0, timeout: opts.timeoutMs ?? 10_000 });
      clients.set(p, client);
    }
    return { client, model: conf.model };
  };
  return async (merchant, record, signal) => {
    const provider = merchant.provider ?? opts.defaultProvider;
    if (provider === 'sim') throw new NoSummaryModel('the simulated provider writes no summaries');
    // A GPT-Live merchant's summary is written by OpenAI's text model, on the same key.
    const { client, model } = clientFor(provider === 'openai-live' ? 'openai' : provider);
    const completion = await client.chat.completions.create(
      {
        model,
        messages: [
          { role: 'system', content: SYSTEM },
          { role: 'user', content: summaryPrompt(merchant, record) },
        ],
        max_completion_tokens: 200,
      },
      { signal },
    );
    const text = (completion.choices[0]?.message.content ?? '').trim();
    if (text === '') throw new Error('the model returned an empty summary');
    return text.length > SUMMARY_MAX_CHARS ? `${text.slice(0, SUMMARY_MAX_CHARS - 1)}…` : text;
  };
}
