/**
 * What Linux says about a broker process: CPU time of all its threads and its resident memory,
 * from `/proc`. Elsewhere the figures are NaN and the table shows a dash.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

let ticksPerSecond: number | undefined;

/** `CLK_TCK`, the unit of utime/stime in /proc/<pid>/stat (100 on almost every Linux). */
export function clockTicksPerSecond(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/**
 * CPU seconds used so far by every live thread of `pid`: the sum of each thread's
 * `/proc/<pid>/task/<tid>/schedstat` run time (nanoseconds, so a connection's worth of work is
 * visible), else utime + stime from `/proc/<pid>/stat` (clock ticks, 10 ms). Threads that have
 * exited drop out of the schedstat sum; brokers keep theirs for the run.
 */
export function cpuSeconds(pid: number): number {
  const precise = schedstatSeconds(pid);
  return Number.isFinite(precise) ? precise : statSeconds(pid);
}

function schedstatSeconds(pid: number): number {
  try {
    let ns = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    }
    return ns / 1e9;
  } catch {
    return NaN;
  }
}

/** User + system CPU seconds of the whole process, in clock-tick resolution. */
function statSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may contain spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
    return (Number(fields[11]) + Number(fields[12])) / clockTicksPerSecond();
  } catch {
    return NaN;
  }
}

/** Resident set size of `pid` in KiB (VmRSS). */
export function rssKiB(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return match ? Number(match[1]) : NaN;
  } catch {
    return NaN;
  }
}

/** Threads of `pid` (Weft's session workers show here). */
export function threadCount(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /^Threads:\s+(\d+)/m.exec(status);
    return match ? Number(match[1]) : NaN;
  } catch {
    return NaN;
  }
}
