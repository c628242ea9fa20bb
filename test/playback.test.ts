import { describe, expect, it } from 'vitest';
import { Playback } from '../src/call/playback.js';

describe('Playback (what the caller has heard)', () => {
  it('emits a mark about every 100 ms of audio, not after every delta', () => {
    const p = new Playback(100);
    const marks: string[] = [];
    for (let i = 0; i < 50; i++) {
      const m = p.sent('r1', 'i1', 160, 1000 + i * 20); // 20 ms frames
      if (m) marks.push(m);
    }
    expect(marks).toHaveLength(10);
    expect(marks[0]).toBe('0:0:100');
    expect(marks[9]).toBe('0:0:1000');
  });

  it('truncates at the heard point: last echo plus elapsed time, clamped to what was sent', () => {
    const p = new Playback(100);
    let t = 0;
    const marks: string[] = [];
    for (let i = 0; i < 100; i++) {
      const m = p.sent('r1', 'i1', 160, t);
      if (m) marks.push(m);
    } // 2 s sent at t=0
    t = 600;
    p.echo(marks[4]!, t); // 500 ms played, echoed at t=600
    const cut = p.interrupt(t + 30);
    expect(cut).toEqual([{ itemId: 'i1', responseId: 'r1', audioEndMs: 530, sentMs: 2000 }]);
    // Clamp: long after everything should have played, never more than was sent.
    const q = new Playback(100);
    q.sent('r2', 'i2', 800, 0); // 100 ms
    expect(q.interrupt(10_000)[0]?.audioEndMs).toBe(100);
  });

  it('ignores marks of an older generation (cleared echoes after a barge-in)', () => {
    const p = new Playback(100);
    const m1 = p.sent('r1', 'i1', 800, 0)!;
    p.interrupt(10);
    expect(p.echo(m1, 20)).toBe('stale');
    const end = p.endMark();
    expect(end.startsWith('1:end:')).toBe(true);
    expect(p.echo(end, 30)).toBe('drained');
  });

  it('reports drained only for the end mark it is waiting for', () => {
    const p = new Playback(100);
    p.sent('r1', 'i1', 800, 0);
    const first = p.endMark();
    p.sent('r2', 'i2', 800, 5);
    const second = p.endMark();
    expect(p.echo(first, 100)).toBe('progress');
    expect(p.echo(second, 200)).toBe('drained');
    expect(p.isPlaying(300)).toBe(false);
  });
});
