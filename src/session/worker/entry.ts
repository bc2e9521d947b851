/**
 * The piscina worker module: one task per worker thread, pending for the thread's life. It
 * hosts every session main starts on the thread's link. Piscina runs it with
 * `atomics: 'disabled'`, so the sessions' timers and ports keep working while it is pending.
 */
import type { ThreadTask } from '../../broker/thread-messages.js';
import { WorkerThread } from './worker-thread.js';

/** Hosts sessions until main closes the thread's link; resolves with nothing. */
export default async function hostSessions(task: ThreadTask): Promise<void> {
  await WorkerThread.serve(task.port).served;
}
