import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const clockTicksPerS = readClockTicksPerS();

function readClockTicksPerS(): number {
  try {
    const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isFinite(ticks) && ticks > 0 ? ticks : 100;
  } catch {
    return 100;
  }
}

/**
 * User plus system CPU time a process has used so far, from /proc/<pid>/stat (fields 14 and 15).
 * Returns undefined once the process is gone. The resolution is one clock tick (10 ms).
 */
export function processCpuS(pid: number): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may contain spaces: count fields after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const userTicks = Number(fields[11]);
  const systemTicks = Number(fields[12]);
  return (userTicks + systemTicks) / clockTicksPerS;
}

/** Sum of processCpuS over processes; a vanished process counts as zero. */
export function totalCpuS(pids: readonly number[]): number {
  return pids.reduce((sum, pid) => sum + (processCpuS(pid) ?? 0), 0);
}

export interface MachineCpuSample {
  readonly busyS: number;
  readonly totalS: number;
}

/** Whole-machine CPU counters from the first line of /proc/stat (all cores together). */
export function machineCpu(): MachineCpuSample {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
  const ticks = line.trim().split(/\s+/).slice(1).map(Number);
  const totalTicks = ticks.reduce((sum, value) => sum + value, 0);
  // Fields 4 and 5 of the cpu line are idle and iowait.
  const idleTicks = (ticks[3] ?? 0) + (ticks[4] ?? 0);
  return { busyS: (totalTicks - idleTicks) / clockTicksPerS, totalS: totalTicks / clockTicksPerS };
}
