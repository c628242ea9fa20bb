import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fastAudioDelta, parseModelEvent, parseModelEventFull } from '../src/providers/model-events.js';
import { fastTwilioMedia, parseTwilioMessage, parseTwilioMessageFull } from '../src/transports/twilio/messages.js';

// The hot-path recognisers (a Twilio media frame, a model audio delta read without JSON.parse) may
// only ever decline: on every input they either return undefined or exactly what the full parser
// returns. Checked on the common shapes, on those shapes with fields reordered, dropped, duplicated
// or added, and on byte-level mutations of them (quotes, escapes, whitespace, numbers, truncation).

const b64 = fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString('base64'));
const token = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9]{0,34}$/),
  fc.string({ maxLength: 12 }),
  fc.constantFrom('', 'a"b', 'a\\b', '\n', '\u2028', '\uD800', 'é'),
);
const interesting = fc.constantFrom(
  '"',
  '\\',
  ',',
  '}',
  '{',
  ' ',
  ':',
  '0',
  '-',
  '.',
  'e',
  '=',
  'A',
  '\n',
  '\u0000',
  '"x":1,',
  '\\u0041',
  '[',
  'null',
);

interface Mutation {
  at: number;
  kind: 'insert' | 'delete' | 'replace' | 'truncate';
  text: string;
}
const mutation: fc.Arbitrary<Mutation> = fc.record({
  at: fc.nat(),
  kind: fc.constantFrom('insert', 'delete', 'replace', 'truncate'),
  text: interesting,
});
function mutate(s: string, ms: Mutation[]): string {
  let out = s;
  for (const m of ms) {
    const at = out.length === 0 ? 0 : m.at % out.length;
    if (m.kind === 'insert') out = out.slice(0, at) + m.text + out.slice(at);
    else if (m.kind === 'delete') out = out.slice(0, at) + out.slice(at + 1);
    else if (m.kind === 'replace') out = out.slice(0, at) + m.text + out.slice(at + 1);
    else out = out.slice(0, at);
  }
  return out;
}

/** A JSON object written field by field, in a chosen order, some fields dropped, duplicated or added. */
function writeObject(fields: [string, string][], order: number[], extra: [string, string][]): string {
  const picked = order.map((i) => fields[i % fields.length]).filter((f): f is [string, string] => f !== undefined);
  return `{${[...picked, ...extra].map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`;
}

const extraField = fc.oneof(
  fc.constant<[string, string][]>([]),
  fc.constant<[string, string][]>([]),
  fc
    .tuple(fc.constantFrom('extra', 'streamSid', 'media', 'event', 'delta', 'type', '__proto__'), token)
    .map(([k, v]): [string, string][] => [[k, JSON.stringify(v)]]),
);

const twilioMedia = fc
  .record({
    sid: fc.oneof(fc.constant('MZ0123456789abcdef0123456789abcdef'), token),
    seq: fc.oneof(fc.nat().map(String), token),
    track: fc.oneof(fc.constantFrom('inbound', 'outbound', 'inbound_track'), token),
    payload: fc.oneof({ weight: 4, arbitrary: b64 }, { weight: 1, arbitrary: token }),
    topOrder: fc.array(fc.nat(3), { maxLength: 4 }),
    mediaOrder: fc.array(fc.nat(4), { maxLength: 5 }),
    canonical: fc.boolean(),
    extra: extraField,
    mediaExtra: extraField,
  })
  .map((r) => {
    const mediaFields: [string, string][] = [
      ['track', JSON.stringify(r.track)],
      ['chunk', '"7"'],
      ['timestamp', '"120"'],
      ['payload', JSON.stringify(r.payload)],
    ];
    if (r.canonical) {
      const body = writeObject(mediaFields, [0, 1, 2, 3], []);
      const [seq, sid] = [JSON.stringify(r.seq), JSON.stringify(r.sid)];
      return `{"event":"media","sequenceNumber":${seq},"media":${body},"streamSid":${sid}}`;
    }
    const media = writeObject(mediaFields, r.mediaOrder, r.mediaExtra);
    const top: [string, string][] = [
      ['streamSid', JSON.stringify(r.sid)],
      ['sequenceNumber', JSON.stringify(r.seq)],
      ['media', media],
    ];
    return `{"event":"media",${writeObject(top, r.topOrder, r.extra).slice(1)}`;
  });

