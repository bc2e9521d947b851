/**
 * The piscina worker module: each task is one session, pending for the session's whole life
 * (connected and offline). Piscina runs it with `atomics: 'disabled'`, so the session's timers
 * and port keep working while the task is pending.
 */
import type { SessionTask } from '../../broker/thread-messages.js';
import { SessionHost } from './session-host.js';
import { WorkerThread } from './worker-thread.js';

/** Runs one session until it ends; resolves with nothing. */
export default async function runSession(task: SessionTask): Promise<void> {
  const thread = WorkerThread.get();
  const host = new SessionHost(task.sessionId, task.clientId, task.port, thread);
  thread.sessions.set(task.sessionId, host);
  await host.finished;
}
