import { performance } from 'node:perf_hooks';
import { SimCaller } from '../twilio/caller.js';
import { speechLike } from '../../audio/speechlike.js';
import type { SimulateOptions } from './simulate-args.js';
import { secs } from './simulate-report.js';

// One scripted call of `npm run simulate` and what its caller experienced: when audio starts, each
// burst, marks echoed, `clear` (how fast the relay reacted to being talked over), DTMF sent, how
// the call ended.
//
// Script of each call: the greeting plays; the caller says --audio (default 1.6 s of speech-like
// audio) once the greeting is over, or --barge-in after the greeting's first audio, over it; the
// caller then waits for the answer and hangs up once it has been quiet for 1.5 s and every --dtmf
// is sent. `--barge-in answer:2s` talks over the answer instead (1.2 s of speech-like audio).
// --hangup-after bounds every call (default 30 s).

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

const QUIET_MS = 1500;
/** How long to wait for an answer to start before deciding none is coming. */
const ANSWER_WAIT_MS = 8000;
const BURST_GAP_MS = 300;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));

/** Runs one scripted call; resolves once it has ended. `say` prints a timed line for single-call runs. */
export async function runCall(
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
