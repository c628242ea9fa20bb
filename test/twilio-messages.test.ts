import { describe, expect, it } from 'vitest';
import { base64ByteLength } from '../src/audio/base64.js';
import { outbound, parseTwilioMessage } from '../src/transports/twilio/messages.js';

const start = {
  event: 'start',
  sequenceNumber: '1',
  streamSid: 'MZ1',
  start: {
    accountSid: 'AC1',
    streamSid: 'MZ1',
    callSid: 'CA1',
    tracks: ['inbound'],
    mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
    customParameters: { merchantId: 'demo' },
  },
};

describe('Twilio Media Streams messages', () => {
  it('parses every inbound event into the union', () => {
    expect(
      parseTwilioMessage(JSON.stringify({ event: 'connected', protocol: 'Call', version: '1.0.0' })),
    ).toMatchObject({ ok: true, msg: { event: 'connected' } });
    const s = parseTwilioMessage(JSON.stringify(start));
    expect(s).toMatchObject({
      ok: true,
      msg: { event: 'start', streamSid: 'MZ1', start: { callSid: 'CA1', customParameters: { merchantId: 'demo' } } },
    });
    const m = parseTwilioMessage(
      JSON.stringify({
        event: 'media',
        sequenceNumber: '2',
        streamSid: 'MZ1',
        media: { track: 'inbound', chunk: '1', timestamp: '20', payload: '//8=' },
      }),
    );
    expect(m).toMatchObject({ ok: true, msg: { event: 'media', media: { payload: '//8=', timestamp: '20' } } });
    expect(
      parseTwilioMessage(
        JSON.stringify({
          event: 'dtmf',
          streamSid: 'MZ1',
          sequenceNumber: '3',
          dtmf: { track: 'inbound_track', digit: '7' },
        }),
      ),
    ).toMatchObject({ ok: true, msg: { dtmf: { digit: '7' } } });
    expect(
      parseTwilioMessage(
        JSON.stringify({ event: 'mark', streamSid: 'MZ1', sequenceNumber: '4', mark: { name: '0:0:100' } }),
      ),
    ).toMatchObject({ ok: true, msg: { mark: { name: '0:0:100' } } });
    expect(
      parseTwilioMessage(
        JSON.stringify({
          event: 'stop',
          streamSid: 'MZ1',
          sequenceNumber: '5',
          stop: { accountSid: 'AC1', callSid: 'CA1' },
        }),
      ),
    ).toMatchObject({ ok: true, msg: { event: 'stop', stop: { callSid: 'CA1' } } });
  });

  it('rejects malformed input with a reason instead of throwing', () => {
    expect(parseTwilioMessage('not json')).toEqual({ ok: false, error: 'not JSON' });
    expect(parseTwilioMessage('[1,2]')).toMatchObject({ ok: false });
    expect(parseTwilioMessage(JSON.stringify({ event: 'media', streamSid: 'MZ1' }))).toMatchObject({
      ok: false,
      error: expect.stringContaining('media'),
    });
    expect(
      parseTwilioMessage(JSON.stringify({ event: 'media', streamSid: 'MZ1', media: { payload: 5 } })),
    ).toMatchObject({ ok: false });
    expect(
      parseTwilioMessage(JSON.stringify({ event: 'dtmf', streamSid: 'MZ1', dtmf: { digit: '12' } })),
    ).toMatchObject({ ok: false });
    expect(
      parseTwilioMessage(JSON.stringify({ ...start, start: { ...start.start, customParameters: { a: 1 } } })),
    ).toMatchObject({ ok: false });
    expect(parseTwilioMessage(JSON.stringify({ event: 'hello' }))).toMatchObject({
      ok: false,
      error: expect.stringContaining('unknown event'),
    });
  });

  it('builds the three outbound messages Twilio accepts, as valid JSON', () => {
    expect(JSON.parse(outbound.media('MZ1', 'AAAA'))).toEqual({
      event: 'media',
      streamSid: 'MZ1',
      media: { payload: 'AAAA' },
    });
    expect(JSON.parse(outbound.mark('MZ1', 'a"b'))).toEqual({ event: 'mark', streamSid: 'MZ1', mark: { name: 'a"b' } });
    expect(JSON.parse(outbound.clear('MZ1'))).toEqual({ event: 'clear', streamSid: 'MZ1' });
  });

  it('computes decoded sizes from base64 without decoding', () => {
    for (const n of [0, 1, 2, 3, 159, 160, 161, 4000]) {
      expect(base64ByteLength(Buffer.alloc(n, 0xff).toString('base64'))).toBe(n);
    }
  });
});
