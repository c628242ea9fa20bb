import { setMaxListeners } from 'node:events';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { SimCaller } from '../twilio/caller.js';
import { speechLike } from '../../audio/speechlike.js';
import { readWavFile, writeWavFile } from '../../audio/wav.js';
import { summarize } from './simulate-report.js';

// `npm run simulate -- --url ws://localhost:8080/media-stream [options]`: places simulated phone
// calls against ANY running relay. It only knows the URL, so it reports what a caller experiences:
// when audio starts, each burst, marks echoed, `clear` (how fast the relay reacted to being talked
// over), DTMF sent, how the call ended; and writes what the first caller heard to a WAV.
//
// Script of each call: the greeting plays; the caller says --audio (default 1.6 s of speech-like
// audio) once the greeting is over, or --barge-in after the greeting's first audio, over it; the
// caller then waits for the answer and hangs up once it has been quiet for 1.5 s and every --dtmf
// is sent. `--barge-in answer:2s` talks over the answer instead (1.2 s of speech-like audio).
// --hangup-after bounds every call (default 30 s).

export const USAGE = `usage: npm run simulate -- [--url ws://host:port/media-stream] [options]
  --audio FILE           what the caller says (WAV, PCM16 or mu-law, any rate); default 1.6 s of speech-like audio
  --barge-in [answer:]T  talk over the greeting T after its first audio (answer: over the first answer instead)
  --dtmf D@T[,D@T…]      press key D at T after connecting (repeatable), e.g. --dtmf 1@4s
  --answered-by VALUE    Twilio AnsweredBy, e.g. machine_end_beep (the relay leaves a voicemail)
  --hangup-after T       hang up at T at the latest (default 30s)
  --out FILE             WAV of what the (first) caller heard (default heard.wav)
  --merchant ID          merchantId parameter (default: the relay's fallback merchant)
  --calls N              N concurrent calls, started 50 ms apart (default 1, at most 500)
Durations: 2.5s, 1500ms or 4 (seconds). TWILIO_AUTH_TOKEN (+ PUBLIC_HOST) in the environment signs
the handshake like Twilio does; a development relay without it allows 10 unsigned calls a minute per IP.`;

export class UsageError extends Error {
  override name = 'UsageError';
}
function fail(message: string): never {
  throw new UsageError(message);
}

export interface SimulateOptions {
  url: string;
  /** What the caller says, 8 kHz mu-law; default 1.6 s of speech-like audio. */
  audio?: Buffer;
  bargeIn?: { turn: 'greeting' | 'answer'; afterMs: number };
  dtmf?: Array<{ digit: string; atMs: number }>;
  answeredBy?: string;
  hangupAfterMs?: number;
  /** WAV path for what the first caller heard; undefined = none. */
  out?: string;
  merchant?: string;
  calls?: number;
  headers?: Record<string, string>;
  /** Output sink (default stdout); `tty` enables the in-place status line. */
  write?: (text: string) => void;
  tty?: boolean;
  signal?: AbortSignal;
}

/** What one caller experienced; times are ms since its socket opened. */
export interface CallReport {
  index: number;
  callSid: string;
  /** Set when the call could not be placed or the script failed. */
  error?: string;
  firstAudioMs?: number;
  /** Runs of assistant audio with gaps under 300 ms. */
  bursts: Array<{ startMs: number; endMs: number }>;
  heardMs: number;
  /** Marks echoed after their audio played / flushed by a clear. */
  marksEchoed: number;
  marksCleared: number;
  clears: number;
  /** When the caller started talking over the assistant, and how long until the relay's clear. */
  bargeInAtMs?: number;
  bargeInReactionMs?: number;
  dtmfSent: string[];
  end?: { by: 'caller' | 'relay'; code: number; reason: string; atMs: number };
  /** The relay closed the call: ms from the end of the last audio the caller heard to the close. */
  hangUpAfterAudioMs?: number;
}

export interface SimulationResult {
  calls: CallReport[];
  summary: string;
  wav?: { path: string; seconds: number };
}

const ANSWERED_BY = [
  'human',
  'unknown',
  'machine_start',
  'machine_end_beep',
  'machine_end_silence',
  'machine_end_other',
  'fax',
];
const QUIET_MS = 1500;
/** How long to wait for an answer to start before deciding none is coming. */
const ANSWER_WAIT_MS = 8000;
const BURST_GAP_MS = 300;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));
const secs = (ms: number) => `${(ms / 1000).toFixed(2)}s`;

