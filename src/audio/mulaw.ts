// G.711 mu-law (PCMU), the only audio format Twilio Media Streams carries: 8 kHz, 8 bits a sample.
// Decoding is a 256-entry table; encoding is the classic bias/segment algorithm (Sun g711.c), which is
// what the table inverts, so decode(encode(x)) stays within one quantisation step of x.

/** The mu-law byte for a 0 sample; Twilio and the models use it as "silence". */
export const MULAW_SILENCE = 0xff;

/** Floor returned by rmsDbfs for digital silence or an empty range, so the result is always finite. */
export const MIN_DBFS = -100;

const BIAS = 0x84;
const CLIP = 32635;

/** Segment (exponent) of a biased magnitude, indexed by magnitude >> 7. */
const SEGMENT = new Uint8Array(256);
for (let i = 1; i < 256; i++) SEGMENT[i] = 31 - Math.clz32(i); // floor(log2 i); biased magnitudes are >= 132 so i >= 1

/** byte → linear PCM16 sample. */
export const MULAW_DECODE_TABLE: Int16Array = (() => {
  const t = new Int16Array(256);
  for (let b = 0; b < 256; b++) {
    const u = ~b & 0xff;
    const exponent = (u >> 4) & 0x07;
    const mantissa = u & 0x0f;
    const magnitude = (((mantissa << 3) + BIAS) << exponent) - BIAS;
    t[b] = u & 0x80 ? -magnitude : magnitude;
  }
  return t;
})();

/** byte → sample² (as a float), so energy measurement costs one lookup a sample. */
const SQUARE_TABLE: Float64Array = (() => {
  const t = new Float64Array(256);
  for (let b = 0; b < 256; b++) {
    const s = MULAW_DECODE_TABLE[b] ?? 0;
    t[b] = s * s;
  }
  return t;
})();

/** Encode one PCM16 sample (clamped to the int16 range) to a mu-law byte. */
export function encodeSample(sample: number): number {
  let s = sample | 0;
  const sign = s < 0 ? 0x80 : 0;
  if (sign) s = -s;
  if (s > CLIP) s = CLIP;
  s += BIAS;
  const exponent = SEGMENT[(s >> 7) & 0xff] ?? 0;
  const mantissa = (s >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

/** Decode one mu-law byte to a PCM16 sample. */
export function decodeSample(byte: number): number {
  return MULAW_DECODE_TABLE[byte & 0xff] ?? 0;
}

export function decodeBuffer(mulaw: Buffer | Uint8Array): Int16Array {
  const out = new Int16Array(mulaw.length);
  for (let i = 0; i < mulaw.length; i++) out[i] = MULAW_DECODE_TABLE[mulaw[i] ?? MULAW_SILENCE] ?? 0;
  return out;
}

export function encodeSamples(pcm: Int16Array): Buffer {
  const out = Buffer.allocUnsafe(pcm.length);
  for (let i = 0; i < pcm.length; i++) out[i] = encodeSample(pcm[i] ?? 0);
  return out;
}

/**
 * RMS level of mu-law bytes [start, end) in dBFS (0 = full-scale square wave, a full-scale sine is
 * about -3). Digital silence and empty ranges return MIN_DBFS. Used by energy VADs on 20 ms frames.
 */
export function rmsDbfs(mulaw: Buffer | Uint8Array, start = 0, end = mulaw.length): number {
  const s = Math.max(0, start);
  const e = Math.min(mulaw.length, end);
  if (e <= s) return MIN_DBFS;
  let sum = 0;
  for (let i = s; i < e; i++) sum += SQUARE_TABLE[mulaw[i] ?? MULAW_SILENCE] ?? 0;
  if (sum === 0) return MIN_DBFS;
  const db = 20 * Math.log10(Math.sqrt(sum / (e - s)) / 32768);
  return Math.max(MIN_DBFS, db);
}
