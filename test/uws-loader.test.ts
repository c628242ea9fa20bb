import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  glibcVersion,
  isNativeUws,
  loadUws,
  reasonLine,
  selectUws,
  UwsRefusal,
  uwsLoaded,
  type UwsBuild,
  type UwsLoaderDeps,
} from '../src/transports/uws.js';

// The relay runs on a native uWebSockets.js binary or not at all: uws-legacy's JavaScript fallback
// answers /health but fails every WebSocket upgrade, so it must be refused wherever it shows up.

const require = createRequire(import.meta.url);
const ROOT = new URL('..', import.meta.url).pathname;
/** uws-legacy's own fallback module: what its entry point returns when its binary does not load. */
const FALLBACK = 'uws-legacy/dist/index.js';
const current: UwsBuild = { pkg: 'uWebSockets.js', runsOn: 'Node 24 on glibc 2.38+' };
const legacy: UwsBuild = { pkg: 'uws-legacy', runsOn: 'Node 20 on an older glibc' };

/** Loads `modules[pkg]` (a thrown Error stands for a binary that does not load). */
function deps(modules: Record<string, unknown>, said = ''): UwsLoaderDeps {
  return {
    load: (pkg) => {
      const m = modules[pkg];
      if (m instanceof Error) throw m;
      return { module: m, said };
    },
    isNative: isNativeUws,
    version: () => '1.2.3',
  };
}

const glibc = glibcVersion();
const [major = 0, minor = 0] = (glibc ?? '0.0').split('.').map(Number);
/** Where the current build's binaries load: a Node ABI it ships and glibc 2.38+. */
const currentLoadsHere =
  ['115', '127', '137', '141'].includes(process.versions.modules) && (major > 2 || (major === 2 && minor >= 38));

describe('uWebSockets.js loader', () => {
  it('loaded a native binary on this host: the current build where glibc allows, else the legacy one', () => {
    expect(isNativeUws(uwsLoaded.module)).toBe(true);
    expect(uwsLoaded.build.pkg).toBe(currentLoadsHere ? 'uWebSockets.js' : 'uws-legacy');
    if (!currentLoadsHere) {
      expect(uwsLoaded.skipped[0]?.build.pkg).toBe('uWebSockets.js');
      expect(uwsLoaded.skipped[0]?.reason).toMatch(/GLIBC_2\.\d+|uws_\w+\.node/);
    } else {
      expect(uwsLoaded.skipped).toEqual([]);
    }
  });

  it("recognises uws-legacy's JavaScript fallback as not native", () => {
    const fallback: unknown = require(FALLBACK);
    expect(typeof Reflect.get(fallback as object, 'App')).toBe('function');
    expect(isNativeUws(fallback)).toBe(false);
    expect(isNativeUws(undefined)).toBe(false);
    expect(isNativeUws({ App: () => undefined })).toBe(false);
  });

  it('refuses the fallback with one line naming the Node ABI, the platform and the fix', () => {
    const fallback: unknown = require(FALLBACK);
    const said = "This version is not compatible:\n\nError: Cannot find module '../binaries/uws_linux_x64_137.node'\n";
    const modules = { 'uWebSockets.js': new Error('libc.so.6: GLIBC_2.38 not found'), 'uws-legacy': fallback };
    const stopped: string[] = [];
    const stop = (line: string): never => {
      stopped.push(line);
      throw new Error('stopped');
    };
    expect(() => loadUws([current, legacy], deps(modules, said), stop)).toThrow('stopped');
    expect(stopped).toHaveLength(1);
    const line = stopped[0] ?? '';
    expect(line).not.toContain('\n');
    expect(line).toMatch(/^callrelay: refusing to start: no native uWebSockets\.js binary/);
    expect(line).toContain(`(ABI ${process.versions.modules})`);
    expect(line).toContain(`${process.platform}-${process.arch}`);
    expect(line).toContain('uWebSockets.js 1.2.3: libc.so.6: GLIBC_2.38 not found');
    expect(line).toContain(
      "uws-legacy 1.2.3: JavaScript fallback, not the native binary (Cannot find module 'uws_linux_x64_137.node')",
    );
    expect(line).toMatch(/Fix: run Node 24 on glibc 2\.38\+ or Node 20 on an older glibc, then npm ci\.$/);
    // Nothing loads at all: still the one refusal.
    expect(() => selectUws([current], deps({ 'uWebSockets.js': new Error('nope') }))).toThrow(UwsRefusal);
  });

  it('takes the next build when the first does not load, with the reason in one line', () => {
    const native = uwsLoaded.module;
    const err = new Error(
      "This version of uWS.js supports only ...\n\nError: /lib/x86_64-linux-gnu/libc.so.6: version `GLIBC_2.38' " +
        'not found (required by /app/node_modules/uWebSockets.js/uws_linux_x64_115.node)',
    );
    const picked = loadUws([current, legacy], deps({ 'uWebSockets.js': err, 'uws-legacy': native }), () => {
      throw new Error('must not stop');
    });
    expect(picked.build).toBe(legacy);
    expect(picked.module).toBe(native);
    expect(picked.skipped.map((s) => s.reason)).toEqual([
      "/lib/x86_64-linux-gnu/libc.so.6: version `GLIBC_2.38' not found (required by uws_linux_x64_115.node)",
    ]);
    expect(selectUws([current, legacy], deps({ 'uWebSockets.js': native })).skipped).toEqual([]);
    expect(reasonLine('')).toBe('no reason given');
  });

  it('a process that gets only the fallback exits 1 with that one line on stderr', async () => {
    const script =
      "import { loadUws } from './src/transports/uws.ts';" +
      `loadUws([{ pkg: '${FALLBACK}', runsOn: 'a native build' }]); console.log('started');`;
    const run = promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: ROOT,
      env: { ...process.env, VITEST: '' },
    });
    const err = await run.then(
      () => null,
      (e: unknown) => e as { code: number; stdout: string; stderr: string },
    );
    expect(err?.code).toBe(1);
    expect(err?.stdout).not.toContain('started');
    const lines = (err?.stderr ?? '').split('\n').filter((l) => l !== '');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^callrelay: refusing to start: .*JavaScript fallback.*Fix: run a native build, then npm ci\.$/,
    );
  });
});
