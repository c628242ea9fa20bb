import { afterEach, describe, expect, it, vi } from 'vitest';
import { ToolTiming } from '../src/call/tool-timing.js';

// The relay's own part of a tool round trip excludes the tools' time, including tools that overlap.

describe('ToolTiming', () => {
  afterEach(() => vi.restoreAllMocks());

  const at = (times: number[]): void => {
    let i = 0;
    vi.spyOn(performance, 'now').mockImplementation(() => times[i++] ?? Number.NaN);
  };

  it('counts the time before the first tool and after the last one, not the tools', () => {
    const t = new ToolTiming();
    // asked 100; tool A 101..150; tool B 102..160; sent 161 → (101 - 100) + (161 - 160) = 2
    at([100, 101, 102, 150, 160, 161]);
    t.asked();
    t.started();
    t.started();
    t.ended();
    t.ended();
    t.sent();
    expect(t.overheadMs).toEqual([2]);
  });

  it('records nothing for outputs sent without a tool run since the ask', () => {
    const t = new ToolTiming();
    at([1, 2]);
    t.asked();
    t.sent();
    expect(t.overheadMs).toEqual([]);
  });
});
