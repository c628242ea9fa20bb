import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

// There is no container engine here, so the image is checked from its recipe: every COPY source
// exists (and is not hidden by .dockerignore), the compiled entry point is what tsconfig.build.json
// produces, the Node in FROM (24 on Debian 13) is one uWebSockets.js ships a binary for and its glibc
// is new enough, the final stage runs as non-root with a /health check, and fly.toml agrees with all of it.

const ROOT = join(import.meta.dirname, '..');
const read = (p: string) => readFileSync(join(ROOT, p), 'utf8');

interface Instruction {
  op: string;
  args: string;
}
interface Stage {
  image: string;
  name: string | undefined;
  body: Instruction[];
}

/** Dockerfile → stages of instructions (comments dropped, `\` continuations joined). */
function parseDockerfile(text: string): Stage[] {
  const joined = text.replace(/\\\r?\n/g, ' ');
  const stages: Stage[] = [];
  for (const raw of joined.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(\S+)\s+(.*)$/.exec(line);
    if (!m?.[1] || m[2] === undefined) continue;
    const op = m[1].toUpperCase();
    if (op === 'FROM') {
      const [image = '', as, name] = m[2].split(/\s+/);
      stages.push({ image, name: as?.toUpperCase() === 'AS' ? name : undefined, body: [] });
    } else {
      stages.at(-1)?.body.push({ op, args: m[2] });
    }
  }
  return stages;
}

/** COPY args → flags, sources, destination (the shell form; the JSON form is not used here). */
function copyArgs(args: string): { from?: string; sources: string[]; dest: string } {
  const words = args.split(/\s+/);
  const flags = words.filter((w) => w.startsWith('--'));
  const rest = words.filter((w) => !w.startsWith('--'));
  const from = flags.find((f) => f.startsWith('--from='))?.slice('--from='.length);
  return { ...(from ? { from } : {}), sources: rest.slice(0, -1), dest: rest.at(-1) ?? '' };
}

/** .dockerignore semantics that matter here: a pattern excludes that path and everything under it. */
function ignoredBy(patterns: string[], path: string): string | undefined {
  let hit: string | undefined;
  for (const p of patterns) {
    const negate = p.startsWith('!');
    const pat = negate ? p.slice(1) : p;
    const re = new RegExp(`^${pat.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}(/.*)?$`);
    if (re.test(path)) hit = negate ? undefined : p;
  }
  return hit;
}

const stages = parseDockerfile(read('Dockerfile'));
const final = stages.at(-1);
const ignore = read('.dockerignore')
  .split(/\r?\n/)
  .map((l) => l.trim())
  .filter((l) => l !== '' && !l.startsWith('#'));
const copies = stages.flatMap((s) =>
  s.body.filter((i) => i.op === 'COPY').map((i) => ({ stage: s, ...copyArgs(i.args) })),
);
/** Node ABI (process.versions.modules) per major, for the binaries uWebSockets.js ships. */
const ABI: Record<string, string> = { '20': '115', '22': '127', '24': '137', '25': '141' };
/** glibc minor version (2.x) of each Debian release the image may be based on. */
const DEBIAN_GLIBC: Record<string, number> = { bookworm: 36, trixie: 41 };

