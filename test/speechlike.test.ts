import { describe, it, expect } from 'vitest';
import { MIN_DBFS, rmsDbfs } from '../src/audio/mulaw.js';
import {
  seededRandom,
  silence,
  speechDurationMs,
  speechForText,
  speechLike,
  speechLikeSpans,
} from '../src/audio/speechlike.js';

/** dBFS of each 20 ms frame. */
function profile(mu: Buffer): number[] {
  const out: number[] = [];
  for (let i = 0; i + 160 <= mu.length; i += 160) out.push(rmsDbfs(mu, i, i + 160));
  return out;
}

describe('speech-like audio', () => {
  it('is deterministic for a seed and differs between seeds', () => {
    const a = speechLike({ ms: 1200, seed: 42 });
    expect(a.equals(speechLike({ ms: 1200, seed: 42 }))).toBe(true);
    expect(a.equals(speechLike({ ms: 1200, seed: 43 }))).toBe(false);
    const r1 = seededRandom(9);
    const r2 = seededRandom(9);
    for (let i = 0; i < 5; i++) expect(r1()).toBe(r2());
  });

  it('has exactly the requested duration', () => {
    expect(speechLike({ ms: 1000, seed: 1 })).toHaveLength(8000);
    expect(speechLike({ ms: 250, seed: 1 })).toHaveLength(2000);
    expect(speechLike({ ms: 0 })).toHaveLength(0);
    expect(silence(20)).toEqual(Buffer.alloc(160, 0xff));
  });

  it('has syllables well above -40 dBFS separated by true silence', () => {
    const ms = 4000;
    const mu = speechLike({ ms, seed: 7 });
    const spans = speechLikeSpans({ ms, seed: 7 });
    expect(spans.length).toBeGreaterThan(8);
    for (const s of spans) {
      // Syllables are 150-250 ms (a final one may stretch to fill the buffer).
      expect(s.endMs - s.startMs).toBeGreaterThanOrEqual(100);
      expect(s.endMs - s.startMs).toBeLessThanOrEqual(350);
    }
    const frames = profile(mu);
    let inner = 0;
    let quiet = 0;
    frames.forEach((db, i) => {
      const t0 = i * 20;
      const t1 = t0 + 20;
      const inside = spans.some((s) => t0 >= s.startMs + 20 && t1 <= s.endMs - 40); // clear of attack/release
      const outside = spans.every((s) => t1 <= s.startMs || t0 >= s.endMs);
      if (inside) {
        expect(db).toBeGreaterThan(-30);
        inner++;
      }
      if (outside) {
        expect(db).toBe(MIN_DBFS); // 0xFF silence, not just quiet
        quiet++;
      }
    });
    expect(inner).toBeGreaterThan(frames.length * 0.2);
    expect(quiet).toBeGreaterThan(frames.length * 0.1);
    // What an energy VAD at -40 dBFS would call speech: most of the time, but not all of it.
    const voiced = frames.filter((db) => db > -40).length;
    expect(voiced).toBeGreaterThan(frames.length * 0.5);
    expect(voiced).toBeLessThan(frames.length * 0.9);
  });

  it('follows the requested level', () => {
    const loud = rmsDbfs(speechLike({ ms: 2000, seed: 4, level: -15 }));
    const soft = rmsDbfs(speechLike({ ms: 2000, seed: 4, level: -30 }));
    expect(loud - soft).toBeGreaterThan(13);
    expect(loud - soft).toBeLessThan(17);
  });

  it('speaks a line of text for about 65 ms a character', () => {
    expect(speechDurationMs('hi')).toBe(300);
    const line = 'Your table for four is booked for eight pm.';
    expect(speechDurationMs(line)).toBe(Math.round(line.length * 65));
    const mu = speechForText(line);
    expect(mu).toHaveLength(speechDurationMs(line) * 8);
    expect(mu.equals(speechForText(line))).toBe(true);
    expect(mu.equals(speechForText(line, 99))).toBe(false);
    expect(rmsDbfs(mu)).toBeGreaterThan(-35);
  });
});
