import { describe, it, expect } from 'vitest';
import {
  MULAW_SILENCE,
  MIN_DBFS,
  MULAW_DECODE_TABLE,
  decodeBuffer,
  decodeSample,
  encodeSample,
  encodeSamples,
  rmsDbfs,
} from '../src/audio/mulaw.js';
import { silence, speechLike } from '../src/audio/speechlike.js';

function sine(hz: number, amplitude: number, samples: number): Int16Array {
  const out = new Int16Array(samples);
  for (let i = 0; i < samples; i++) out[i] = Math.round(amplitude * Math.sin((2 * Math.PI * hz * i) / 8000));
  return out;
}

describe('mu-law codec', () => {
  it('maps the known G.711 values', () => {
    expect(MULAW_SILENCE).toBe(0xff);
    expect(encodeSample(0)).toBe(0xff);
    expect(decodeSample(0xff)).toBe(0);
    expect(decodeSample(0x7f)).toBe(0); // negative zero
    expect(decodeSample(0x00)).toBe(-32124);
    expect(decodeSample(0x80)).toBe(32124);
    expect(encodeSample(32767)).toBe(0x80);
    expect(encodeSample(-32768)).toBe(0x00);
    expect(encodeSample(1000)).toBe(0xce);
    expect(MULAW_DECODE_TABLE).toHaveLength(256);
  });

  it('decode is monotonic within each sign and encode inverts it exactly', () => {
    for (let b = 0; b < 256; b++) {
      if (b === 0x7f) continue; // -0 encodes back as +0 (0xFF)
      expect(encodeSample(decodeSample(b))).toBe(b);
    }
    // Positive half: bytes 0xFF down to 0x80 give increasing magnitudes.
    for (let b = 0xfe; b >= 0x80; b--) expect(decodeSample(b)).toBeGreaterThan(decodeSample(b + 1));
  });

  it('round-trips every 16-bit sample within one quantisation step', () => {
    let worstRel = 0;
    for (let x = -32768; x <= 32767; x += 7) {
      const y = decodeSample(encodeSample(x));
      const err = Math.abs(y - x);
      expect(err).toBeLessThanOrEqual(Math.max(8, Math.abs(x) / 16));
      if (Math.abs(x) > 256 && Math.abs(x) < 32000) worstRel = Math.max(worstRel, err / Math.abs(x));
    }
    expect(worstRel).toBeLessThan(0.04); // G.711 keeps ~3 % of the value above its first segments
  });

  it('encodes and decodes buffers of samples', () => {
    const pcm = sine(440, 12000, 800);
    const mu = encodeSamples(pcm);
    expect(mu).toHaveLength(800);
    const back = decodeBuffer(mu);
    expect(back).toHaveLength(800);
    for (let i = 0; i < pcm.length; i++) expect(Math.abs((back[i] ?? 0) - (pcm[i] ?? 0))).toBeLessThanOrEqual(400);
  });

  it('measures level in dBFS: silence at the floor, a half-scale sine near -9 dBFS', () => {
    expect(rmsDbfs(silence(100))).toBe(MIN_DBFS);
    expect(rmsDbfs(Buffer.alloc(0))).toBe(MIN_DBFS);
    const tone = encodeSamples(sine(1000, 16384, 8000));
    expect(rmsDbfs(tone)).toBeGreaterThan(-9.6);
    expect(rmsDbfs(tone)).toBeLessThan(-8.4);
    // Sub-range: silence followed by tone.
    const both = Buffer.concat([silence(20), tone.subarray(0, 160)]);
    expect(rmsDbfs(both, 0, 160)).toBe(MIN_DBFS);
    expect(rmsDbfs(both, 160, 320)).toBeGreaterThan(-12);
  });

  it('tells speech-like audio from silence against a -40 dBFS VAD threshold', () => {
    const speech = speechLike({ ms: 1000, seed: 3 });
    expect(rmsDbfs(speech)).toBeGreaterThan(-35);
    expect(rmsDbfs(silence(1000))).toBeLessThan(-40);
  });
});