describe('Dockerfile', () => {
  it('is multi-stage on node 24 trixie-slim, whose Node and glibc load the uWebSockets.js binaries', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const s of stages) {
      const m = /^node:(\d+)-(\w+)-slim$/.exec(s.image);
      expect(m, `FROM ${s.image}`).not.toBeNull();
      expect(m?.[1], `FROM ${s.image}: Node 24 LTS`).toBe('24');
      expect(m?.[2], `FROM ${s.image}: Debian 13`).toBe('trixie');
      const abi = ABI[m?.[1] ?? ''];
      const glibc = DEBIAN_GLIBC[m?.[2] ?? ''] ?? 0;
      expect(abi, `Node ${m?.[1]} ABI`).toBeDefined();
      for (const arch of ['x64', 'arm64']) {
        // The current build (package.json "uWebSockets.js"): binaries at the package root.
        const bin = join(ROOT, 'node_modules/uWebSockets.js', `uws_linux_${arch}_${abi}.node`);
        expect(existsSync(bin), `${relative(ROOT, bin)} (Node ${m?.[1]} on ${arch})`).toBe(true);
        // The binary must not need a newer glibc than the base image's Debian has.
        const needs = [
          ...readFileSync(bin)
            .toString('latin1')
            .matchAll(/GLIBC_2\.(\d+)/g),
        ].map((g) => Number(g[1]));
        expect(Math.max(...needs), `${relative(ROOT, bin)} glibc`).toBeLessThanOrEqual(glibc);
      }
    }
    const engines = (JSON.parse(read('package.json')) as { engines?: { node?: string } }).engines?.node ?? '';
    const min = Number(/>=\s*(\d+)/.exec(engines)?.[1] ?? '0');
    expect(Number(/^node:(\d+)/.exec(final?.image ?? '')?.[1])).toBeGreaterThanOrEqual(min);
  });

  it('copies only paths that exist in the repository and are not excluded by .dockerignore', () => {
    const fromContext = copies.filter((c) => c.from === undefined);
    expect(fromContext.length).toBeGreaterThan(0);
    for (const c of fromContext) {
      for (const src of c.sources) {
        expect(existsSync(join(ROOT, src)), `COPY ${src}`).toBe(true);
        expect(ignoredBy(ignore, src), `COPY ${src} is excluded by .dockerignore`).toBeUndefined();
      }
    }
    // Runtime files the code looks up relative to the package root.
    expect(statSync(join(ROOT, 'assets/apology.ulaw')).size).toBeGreaterThan(8000);
    expect(readdirSync(join(ROOT, 'migrations')).some((f) => f.endsWith('.sql'))).toBe(true);
    const finalSources = copies.filter((c) => c.stage === final).flatMap((c) => c.sources);
    for (const needed of ['package.json', 'assets', 'migrations']) expect(finalSources, needed).toContain(needed);
  });

  it('runs the compiled entry point that tsconfig.build.json produces, copied from the build stage', () => {
    const build = stages.find((s) => s.body.some((i) => i.op === 'RUN' && /npm run build/.test(i.args)));
    expect(build?.name).toBeDefined();
    const cmd = final?.body.filter((i) => i.op === 'CMD').at(-1);
    const argv = JSON.parse(cmd?.args ?? '[]') as string[];
    expect(argv[0]).toBe('node');
    const entry = argv[1] ?? '';
    // tsconfig.build.json: outDir + rootDir map <rootDir>/src/main.ts to <outDir>/src/main.js.
    const base = JSON.parse(read('tsconfig.json')) as { compilerOptions: { outDir: string; rootDir: string } };
    const buildCfg = JSON.parse(read('tsconfig.build.json')) as {
      include: string[];
      compilerOptions?: { outDir?: string; noEmit?: boolean };
    };
    const outDir = buildCfg.compilerOptions?.outDir ?? base.compilerOptions.outDir;
    expect(buildCfg.compilerOptions?.noEmit).toBe(false);
    expect(entry.startsWith(`${outDir}/`)).toBe(true);
    const source = join(base.compilerOptions.rootDir, entry.slice(outDir.length + 1)).replace(/\.js$/, '.ts');
    expect(existsSync(join(ROOT, source)), source).toBe(true);
    expect(buildCfg.include.some((d) => source.startsWith(`${d}/`))).toBe(true);
    // The build stage has every directory the build compiles, and the final stage takes its output.
    const buildSources = copies.filter((c) => c.stage === build).flatMap((c) => c.sources);
    for (const dir of buildCfg.include) expect(buildSources, `build stage copies ${dir}`).toContain(dir);
    expect(buildSources).toEqual(expect.arrayContaining(['tsconfig.json', 'tsconfig.build.json', 'package-lock.json']));
    expect(
      copies.some((c) => c.stage === final && c.from === build?.name && c.sources.includes(`/app/${outDir}`)),
    ).toBe(true);
    // Production dependencies only in the final image, and not the optional 20.30 uWebSockets.js
    // build for older glibc (uws-legacy): the image runs the current one or refuses to start.
    const deps = copies.find((c) => c.stage === final && c.sources.some((s) => s.endsWith('/node_modules')));
    const depsStage = stages.find((s) => s.name === deps?.from);
    const install = depsStage?.body.find((i) => i.op === 'RUN' && /npm ci\b/.test(i.args))?.args ?? '';
    expect(install).toMatch(/--omit=dev\b/);
    expect(install).toMatch(/--omit=optional\b/);
    const pkg = JSON.parse(read('package.json')) as Record<string, Record<string, string> | undefined>;
    expect(pkg.dependencies?.['uWebSockets.js']).toBeDefined();
    expect(pkg.optionalDependencies?.['uws-legacy']).toBeDefined();
    expect(pkg.dependencies?.['uws-legacy']).toBeUndefined();
  });

  it('final stage: production mode, non-root user, port 8080 and a HEALTHCHECK on /health without curl', () => {
    const body = final?.body ?? [];
    expect(body.some((i) => i.op === 'ENV' && /\bNODE_ENV=production\b/.test(i.args))).toBe(true);
    expect(body.find((i) => i.op === 'EXPOSE')?.args).toBe('8080');
    const users = body.filter((i) => i.op === 'USER');
    expect(users.length).toBeGreaterThan(0);
    expect(['root', '0']).not.toContain(users.at(-1)?.args.split(':')[0]);
    // USER comes before CMD (and nothing after it switches back).
    expect(body.findIndex((i) => i.op === 'USER')).toBeLessThan(body.findIndex((i) => i.op === 'CMD'));
    const health = body.find((i) => i.op === 'HEALTHCHECK')?.args ?? '';
    expect(health).toMatch(/CMD \["node", "-e", ".*\/health/);
    expect(health).not.toMatch(/curl|wget/);
    expect(body.some((i) => i.op === 'STOPSIGNAL' && i.args === 'SIGTERM')).toBe(true);
  });
});

describe('.dockerignore and fly.toml', () => {
  it('keep dependencies, secrets and local data out of the build context', () => {
    for (const p of ['node_modules', 'dist', 'data', '.env', '.git', 'scratch', 'bench/results', 'coverage']) {
      expect(ignoredBy(ignore, p), p).toBeDefined();
    }
    expect(ignoredBy(ignore, '.env.production')).toBeDefined();
    expect(ignoredBy(ignore, 'server.log')).toBeDefined();
  });

  it('fly.toml matches the image: port, health path, SIGTERM and a kill timeout longer than the drain', () => {
    const toml = read('fly.toml').replace(/#.*$/gm, '');
    const get = (key: string) => new RegExp(`^\\s*${key}\\s*=\\s*"?([^"\\n]+?)"?\\s*$`, 'm').exec(toml)?.[1];
    expect(get('internal_port')).toBe('8080');
    expect(get('path')).toBe('/health');
    expect(get('kill_signal')).toBe('SIGTERM');
    expect(get('auto_stop_machines')).toMatch(/^(false|off)$/);
    expect(Number(get('min_machines_running'))).toBeGreaterThanOrEqual(1);
    expect(get('NODE_ENV')).toBe('production');
    const kill = Number(/^(\d+)s$/.exec(get('kill_timeout') ?? '')?.[1]);
    expect(kill).toBeGreaterThan(Number(get('DRAIN_SECONDS')) + 10);
  });
});
