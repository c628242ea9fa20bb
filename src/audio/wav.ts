// WAV in and out for the simulated caller and the demo: every PCM16 or mu-law WAV becomes the 8 kHz
// mu-law a phone call carries, and what a caller heard becomes a file a person can play.
import { readFile, writeFile } from 'node:fs/promises';
import { MULAW_DECODE_TABLE, decodeBuffer, encodeSamples } from './mulaw.js';

const FORMAT_PCM = 1;
const FORMAT_MULAW = 7;
const FORMAT_EXTENSIBLE = 0xfffe;
const TARGET_RATE = 8000;

export class WavError extends Error {
  override name = 'WavError';
}

export interface WavInfo {
  /** 1 = PCM, 7 = mu-law (after resolving WAVE_FORMAT_EXTENSIBLE). */
  format: number;
  channels: number;
  sampleRate: number;
  bitsPerSample: number;
  /** Frames (samples per channel) in the data chunk. */
  frames: number;
  durationMs: number;
}

interface Parsed {
  info: WavInfo;
  data: Buffer;
}

function parseWav(buf: Buffer): Parsed {
  if (buf.length < 12 || buf.toString('latin1', 0, 4) !== 'RIFF' || buf.toString('latin1', 8, 12) !== 'WAVE') {
    throw new WavError('not a WAV file (no RIFF/WAVE header)');
  }
  let fmt: { format: number; channels: number; sampleRate: number; bits: number } | undefined;
  let data: Buffer | undefined;
  let off = 12;
  while (off + 8 <= buf.length) {
    const id = buf.toString('latin1', off, off + 4);
    const size = buf.readUInt32LE(off + 4);
    const body = off + 8;
    if (id === 'fmt ') {
      if (size < 16 || body + 16 > buf.length) throw new WavError('WAV fmt chunk is truncated');
      let format = buf.readUInt16LE(body);
      if (format === FORMAT_EXTENSIBLE) {
        // The real format code is the first two bytes of the SubFormat GUID at offset 24 of the chunk.
        if (size < 40 || body + 26 > buf.length) throw new WavError('WAV extensible fmt chunk is truncated');
        format = buf.readUInt16LE(body + 24);
      }
      fmt = {
        format,
        channels: buf.readUInt16LE(body + 2),
        sampleRate: buf.readUInt32LE(body + 4),
        bits: buf.readUInt16LE(body + 14),
      };
    } else if (id === 'data') {
      // Streamed WAVs carry a placeholder size (e.g. 0xFFFFFFFF) that overshoots: take what the file has.
      const end = Math.min(body + size, buf.length);
      data = buf.subarray(body, end);
      if (fmt) break;
    }
    off = body + size + (size & 1); // chunks are word-aligned
  }
  if (!fmt) throw new WavError('WAV has no fmt chunk');
  if (!data) throw new WavError('WAV has no data chunk');
  const { format, channels, sampleRate, bits } = fmt;
  if (channels < 1 || channels > 8) throw new WavError(`WAV has an unsupported channel count (${channels})`);
  if (sampleRate < 1000 || sampleRate > 384_000)
    throw new WavError(`WAV has an unsupported sample rate (${sampleRate} Hz)`);
  const pcm16 = format === FORMAT_PCM && bits === 16;
  const mulaw = format === FORMAT_MULAW && bits === 8;
  if (!pcm16 && !mulaw) {
    throw new WavError(
      `unsupported WAV encoding (format ${format}, ${bits} bits): use 16-bit PCM or 8-bit mu-law, ` +
        'e.g. `sox in.wav -b 16 -e signed-integer out.wav`',
    );
  }
  const blockAlign = channels * (bits / 8);
  const frames = Math.floor(data.length / blockAlign);
  return {
    info: { format, channels, sampleRate, bitsPerSample: bits, frames, durationMs: (frames * 1000) / sampleRate },
    data: data.subarray(0, frames * blockAlign),
  };
}

/** Header facts of a WAV buffer (throws WavError for what wavToMulaw would reject). */
export function wavInfo(buf: Buffer): WavInfo {
  return parseWav(buf).info;
}

/** Interleaved samples → one mono float channel (average of the channels). */
function downmix(p: Parsed): Float32Array {
  const { channels, frames, format } = p.info;
  const out = new Float32Array(frames);
  const d = p.data;
  for (let f = 0; f < frames; f++) {
    let sum = 0;
    for (let c = 0; c < channels; c++) {
      const i = f * channels + c;
      sum += format === FORMAT_MULAW ? (MULAW_DECODE_TABLE[d[i] ?? 0xff] ?? 0) : d.readInt16LE(i * 2);
    }
    out[f] = sum / channels;
  }
  return out;
}

/**
 * Linear-interpolation resample. When shrinking the rate, a moving average over one output period
 * first takes off most of what would alias (crude, but speech stays intelligible).
 */
