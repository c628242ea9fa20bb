import { describe, expect, it } from 'vitest';
import { ResponseLifecycle } from '../src/call/response-lifecycle.js';

// Every order of response events the two providers produce, against the one owner of the lifecycle.

describe('response lifecycle', () => {
  it('a requested response: created, first audio once, more audio, ended', () => {
    const r = new ResponseLifecycle();
    r.requested();
    expect(r.created('resp_1')).toBe('open');
    expect(r.audio('resp_1')).toBe('first');
    expect(r.audio('resp_1')).toBe('more');
    expect(r.audio('resp_1')).toBe('more');
    expect(r.ended('resp_1')).toBe('ended');
  });

  it('each new response reports its own first audio', () => {
    const r = new ResponseLifecycle();
    r.created('resp_1');
    expect(r.audio('resp_1')).toBe('first');
    r.ended('resp_1');
    r.created('resp_2');
    expect(r.audio('resp_2')).toBe('first');
  });

  it('after a barge-in, late deltas of the interrupted response are stale and its end is "cancelled"', () => {
    const r = new ResponseLifecycle();
    r.created('resp_1');
    r.audio('resp_1');
    r.interrupt(true);
    expect(r.audio('resp_1')).toBe('stale');
    expect(r.isCancelled('resp_1')).toBe(true);
    expect(r.ended('resp_1')).toBe('cancelled');
  });

  it('a response created after the barge-in is live', () => {
    const r = new ResponseLifecycle();
    r.created('resp_1');
    r.interrupt(true);
    expect(r.created('resp_2')).toBe('open');
    expect(r.audio('resp_2')).toBe('first');
    expect(r.ended('resp_2')).toBe('ended');
  });

  it('requested, then the caller barges in before response.created: the response is cancelled on creation', () => {
    const r = new ResponseLifecycle();
    r.requested();
    r.interrupt(true);
    expect(r.created('resp_1')).toBe('cancelled');
    expect(r.audio('resp_1')).toBe('stale');
    expect(r.ended('resp_1')).toBe('cancelled');
    // The model's own next response (the caller's turn) is live again.
    expect(r.created('resp_2')).toBe('open');
  });

  it('a barge-in that does not cancel (nothing being produced) leaves a later request alone', () => {
    const r = new ResponseLifecycle();
    r.requested();
    r.interrupt(false);
    expect(r.created('resp_1')).toBe('open');
  });

  it('a barge-in while a response is open does not cancel the next requested one', () => {
    const r = new ResponseLifecycle();
    r.created('resp_1');
    r.requested();
    r.interrupt(true);
    expect(r.created('resp_2')).toBe('open');
  });

  it('xAI ending one response twice (response.cancelled, then response.done): the second end is a duplicate', () => {
    const r = new ResponseLifecycle();
    r.created('resp_1');
    r.interrupt(true);
    expect(r.ended('resp_1')).toBe('cancelled');
    expect(r.ended('resp_1')).toBe('duplicate');
  });

  it('a duplicate end of an old response is not taken for the end of the current one', () => {
    const r = new ResponseLifecycle();
    r.created('resp_1');
    expect(r.ended('resp_1')).toBe('ended');
    r.created('resp_2');
    expect(r.ended('resp_1')).toBe('duplicate');
    expect(r.audio('resp_2')).toBe('first');
    expect(r.ended('resp_2')).toBe('ended');
  });

  it('ends without an id are never duplicates', () => {
    const r = new ResponseLifecycle();
    expect(r.ended('')).toBe('ended');
    expect(r.ended('')).toBe('ended');
  });

  it('remembers only the recent responses, so a long call stays bounded', () => {
    const r = new ResponseLifecycle();
    for (let i = 0; i < 100; i++) {
      r.created(`resp_${i}`);
      r.interrupt(true);
      r.ended(`resp_${i}`);
    }
    expect(r.isCancelled('resp_99')).toBe(true);
    expect(r.isCancelled('resp_0')).toBe(false);
  });
});
