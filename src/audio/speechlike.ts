// Deterministic "speech-like" 8 kHz mu-law for simulated callers and agents: voiced syllables (a few
// harmonics of a 100–220 Hz pitch under an amplitude envelope, plus a little breath noise) split by
// short gaps and word pauses. Not intelligible, but an energy VAD or a server VAD sees speech where a
// person would, and the same seed always gives the same bytes, so tests are repeatable.
import { MULAW_SILENCE, encodeSample } from './mulaw.js';

const RATE = 8000;
const BYTES_PER_MS = RATE / 1000;

/** Small fast seeded PRNG (mulberry32): uniform floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `ms` of mu-law silence (0xFF). */
export function silence(ms: number): Buffer {
  return Buffer.alloc(Math.max(0, Math.round(ms * BYTES_PER_MS)), MULAW_SILENCE);
}

export interface SpeechLikeOptions {
  /** Total length; the buffer is exactly round(ms * 8) bytes. */
  ms: number;
  seed?: number;
  /** RMS level of a syllable's steady part, in dBFS. Default -20 (a normal phone voice). */
  level?: number;
  /** Base pitch; default picked from the seed in 100–220 Hz. */
  pitchHz?: number;
}

/** Where speech is inside a generated buffer, in ms from its start (for tests and VAD checks). */
export interface SpeechSpan {
  startMs: number;
  endMs: number;
}

interface Plan {
  spans: SpeechSpan[];
  totalMs: number;
}

const SYL_MIN = 150;
const SYL_MAX = 250;
const MIN_TAIL = 100; // a syllable never leaves less than this dangling: it stretches instead

/** Lay out syllables, intra-word gaps (40–80 ms) and word pauses (120–250 ms) over `ms`. */
function plan(ms: number, rnd: () => number): Plan {
  const spans: SpeechSpan[] = [];
  let t = 0;
  while (t < ms) {
    const syllables = 1 + Math.floor(rnd() * 3);
    for (let s = 0; s < syllables && t < ms; s++) {
      const left = ms - t;
      if (left < MIN_TAIL && spans.length > 0) return { spans, totalMs: ms };
      let len = Math.min(left, SYL_MIN + rnd() * (SYL_MAX - SYL_MIN));
      if (left - len < MIN_TAIL) len = left;
      spans.push({ startMs: t, endMs: t + len });
      t += len + (s < syllables - 1 ? 40 + rnd() * 40 : 120 + rnd() * 130);
    }
  }
  return { spans, totalMs: ms };
}

/** Syllable spans speechLike(opts) will produce, without synthesising the audio. */
export function speechLikeSpans(opts: SpeechLikeOptions): SpeechSpan[] {
  return plan(Math.max(0, opts.ms), seededRandom(opts.seed ?? 1)).spans;
}

export function speechLike(opts: SpeechLikeOptions): Buffer {
  const ms = Math.max(0, opts.ms);
  const rnd = seededRandom(opts.seed ?? 1);
  const { spans } = plan(ms, rnd);
  const out = silence(ms);
  const basePitch = opts.pitchHz ?? 100 + rnd() * 120;
  const targetRms = 32768 * 10 ** ((opts.level ?? -20) / 20);
  const harmonics = 6;
  for (const span of spans) {
    const start = Math.round(span.startMs * BYTES_PER_MS);
    const end = Math.min(out.length, Math.round(span.endMs * BYTES_PER_MS));
    const n = end - start;
    if (n <= 0) continue;
    // Per-syllable colour: a pitch glide (intonation) and a formant peak that emphasises some harmonics.
    const f0a = basePitch * (0.9 + rnd() * 0.25);
    const f0b = basePitch * (0.85 + rnd() * 0.25);
    const formant = 300 + rnd() * 500;
    const amps = new Float64Array(harmonics);
    let power = 0;
    for (let k = 1; k <= harmonics; k++) {
      const f = k * ((f0a + f0b) / 2);
      const a = (1 / k) * (1 + 2 * Math.exp(-(((f - formant) / 250) ** 2)));
      amps[k - 1] = a;
      power += (a * a) / 2;
    }
    const noiseLevel = 0.04;
    const scale = targetRms / Math.sqrt(power + (noiseLevel * noiseLevel) / 3);
    const attack = Math.min(n / 3, 25 * BYTES_PER_MS);
    const release = Math.min(n / 3, 40 * BYTES_PER_MS);
    let phase = rnd() * 2 * Math.PI;
    for (let i = 0; i < n; i++) {
      const f0 = f0a + ((f0b - f0a) * i) / n;
      phase += (2 * Math.PI * f0) / RATE;
      let v = 0;
      for (let k = 0; k < harmonics; k++) v += (amps[k] ?? 0) * Math.sin((k + 1) * phase);
      v += noiseLevel * (rnd() * 2 - 1);
      let env = 1;
      if (i < attack) env = 0.5 - 0.5 * Math.cos((Math.PI * i) / attack);
      else if (i >= n - release) env = 0.5 - 0.5 * Math.cos((Math.PI * (n - 1 - i)) / release);
      const sample = Math.max(-32768, Math.min(32767, Math.round(v * scale * env)));
      out[start + i] = encodeSample(sample);
    }
  }
  return out;
}

/** How long a line of text takes to say: about 65 ms a character, at least 300 ms. */
export function speechDurationMs(text: string): number {
  return Math.max(300, Math.round(text.length * 65));
}

/** FNV-1a of the text, so the same line always sounds the same unless a seed is given. */
function hashText(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Speech-like audio with a plausible duration for `text` (what a simulated speaker "says"). */
export function speechForText(text: string, seed?: number, level?: number): Buffer {
  const opts: SpeechLikeOptions = { ms: speechDurationMs(text), seed: seed ?? hashText(text) };
  if (level !== undefined) opts.level = level;
  return speechLike(opts);
}
