import { describe, expect, it } from 'vitest';
import { Transcript, trimToFraction } from '../src/call/transcript.js';

describe('Transcript', () => {
  it('keeps conversation order when the caller transcription arrives after the answer', () => {
    let now = 0;
    const t = new Transcript(0, () => now);
    t.assistantTurn('a0');
    t.assistantText('a0', 'Hello, how can I help?');
    now = 3000;
    t.callerTurn('u1');
    now = 3400;
    t.assistantTurn('a1');
    t.assistantText('a1', 'Sure, let me check.');
    now = 3900;
    t.callerText('u1', 'I want to book a cleaning');
    expect(t.entries().map((e) => `${e.role}:${e.text}`)).toEqual([
      'assistant:Hello, how can I help?',
      'caller:I want to book a cleaning',
      'assistant:Sure, let me check.',
    ]);
    expect(t.entries()[1]?.atMs).toBe(3000);
  });

  it('trims an interrupted assistant turn to what was heard and marks it', () => {
    const t = new Transcript(0, () => 0);
    t.assistantTurn('a1');
    t.interrupted('a1', 1000, 4000);
    t.assistantText('a1', 'We are open Monday to Friday from nine to five and on Saturday mornings.');
    const [e] = t.entries();
    expect(e?.interrupted).toBe(true);
    expect(e?.text).toBe('We are open Monday…');
    expect(t.text()).toContain('[interrupted]');
  });

  it('cuts at word boundaries', () => {
    expect(trimToFraction('one two three four', 0.5)).toBe('one two…');
    expect(trimToFraction('one two', 1)).toBe('one two');
    expect(trimToFraction('one two', 0)).toBe('…');
  });
});