/** '2.5s' | '1500ms' | '4' (seconds) → milliseconds. */
export function parseDuration(text: string, what = 'duration'): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(text.trim());
  if (!m?.[1]) return fail(`${what}: expected a duration like 2.5s, 1500ms or 4, got ${JSON.stringify(text)}`);
  return Math.round(Number(m[1]) * (m[2] === 'ms' ? 1 : 1000));
}

/** argv (after `--`) → options; --audio stays a path (read by main). Throws UsageError. */
export function parseArgs(argv: string[]): SimulateOptions & { audioPath?: string; help?: boolean } {
  const opts: SimulateOptions & { audioPath?: string; help?: boolean } = {
    url: 'ws://localhost:8080/media-stream',
    dtmf: [],
    out: 'heard.wav',
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--help' || arg === '-h') return { ...opts, help: true };
    const eq = arg.indexOf('=');
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const val = (): string => {
      const v = eq > 0 ? arg.slice(eq + 1) : argv[++i];
      if (v === undefined || v === '') fail(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--url':
        opts.url = val();
        if (!/^wss?:\/\/[^/\s]+/.test(opts.url))
          fail(`--url: expected ws://host:port/path or wss://…, got ${JSON.stringify(opts.url)}`);
        break;
      case '--audio':
        opts.audioPath = val();
        break;
      case '--barge-in': {
        const [, turn, t] = /^(?:(greeting|answer):)?(.*)$/.exec(val()) ?? [];
        opts.bargeIn = {
          turn: turn === 'answer' ? 'answer' : 'greeting',
          afterMs: parseDuration(t ?? '', '--barge-in'),
        };
        break;
      }
      case '--dtmf':
        for (const part of val().split(',')) {
          const [, digit, t] = /^([0-9*#A-D])@(.+)$/.exec(part.trim()) ?? [];
          if (!digit || !t)
            fail(`--dtmf: expected DIGIT@TIME like 1@4s (digits 0-9 * # A-D), got ${JSON.stringify(part)}`);
          else opts.dtmf?.push({ digit, atMs: parseDuration(t, '--dtmf') });
        }
        break;
      case '--answered-by':
        opts.answeredBy = val();
        if (!ANSWERED_BY.includes(opts.answeredBy))
          fail(`--answered-by: expected one of ${ANSWERED_BY.join(', ')}, got ${JSON.stringify(opts.answeredBy)}`);
        break;
      case '--hangup-after':
        opts.hangupAfterMs = parseDuration(val(), '--hangup-after');
        if (opts.hangupAfterMs < 500 || opts.hangupAfterMs > 3_600_000) fail('--hangup-after: between 0.5s and 3600s');
        break;
      case '--out':
        opts.out = val();
        break;
      case '--merchant':
        opts.merchant = val();
        break;
      case '--calls':
        opts.calls = Number(val());
        if (!Number.isInteger(opts.calls) || opts.calls < 1 || opts.calls > 500)
          fail('--calls: a whole number from 1 to 500');
        break;
      default:
        fail(`unknown option ${JSON.stringify(arg)}`);
    }
  }
  const limit = opts.hangupAfterMs ?? 30_000;
  for (const d of opts.dtmf ?? [])
    if (d.atMs >= limit) fail(`--dtmf ${d.digit}@${secs(d.atMs)} is after --hangup-after (${secs(limit)})`);
  return opts;
}

/** Runs one scripted call; resolves once it has ended. `say` prints a timed line for single-call runs. */
async function runCall(
  index: number,
  opts: SimulateOptions,
  say: (line: string) => void,
  status: { live: number; done: number; failed: number },
): Promise<{ report: CallReport; heard?: Buffer }> {
  const params: Record<string, string> = {
    callerPhone: '+15005550100',
    calledNumber: '+15005550006',
    direction: 'inbound',
  };
  if (opts.merchant) params.merchantId = opts.merchant;
  if (opts.answeredBy) params.answeredBy = opts.answeredBy;
  const record = index === 0 && opts.out !== undefined;
  const caller = new SimCaller({ url: opts.url, headers: opts.headers ?? {}, customParameters: params, record });
  const r: CallReport = {
    index,
    callSid: caller.callSid,
    bursts: [],
    heardMs: 0,
    marksEchoed: 0,
    marksCleared: 0,
    clears: 0,
    dtmfSent: [],
  };
  const t0 = performance.now();
  const at = () => performance.now() - t0;
  const failed = await caller.ready.then(
    () => undefined,
    (err: unknown) => `connection failed: ${err instanceof Error ? err.message : String(err)}`,
  );
  if (failed !== undefined) {
    r.error = failed;
    say(failed);
    status.failed++;
    return { report: r };
  }
  status.live++;
  say(`connected (call ${caller.callSid})`);
  const deadline = t0 + (opts.hangupAfterMs ?? 30_000);
  let lastBurstAt = -1;
  let burstStart: number | undefined;
  caller.on('media', (m) => {
    if (r.firstAudioMs === undefined) {
      r.firstAudioMs = m.receivedAt - t0;
      say(`first audio heard: ${Math.round(r.firstAudioMs)} ms after connecting`);
    }
    if (m.startsBurst) lastBurstAt = m.receivedAt - t0;
  });
  caller.on('markEchoed', (m) => (m.cleared ? r.marksCleared++ : r.marksEchoed++));
  caller.on('clear', (c) => {
    r.clears++;
    const since = r.bargeInAtMs !== undefined ? c.at - t0 - r.bargeInAtMs : undefined;
    if (since !== undefined && r.bargeInReactionMs === undefined) r.bargeInReactionMs = since;
    const reaction =
      since !== undefined ? `: barge-in reaction ${Math.round(since)} ms after the caller started talking` : '';
    say(`clear received${reaction} (${c.echoed.length} marks flushed)`);
  });
  // Bursts: runs of heard audio with gaps under BURST_GAP_MS, reported when they end.
  const poll = setInterval(() => {
    const last = caller.heardSegments.at(-1);
    if (!last) return;
    if (burstStart === undefined && last.endAt - t0 > (r.bursts.at(-1)?.endMs ?? -1) + 1) {
      burstStart = Math.max(last.startAt - t0, r.bursts.at(-1)?.endMs ?? 0);
      say('assistant audio starts');
    }
    if (
      burstStart !== undefined &&
      !caller.hearing &&
      caller.queuedPlaybackBytes === 0 &&
      performance.now() - last.endAt > BURST_GAP_MS
    ) {
      r.bursts.push({ startMs: burstStart, endMs: last.endAt - t0 });
      say(`assistant audio stops: ${secs(last.endAt - t0 - burstStart)} heard, ${r.marksEchoed} marks echoed so far`);
      burstStart = undefined;
    }
  }, 50);
  const open = () => caller.state === 'open' && performance.now() < deadline && opts.signal?.aborted !== true;
  const nap = (ms: number) => sleep(Math.min(ms, deadline - performance.now()));
  const until = async (ok: () => boolean): Promise<boolean> => {
    while (open() && !ok()) await sleep(50);
    return open();
  };
  const quietFor = async (ms: number): Promise<boolean> => {
    let since = performance.now();
    while (open()) {
      if (caller.hearing || caller.queuedPlaybackBytes > 0) since = performance.now();
      else if (performance.now() - since >= ms) return true;
      await sleep(50);
    }
    return false;
  };
  const talkOver = async (clip: Buffer, what: string): Promise<void> => {
    if (!caller.hearing && caller.queuedPlaybackBytes === 0) say(`barge-in skipped: the ${what} had already ended`);
    else {
      r.bargeInAtMs = at();
      say(`caller talks over the ${what} (${secs(clip.length * 0.125)})`);
    }
    await caller.say(clip);
  };
  const dtmfTimers = (opts.dtmf ?? []).map((d) =>
    setTimeout(() => {
      if (caller.state !== 'open') return;
      caller.sendDtmf(d.digit);
      r.dtmfSent.push(`${d.digit}@${secs(at())}`);
      say(`DTMF ${d.digit} sent`);
    }, d.atMs - at()),
  );
  // A long --audio must not carry the call past --hangup-after (or Ctrl-C): stop saying it then.
  const hangupTimer = setTimeout(() => caller.stopSaying(), Math.max(0, deadline - performance.now()));
  const onAbort = () => caller.stopSaying();
  opts.signal?.addEventListener('abort', onAbort);
  /** Wait for the assistant to start answering what was said/pressed at `after`, then for it to finish. */
  const answered = async (after: number): Promise<void> => {
    await until(() => lastBurstAt > after || at() > after + ANSWER_WAIT_MS);
    await quietFor(QUIET_MS);
  };
  const clip = opts.audio ?? speechLike({ ms: 1600, seed: 7 });
  try {
    if (await until(() => r.firstAudioMs !== undefined)) {
      const greetingAudio = r.firstAudioMs ?? 0;
      if (opts.bargeIn?.turn === 'greeting') {
        await nap(greetingAudio + opts.bargeIn.afterMs - at());
        if (open()) await talkOver(clip, 'greeting');
      } else if (await quietFor(700)) {
        say(`caller speaks (${secs(clip.length * 0.125)})`);
        await caller.say(clip);
      }
      let spokeAt = at();
      if (opts.bargeIn?.turn === 'answer' && (await until(() => lastBurstAt > spokeAt))) {
        await nap(lastBurstAt + opts.bargeIn.afterMs - at());
        if (open()) await talkOver(speechLike({ ms: 1200, seed: 8 }), 'answer');
        spokeAt = at();
      }
      if (open()) await answered(spokeAt);
      const lastDtmf = Math.max(...(opts.dtmf ?? []).map((d) => d.atMs));
      if (Number.isFinite(lastDtmf) && (await until(() => at() > lastDtmf + 50))) await answered(lastDtmf);
    }
    if (caller.state === 'open') {
      say(performance.now() >= deadline ? `hanging up (--hangup-after ${secs(deadline - t0)})` : 'caller hangs up');
      const c = await caller.hangUp();
      r.end = { by: 'caller', code: c.code, reason: c.reason, atMs: c.at - t0 };
    } else {
      const c = caller.closeInfo ?? (await caller.waitForClose(3000));
      r.end = { by: 'relay', code: c.code, reason: c.reason, atMs: c.at - t0 };
      // The assistant hung up (endCall, a silent caller, the maximum length): how long after the last
      // audio the caller heard did the line close (the goodbye was heard in full when this is small).
      const lastAudio = caller.heardSegments.at(-1)?.endAt;
      if (lastAudio !== undefined) r.hangUpAfterAudioMs = Math.max(0, c.at - lastAudio);
      say(`relay closed the call: ${c.code}${c.reason ? ` "${c.reason}"` : ''}`);
    }
  } catch (err) {
    r.error = err instanceof Error ? err.message : String(err);
    if (caller.state !== 'closed') await caller.drop().catch(() => undefined);
  } finally {
    clearInterval(poll);
    clearTimeout(hangupTimer);
    opts.signal?.removeEventListener('abort', onAbort);
    dtmfTimers.forEach(clearTimeout);
    if (burstStart !== undefined) {
      const last = caller.heardSegments.at(-1);
      r.bursts.push({ startMs: burstStart, endMs: (last?.endAt ?? t0) - t0 });
    }
    r.heardMs = caller.heardBytes / 8;
    status.live--;
    if (r.error) status.failed++;
    else status.done++;
  }
  return { report: r, heard: record ? caller.heardAudio() : undefined };
}

export { summarize } from './simulate-report.js';

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

async function main(): Promise<number> {
  let opts: ReturnType<typeof parseArgs>;
  try {
    opts = parseArgs(process.argv.slice(2));
    if (opts.help) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    if (opts.audioPath !== undefined)
      opts.audio = await readWavFile(opts.audioPath).catch((e: unknown) => {
        throw new UsageError(`--audio: ${e instanceof Error ? e.message : String(e)}`);
      });
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`simulate: ${err.message}\n\n${USAGE}\n`);
    return 2;
  }
  const token = process.env.TWILIO_AUTH_TOKEN?.trim();
  if (token) {
    // Twilio signs wss://PUBLIC_HOST<path> with no params; the relay checks against its PUBLIC_HOST.
    const u = new URL(opts.url);
    const { default: twilio } = await import('twilio');
    const signed = `wss://${process.env.PUBLIC_HOST?.trim() || u.host}${u.pathname}`;
    opts.headers = { 'X-Twilio-Signature': twilio.getExpectedTwilioSignature(token, signed, {}) };
  }
  const ac = new AbortController();
  process.once('SIGINT', () => ac.abort());
  const result = await runSimulation({ ...opts, tty: process.stdout.isTTY === true, signal: ac.signal });
  return result.calls.every((c) => !c.error) ? 0 : 1;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`simulate: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
