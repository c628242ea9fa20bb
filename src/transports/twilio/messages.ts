import { isBase64 } from '../../audio/base64.js';

// Twilio Media Streams wire messages (bidirectional <Connect><Stream>), parsed at the edge into a
// discriminated union, and outbound frames built. Shapes follow docs/protocols.md ("Media Streams:
// messages from Twilio" and "... to Twilio"); numeric fields are strings on the wire and stay
// strings here except where the relay does arithmetic with them.

export interface TwilioConnected {
  event: 'connected';
  protocol: string;
  version: string;
}

export interface TwilioStart {
  event: 'start';
  sequenceNumber: string;
  streamSid: string;
  start: {
    accountSid: string;
    streamSid: string;
    callSid: string;
    tracks: string[];
    mediaFormat: { encoding: string; sampleRate: number; channels: number };
    customParameters: Record<string, string>;
  };
}

export interface TwilioMedia {
  event: 'media';
  sequenceNumber: string;
  streamSid: string;
  media: { track: string; chunk: string; timestamp: string; payload: string };
}

export interface TwilioDtmf {
  event: 'dtmf';
  sequenceNumber: string;
  streamSid: string;
  dtmf: { track: string; digit: string };
}

export interface TwilioMark {
  event: 'mark';
  sequenceNumber: string;
  streamSid: string;
  mark: { name: string };
}

export interface TwilioStop {
  event: 'stop';
  sequenceNumber: string;
  streamSid: string;
  stop: { accountSid: string; callSid: string };
}

export type TwilioInbound = TwilioConnected | TwilioStart | TwilioMedia | TwilioDtmf | TwilioMark | TwilioStop;

export type ParseResult<T> = { ok: true; msg: T } | { ok: false; error: string };

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (o: Obj, k: string): string | undefined => (typeof o[k] === 'string' ? (o[k] as string) : undefined);

function stringMap(v: unknown): Record<string, string> | undefined {
  if (v === undefined) return {};
  if (!isObj(v)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) {
    if (typeof val !== 'string') return undefined;
    out[k] = val;
  }
  return out;
}

/** Parse one text frame from Twilio. Never throws; an error names what was wrong. */
export function parseTwilioMessage(text: string): ParseResult<TwilioInbound> {
  const media = fastTwilioMedia(text);
  return media !== undefined ? { ok: true, msg: media } : parseTwilioMessageFull(text);
}

/** The full parser: JSON.parse, then every event. */
export function parseTwilioMessageFull(text: string): ParseResult<TwilioInbound> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { ok: false, error: 'not JSON' };
  }
  return parseTwilioObject(raw);
}

