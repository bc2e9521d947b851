/**
 * Session-thread entries that fail before the thread says `ready`, for the start-up tests
 * (broker-ready.test.ts): the pool runs one of these exports instead of the real host
 * (`startBrokerWith(..., { threadEntry })`). CommonJS like the real entry (pool-entry.cts).
 */
import { threadId } from 'node:worker_threads';
import type { ThreadTask } from '../../src/broker/thread-messages.js';
import hostSessions = require('../../src/session/worker/pool-entry.cjs');

/** Fails as set-up code that throws would: the task rejects with this error. */
export function throwsBeforeReady(_task: ThreadTask): Promise<void> {
  return Promise.reject(new Error('injected fault: session host set-up failed'));
}

/** The thread exits (code 7) before it is ready, as a crash in a native module would. */
export function exitsBeforeReady(_task: ThreadTask): Promise<void> {
  process.exit(7);
}

/**
 * Threads with an odd `threadId` fail, the others host sessions (and say `ready`): the
 * threads piscina starts up front get consecutive ids, so of two, one fails and one runs.
 */
export function oddThreadsThrow(task: ThreadTask): Promise<void> {
  if (threadId % 2 === 1) return Promise.reject(new Error(`injected fault: thread ${threadId} failed`));
  return hostSessions(task);
}

/** Never says `ready` (and never ends): only closing the broker stops it. */
export function neverReady(_task: ThreadTask): Promise<void> {
  return new Promise<void>(() => {});
}
