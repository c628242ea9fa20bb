import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type * as Uws from 'uWebSockets.js';
import { log } from '../log.js';

// The one module that loads uWebSockets.js: src/, test/, bench/ and scripts/ import it from here,
// values and types alike (`import * as uWS from '.../transports/uws.js'`).
//
// Two builds are installed (package.json): "uWebSockets.js", the current release, whose binaries
// need glibc 2.38+ (Debian 13, the Docker image), and "uws-legacy", 20.30, whose binaries load on
// Debian 12's glibc 2.36 for Node 16/18/20. The first that loads natively wins; taking the second
// logs one warning naming why the first did not load. Swapping a build is its line in package.json.
//
// uws-legacy does not fail when its binary cannot load: it warns and returns a JavaScript imitation
// whose /health works and whose WebSocket upgrades all fail. That is never used: without a native
// binary the process stops with one line naming the runtime and the fix.

export type * from 'uWebSockets.js';
/** The module's runtime exports (LIBUS_LISTEN_EXCLUSIVE_PORT is exported but not declared upstream). */
export type UwsModule = typeof Uws & { LIBUS_LISTEN_EXCLUSIVE_PORT: Uws.ListenOptions };

export interface UwsBuild {
  /** Package name in package.json (an npm alias). */
  pkg: string;
  /** Where its binaries load, for the fix in the refusal. */
  runsOn: string;
}

/** In order of preference. */
export const UWS_BUILDS: readonly UwsBuild[] = [
  { pkg: 'uWebSockets.js', runsOn: 'Node 20, 22, 24 or 25 on glibc 2.38+ (Debian 13, as the Docker image)' },
  { pkg: 'uws-legacy', runsOn: 'Node 20 on an older glibc' },
];

export interface UwsLoaded {
  build: UwsBuild;
  version: string;
  module: UwsModule;
  /** Builds tried before it, each with why it was not used. */
  skipped: { build: UwsBuild; version: string; reason: string }[];
}

export interface UwsLoaderDeps {
  /** Loads a package; `said` is what it printed while loading (uws-legacy explains its fallback there). */
  load(pkg: string): { module: unknown; said: string };
  isNative(module: unknown): boolean;
  version(pkg: string): string;
}

/** Thrown when no build loads a native binary; the message is the one line the process stops with. */
export class UwsRefusal extends Error {
  override readonly name = 'UwsRefusal';
}

const require = createRequire(import.meta.url);

/**
 * A native addon's functions print as `function App() { [native code] }`; uws-legacy's JavaScript
 * fallback (its dist/index.js) exports a plain JavaScript `App`.
 */
export function isNativeUws(module: unknown): boolean {
  if (typeof module !== 'object' || module === null) return false;
  const app: unknown = Reflect.get(module, 'App');
  return typeof app === 'function' && /\{\s*\[native code\]\s*\}\s*$/.test(Function.prototype.toString.call(app));
}

/** What a package printed while loading, so its multi-line explanation becomes one reason. */
function loadQuietly(pkg: string): { module: unknown; said: string } {
  const said: string[] = [];
  const { log: logFn, warn } = console;
  console.log = console.warn = (...args: unknown[]) => void said.push(args.map(String).join(' '));
  try {
    return { module: require(pkg), said: said.join('\n') };
  } finally {
    console.log = logFn;
    console.warn = warn;
  }
}

function packageVersion(pkg: string): string {
  try {
    // Walk up from the entry point: the packages' "exports" do not expose package.json.
    let dir = dirname(require.resolve(pkg));
    for (let i = 0; i < 4 && !existsSync(join(dir, 'package.json')); i++) dir = dirname(dir);
    return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version?: string }).version ?? '?';
  } catch {
    return 'not installed';
  }
}

const defaultDeps: UwsLoaderDeps = { load: loadQuietly, isNative: isNativeUws, version: packageVersion };

