import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FrameReader, OP_TEXT, clientTextFrame } from '../bench/gen/ws-wire.js';
import { stampedIdBase64, writeStampBase64 } from '../bench/latency-book.js';

// The load generator's own encodings: a stamp written as base64 characters must read back as the
// id and match what Buffer's encoder makes of the stamped bytes; server frames must come out of the
// byte stream whole however TCP splits or joins them; a client frame is its text behind a zero mask.

const serverFrame = (text: string): Buffer => {
  const body = Buffer.from(text, 'latin1');
  const head =
    body.length < 126
      ? Buffer.from([0x81, body.length])
      : Buffer.from([0x81, 126, body.length >> 8, body.length & 255]);
  return Buffer.concat([head, body]);
};

describe('lean generator wire', () => {
  it('writes a stamp as the base64 of its 6 bytes and reads the id back', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 32 - 1 }), (id) => {
        const out = Buffer.alloc(8);
        writeStampBase64(id, out, 0);
        const bytes = Buffer.from([0xb5, 0x5b, 0, 0, 0, 0]);
        bytes.writeUInt32BE(id, 2);
        expect(out.toString('latin1')).toBe(bytes.toString('base64'));
        expect(stampedIdBase64(out, 0)).toBe(id);
      }),
    );
    expect(stampedIdBase64(Buffer.from('////////'), 0)).toBe(0);
  });

  it('reads server frames whole across any split of the stream', () => {
    const texts = ['{"event":"clear"}', 'x'.repeat(300), '', 'y'.repeat(125)];
    const stream = Buffer.concat(texts.map(serverFrame));
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: stream.length }), { maxLength: 6 }), (cuts) => {
        const got: string[] = [];
        const reader = new FrameReader((op, data, start, end) => {
          expect(op).toBe(OP_TEXT);
          got.push(data.toString('latin1', start, end));
        });
        const points = [...new Set([0, ...cuts, stream.length])].sort((a, b) => a - b);
        for (let i = 1; i < points.length; i++) reader.push(stream.subarray(points[i - 1], points[i]));
        expect(got).toEqual(texts);
      }),
    );
  });

  it('frames client text masked with a zero key', () => {
    const f = clientTextFrame('z'.repeat(200));
    expect([...f.subarray(0, 8)]).toEqual([0x81, 0x80 | 126, 0, 200, 0, 0, 0, 0]);
    expect(f.subarray(8).toString('latin1')).toBe('z'.repeat(200));
  });
});
