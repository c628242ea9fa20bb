import { existsSync, readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// Where a relay child spent its CPU: self time per function from a V8 .cpuprofile (node
// --cpu-prof), with bundle lines mapped back to their source file through esbuild's `// path`
// module comments. Usable alone: `npx tsx bench/cpu-profile.ts bench/results/profiles/x.cpuprofile`.

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface HotSpot {
  name: string;
  where: string;
  selfMs: number;
  /** Share of the busy (non-idle) samples. */
  pct: number;
}

export interface ProfileSummary {
  busyMs: number;
  idleMs: number;
  functions: HotSpot[];
  files: HotSpot[];
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

function parseProfile(text: string): Profile {
  const raw: unknown = JSON.parse(text);
  if (!isObj(raw) || !Array.isArray(raw.nodes) || !Array.isArray(raw.samples) || !Array.isArray(raw.timeDeltas))
    throw new Error('not a V8 cpuprofile');
  const nodes: ProfileNode[] = [];
  for (const n of raw.nodes) {
    if (!isObj(n) || typeof n.id !== 'number' || !isObj(n.callFrame)) continue;
    const cf = n.callFrame;
    const children = Array.isArray(n.children) ? n.children.filter((c): c is number => typeof c === 'number') : [];
    nodes.push({
      id: n.id,
      children,
      callFrame: {
        functionName: typeof cf.functionName === 'string' ? cf.functionName : '',
        url: typeof cf.url === 'string' ? cf.url : '',
        lineNumber: typeof cf.lineNumber === 'number' ? cf.lineNumber : -1,
      },
    });
  }
  const nums = (a: unknown[]): number[] => a.map((x) => (typeof x === 'number' ? x : 0));
  return { nodes, samples: nums(raw.samples), timeDeltas: nums(raw.timeDeltas) };
}

/** For a bundle: line → source path, from esbuild's `// src/x.ts` module headers. */
function bundleMap(url: string): ((line: number) => string) | null {
  if (!url.startsWith('file://') || !url.endsWith('.mjs')) return null;
  const path = fileURLToPath(url);
  if (!existsSync(path)) return null;
  const starts: { line: number; file: string }[] = [];
  readFileSync(path, 'utf8')
    .split('\n')
    .forEach((l, i) => {
      const m = /^\/\/ ((?:src|bench|machines)\/\S+\.ts)$/.exec(l);
      if (m?.[1]) starts.push({ line: i, file: m[1] });
    });
  return (line) => {
    let file = 'bundle';
    for (const s of starts) {
      if (s.line > line) break;
      file = s.file;
    }
    return file;
  };
}

function whereOf(cf: CallFrame, maps: Map<string, ((line: number) => string) | null>): string {
  if (!cf.url) return '(native)';
  if (cf.url.startsWith('node:')) return cf.url;
  let map = maps.get(cf.url);
  if (map === undefined) {
    map = bundleMap(cf.url);
    maps.set(cf.url, map);
  }
  if (map) return map(cf.lineNumber);
  const path = cf.url.startsWith('file://') ? fileURLToPath(cf.url) : cf.url;
  const rel = relative(process.cwd(), path);
  return rel.startsWith('node_modules/') ? rel.slice('node_modules/'.length) : rel;
}

export function summarizeProfile(path: string, top = 25): ProfileSummary {
  const p = parseProfile(readFileSync(path, 'utf8'));
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parentOf = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children) parentOf.set(c, n.id);
  const selfUs = new Map<number, number>();
  // timeDeltas[i] is the gap before sample i, attributed to that sample's node. Gaps far above the
  // sampling interval (profiler start/stop, a descheduled process) are clamped so one sample cannot
  // claim seconds.
  const sorted = [...p.timeDeltas].sort((a, b) => a - b);
  const cap = 4 * Math.max(1, sorted[Math.floor(sorted.length / 2)] ?? 1000);
  p.samples.forEach((id, i) => {
    selfUs.set(id, (selfUs.get(id) ?? 0) + Math.min(cap, Math.max(0, p.timeDeltas[i] ?? 0)));
  });
  const maps = new Map<string, ((line: number) => string) | null>();
  const fns = new Map<string, HotSpot>();
  const files = new Map<string, HotSpot>();
  let idleUs = 0;
  let busyUs = 0;
  for (const [id, us] of selfUs) {
    const cf = byId.get(id)?.callFrame;
    if (!cf) continue;
    if (cf.functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    busyUs += us;
    let where = whereOf(cf, maps);
    const name = cf.functionName || '(anonymous)';
    const parent = byId.get(parentOf.get(id) ?? -1)?.callFrame;
    // A native function (uWS send, a syscall wrapper) is told apart by who called it.
    if (where === '(native)' && !name.startsWith('(') && parent)
      where = `(native) ← ${parent.functionName || '(anonymous)'} ${whereOf(parent, maps)}`;
    const key = `${name}\u0000${where}\u0000${cf.lineNumber}`;
    const fn = fns.get(key) ?? { name, where, selfMs: 0, pct: 0 };
    fn.selfMs += us / 1000;
    fns.set(key, fn);
    const fileKey = where.startsWith('(native)') ? (name.startsWith('(') ? name : '(native)') : where;
    const file = files.get(fileKey) ?? { name: fileKey, where: fileKey, selfMs: 0, pct: 0 };
    file.selfMs += us / 1000;
    files.set(fileKey, file);
  }
  const rank = (m: Map<string, HotSpot>): HotSpot[] =>
    [...m.values()]
      .map((h) => ({ ...h, pct: busyUs > 0 ? (h.selfMs * 1000 * 100) / busyUs : 0 }))
      .sort((a, b) => b.selfMs - a.selfMs)
      .slice(0, top);
  return { busyMs: busyUs / 1000, idleMs: idleUs / 1000, functions: rank(fns), files: rank(files) };
}

export function renderSummary(title: string, s: ProfileSummary): string {
  const lines = [
    `### ${title}: ${s.busyMs.toFixed(0)} ms busy, ${s.idleMs.toFixed(0)} ms idle`,
    '',
    '| self % | self ms | function | where |',
    '|--:|--:|---|---|',
  ];
  for (const h of s.functions) lines.push(`| ${h.pct.toFixed(1)} | ${h.selfMs.toFixed(0)} | ${h.name} | ${h.where} |`);
  lines.push('', '| self % | by file |', '|--:|---|');
  for (const h of s.files) lines.push(`| ${h.pct.toFixed(1)} | ${h.where} |`);
  return lines.join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const file of process.argv.slice(2)) process.stdout.write(`${renderSummary(file, summarizeProfile(file))}\n\n`);
}