export function resampleLinear(input: Float32Array, fromRate: number, toRate: number): Float32Array {
  if (fromRate === toRate) return input;
  let src = input;
  const ratio = fromRate / toRate;
  const win = Math.floor(ratio);
  if (win >= 2) {
    src = new Float32Array(input.length);
    let acc = 0;
    for (let i = 0; i < input.length; i++) {
      acc += input[i] ?? 0;
      if (i >= win) acc -= input[i - win] ?? 0;
      src[i] = acc / Math.min(i + 1, win);
    }
  }
  const outLen = Math.round((input.length * toRate) / fromRate);
  const out = new Float32Array(outLen);
  const last = src.length - 1;
  for (let j = 0; j < outLen; j++) {
    const pos = j * ratio;
    const i = Math.floor(pos);
    const frac = pos - i;
    const a = src[Math.min(i, last)] ?? 0;
    const b = src[Math.min(i + 1, last)] ?? 0;
    out[j] = a + (b - a) * frac;
  }
  return out;
}

/** Any supported WAV (PCM16 or mu-law, mono or multi-channel, any rate) → raw 8 kHz mu-law bytes. */
export function wavToMulaw(buf: Buffer): Buffer {
  const p = parseWav(buf);
  const { format, channels, sampleRate } = p.info;
  if (format === FORMAT_MULAW && channels === 1 && sampleRate === TARGET_RATE) return Buffer.from(p.data);
  const mono = resampleLinear(downmix(p), sampleRate, TARGET_RATE);
  const pcm = new Int16Array(mono.length);
  for (let i = 0; i < mono.length; i++) pcm[i] = Math.max(-32768, Math.min(32767, Math.round(mono[i] ?? 0)));
  return encodeSamples(pcm);
}

export async function readWavFile(path: string): Promise<Buffer> {
  const buf = await readFile(path);
  try {
    return wavToMulaw(buf);
  } catch (e) {
    if (e instanceof WavError) throw new WavError(`${path}: ${e.message}`);
    throw e;
  }
}

export type WavOutputFormat = 'pcm16' | 'mulaw';

function header(format: number, bits: number, dataBytes: number, withFact: boolean): Buffer {
  // Non-PCM formats carry cbSize (fmt chunk of 18) and a fact chunk, as the spec asks.
  const fmtSize = withFact ? 18 : 16;
  const factSize = withFact ? 12 : 0;
  const h = Buffer.alloc(12 + 8 + fmtSize + factSize + 8);
  let o = 0;
  h.write('RIFF', o, 'latin1');
  h.writeUInt32LE(h.length - 8 + dataBytes + (dataBytes & 1), 4);
  h.write('WAVE', 8, 'latin1');
  o = 12;
  h.write('fmt ', o, 'latin1');
  h.writeUInt32LE(fmtSize, o + 4);
  h.writeUInt16LE(format, o + 8);
  h.writeUInt16LE(1, o + 10);
  h.writeUInt32LE(TARGET_RATE, o + 12);
  h.writeUInt32LE((TARGET_RATE * bits) / 8, o + 16);
  h.writeUInt16LE(bits / 8, o + 20);
  h.writeUInt16LE(bits, o + 22);
  o += 8 + fmtSize; // cbSize (when present) stays 0
  if (withFact) {
    h.write('fact', o, 'latin1');
    h.writeUInt32LE(4, o + 4);
    h.writeUInt32LE(dataBytes / (bits / 8), o + 8);
    o += 12;
  }
  h.write('data', o, 'latin1');
  h.writeUInt32LE(dataBytes, o + 4);
  return h;
}

/**
 * 8 kHz mu-law bytes → a WAV. Default PCM16 because every player handles it; 'mulaw' keeps the
 * bytes as they were on the wire (format 7, half the size).
 */
export function mulawToWav(mulaw: Buffer | Uint8Array, format: WavOutputFormat = 'pcm16'): Buffer {
  if (format === 'mulaw') {
    const pad = mulaw.length & 1 ? Buffer.alloc(1) : Buffer.alloc(0);
    return Buffer.concat([header(FORMAT_MULAW, 8, mulaw.length, true), mulaw, pad]);
  }
  const pcm = decodeBuffer(mulaw);
  const body = Buffer.allocUnsafe(pcm.length * 2);
  for (let i = 0; i < pcm.length; i++) body.writeInt16LE(pcm[i] ?? 0, i * 2);
  return Buffer.concat([header(FORMAT_PCM, 16, body.length, false), body]);
}

export async function writeWavFile(
  path: string,
  mulaw: Buffer | Uint8Array,
  format: WavOutputFormat = 'pcm16',
): Promise<void> {
  await writeFile(path, mulawToWav(mulaw, format));
}
