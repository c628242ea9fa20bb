import type { ModelControlEvent } from './realtime-connection.js';

// When xAI has refused to resume a conversation. xAI documents only the success path (the resumed
// socket's conversation.created carries the id asked for); how a refusal looks is not documented, so
// the relay takes each of these as one and falls back to a fresh session seeded with the conversation:
// - the upgrade answered with a 4xx other than 401/403 (the id unknown or expired, 404 most likely);
// - an error event, before the resumed session is ready, that names the conversation or the resumption;
// - a conversation.created with another id (or none): the server started a new, empty conversation;
// - the resume socket failing twice for any other reason (a server that closes resumed sockets would
//   otherwise use up the whole reconnect window).

/** Resume attempts that fail without a clear refusal before the relay stops asking for resumption. */
const MAX_RESUME_FAILURES = 2;

/** 401/403: the key, not the conversation; no session of any kind will open (the call apologises). */
const AUTH = new Set([4401, 4403]);

/**
 * A resume socket closed before its session was ready (ModelConnection reports an upgrade refusal as
 * 4000 + HTTP status): whether to give up resuming and open a fresh session now.
 */
export function stopResuming(code: number, failures: number): boolean {
  if (AUTH.has(code)) return false;
  return (code >= 4400 && code < 4500) || failures >= MAX_RESUME_FAILURES;
}

/** An error event that refuses the resumption rather than anything the relay sent. */
export function namesResumption(e: Extract<ModelControlEvent, { type: 'error' }>): boolean {
  if (e.severity === 'benign') return false;
  return /resum|conversation/i.test(`${e.code} ${e.message} ${e.param ?? ''}`);
}
