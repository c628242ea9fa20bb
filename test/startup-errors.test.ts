import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

// Issue 16, "Errors that are stack traces": what can only fail once the relay starts (the database,
// DATA_DIR, merchant files) stops it with one line naming the variable and exit code 2, like a bad
// setting does (test/config-startup.test.ts).

const root = fileURLToPath(new URL('../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'startup-errors-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function start(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      'npx',
      ['tsx', 'src/main.ts'],
      {
        cwd: root,
        env: { PATH: process.env.PATH ?? '', PORT: '0', METRICS_PORT: '0', DATA_DIR: join(dir, 'data'), ...env },
        timeout: 45_000,
      },
      (err, _stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stderr }),
    );
  });
}

const aFile = join(dir, 'a-file');
writeFileSync(aFile, 'not a folder');
const badMerchant = join(dir, 'bad.yaml');
writeFileSync(badMerchant, 'id: x\nname: X\ntimeZone: Mars/Olympus\nphoneNumbers: ["+15550001111"]\n');

describe('start-up stops with one line naming the variable', () => {
  it.each([
    ['an unreachable DATABASE_URL', { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/test' }, 'DATABASE_URL'],
    ['a DATA_DIR that cannot be written', { DATA_DIR: join(aFile, 'data') }, 'DATA_DIR'],
    ['a merchant file with a mistake', { MERCHANT_FILES: badMerchant }, 'MERCHANT_FILES'],
  ])(
    '%s',
    async (_label, env, variable) => {
      const exit = await start(env);
      expect(exit.code, exit.stderr).toBe(2);
      const lines = exit.stderr.trimEnd().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(new RegExp(`^callrelay: configuration error: ${variable}: `));
      expect(exit.stderr).not.toMatch(/^\s+at /m);
    },
    60_000,
  );
});