/** One line out of a loader's explanation: its first `...Error:` line, binary paths shortened. */
export function reasonLine(text: string): string {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  const line = lines.find((l) => /^\w*Error\b/.test(l)) ?? lines[0] ?? 'no reason given';
  return line.replace(/^Error:\s*/, '').replace(/[^\s'"()]*\/(uws_\w+\.node)/g, '$1');
}

/** The C library's version on glibc Linux (undefined elsewhere): the binaries need a minimum. */
export function glibcVersion(): string | undefined {
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
  return report?.header?.glibcVersionRuntime;
}

/** Node version, ABI, platform and (on Linux) glibc: what decides which binary loads. */
export function runtimeLine(): string {
  const glibc = glibcVersion();
  const where = `${process.platform}-${process.arch}${glibc ? ` glibc ${glibc}` : ''}`;
  return `Node ${process.version} (ABI ${process.versions.modules}) on ${where}`;
}

/** The first build that loads natively; throws UwsRefusal when none does. */
export function selectUws(builds: readonly UwsBuild[] = UWS_BUILDS, deps: UwsLoaderDeps = defaultDeps): UwsLoaded {
  const skipped: UwsLoaded['skipped'] = [];
  for (const build of builds) {
    const version = deps.version(build.pkg);
    try {
      const { module, said } = deps.load(build.pkg);
      if (deps.isNative(module)) return { build, version, module: module as UwsModule, skipped };
      skipped.push({ build, version, reason: `JavaScript fallback, not the native binary (${reasonLine(said)})` });
    } catch (err) {
      skipped.push({ build, version, reason: reasonLine(err instanceof Error ? err.message : String(err)) });
    }
  }
  const tried = skipped.map((s) => `${s.build.pkg} ${s.version}: ${s.reason}`).join('; ');
  const fix = builds.map((b) => b.runsOn).join(' or ');
  throw new UwsRefusal(
    `refusing to start: no native uWebSockets.js binary for ${runtimeLine()} (${tried}). Fix: run ${fix}, then npm ci.`,
  );
}

/** selectUws for the process: a refusal stops it with one line; a fallback build is one warning line. */
export function loadUws(
  builds: readonly UwsBuild[] = UWS_BUILDS,
  deps: UwsLoaderDeps = defaultDeps,
  stop: (line: string) => never = (line) => {
    process.stderr.write(`${line}\n`);
    process.exit(1);
  },
): UwsLoaded {
  let loaded: UwsLoaded;
  try {
    loaded = selectUws(builds, deps);
  } catch (err) {
    if (err instanceof UwsRefusal) return stop(`callrelay: ${err.message}`);
    throw err;
  }
  const first = loaded.skipped[0];
  if (first) {
    log.warn(
      { uws: `${loaded.build.pkg}@${loaded.version}`, runtime: runtimeLine() },
      `uWebSockets.js: using ${loaded.build.pkg} ${loaded.version}: ${first.build.pkg} ${first.version} ` +
        `does not load here (${first.reason})`,
    );
  }
  return loaded;
}

export const uwsLoaded: UwsLoaded = loadUws();
export const {
  App,
  SSLApp,
  us_listen_socket_close,
  us_socket_local_port,
  getParts,
  LIBUS_LISTEN_EXCLUSIVE_PORT,
  DISABLED,
  SHARED_COMPRESSOR,
  SHARED_DECOMPRESSOR,
  DEDICATED_COMPRESSOR_3KB,
  DEDICATED_COMPRESSOR_4KB,
  DEDICATED_COMPRESSOR_8KB,
  DEDICATED_COMPRESSOR_16KB,
  DEDICATED_COMPRESSOR_32KB,
  DEDICATED_COMPRESSOR_64KB,
  DEDICATED_COMPRESSOR_128KB,
  DEDICATED_COMPRESSOR_256KB,
  DEDICATED_DECOMPRESSOR,
  DEDICATED_DECOMPRESSOR_32KB,
  DEDICATED_DECOMPRESSOR_16KB,
  DEDICATED_DECOMPRESSOR_8KB,
  DEDICATED_DECOMPRESSOR_4KB,
  DEDICATED_DECOMPRESSOR_2KB,
  DEDICATED_DECOMPRESSOR_1KB,
  DEDICATED_DECOMPRESSOR_512B,
} = uwsLoaded.module;
