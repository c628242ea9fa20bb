import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LiveTurns } from '../src/providers/live-turns.js';
import type { ModelEvent } from '../src/providers/model-events.js';

// GPT-Live reports no responses or speech events: the relay reads turns out of its audio and
// transcripts. What matters to a caller: a model that stopped for them is a barge-in (their line is
// cleared), a "yes" under a sentence the model finished is not, and tool calls are never lost.

const timing = { turnGapMs: 500, callerQuietMs: 800, yieldWindowMs: 1000 };
let now = 0;
let events: ModelEvent[] = [];
let turns: LiveTurns;

beforeEach(() => {
  vi.useFakeTimers();
  now = 0;
  events = [];
  turns = new LiveTurns(
    (e) => events.push(e),
    timing,
    () => now,
  );
});
afterEach(() => vi.useRealTimers());

const step = (ms: number) => {
  now += ms;
  vi.advanceTimersByTime(ms);
};
const types = () =>
  events.filter((e) => e.type !== 'audio' && e.type !== 'assistantTranscriptDelta').map((e) => e.type);
const done = () => events.find((e) => e.type === 'responseDone');

describe('turns read from GPT-Live', () => {
  it('the model stops while the caller talks: speech reported before the turn ends, as cancelled', () => {
    turns.audio('AAAA');
    turns.outputText('Our hours are ');
    step(300);
    turns.inputText('');
    turns.audio('AAAA');
    step(200);
    turns.inputText('wait');
    step(500); // no more model audio: it stopped
    expect(types()).toEqual([
      'responseCreated',
      'assistantItem',
      'speechStarted',
      'userItem',
      'assistantTranscript',
      'responseDone',
    ]);
    expect(done()).toMatchObject({ status: 'cancelled', functionCalls: [] });
    step(800);
    expect(types().slice(-2)).toEqual(['speechStopped', 'userTranscript']);
  });

  it('a short "yes" early in a sentence the model finished is no barge-in, but stays in the transcript', () => {
    turns.audio('AAAA');
    turns.inputText('yes');
    for (let i = 0; i < 8; i++) {
      step(250);
      turns.audio('AAAA');
    }
    step(500);
    expect(types()).not.toContain('speechStarted');
    expect(done()).toMatchObject({ status: 'completed' });
    expect(events).toContainEqual(expect.objectContaining({ type: 'userTranscript', text: 'yes' }));
  });

  it('a tool call made while the model speaks ends that turn as a preamble; alone, it is a turn of its own', () => {
    turns.audio('AAAA');
    turns.functionCall('resp_1', { callId: 'c1', name: 'lookupCustomer', arguments: '{}' });
    turns.delegationDone('resp_1', { inputTokens: 3 });
    step(500);
    expect(done()).toMatchObject({ status: 'completed', spokeBeforeCalls: true, functionCalls: [{ callId: 'c1' }] });
    events = [];
    step(5000);
    turns.functionCall('resp_2', { callId: 'c2', name: 'lookupCustomer', arguments: '{}' });
    turns.delegationDone('resp_2', undefined);
    expect(done()).toMatchObject({ spokeBeforeCalls: false, functionCalls: [{ callId: 'c2' }] });
  });
});
