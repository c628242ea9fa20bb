import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BENCH_PUBLIC_HOST, MODEL_URL_ENV, parseMessage, type ChildMessage } from './child-protocol.js';
import { LoadRig, sleep } from './load-rig.js';
import { ROOT, bundleChild, type ChildEntry, type Entries } from './relay-child.js';

// `--baseline <rev>`: the relay as it was at an older revision, measured in the same run as the
// current one, so a refactor can be judged by same-run ratios rather than by figures from another
// day. The revision gets its own git worktree outside the repository (its own lockfile, hence its
// own node_modules: native packages differ between revisions), its own bench/relay-process.ts is
// bundled like the current one, and it runs with its worktree as cwd so its packages resolve there.

export interface Baseline {
  rev: string;
  short: string;
  /** callrelay@<short>: its name in reports. */
  label: string;
  dir: string;
  entry: ChildEntry;
}

const NPM_CI_TIMEOUT_MS = 15 * 60_000;
const GIT_TIMEOUT_MS = 120_000;
/** Written into the worktree's node_modules after a successful npm ci: the lockfile it installed. */
const CI_STAMP = '.bench-baseline-lock-sha256';

function git(args: string[], cwd = ROOT): string {
  const r = spawnSync('git', args, { cwd, encoding: 'utf8', timeout: GIT_TIMEOUT_MS });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${(r.stderr || r.error?.message || '').trim()}`);
  return r.stdout.trim();
}

/** A baseline that cannot be measured: the message says why, and a stack trace would add nothing. */
export class BaselineError extends Error {}

function fail(rev: string, why: string): never {
  throw new BaselineError(`--baseline ${rev}: ${why}`);
}

/** The worktree of `sha` at `dir`: reused when it is already there, clean and at that commit. */
function worktree(rev: string, sha: string, dir: string): void {
  if (existsSync(dir)) {
    let top = '';
    try {
      top = git(['rev-parse', '--show-toplevel'], dir);
    } catch {
      fail(rev, `${dir} exists but is not a git checkout; remove it and run again`);
    }
    if (realpathSync(top) !== realpathSync(dir)) fail(rev, `${dir} is not the top of a git worktree; remove it`);
    const head = git(['rev-parse', 'HEAD'], dir);
    if (head !== sha) fail(rev, `${dir} is at ${head}, not ${sha}; remove it (git worktree remove --force ${dir})`);
    if (git(['status', '--porcelain', '--untracked-files=no'], dir) !== '')
      fail(rev, `${dir} has local changes, so it is not ${rev}; remove it (git worktree remove --force ${dir})`);
    return;
  }
  // --force only matters when the path is still registered from a worktree deleted by hand.
  git(['worktree', 'add', '--detach', '--force', dir, sha]);
}

/** npm ci from the revision's own lockfile, skipped when node_modules already holds exactly that lockfile. */
function install(rev: string, dir: string, say: (line: string) => void): void {
  const lock = join(dir, 'package-lock.json');
  if (!existsSync(lock)) fail(rev, 'the revision has no package-lock.json, so npm ci cannot install it');
  const hash = createHash('sha256').update(readFileSync(lock)).digest('hex');
  const stamp = join(dir, 'node_modules', CI_STAMP);
  if (existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === hash) return;
  say(`bench: baseline: npm ci --no-audit --no-fund in ${dir} (its own lockfile)…`);
  const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], {
    cwd: dir,
    // npm's output goes to stderr: stdout carries the report.
    stdio: ['ignore', 2, 2],
    timeout: NPM_CI_TIMEOUT_MS,
  });
  if (r.status !== 0) {
    const how = r.error ? r.error.message : `exit ${r.status ?? r.signal ?? '?'}`;
    fail(rev, `npm ci in ${dir} failed (${how})`);
  }
  writeFileSync(stamp, `${hash}\n`);
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const isFn = (v: unknown): v is (m: ChildMessage) => unknown => typeof v === 'function';

/**
 * The parts of the child protocol the baseline takes from its own child-protocol.ts: the environment
 * variable it reads the model URL from, the host the calls are signed for, and the message lines it
 * prints, which the current harness must parse back to the same messages.
 */
async function checkProtocolSource(rev: string, dir: string): Promise<void> {
  const file = join(dir, 'bench', 'child-protocol.ts');
  if (!existsSync(file)) fail(rev, 'the revision has no bench/child-protocol.ts');
  let mod: unknown;
  try {
    // The generator runs under tsx (npm run bench), which loads .ts modules.
    mod = await import(pathToFileURL(file).href);
  } catch (err) {
    fail(rev, `its bench/child-protocol.ts does not load: ${err instanceof Error ? err.message : String(err)}`);
  }
  const why: string[] = [];
  if (!isObj(mod)) fail(rev, 'its bench/child-protocol.ts exports nothing');
  if (mod.MODEL_URL_ENV !== MODEL_URL_ENV)
    why.push(`its children read the model URL from ${String(mod.MODEL_URL_ENV)}, not ${MODEL_URL_ENV}`);
  if (mod.BENCH_PUBLIC_HOST !== BENCH_PUBLIC_HOST)
    why.push(`it checks signatures for host ${String(mod.BENCH_PUBLIC_HOST)}, not ${BENCH_PUBLIC_HOST}`);
  const encode = mod.encodeMessage;
  if (!isFn(encode)) why.push('it has no encodeMessage');
  else {
    const memory = { rss: 1, heapTotal: 2, heapUsed: 3, external: 4, arrayBuffers: 5 };
    const samples: ChildMessage[] = [
      { bench: 'ready', port: 1234, pid: 42 },
      { bench: 'report', bargeInMs: [1.5], toolMs: [], calls: 3, memory },
      { bench: 'profiled', path: '/x.cpuprofile' },
    ];
    for (const m of samples) {
      const line = encode(m);
      const back = typeof line === 'string' ? parseMessage(line.trimEnd()) : null;
      if (JSON.stringify(back) !== JSON.stringify(m))
        why.push(`its ${m.bench} line ${JSON.stringify(line)} does not parse here as ${JSON.stringify(m)}`);
    }
  }
  if (why.length > 0) fail(rev, `it does not speak this harness's child protocol: ${why.join('; ')}`);
}

