// Audio arithmetic for the fake model in whatever format a session negotiated: duration of appended
// bytes, frame energy for the VAD, and the assistant's voice (speech-like mu-law) converted to the
// session's output format. Converted voices are cached because a load test plays the same few lines
// to hundreds of sessions.
import { MIN_DBFS, decodeBuffer, rmsDbfs } from '../../audio/mulaw.js';
import { speechForText } from '../../audio/speechlike.js';
import type { AudioFormat } from './model-session-config.js';

export function bytesPerMs(f: AudioFormat): number {
  return f.type === 'audio/pcm' ? (f.rate * 2) / 1000 : 8;
}

export function formatKey(f: AudioFormat): string {
  return f.type === 'audio/pcm' ? `pcm${f.rate}` : f.type;
}

/** G.711 A-law byte → PCM16 sample (ITU-T G.711). */
export function alawDecode(byte: number): number {
  const a = (byte ^ 0x55) & 0xff;
  const seg = (a & 0x70) >> 4;
  let t = (a & 0x0f) << 4;
  if (seg === 0) t += 8;
  else if (seg === 1) t += 0x108;
  else t = (t + 0x108) << (seg - 1);
  return a & 0x80 ? t : -t;
}

/** PCM16 sample → G.711 A-law byte. */
export function alawEncode(sample: number): number {
  let s = Math.max(-32768, Math.min(32767, sample | 0));
  const mask = s >= 0 ? 0xd5 : 0x55;
  if (s < 0) s = -s - 1;
  const ends = [0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff, 0x1fff, 0x3fff, 0x7fff];
  let seg = 0;
  while (seg < 8 && s > (ends[seg] ?? 0x7fff)) seg++;
  if (seg >= 8) return 0x7f ^ mask;
  const aval = (seg << 4) | ((s >> (seg < 2 ? 4 : seg + 3)) & 0x0f);
  return aval ^ mask;
}

/** RMS of bytes [start, end) of audio in format `f`, in dBFS (MIN_DBFS for silence/empty). */
export function levelDbfs(buf: Buffer, start: number, end: number, f: AudioFormat): number {
  if (f.type === 'audio/pcmu') return rmsDbfs(buf, start, end);
  let sum = 0;
  let n = 0;
  if (f.type === 'audio/pcma') {
    for (let i = start; i < end; i++, n++) {
      const v = alawDecode(buf[i] ?? 0xd5);
      sum += v * v;
    }
  } else {
    for (let i = start; i + 1 < end; i += 2, n++) {
      const v = buf.readInt16LE(i);
      sum += v * v;
    }
  }
  if (n === 0 || sum === 0) return MIN_DBFS;
  return Math.max(MIN_DBFS, 20 * Math.log10(Math.sqrt(sum / n) / 32768));
}

/** Converts 8 kHz mu-law to `f` (pcmu: as is; pcma: re-encode; pcm: linear upsample to PCM16 LE). */
export function fromMulaw(mulaw: Buffer, f: AudioFormat): Buffer {
  if (f.type === 'audio/pcmu') return mulaw;
  const pcm = decodeBuffer(mulaw);
  if (f.type === 'audio/pcma') {
    const out = Buffer.allocUnsafe(pcm.length);
    for (let i = 0; i < pcm.length; i++) out[i] = alawEncode(pcm[i] ?? 0);
    return out;
  }
  const ratio = f.rate / 8000;
  const n = Math.floor(pcm.length * ratio);
  const out = Buffer.allocUnsafe(n * 2);
  for (let j = 0; j < n; j++) {
    const x = j / ratio;
    const i = Math.floor(x);
    const a = pcm[i] ?? 0;
    const b = pcm[i + 1] ?? a;
    out.writeInt16LE(Math.round(a + (b - a) * (x - i)), j * 2);
  }
  return out;
}

/** Silence in format `f` (mu-law 0xFF, A-law 0xD5, PCM zeros). */
export function silenceIn(f: AudioFormat, ms: number): Buffer {
  const n = Math.round(ms * bytesPerMs(f));
  if (f.type === 'audio/pcm') return Buffer.alloc(n - (n % 2));
  return Buffer.alloc(n, f.type === 'audio/pcmu' ? 0xff : 0xd5);
}

const CACHE_MAX = 128;
const voiceCache = new Map<string, Buffer>();

/** What the simulated assistant "says" for `text`, in format `f`; cached (treat the buffer as read-only). */
export function voiceFor(text: string, f: AudioFormat): Buffer {
  const key = `${formatKey(f)}|${text}`;
  const hit = voiceCache.get(key);
  if (hit) return hit;
  const audio = fromMulaw(speechForText(text), f);
  if (voiceCache.size >= CACHE_MAX) {
    const oldest = voiceCache.keys().next();
    if (!oldest.done) voiceCache.delete(oldest.value);
  }
  voiceCache.set(key, audio);
  return audio;
}
