import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

// Issue 16: `npm start` starts from the build when it is current instead of compiling every time.
// scripts/start.mjs is run in a scratch project: sources, a dist/ with a stand-in main.js, the stamp.

const script = fileURLToPath(new URL('../scripts/start.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'start-script-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [script, ...args], { cwd: dir, timeout: 20_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

const at = (path: string, secondsAgo: number) => {
  const t = Date.now() / 1000 - secondsAgo;
  utimesSync(path, t, t);
};

describe('scripts/start.mjs', () => {
  mkdirSync(join(dir, 'src'));
  mkdirSync(join(dir, 'machines'));
  mkdirSync(join(dir, 'dist', 'src'), { recursive: true });
  writeFileSync(join(dir, 'src', 'main.ts'), 'export {};\n');
  writeFileSync(join(dir, 'dist', 'src', 'main.js'), "process.stdout.write('relay started from dist\\n');\n");
  writeFileSync(join(dir, 'dist', '.build-stamp'), '');
  for (const p of ['src/main.ts', 'src', 'machines', 'dist/src/main.js']) at(join(dir, p), 60);

  it('starts dist/src/main.js without compiling when nothing changed since the build', async () => {
    expect((await run(['--check'])).code).toBe(0);
    const r = await run([]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('relay started from dist\n');
    expect(r.stderr).not.toMatch(/compiling/);
  });

  it('says the build is stale once a source is newer than it, or when there was no build', async () => {
    at(join(dir, 'dist', '.build-stamp'), 120);
    expect((await run(['--check'])).code).toBe(1);
    rmSync(join(dir, 'dist', '.build-stamp'));
    expect((await run(['--check'])).stdout).toBe('build is stale\n');
  });
});
