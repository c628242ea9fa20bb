import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

// What the benchmark reads about a process from Linux /proc (CPU ticks, RSS) and how it pins
// processes to cores. Linux only, like the benchmark.

let ticksPerSecond: number | undefined;

/** Kernel clock ticks per second (USER_HZ, `getconf CLK_TCK`; 100 on Linux). */
export function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      const v = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
      ticksPerSecond = Number.isFinite(v) && v > 0 ? v : 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** utime + stime of all of a process's threads, in seconds. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Field 2 (comm) may hold spaces and parentheses: count fields after its last ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state), so utime (14) and stime (15) are rest[11] and rest[12].
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`unreadable /proc/${pid}/stat`);
  return (utime + stime) / clockTicks();
}

/** Resident set size (VmRSS) in KiB. */
export function rssKiB(pid: number): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m?.[1]) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(m[1]);
}

/** Busy seconds (all but idle and iowait) of each core since boot, from /proc/stat. */
export function coreBusySeconds(): number[] {
  const out: number[] = [];
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    const m = /^cpu(\d+) (.*)$/.exec(line);
    if (!m?.[1] || m[2] === undefined) continue;
    const f = m[2].trim().split(/\s+/).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is already inside user).
    const busy = (f[0] ?? 0) + (f[1] ?? 0) + (f[2] ?? 0) + (f[5] ?? 0) + (f[6] ?? 0) + (f[7] ?? 0);
    out[Number(m[1])] = busy / clockTicks();
  }
  return out;
}

/** Online cores. */
export function coreCount(): number {
  try {
    return Number(execFileSync('nproc', { encoding: 'utf8' }).trim()) || 1;
  } catch {
    return 1;
  }
}

/** Pins every thread of `pid` to `core`; false when taskset is missing or refuses. */
export function pin(pid: number, core: number): boolean {
  try {
    execFileSync('taskset', ['-a', '-p', '-c', String(core), String(pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** The p-th percentile (0..100) of `values` (sorted in place), nearest-rank; NaN when empty. */
export function percentile(values: Float64Array | number[], p: number): number {
  const n = values.length;
  if (n === 0) return Number.NaN;
  const sorted = values instanceof Float64Array ? values.sort() : values.sort((a, b) => a - b);
  const rank = Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n) - 1));
  return sorted[rank] ?? Number.NaN;
}

export function median(values: number[]): number {
  return percentile([...values], 50);
}
