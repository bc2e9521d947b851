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
    // Forgotten at exit: every Worker of the process passes through here (client threads too),
    // and one that has exited needs no waiting (see whenExited).
    this.exits.set(
      threadId,
      new Promise<void>((resolve) =>
        worker.once('exit', () => {
          this.exits.delete(threadId);
          resolve();
        }),
      ),
    );
  };

  constructor() {
    process.on('worker', this.onWorker);
  }

  /**
   * Settles once thread `threadId` has exited: at once for one that already has, or that this
   * never saw start, or 0 (a thread that never said it was ready opened no socket).
   */
  whenExited(threadId: number): Promise<void> {
    return this.exits.get(threadId) ?? Promise.resolve();
  }

  /** Stops watching (the broker is closed). */
  close(): void {
    process.off('worker', this.onWorker);
    this.exits.clear();
  }
}
