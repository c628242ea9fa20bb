// Strict parser for what a relay sends to Twilio (docs/protocols.md, "Media Streams: messages to
// Twilio"). Twilio accepts only these three shapes; anything else (non-JSON, other events, missing or
// extra fields, another stream's streamSid, a payload that is not base64) is dropped with warning
// 31951. The simulated caller uses this to flag relay bugs the real network would hide as silence.

export type RelayFrame =
  | { event: 'media'; streamSid: string; media: { payload: string } }
  | { event: 'mark'; streamSid: string; mark: { name: string } }
  | { event: 'clear'; streamSid: string };

/** An invalid frame the relay sent, as the simulated caller records it. */
export interface ProtocolError {
  at: number;
  reason: string;
  /** Start of the offending frame (at most 200 chars). */
  sample: string;
}

export type RelayParse = { ok: true; frame: RelayFrame } | { ok: false; error: string };

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function extraKey(o: Obj, allowed: readonly string[]): string | undefined {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) return k;
  return undefined;
}

export function parseRelayFrame(text: string, expectedStreamSid: string): RelayParse {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { ok: false, error: 'not JSON' };
  }
  if (!isObj(raw)) return { ok: false, error: 'not a JSON object' };
  const event = raw.event;
  if (event !== 'media' && event !== 'mark' && event !== 'clear') {
    return { ok: false, error: `unsupported event ${JSON.stringify(event ?? null).slice(0, 40)}` };
  }
  const fail = (why: string): RelayParse => ({ ok: false, error: `${event}: ${why}` });
  const streamSid = raw.streamSid;
  if (typeof streamSid !== 'string') return fail('missing streamSid');
  if (streamSid !== expectedStreamSid) return fail(`wrong streamSid ${JSON.stringify(streamSid).slice(0, 40)}`);
  const allowed = event === 'clear' ? ['event', 'streamSid'] : ['event', 'streamSid', event];
  const extra = extraKey(raw, allowed);
  if (extra !== undefined) return fail(`unexpected field ${JSON.stringify(extra)}`);

  if (event === 'clear') return { ok: true, frame: { event, streamSid } };
  if (event === 'mark') {
    const mark = raw.mark;
    if (!isObj(mark) || typeof mark.name !== 'string') return fail('missing mark.name');
    const x = extraKey(mark, ['name']);
    if (x !== undefined) return fail(`unexpected field mark.${x}`);
    return { ok: true, frame: { event, streamSid, mark: { name: mark.name } } };
  }
  const media = raw.media;
  if (!isObj(media) || typeof media.payload !== 'string') return fail('missing media.payload');
  const x = extraKey(media, ['payload']);
  if (x !== undefined) return fail(`unexpected field media.${x}`);
  const payload = media.payload;
  if (payload.length % 4 !== 0 || !BASE64.test(payload)) return fail('media.payload is not base64');
  return { ok: true, frame: { event, streamSid, media: { payload } } };
}
