import { secs } from './simulate-report.js';

// The command line of `npm run simulate`: its usage text, and argv parsed into the options of a run,
// every mistake a UsageError naming the option and what it expects.

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

const ANSWERED_BY = [
  'human',
  'unknown',
  'machine_start',
  'machine_end_beep',
  'machine_end_silence',
  'machine_end_other',
  'fax',
];

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
