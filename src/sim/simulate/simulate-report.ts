import type { CallReport } from './simulate-call.js';

// The end-of-run summary of `npm run simulate`: what the caller experienced, per call and overall.

/** Seconds as every line of the run writes them: 2 decimals and an s. */
export const secs = (ms: number) => `${(ms / 1000).toFixed(2)}s`;

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;
}

const ms = (x: number) => `${Math.round(x)} ms`;

/** The end-of-run summary: one call in detail, or the distribution over many. */
export function summarize(calls: CallReport[], wav?: { path: string; seconds: number }): string {
  const lines: string[] = [];
  const row = (k: string, v: string) => lines.push(`  ${k.padEnd(20)} ${v}`);
  const ok = calls.filter((c) => !c.error);
  const ending = (c: CallReport): string => {
    if (c.error !== undefined) return c.error;
    if (!c.end) return 'unknown';
    const who = c.end.by === 'caller' ? 'caller hung up' : 'relay closed the call';
    const reason = c.end.reason ? ` "${c.end.reason}"` : '';
    const after =
      c.hangUpAfterAudioMs !== undefined
        ? `, ${ms(c.hangUpAfterAudioMs)} after the last audio heard (the assistant hung up after its goodbye)`
        : '';
    return `${who} at ${secs(c.end.atMs)} (close ${c.end.code}${reason}${after})`;
  };
  const one = calls.length === 1 ? calls[0] : undefined;
  if (one) {
    // One call in detail.
    lines.push(`Summary (call ${one.callSid}):`);
    row('time to first audio', one.firstAudioMs !== undefined ? ms(one.firstAudioMs) : 'no audio heard');
    row('assistant audio', `${one.bursts.length} burst(s), ${secs(one.heardMs)} heard`);
    row('marks echoed', `${one.marksEchoed} after playing, ${one.marksCleared} flushed by clear`);
    row('clear received', String(one.clears));
    if (one.bargeInAtMs !== undefined) {
      row(
        'barge-in reaction',
        one.bargeInReactionMs !== undefined
          ? `${ms(one.bargeInReactionMs)} (caller talked over at ${secs(one.bargeInAtMs)})`
          : `no clear: the relay did not interrupt (caller talked over at ${secs(one.bargeInAtMs)})`,
      );
    }
    row('DTMF sent', one.dtmfSent.length ? one.dtmfSent.join(', ') : 'none');
    row('ended', ending(one));
  } else {
    lines.push(`Summary (${calls.length} calls, ${ok.length} completed, ${calls.length - ok.length} failed):`);
    const first = ok.map((c) => c.firstAudioMs).filter((x): x is number => x !== undefined);
    row(
      'time to first audio',
      first.length
        ? `p50 ${ms(pct(first, 50))} · p95 ${ms(pct(first, 95))} · max ${ms(Math.max(...first))}`
        : 'no audio heard',
    );
    const barge = ok.map((c) => c.bargeInReactionMs).filter((x): x is number => x !== undefined);
    const tried = ok.filter((c) => c.bargeInAtMs !== undefined).length;
    if (tried > 0)
      row(
        'barge-in reaction',
        barge.length
          ? `p50 ${ms(pct(barge, 50))} · max ${ms(Math.max(...barge))} (${barge.length}/${tried} interrupted)`
          : `no clear in ${tried} attempts`,
      );
    row('assistant audio', `${secs(ok.reduce((a, c) => a + c.heardMs, 0) / Math.max(1, ok.length))} heard per call`);
    const endings = new Map<string, number>();
    for (const c of calls) {
      const k =
        c.error ?? (c.end ? `${c.end.by === 'caller' ? 'caller hung up' : 'relay closed'} (${c.end.code})` : 'unknown');
      endings.set(k, (endings.get(k) ?? 0) + 1);
    }
    row('endings', [...endings].map(([k, n]) => `${n}× ${k}`).join(', '));
  }
  if (wav) row('heard audio', `${wav.path} (${wav.seconds.toFixed(1)} s${calls.length > 1 ? ', first call' : ''})`);
  return `${lines.join('\n')}\n`;
}
