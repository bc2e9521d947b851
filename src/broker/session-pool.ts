/**
 * The session-worker pool: piscina, configured for sessions rather than short jobs
 * (DESIGN-NOTES, "piscina 5 as the session-worker pool").
 *
 * - One task per thread (`concurrentTasksPerWorker: 1`), pending for the thread's life, the
 *   thread's link in its transferList; sessions are messages on that link, not tasks, so a
 *   session costs no task, promise or port of its own (see `thread-links.ts`).
 * - Main decides how many threads run and which one a session goes to; it never submits more
 *   tasks than `maxThreads`, so the queue (bounded by that number) only holds a task while its
 *   worker starts.
 * - `atomics: 'disabled'`: a worker whose task is pending must keep running its event loop
 *   (timers, ports); 'sync' would freeze it.
 * - `idleTimeout: Infinity` and `minThreads`: threads are started up front and never retired.
 * - M:N placement: `threads` workers × ceil(maxSessions / threads) sessions each; thread per
 *   session: one session per thread, up to `maxSessions` threads (`threads` of them started up
 *   front, the rest when needed; a thread whose session ended takes the next one).
 */
import { Piscina } from 'piscina';
import type { ResolvedBrokerOptions } from './options.js';
import type { ThreadTask, WorkerSetup } from './thread-messages.js';

/** How sessions are placed on threads. */
export interface Placement {
  minThreads: number;
  maxThreads: number;
  sessionsPerThread: number;
  /** V8 young-generation size of each session thread, MiB; undefined: V8's own default. */
  youngGenerationMb: number | undefined;
}

/** The placement the options ask for. */
export function placementFor(options: ResolvedBrokerOptions): Placement {
  if (options.threadPerSession) {
    return {
      minThreads: Math.min(options.threads, options.maxSessions),
      maxThreads: options.maxSessions,
      sessionsPerThread: 1,
      // One session per thread: no burst of sessions to bound, and with tens of threads on a
      // core the smaller young generation measured far slower (docs/performance.md).
      youngGenerationMb: undefined,
    };
  }
  return {
    minThreads: options.threads,
    maxThreads: options.threads,
    sessionsPerThread: Math.ceil(options.maxSessions / options.threads),
    youngGenerationMb: options.threadYoungGenerationMb,
  };
}

/**
 * Creates the pool; `run(task)` starts a thread's session host. `entry` replaces the module
 * the threads run (tests inject faults with it; see test-hooks.ts).
 */
export function createSessionPool(
  placement: Placement,
  setup: WorkerSetup,
  entry: { filename: string; name: string } = {
    // CommonJS that import()s entry.js: see pool-entry.cts for why piscina must not require() it.
    filename: new URL('../session/worker/pool-entry.cjs', import.meta.url).href,
    name: 'default',
  },
): Piscina<ThreadTask, void> {
  return new Piscina<ThreadTask, void>({
    filename: entry.filename,
    name: entry.name,
    minThreads: placement.minThreads,
    maxThreads: placement.maxThreads,
    concurrentTasksPerWorker: 1,
    maxQueue: placement.maxThreads,
    atomics: 'disabled',
    idleTimeout: Infinity,
    // V8 grows a young generation up to ~48 MiB per isolate after a burst of allocation (say,
    // thousands of connections at once) and keeps it: capped here (threadYoungGenerationMb,
    // default 4; what each size costs: docs/performance.md, "Ninth round").
    ...(placement.youngGenerationMb === undefined ? {} : { resourceLimits: { maxYoungGenerationSizeMb: placement.youngGenerationMb } }),
    workerData: setup,
  });
}