export function parseTwilioObject(raw: unknown): ParseResult<TwilioInbound> {
  if (!isObj(raw)) return { ok: false, error: 'not an object' };
  const event = str(raw, 'event');
  const fail = (why: string): ParseResult<TwilioInbound> => ({ ok: false, error: `${event ?? '?'}: ${why}` });
  switch (event) {
    case 'connected':
      return { ok: true, msg: { event, protocol: str(raw, 'protocol') ?? '', version: str(raw, 'version') ?? '' } };
    case 'start': {
      const s = raw.start;
      if (!isObj(s)) return fail('missing start');
      const streamSid = str(s, 'streamSid') ?? str(raw, 'streamSid');
      const callSid = str(s, 'callSid');
      if (!streamSid || !callSid) return fail('missing streamSid/callSid');
      const params = stringMap(s.customParameters);
      if (!params) return fail('customParameters must be a string map');
      const mf = isObj(s.mediaFormat) ? s.mediaFormat : {};
      return {
        ok: true,
        msg: {
          event,
          sequenceNumber: str(raw, 'sequenceNumber') ?? '',
          streamSid,
          start: {
            accountSid: str(s, 'accountSid') ?? '',
            streamSid,
            callSid,
            tracks: Array.isArray(s.tracks) ? s.tracks.filter((t): t is string => typeof t === 'string') : [],
            mediaFormat: {
              encoding: typeof mf.encoding === 'string' ? mf.encoding : 'audio/x-mulaw',
              sampleRate: typeof mf.sampleRate === 'number' ? mf.sampleRate : 8000,
              channels: typeof mf.channels === 'number' ? mf.channels : 1,
            },
            customParameters: params,
          },
        },
      };
    }
    case 'media': {
      const m = raw.media;
      const streamSid = str(raw, 'streamSid');
      if (!streamSid || !isObj(m)) return fail('missing streamSid/media');
      const payload = str(m, 'payload');
      if (payload === undefined) return fail('missing media.payload');
      // Spliced into the model's JSON without re-encoding: only real base64 may pass.
      if (!isBase64(payload)) return fail('media.payload is not base64');
      return {
        ok: true,
        msg: {
          event,
          sequenceNumber: str(raw, 'sequenceNumber') ?? '',
          streamSid,
          media: {
            track: str(m, 'track') ?? 'inbound',
            chunk: str(m, 'chunk') ?? '',
            timestamp: str(m, 'timestamp') ?? '',
            payload,
          },
        },
      };
    }
    case 'dtmf': {
      const d = raw.dtmf;
      const streamSid = str(raw, 'streamSid');
      if (!streamSid || !isObj(d)) return fail('missing streamSid/dtmf');
      const digit = str(d, 'digit');
      if (!digit || !/^[0-9*#A-D]$/.test(digit)) return fail('bad dtmf.digit');
      return {
        ok: true,
        msg: {
          event,
          sequenceNumber: str(raw, 'sequenceNumber') ?? '',
          streamSid,
          dtmf: { track: str(d, 'track') ?? '', digit },
        },
      };
    }
    case 'mark': {
      const mk = raw.mark;
      const streamSid = str(raw, 'streamSid');
      if (!streamSid || !isObj(mk)) return fail('missing streamSid/mark');
      const name = str(mk, 'name');
      if (name === undefined) return fail('missing mark.name');
      return { ok: true, msg: { event, sequenceNumber: str(raw, 'sequenceNumber') ?? '', streamSid, mark: { name } } };
    }
    case 'stop': {
      const st = isObj(raw.stop) ? raw.stop : {};
      const streamSid = str(raw, 'streamSid');
      if (!streamSid) return fail('missing streamSid');
      return {
        ok: true,
        msg: {
          event,
          sequenceNumber: str(raw, 'sequenceNumber') ?? '',
          streamSid,
          stop: { accountSid: str(st, 'accountSid') ?? '', callSid: str(st, 'callSid') ?? '' },
        },
      };
    }
    default:
      return { ok: false, error: `unknown event ${JSON.stringify(event ?? null).slice(0, 40)}` };
  }
}

// The hot path reads a `media` frame in exactly the shapes Twilio and its docs write (three field
// orders, no whitespace) with one regular expression instead of JSON.parse: strings without escapes
// or control characters, a base64 payload, nothing else. Anything else, valid or not, goes to the
// full parser, so the two always agree (test/model-events-fast.test.ts checks it on mutated frames).
const PLAIN = '([^"\\\\\\x00-\\x1f]*)';
// The alphabet of isBase64 (src/audio/base64.ts); the length is checked after the match.
const B64 = '([A-Za-z0-9+/]*={0,2})';
const MEDIA_BODY = `"media":\\{"track":"${PLAIN}","chunk":"${PLAIN}","timestamp":"${PLAIN}","payload":"${B64}"\\}`;
const SID = `"streamSid":"${PLAIN}"`;
const SEQ = `"sequenceNumber":"${PLAIN}"`;
/** Each shape with the capture index of: streamSid, sequenceNumber, then the media body's four. */
const MEDIA_SHAPES: readonly { re: RegExp; sid: number; seq: number; body: number }[] = [
  { re: new RegExp(`^\\{"event":"media",${SEQ},${MEDIA_BODY},${SID}\\}$`), sid: 6, seq: 1, body: 2 },
  { re: new RegExp(`^\\{"event":"media",${SEQ},${SID},${MEDIA_BODY}\\}$`), sid: 2, seq: 1, body: 3 },
  { re: new RegExp(`^\\{"event":"media",${SID},${SEQ},${MEDIA_BODY}\\}$`), sid: 1, seq: 2, body: 3 },
];

/** The hot path: a `media` frame in a common shape, or undefined (the full parser decides). */
export function fastTwilioMedia(text: string): TwilioMedia | undefined {
  for (const shape of MEDIA_SHAPES) {
    const m = shape.re.exec(text);
    if (m === null) continue;
    const streamSid = m[shape.sid] as string;
    const payload = m[shape.body + 3] as string;
    // An empty streamSid or a payload of the wrong length: the full parser words the error.
    if (streamSid === '' || payload.length % 4 !== 0) return undefined;
    return {
      event: 'media',
      sequenceNumber: m[shape.seq] as string,
      streamSid,
      media: {
        track: m[shape.body] as string,
        chunk: m[shape.body + 1] as string,
        timestamp: m[shape.body + 2] as string,
        payload,
      },
    };
  }
  return undefined;
}

// Outbound frames are built as strings: the payload is already base64 from the model and is
// never decoded on the way through (mu-law passes untouched).
export const outbound = {
  media: (streamSid: string, payload: string): string => `${outbound.mediaHead(streamSid)}${payload}"}}`,
  /** Everything before the payload, made once per stream (the streamSid is quoted once, not per frame). */
  mediaHead: (streamSid: string): string =>
    `{"event":"media","streamSid":${JSON.stringify(streamSid)},"media":{"payload":"`,
  mark: (streamSid: string, name: string): string =>
    `{"event":"mark","streamSid":${JSON.stringify(streamSid)},"mark":{"name":${JSON.stringify(name)}}}`,
  clear: (streamSid: string): string => `{"event":"clear","streamSid":${JSON.stringify(streamSid)}}`,
};