/**
 * One signed call through the baseline child, end to end: it must print `ready`, stream the fake
 * model's audio to the caller, answer `report gc` with its memory, and (with --profile) write a profile.
 */
async function probe(b: Baseline, entries: Entries, relayCore: number | null, profile: boolean): Promise<void> {
  let rig: LoadRig;
  try {
    rig = await LoadRig.start({ kind: 'baseline', entries, relayCore });
  } catch (err) {
    return fail(b.rev, `its relay child did not start here: ${err instanceof Error ? err.message : String(err)}`);
  }
  try {
    const calls = await rig.connect(1);
    if (calls.length !== 1) fail(b.rev, 'a signed Media Streams call to its relay was refused');
    if ((await rig.waitForMedia(calls, 5000)) !== 1)
      fail(b.rev, "its relay took the call but the caller never heard the model's audio within 5 s");
    const r = await rig.child.report(true).catch(() => null);
    if (!r) fail(b.rev, 'its relay child did not answer `report gc` with a report line');
    if (!Number.isFinite(r.memory.heapUsed)) fail(b.rev, 'its report line has no memory.heapUsed');
    if (profile) {
      rig.child.profileStart();
      await sleep(200);
      const path = join(b.dir, 'bench', 'results', 'probe.cpuprofile');
      mkdirSync(dirname(path), { recursive: true });
      const got = await rig.child.profileStop(path).catch(() => '');
      if (got === '') fail(b.rev, 'its relay child did not write a CPU profile (profile-start / profile-stop)');
      rmSync(path, { force: true });
    }
  } finally {
    await rig.close();
  }
}

/**
 * Worktree, npm ci, bundle and checks for `--baseline <rev>`; adds the baseline child to `entries`.
 * Bounded: every git, npm and esbuild call has a timeout, and the probe is one call.
 */
export async function prepareBaseline(o: {
  rev: string;
  entries: Entries;
  relayCore: number | null;
  profile: boolean;
  say: (line: string) => void;
}): Promise<Baseline> {
  const { rev, entries } = o;
  if (rev === '' || rev.startsWith('-')) fail(rev, 'expected a git revision');
  let sha = '';
  try {
    sha = git(['rev-parse', '--verify', '--quiet', `${rev}^{commit}`]);
  } catch {
    fail(rev, 'not a commit in this repository');
  }
  try {
    git(['cat-file', '-e', `${sha}:bench/relay-process.ts`]);
  } catch {
    fail(rev, 'the revision has no bench/relay-process.ts (it predates the load benchmark)');
  }
  const short = git(['rev-parse', '--short', sha]);
  const wt = join(tmpdir(), `callrelay-baseline-${short}`);
  worktree(rev, sha, wt);
  install(rev, wt, o.say);
  await checkProtocolSource(rev, wt);
  const src = join(wt, 'bench', 'relay-process.ts');
  let entry: ChildEntry;
  if (entries.compiled) {
    // Inside the worktree: a bundle's bare imports resolve from the node_modules above the file.
    const out = bundleChild(src, join(wt, 'bench', 'results', 'build', 'callrelay.mjs'), wt);
    if (typeof out !== 'string') fail(rev, `esbuild could not bundle its bench/relay-process.ts: ${out.failed}`);
    entry = { label: `callrelay@${short}`, file: out, nodeArgs: [], cwd: wt };
  } else {
    if (!existsSync(join(wt, 'node_modules', 'tsx')))
      fail(rev, 'its node_modules has no tsx (needed without a bundle)');
    entry = { label: `callrelay@${short}`, file: src, nodeArgs: ['--import', 'tsx'], cwd: wt };
  }
  entries.children.baseline = entry;
  const b: Baseline = { rev: sha, short, label: entry.label, dir: wt, entry };
  o.say(`bench: baseline ${entry.label} from ${wt}; checking it with one call…`);
  await probe(b, entries, o.relayCore, o.profile);
  return b;
}
