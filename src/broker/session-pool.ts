/**
 * The session-worker pool: piscina, configured for sessions rather than short jobs
 * (DESIGN-NOTES, "piscina 5 as the session-worker pool").
 *
 * - One task per session, pending for the session's life; its port in the transferList.
 * - `maxQueue: 0`: a session beyond capacity is refused at once, never parked in a queue.
 *   Piscina 5.3.2 still queues a task it rejected and runs it later (measured; see
 *   docs/architecture.md), so the broker checks capacity itself before `run` and a task that
 *   piscina refused anyway is cancelled by message when it starts.
 * - `atomics: 'disabled'`: a worker whose tasks are all pending must keep running its event
 *   loop (timers, ports); 'sync' would freeze it between tasks.
 * - `idleTimeout: Infinity` and `minThreads`: threads are started up front and never retired.
 * - M:N placement: `threads` workers × ceil(maxSessions / threads) sessions each; thread per
 *   session: one session per worker, up to `maxSessions` workers (`threads` of them started
 *   up front, the rest when needed).
 */
import { Piscina } from 'piscina';
import type { ResolvedBrokerOptions } from './options.js';
import type { SessionTask, WorkerSetup } from './thread-messages.js';

/** How sessions are placed on threads. */
export interface Placement {
  minThreads: number;
  maxThreads: number;
  sessionsPerThread: number;
}

/** The placement the options ask for. */
export function placementFor(options: ResolvedBrokerOptions): Placement {
  if (options.threadPerSession) {
    return {
      minThreads: Math.min(options.threads, options.maxSessions),
      maxThreads: options.maxSessions,
      sessionsPerThread: 1,
    };
  }
  return {
    minThreads: options.threads,
    maxThreads: options.threads,
    sessionsPerThread: Math.ceil(options.maxSessions / options.threads),
  };
}

/** Creates the pool; `run(task)` starts a session. */
export function createSessionPool(placement: Placement, setup: WorkerSetup): Piscina<SessionTask, void> {
  return new Piscina<SessionTask, void>({
    filename: new URL('../session/worker/entry.js', import.meta.url).href,
    name: 'default',
    minThreads: placement.minThreads,
    maxThreads: placement.maxThreads,
    concurrentTasksPerWorker: placement.sessionsPerThread,
    maxQueue: 0,
    atomics: 'disabled',
    idleTimeout: Infinity,
    workerData: setup,
  });
}
