/**
 * Keeps the broker and the generator off each other's cores where the machine allows: the
 * generator gets the last CPU, the broker every other one (on 2 cores: broker CPU 0, generator
 * CPU 1). Every broker gets the same set, so the comparison is fair; a multi-threaded broker may
 * use all of its set, which on 2 cores is one CPU.
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';

export interface CpuPlan {
  cpus: number;
  /** `taskset -c` list for broker processes, or null when not pinning. */
  broker: string | null;
  /** `taskset -c` list for the generator (this process), or null. */
  generator: string | null;
  /** Why there is no pinning, when there is none. */
  note: string | null;
}

function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export function planCpus(): CpuPlan {
  const cpus = os.availableParallelism();
  if (process.platform !== 'linux') return { cpus, broker: null, generator: null, note: 'not Linux: no pinning' };
  if (cpus < 2) return { cpus, broker: null, generator: null, note: 'one CPU: broker and generator share it' };
  if (!hasTaskset()) return { cpus, broker: null, generator: null, note: 'taskset not found: no pinning' };
  const last = cpus - 1;
  return { cpus, broker: last === 1 ? '0' : `0-${last - 1}`, generator: String(last), note: null };
}

/** Pins every thread of this process to `cpuList`. */
export function pinSelf(cpuList: string): void {
  execFileSync('taskset', ['-a', '-p', '-c', cpuList, String(process.pid)], { stdio: 'ignore' });
}
