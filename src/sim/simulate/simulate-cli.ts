import { pathToFileURL } from 'node:url';
import { readWavFile } from '../../audio/wav.js';
import { parseArgs, USAGE, UsageError } from './simulate-args.js';
import { runSimulation } from './simulate-run.js';

// `npm run simulate -- --url ws://localhost:8080/media-stream [options]`: places simulated phone
// calls against ANY running relay. It only knows the URL, so it reports what a caller experiences:
// when audio starts, each burst, marks echoed, `clear` (how fast the relay reacted to being talked
// over), DTMF sent, how the call ended; and writes what the first caller heard to a WAV.
// The call's script is in simulate-call.ts; this module is the command: argv, signing, Ctrl-C, exit code.

export { parseArgs, parseDuration, USAGE, UsageError, type SimulateOptions } from './simulate-args.js';
export type { CallReport } from './simulate-call.js';
export { runSimulation, type SimulationResult } from './simulate-run.js';
export { summarize } from './simulate-report.js';

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
