import { setMaxListeners } from 'node:events';
import { performance } from 'node:perf_hooks';
import { writeWavFile } from '../../audio/wav.js';
import type { SimulateOptions } from './simulate-args.js';
import { runCall, type CallReport } from './simulate-call.js';
import { secs, summarize } from './simulate-report.js';

// A run of `npm run simulate`: N scripted calls started 50 ms apart, progress as they go (a timed
// line per event for one call, a live/done/failed count for many), the first caller's WAV, the summary.

export interface SimulationResult {
  calls: CallReport[];
  summary: string;
  wav?: { path: string; seconds: number };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));

/** Places the call(s), prints progress, writes the WAV, returns the reports and the summary text. */
export async function runSimulation(opts: SimulateOptions): Promise<SimulationResult> {
  const write = opts.write ?? ((s: string) => void process.stdout.write(s));
  const n = opts.calls ?? 1;
  // Each call listens to the one abort signal: more than EventTarget's default of 10 is expected here,
  // not a leak, and Node would print a MaxListenersExceededWarning for it.
  if (opts.signal) setMaxListeners(n + 1, opts.signal);
  const t0 = performance.now();
  const status = { live: 0, done: 0, failed: 0 };
  const say = (line: string) => write(`${secs(performance.now() - t0).padStart(7)}  ${line}\n`);
  write(`Simulated ${n === 1 ? 'call' : `${n} calls`} → ${opts.url}\n`);
  let shown = '';
  const showStatus = () => {
    const failed = status.failed ? `, ${status.failed} failed` : '';
    const line = `calls ${status.live}/${n} live, ${status.done} done${failed}`;
    if (n > 1 && line !== shown) write(opts.tty ? `\r\x1b[2K${line}` : `${line}\n`);
    shown = line;
  };
  const progress = setInterval(showStatus, opts.tty ? 250 : 1000);
  const results: Array<Promise<{ report: CallReport; heard?: Buffer }>> = [];
  for (let i = 0; i < n && !opts.signal?.aborted; i++) {
    results.push(runCall(i, opts, n === 1 ? say : () => undefined, status));
    if (i < n - 1) await sleep(50);
  }
  const done = await Promise.all(results);
  clearInterval(progress);
  showStatus();
  if (n > 1 && opts.tty) write('\n');
  const calls = done.map((d) => d.report);
  let wav: SimulationResult['wav'];
  const heard = done[0]?.heard;
  if (opts.out !== undefined && heard !== undefined && heard.length > 0) {
    await writeWavFile(opts.out, heard);
    wav = { path: opts.out, seconds: heard.length / 8000 };
  }
  const summary = summarize(calls, wav);
  write(`\n${summary}`);
  return { calls, summary, ...(wav ? { wav } : {}) };
}
