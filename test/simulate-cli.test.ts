import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import twilio from 'twilio';
import { loadConfig } from '../src/config.js';
import { loadEdgeConfig } from '../src/http/edge-config.js';
import { startRelay, type Relay } from '../src/app.js';
import { wavInfo } from '../src/audio/wav.js';
import { parseArgs, parseDuration, runSimulation, UsageError } from '../src/sim/simulate/simulate-cli.js';

// `npm run simulate` against the real relay answering with its simulated agent, over loopback. The
// CLI only knows the URL: everything asserted here is what it measured from the caller's side.

let relay: Relay;
let url: string;
let dir: string;

beforeAll(async () => {
  relay = await startRelay(loadConfig({ PORT: '0', HOST: '127.0.0.1', PROVIDER: 'sim', METRICS_PORT: '0' }), {
    store: null,
  });
  url = `ws://127.0.0.1:${relay.port}/media-stream`;
  dir = mkdtempSync(join(tmpdir(), 'simulate-'));
});

afterAll(async () => {
  await relay?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('runSimulation', () => {
  it('reports the assistant hanging up: the line closed right after the goodbye was heard', async () => {
    // The simulated agent ends the call when the caller presses 9 (endCall), after a goodbye.
    const result = await runSimulation({
      url,
      dtmf: [{ digit: '9', atMs: 500 }],
      hangupAfterMs: 25_000,
      write: () => {},
    });
    const call = result.calls[0];
    expect(call?.end?.by).toBe('relay');
    expect(call?.hangUpAfterAudioMs).toBeLessThan(500);
    expect(result.summary).toMatch(
      /ended\s+relay closed the call at .*after the last audio heard \(the assistant hung up/,
    );
  });

  it('reports time to first audio and the barge-in reaction, and writes what the caller heard', async () => {
    const printed: string[] = [];
    const out = join(dir, 'heard.wav');
    const result = await runSimulation({
      url,
      bargeIn: { turn: 'greeting', afterMs: 800 },
      hangupAfterMs: 3500,
      out,
      write: (s) => printed.push(s),
    });
    const text = printed.join('');
    const call = result.calls[0];
    expect(result.calls).toHaveLength(1);
    expect(call?.error).toBeUndefined();
    // Live lines as they happened.
    expect(text).toMatch(/connected \(call CA[0-9a-f]{32}\)/);
    expect(text).toMatch(/first audio heard: \d+ ms after connecting/);
    expect(text).toMatch(/caller talks over the greeting/);
    expect(text).toMatch(/clear received: barge-in reaction \d+ ms/);
    expect(text).toMatch(/hanging up \(--hangup-after 3\.50s\)/);
    // The summary.
    expect(result.summary).toMatch(/time to first audio\s+\d+ ms/);
    expect(result.summary).toMatch(/barge-in reaction\s+\d+ ms \(caller talked over at \d\.\d\ds\)/);
    expect(result.summary).toMatch(/ended\s+caller hung up at 3\.\d\ds \(close 1000/);
    expect(text).toContain(result.summary);
    expect(call?.clears).toBeGreaterThanOrEqual(1);
    expect(call?.marksCleared).toBeGreaterThan(0);
    expect(call?.bargeInReactionMs).toBeGreaterThan(0);
    expect(call?.bargeInReactionMs).toBeLessThan(3000);
    // The WAV: a playable 8 kHz file as long as the call, with the greeting in it.
    expect(result.wav?.path).toBe(out);
    const info = wavInfo(readFileSync(out));
    expect(info).toMatchObject({ format: 1, channels: 1, sampleRate: 8000, bitsPerSample: 16 });
    expect(info.durationMs).toBeGreaterThan(3000);
    expect(info.durationMs).toBeLessThan(6000);
    expect(call?.heardMs).toBeGreaterThan(500);
  });

  it('runs concurrent calls with a status line and a distribution summary', async () => {
    const printed: string[] = [];
    const result = await runSimulation({
      url,
      calls: 2,
      hangupAfterMs: 1200,
      write: (s) => printed.push(s),
      tty: false,
    });
    expect(result.calls.map((c) => c.error)).toEqual([undefined, undefined]);
    const text = printed.join('');
    expect(text).toMatch(/calls 0\/2 live, 2 done/);
    expect(result.summary).toMatch(/Summary \(2 calls, 2 completed, 0 failed\)/);
    expect(result.summary).toMatch(/time to first audio\s+p50 \d+ ms · p95 \d+ ms · max \d+ ms/);
    expect(result.summary).toMatch(/endings\s+2× caller hung up \(1000\)/);
    expect(result.wav).toBeUndefined();
  });

  it('places 12 calls with an abort signal without a MaxListenersExceededWarning', async () => {
    // Its own relay, signing like Twilio: a development relay allows 10 unsigned upgrades a minute.
    const token = 'twilio-auth-token-for-simulate-12-calls';
    const env = { PORT: '0', HOST: '127.0.0.1', PROVIDER: 'sim', METRICS_PORT: '0', PUBLIC_HOST: 'relay.test' };
    const config = loadConfig(env);
    const signed = await startRelay(config, {
      store: null,
      edge: loadEdgeConfig({ ...env, TWILIO_AUTH_TOKEN: token }, config),
    });
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    try {
      const signature = twilio.getExpectedTwilioSignature(token, 'wss://relay.test/media-stream', {});
      const result = await runSimulation({
        url: `ws://127.0.0.1:${signed.port}/media-stream`,
        calls: 12,
        hangupAfterMs: 1000,
        headers: { 'X-Twilio-Signature': signature },
        signal: new AbortController().signal,
        write: () => undefined,
      });
      expect(result.calls.filter((c) => c.error !== undefined)).toEqual([]);
      await new Promise((r) => setImmediate(r));
      expect(warnings).not.toContain('MaxListenersExceededWarning');
    } finally {
      process.off('warning', onWarning);
      await signed.close();
    }
  }, 30_000);

  it('reports a relay that cannot be reached as a failed call, not a crash', async () => {
    const result = await runSimulation({
      url: 'ws://127.0.0.1:1/media-stream',
      hangupAfterMs: 1000,
      write: () => undefined,
    });
    expect(result.calls[0]?.error).toMatch(/connection failed/);
    expect(result.summary).toMatch(/ended\s+connection failed/);
  });
});

describe('simulate arguments', () => {
  it('parses durations, barge-in turns and DTMF lists', () => {
    expect(parseDuration('2.5s')).toBe(2500);
    expect(parseDuration('1500ms')).toBe(1500);
    expect(parseDuration('4')).toBe(4000);
    const o = parseArgs([
      '--url',
      'ws://h:1/media-stream',
      '--barge-in=answer:2s',
      '--dtmf',
      '1@4s,#@4.5s',
      '--dtmf',
      '2@5',
      '--answered-by',
      'machine_end_beep',
      '--calls',
      '3',
    ]);
    expect(o).toMatchObject({
      url: 'ws://h:1/media-stream',
      bargeIn: { turn: 'answer', afterMs: 2000 },
      answeredBy: 'machine_end_beep',
      calls: 3,
      out: 'heard.wav',
    });
    expect(o.dtmf).toEqual([
      { digit: '1', atMs: 4000 },
      { digit: '#', atMs: 4500 },
      { digit: '2', atMs: 5000 },
    ]);
    expect(parseArgs(['--barge-in', '2.5s']).bargeIn).toEqual({ turn: 'greeting', afterMs: 2500 });
  });

  it('rejects bad arguments with a message naming the option', () => {
    const bad: Array<[string[], RegExp]> = [
      [['--hangup-after', '2 minutes'], /--hangup-after: expected a duration/],
      [['--dtmf', 'x@1s'], /--dtmf: expected DIGIT@TIME/],
      [['--dtmf', '1@40s'], /after --hangup-after/],
      [['--answered-by', 'robot'], /--answered-by: expected one of/],
      [['--calls', '0'], /--calls/],
      [['--url', 'http://x'], /--url/],
      [['--audio'], /--audio needs a value/],
      [['--loud'], /unknown option "--loud"/],
    ];
    for (const [argv, msg] of bad) expect(() => parseArgs(argv), argv.join(' ')).toThrow(msg);
    expect(() => parseArgs(['--calls', 'many'])).toThrow(UsageError);
  });

  it('exits 2 with the usage text on a bad argument, from the command line', async () => {
    const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', 'src/sim/simulate/simulate-cli.ts', '--barge-in', 'soon'],
        { timeout: 15_000 },
        (err, _out, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stderr }),
      );
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('simulate: --barge-in: expected a duration like 2.5s, 1500ms or 4, got "soon"');
    expect(r.stderr).toContain('usage: npm run simulate');
  });
});
