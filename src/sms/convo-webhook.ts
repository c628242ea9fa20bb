import type { TemplatedApp } from '../transports/uws.js';
import { json, type Reply } from '../http/uws-http.js';
import { mountFormWebhook, type FormWebhookDeps } from './form-webhook.js';

// POST /twilio/convo: Twilio Conversations post-action webhooks (docs/protocols.md, "Conversations
// webhooks"). Only onMessageAdded does anything; other event types configured on the same URL are
// acknowledged. The answer is 200 as soon as the event is accepted (Twilio's limit is 5 s and it
// ignores the body); the work happens afterwards in the SMS inbox actor.

export const CONVO_WEBHOOK_PATH = '/twilio/convo';

export interface MessageAdded {
  type: 'onMessageAdded';
  conversationSid: string;
  messageSid: string | undefined;
  index: number | undefined;
  /** Identity, address (+1415…) or 'system' for REST posts without an author. */
  author: string;
  body: string;
  /** Upper-cased: SMS, API, SDK, WHATSAPP, … (Twilio's casing is not documented consistently). */
  source: string | undefined;
  participantSid: string | undefined;
}

export type ConvoEvent = MessageAdded | { type: 'other'; eventType: string };

export type ParseResult = { ok: true; event: ConvoEvent } | { ok: false; error: string };

const CONVERSATION_SID = /^CH[0-9a-fA-F]{32}$/;
const MESSAGE_SID = /^IM[0-9a-fA-F]{32}$/;

function opt(params: URLSearchParams, name: string): string | undefined {
  const v = params.get(name);
  return v === null || v === '' ? undefined : v;
}

/** Twilio's form params → a typed event, or the reason the request is malformed (400). */
export function parseConvoEvent(params: URLSearchParams): ParseResult {
  const eventType = opt(params, 'EventType');
  if (eventType === undefined) return { ok: false, error: 'missing EventType' };
  if (eventType !== 'onMessageAdded') return { ok: true, event: { type: 'other', eventType } };
  const conversationSid = opt(params, 'ConversationSid');
  if (conversationSid === undefined) return { ok: false, error: 'missing ConversationSid' };
  if (!CONVERSATION_SID.test(conversationSid))
    return { ok: false, error: 'malformed ConversationSid (expected CH + 32 hex digits)' };
  const messageSid = opt(params, 'MessageSid');
  if (messageSid !== undefined && !MESSAGE_SID.test(messageSid))
    return { ok: false, error: 'malformed MessageSid (expected IM + 32 hex digits)' };
  const indexRaw = opt(params, 'Index');
  let index: number | undefined;
  if (indexRaw !== undefined) {
    if (!/^\d{1,15}$/.test(indexRaw)) return { ok: false, error: 'malformed Index (expected a whole number)' };
    index = Number(indexRaw);
  }
  if (messageSid === undefined && index === undefined)
    return { ok: false, error: 'missing MessageSid (and no Index either)' };
  const author = opt(params, 'Author');
  if (author === undefined) return { ok: false, error: 'missing Author' };
  return {
    ok: true,
    event: {
      type: 'onMessageAdded',
      conversationSid,
      messageSid,
      index,
      author,
      body: params.get('Body') ?? '',
      source: opt(params, 'Source')?.toUpperCase(),
      participantSid: opt(params, 'ParticipantSid'),
    },
  };
}

/** The key a retry of the same event shares: MessageSid, else ConversationSid:Index. */
export function dedupeKey(e: MessageAdded): string {
  return e.messageSid ?? `${e.conversationSid}:${e.index ?? ''}`;
}

export type Verdict = 'accepted' | 'duplicate' | 'rate_limited' | 'ignored';

/**
 * Mounts the route. `accept` decides (dedupe, rate limit, hand to the inbox) and must not wait for
 * the work itself; its verdict is echoed in the 200 body for logs and tests.
 */
export function mountConvoWebhook(
  app: TemplatedApp,
  deps: FormWebhookDeps,
  accept: (e: MessageAdded) => Promise<Verdict>,
): void {
  mountFormWebhook(app, CONVO_WEBHOOK_PATH, deps, async (params): Promise<Reply> => {
    const parsed = parseConvoEvent(params);
    if (!parsed.ok) return json(400, { error: parsed.error });
    if (parsed.event.type === 'other') return json(200, { ok: true, verdict: 'ignored' satisfies Verdict });
    return json(200, { ok: true, verdict: await accept(parsed.event) });
  });
}
