import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigProblems } from '../src/config.js';
import { loadStartupConfig } from '../src/config/startup-config.js';

// Start-up with bad settings: one line per problem naming the variable, every problem at once, exit
// code 2, and never a stack trace. The spawned relay gets only the variables a case sets (plus PATH), so
// the developer's or CI's environment cannot make it start for real.

const root = fileURLToPath(new URL('../', import.meta.url));
// npx + tsx + the relay's imports take seconds on a busy box; a relay that starts is killed before this.
const SPAWN_TIMEOUT_MS = 60_000;
const dataDir = mkdtempSync(join(tmpdir(), 'config-startup-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

interface Exit {
  code: number | null;
  stderr: string;
}

function startRelay(env: Record<string, string>): Promise<Exit> {
  return new Promise((resolve) => {
    execFile(
      'npx',
      ['tsx', 'src/main.ts'],
      {
        cwd: root,
        env: { PATH: process.env.PATH ?? '', PORT: '0', METRICS_PORT: '0', DATA_DIR: dataDir, ...env },
        // A relay that starts instead of stopping is killed here and fails on its exit code.
        timeout: 45_000,
      },
      (err, _stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stderr }),
    );
  });
}

function expectConfigErrors(exit: Exit, variables: string[]): void {
  const lines = exit.stderr.trimEnd().split('\n');
  expect(exit.code, exit.stderr).toBe(2);
  expect(lines.map((l) => /^callrelay: configuration error: ([A-Z_]+): /.exec(l)?.[1])).toEqual(variables);
  expect(exit.stderr).not.toMatch(/^\s+at /m);
}

describe('start-up with a bad setting', () => {
  it.each([
    [{ LOG_LEVEL: 'verbose' }, 'LOG_LEVEL'],
    [{ HOST: 'notanip' }, 'HOST'],
    [{ SUPABASE_URL: 'https://x.supabase.co' }, 'SUPABASE_SERVICE_ROLE_KEY'],
  ])(
    '%j stops with one line naming %s',
    async (env, variable) => {
      expectConfigErrors(await startRelay(env), [variable]);
    },
    SPAWN_TIMEOUT_MS,
  );

  it(
    'reports every missing or invalid production setting at once',
    async () => {
      const exit = await startRelay({ NODE_ENV: 'production', PORT: 'eighty', TWILIO_ACCOUNT_SID: 'AC1' });
      expectConfigErrors(exit, [
        'PORT',
        'PUBLIC_HOST',
        'OPENAI_API_KEY',
        'TWILIO_AUTH_TOKEN',
        'TWILIO_ACCOUNT_SID',
        'TWILIO_PHONE_NUMBER',
      ]);
    },
    SPAWN_TIMEOUT_MS,
  );
});

describe('loadStartupConfig', () => {
  it('returns the settings when they are good', () => {
    const s = loadStartupConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      SUPABASE_URL: 'https://x',
      DATABASE_URL: 'postgres://x',
    });
    expect(s.config.port).toBe(0);
    expect(s.sms).toBeNull();
  });

  it('collects the problems of every loader instead of stopping at the first', () => {
    let err: unknown;
    try {
      loadStartupConfig({
        NODE_ENV: 'production',
        PUBLIC_HOST: 'relay.example.com',
        OPENAI_API_KEY: 'sk',
        TWILIO_AUTH_TOKEN: 't',
        MAX_SESSION_SECONDS: '1',
        DEFAULT_REGION: 'Narnia',
        GOOGLE_API_ROOT_URL: 'googleapis.com',
        SUPABASE_SERVICE_ROLE_KEY: 'k',
        INSPECT: '1',
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigProblems);
    expect(err instanceof ConfigProblems && err.problems.map((p) => p.variable)).toEqual([
      'MAX_SESSION_SECONDS',
      'GOOGLE_API_ROOT_URL',
      'DEFAULT_REGION',
      'SUPABASE_URL',
      'INSPECT',
    ]);
  });
});
