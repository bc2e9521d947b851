/**
 * When did a worker thread really exit? Piscina fails a thread's task on the worker's 'error'
 * event too, which can come while the dying thread still has its sockets open; only after its
 * 'exit' are they surely closed. Main must not close a handed-off fd of a dead thread before
 * then (see `fd-handoff.ts`): the thread's own close of that fd number could otherwise land
 * after the number was reused by another connection.
 *
 * Piscina does not expose its Worker objects, so this listens to the process-wide 'worker'
 * event (emitted for every Worker the process creates) from before the pool starts any.
 */
import type { Worker } from 'node:worker_threads';

export class WorkerExits {
  private readonly exits = new Map<number, Promise<void>>();
  private readonly onWorker = (worker: Worker): void => {
    const threadId = worker.threadId;
    this.exits.set(threadId, new Promise<void>((resolve) => worker.once('exit', () => resolve())));
  };

  constructor() {
    process.on('worker', this.onWorker);
  }

  /**
   * Settles once thread `threadId` has exited (at once for a thread this never saw start, or
   * 0: a thread that never said it was ready opened no socket).
   */
  whenExited(threadId: number): Promise<void> {
    const exit = this.exits.get(threadId);
    if (exit === undefined) return Promise.resolve();
    return exit.then(() => {
      this.exits.delete(threadId);
    });
  }

  /** Stops watching (the broker is closed). */
  close(): void {
    process.off('worker', this.onWorker);
    this.exits.clear();
  }
}
