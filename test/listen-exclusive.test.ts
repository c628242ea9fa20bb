import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../src/config.js';
import { startHarness, type Harness } from './support/relay-harness.js';

// Issue 16, "Two relays on one port": uWS listens with SO_REUSEPORT, so without an exclusive listen a
// second relay on a busy port would start and split the connections. It must stop at start instead,
// with one line naming the port.

const root = fileURLToPath(new URL('../', import.meta.url));
const dataDir = mkdtempSync(join(tmpdir(), 'listen-exclusive-'));

let first: Harness;
beforeAll(async () => {
  first = await startHarness();
});
afterAll(async () => {
  await first?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('a second relay on a port in use', () => {
  it('fails to start with a PORT error naming the port', async () => {
    const port = String(first.relay.port);
    const second = startHarness({ env: { PORT: port } });
    await expect(second).rejects.toBeInstanceOf(ConfigError);
    await expect(second).rejects.toThrow(`PORT: ${port} on 127.0.0.1 is already in use`);
    // The first relay still answers every request (nothing was split off to a second listener).
    for (let i = 0; i < 5; i++) expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);
  });

  it('stops `npm start` with one line and exit code 2, no stack trace', async () => {
    const port = String(first.relay.port);
    const exit = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      execFile(
        'npx',
        ['tsx', 'src/main.ts'],
        {
          cwd: root,
          env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: port, METRICS_PORT: '0', DATA_DIR: dataDir },
          timeout: 45_000,
        },
        (err, _stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stderr }),
      );
    });
    expect(exit.code, exit.stderr).toBe(2);
    expect(exit.stderr.trimEnd().split('\n')).toEqual([
      `callrelay: configuration error: PORT: ${port} on 127.0.0.1 is already in use (another relay?): ` +
        'stop it or choose another PORT',
    ]);
  }, 60_000);
});
