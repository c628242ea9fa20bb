import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

// The README's demos run as shown, with no keys and no phone: the whole call, transcript and record.

const run = promisify(execFile);
const demo = (args: string[]) =>
  run(process.execPath, ['--import', 'tsx', 'src/demo.ts', ...args], {
    // No REDIS_URL: CI's would make every test process share one bucket of unsigned upgrades for 127.0.0.1,
    // and the demo's caller would be refused while other tests open calls.
    env: {
      ...process.env,
      OPENAI_API_KEY: '',
      XAI_API_KEY: '',
      DATABASE_URL: '',
      SUPABASE_URL: '',
      REDIS_URL: '',
      LOG_LEVEL: 'error',
    },
    timeout: 90_000,
  });

describe('npm run demo', () => {
  it('-- --sip: webhook, accept, greeting, a booking, the assistant hangs up, no audio through the relay', async () => {
    const { stdout } = await demo(['--sip']);
    expect(stdout).toContain('SIMULATED');
    expect(stdout).toMatch(/signed realtime\.call\.incoming \(rtc_[^)]+\); the relay answered 200/);
    expect(stdout).toContain('Transcript (assistant_ended');
    expect(stdout).toMatch(/Booked: \d{4}-\d\d-\d\dT10:00/);
    expect(stdout).toContain('REST: accept, hangup · audio frames through the relay: 0');
  }, 100_000);

  it('(Media Streams): barge-in, keypad, a transfer nobody answers, the assistant hangs up', async () => {
    const { stdout } = await demo([]);
    expect(stdout).toContain('SIMULATED AGENT');
    expect(stdout).toContain('relay sent Twilio `clear`');
    expect(stdout).toContain('Dr Patel did not answer');
    expect(stdout).toContain('Transcript (assistant_ended');
  }, 100_000);
});
