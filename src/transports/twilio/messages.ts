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

// Outbound frames are built as strings: the payload is already base64 from the model and is
// never decoded on the way through (mu-law passes untouched).
export const outbound = {
  media: (streamSid: string, payload: string): string =>
    `{"event":"media","streamSid":${JSON.stringify(streamSid)},"media":{"payload":"${payload}"}}`,
  mark: (streamSid: string, name: string): string =>
    `{"event":"mark","streamSid":${JSON.stringify(streamSid)},"mark":{"name":${JSON.stringify(name)}}}`,
  clear: (streamSid: string): string => `{"event":"clear","streamSid":${JSON.stringify(streamSid)}}`,
};