const modelDelta = fc
  .record({
    type: fc.constantFrom('response.output_audio.delta', 'response.audio.delta', 'response.done'),
    rid: token,
    iid: token,
    index: fc.oneof(
      { weight: 4, arbitrary: fc.nat(40).map(String) },
      { weight: 1, arbitrary: fc.constantFrom('-1', '01', '1.5', '1e3', '"0"', 'null', '1234567890', '123456789') },
    ),
    delta: fc.oneof({ weight: 4, arbitrary: b64 }, { weight: 1, arbitrary: token }),
    order: fc.array(fc.nat(6), { maxLength: 7 }),
    canonical: fc.boolean(),
    extra: extraField,
  })
  .map((r) => {
    const fields: [string, string][] = [
      ['event_id', '"event_1"'],
      ['response_id', JSON.stringify(r.rid)],
      ['item_id', JSON.stringify(r.iid)],
      ['output_index', r.index],
      ['content_index', '0'],
      ['delta', JSON.stringify(r.delta)],
    ];
    const order = r.canonical ? [0, 1, 2, 3, 4, 5] : r.order;
    return `{"type":${JSON.stringify(r.type)},${writeObject(fields, order, r.canonical ? [] : r.extra).slice(1)}`;
  });

function twilioFull(text: string): unknown {
  return parseTwilioMessageFull(text);
}

describe('hot-path recognisers agree with the full parsers', () => {
  it('recognise the frames Twilio and the simulator send, and the Realtime API audio delta', () => {
    const payload = Buffer.alloc(160, 0xff).toString('base64');
    const body = `{"track":"inbound","chunk":"1","timestamp":"0","payload":"${payload}"}`;
    const twilio = `{"event":"media","sequenceNumber":"2","media":${body},"streamSid":"MZ01"}`;
    const docs = `{"event":"media","sequenceNumber":"2","streamSid":"MZ01","media":${body}}`;
    const sim = `{"event":"media","streamSid":"MZ01","sequenceNumber":"3","media":${body}}`;
    for (const t of [twilio, docs, sim]) {
      expect(fastTwilioMedia(t)).toBeDefined();
      expect(parseTwilioMessage(t)).toEqual(twilioFull(t));
    }
    const ids = '"event_id":"e1","response_id":"r1","item_id":"i1","output_index":0,"content_index":0';
    const delta = `{"type":"response.output_audio.delta",${ids},"delta":"${payload}"}`;
    expect(fastAudioDelta(delta)).toEqual({ type: 'audio', responseId: 'r1', itemId: 'i1', delta: payload });
    expect(parseModelEventFull(delta)).toEqual(parseModelEvent(delta));
  });

  it('decline what they do not read plainly: escapes, whitespace, other fields or orders', () => {
    const declined = [
      '{"event":"media","streamSid":"MZ\\u0031","media":{"payload":"AAAA"}}',
      '{"event":"media", "streamSid":"MZ1","media":{"payload":"AAAA"}}',
      '{"event":"media","streamSid":"MZ1","media":{"payload":"AAAA"},"x":"1"}',
      '{"event":"media","streamSid":"MZ1","streamSid":"MZ2","media":{"payload":"AAAA"}}',
      '{"event":"media","streamSid":"MZ1","media":{"payload":"AA"}}',
      '{"event":"media","streamSid":"","media":{"payload":"AAAA"}}',
      '{"event":"media","streamSid":"MZ1","media":{"payload":"AAAA"}} ',
    ];
    for (const t of declined) expect(fastTwilioMedia(t), t).toBeUndefined();
    expect(fastAudioDelta('{"type":"response.output_audio.delta","output_index":1e0,"delta":"AAAA"}')).toBeUndefined();
    expect(fastAudioDelta('{"type":"response.output_audio.delta","delta":"AA\\"}')).toBeUndefined();
  });

  it('Twilio media: the fast path declines or agrees, on generated and mutated frames', () => {
    let recognised = 0;
    fc.assert(
      fc.property(twilioMedia, fc.array(mutation, { maxLength: 3 }), (frame, ms) => {
        const text = mutate(frame, ms);
        const fast = fastTwilioMedia(text);
        if (fast !== undefined) {
          recognised++;
          expect({ ok: true, msg: fast }).toEqual(twilioFull(text));
        }
        expect(parseTwilioMessage(text)).toEqual(twilioFull(text));
      }),
      { numRuns: 20_000 },
    );
    // Not vacuous: a good share of the inputs took the fast path.
    expect(recognised).toBeGreaterThan(1000);
  });

  it('model audio delta: the fast path declines or agrees, on generated and mutated events', () => {
    let recognised = 0;
    fc.assert(
      fc.property(modelDelta, fc.array(mutation, { maxLength: 3 }), (event, ms) => {
        const text = mutate(event, ms);
        const fast = fastAudioDelta(text);
        if (fast !== undefined) {
          recognised++;
          expect(fast).toEqual(parseModelEventFull(text));
        }
        expect(parseModelEvent(text)).toEqual(parseModelEventFull(text));
      }),
      { numRuns: 20_000 },
    );
    expect(recognised).toBeGreaterThan(500);
  });
});
