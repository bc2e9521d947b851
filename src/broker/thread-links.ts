/**
 * Main's side of the session worker threads: the piscina pool, one host task and one link per
 * thread (see `session/worker/main-link.ts`), which thread a new session goes to, and the
 * passing-on of mailbox ports between threads.
 *
 * Each link carries one batch per event-loop turn each way. Main's batches to a thread
 * ({@link ThreadLink.send}) are flushed by main's {@link TurnBatch}; what a thread sends is
 * handed to `events` item by item, in the order its sessions sent it.
 */
import { MessageChannel, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import type { Piscina } from 'piscina';
import { isFromListener, type FromListener, type FromSession, type FromThread, type MailboxOffer, type ThreadTask, type ToListener, type ToSession, type ToThread } from './thread-messages.js';
import type { HandedSocket } from './fd-handoff.js';
import type { Flushable, TurnBatch } from './turn-batch.js';
import type { Placement } from './session-pool.js';

/** Where a thread is, as main sees it. */
export const enum ThreadState {
  /** Its host task was submitted; it has not said `ready` (its link buffers what main sends). */
  Starting,
  /** Ready: its `threadId` is known. */
  Running,
  /** Its thread died or the broker closed it. */
  Gone,
}

/**
 * A session thread ended before it said `ready`: it failed to load or to set up, died, or the
 * broker closed first. `startBroker` rejects with it; `cause` is what piscina reported
 * (the thread's exception, or `worker exited with code: N`), absent when the broker closed.
 */
export class SessionThreadStartError extends Error {
  override readonly name = 'SessionThreadStartError';
}

/** What main does with what threads report. */
export interface ThreadEvents {
  /** One item a session of `link`'s thread sent, in order. */
  fromSession(link: ThreadLink, message: FromSession): void;
  /** One item the thread's listener sent (thread-listener.ts), in order with the sessions' items. */
  fromListener(link: ThreadLink, message: FromListener): void;
  /** The thread said `ready` (a replacement too). */
  ready(link: ThreadLink): void;
  /** The thread died (its host task failed); its sessions are lost. */
  died(link: ThreadLink, err: unknown): void;
}

/** Main's end of one worker thread. */
export class ThreadLink implements Flushable {
  state = ThreadState.Starting;
  /** The thread's `threadId`, once it said `ready` (0 before). */
  threadId = 0;
  /** Sessions main placed on this thread and has not cleaned up. */
  sessions = 0;
  /** Settles when the thread says `ready`, or rejects when it ends first (see {@link ThreadLinks.startMinimum}). */
  readonly ready: Promise<void>;
  private settleReady!: { resolve: () => void; reject: (err: SessionThreadStartError) => void };
  /**
   * The duplicate of the listening socket main sent this thread and the thread has not yet
   * said it opened (`listening`): main's to close if the thread dies first (listener-duplicates.ts).
   */
  listenFd: HandedSocket | undefined;
  /** The thread said `listening`: it accepts on its own duplicate (listener-duplicates.ts). */
  listening = false;
  private items: (ToSession | ToListener)[] = [];
  private transfer: ArrayBuffer[] = [];

  constructor(
    readonly port: MessagePort,
    private readonly batch: TurnBatch,
    /** The thread's place in start order over the broker's life (0 first; test hooks pick threads by it). */
    readonly ordinal: number,
  ) {
    this.ready = new Promise<void>((resolve, reject) => (this.settleReady = { resolve, reject }));
    // Only start-up awaits it; a replacement thread that fails is reported through `died`.
    this.ready.catch(() => {});
  }

  /** The thread said `ready`. */
  running(threadId: number): void {
    this.state = ThreadState.Running;
    this.threadId = threadId;
    this.settleReady.resolve();
  }

  /** The thread is gone; if it never said `ready`, `ready` rejects with `why`. */
  ended(why: () => SessionThreadStartError): void {
    if (this.state === ThreadState.Starting) this.settleReady.reject(why());
    this.state = ThreadState.Gone;
  }

  /** Queues `message` for this turn's batch to the thread; `transfer` moves with it. */
  send(message: ToSession | ToListener, transfer?: readonly ArrayBuffer[]): void {
    if (this.state === ThreadState.Gone) return;
    this.items.push(message);
    if (transfer !== undefined) for (const buffer of transfer) this.transfer.push(buffer);
    if (this.items.length === 1) this.batch.mark(this);
  }

  flush(): void {
    if (this.items.length === 0 || this.state === ThreadState.Gone) return;
    const items = this.items;
    const transfer = this.transfer;
    this.items = [];
    this.transfer = [];
    this.port.postMessage({ t: 'batch', items } satisfies ToThread, transfer);
  }
}

export class ThreadLinks {
  private readonly links: ThreadLink[] = [];
  private readonly byThreadId = new Map<number, ThreadLink>();
  /** Mailbox ends for threads that have not said `ready` yet. */
  private readonly waiting = new Map<number, MessagePort[]>();
  private closed = false;
  private started = 0;
  /** {@link startMinimum} waits for its threads: one that dies before it is ready is not replaced. */
  private startingUp = false;

  constructor(
    private readonly pool: Piscina<ThreadTask, void>,
    private readonly placement: Placement,
    private readonly batch: TurnBatch,
    private readonly events: ThreadEvents,
  ) {}

  /**
   * Starts the threads the placement keeps running from the start. Resolves once every one of
   * them has said `ready` (loaded its modules, attached the register, opened its link); rejects
   * with a {@link SessionThreadStartError} as soon as one ends before that, or when the links
   * are closed first. A thread that fails during start-up is not replaced: the caller gives up.
   */
  startMinimum(): Promise<void> {
    const started: Promise<void>[] = [];
    while (this.links.length < this.placement.minThreads) started.push(this.start().ready);
    this.startingUp = true;
    const done = Promise.all(started).then(() => undefined);
    const over = (): void => {
      this.startingUp = false;
    };
    done.then(over, over);
    return done;
  }

  /** Threads started and not gone. */
  get count(): number {
    return this.links.length;
  }

  /** The threads started and not gone, in start order: each one's id (0 until ready), whether ready, its sessions. */
  list(): { threadId: number; ready: boolean; sessions: number }[] {
    return this.links.map((link) => ({ threadId: link.threadId, ready: link.state === ThreadState.Running, sessions: link.sessions }));
  }

  /**
   * The thread for a new session: the least loaded one with room, or a new thread when all are
   * full and the placement allows more; undefined when there is no room anywhere. `prefer` (the
   * thread that accepted the socket) wins when it is among the least loaded: the socket then
   * stays where it is, and the load stays as even as without it.
   */
  place(prefer?: ThreadLink): ThreadLink | undefined {
    let best: ThreadLink | undefined;
    for (const link of this.links) {
      if (link.sessions < this.placement.sessionsPerThread && (best === undefined || link.sessions < best.sessions)) best = link;
    }
    if (best !== undefined && prefer !== undefined && prefer !== best && prefer.state !== ThreadState.Gone && prefer.sessions <= best.sessions) {
      best = prefer;
    }
    if (best === undefined && this.links.length < this.placement.maxThreads) best = this.start();
    if (best !== undefined) best.sessions++;
    return best;
  }

  /** Passes the receiving end of a mailbox on to thread `to` (held until it is ready). */
  forward(to: number, port: MessagePort): void {
    const link = this.byThreadId.get(to);
    if (link === undefined) {
      let waiting = this.waiting.get(to);
      if (waiting === undefined) this.waiting.set(to, (waiting = []));
      waiting.push(port);
      return;
    }
    link.port.postMessage({ t: 'mailbox', to, port } satisfies MailboxOffer, [port]);
  }

  /** The threads started and not gone. */
  all(): readonly ThreadLink[] {
    return this.links;
  }

  /** Closes every link (each thread's host task then ends) and every held mailbox end. */
  close(): void {
    this.closed = true;
    this.batch.flushNow();
    for (const link of this.links) {
      link.ended(() => new SessionThreadStartError('the broker was closed before its session threads were ready'));
      link.port.close();
    }
    this.links.length = 0;
    this.byThreadId.clear();
    for (const ports of this.waiting.values()) for (const port of ports) port.close();
    this.waiting.clear();
  }

  private start(): ThreadLink {
    const { port1, port2 } = new MessageChannel();
    const link = new ThreadLink(port1, this.batch, this.started++);
    this.links.push(link);
    port1.on('message', (message: FromThread) => this.receive(link, message));
    const task: ThreadTask = { port: port2 };
    this.pool.run(task, { transferList: [port2] }).then(
      () => this.gone(link, () => new SessionThreadStartError('a session thread ended before it was ready')),
      (err: unknown) => {
        if (this.closed || link.state === ThreadState.Gone) return;
        // What the thread sent before it died is handled first (its last bytes, its events).
        for (let next = receiveMessageOnPort(port1); next !== undefined; next = receiveMessageOnPort(port1)) {
          this.receive(link, next.message as FromThread);
        }
        const failsStartUp = this.startingUp && link.state === ThreadState.Starting;
        this.gone(link, () => new SessionThreadStartError(`a session thread failed before it was ready: ${messageOf(err)}`, { cause: err }));
        this.events.died(link, err);
        // M:N keeps its threads: a replacement host starts on the worker piscina brings back.
        // Not when start-up fails with this death: startMinimum rejects and the broker closes.
        if (!this.closed && !failsStartUp) this.replenish();
      },
    );
    return link;
  }

  /** Starts threads until the placement's minimum run again (no waiting: new sessions queue on a starting link). */
  private replenish(): void {
    while (this.links.length < this.placement.minThreads) this.start();
  }

  private gone(link: ThreadLink, why: () => SessionThreadStartError): void {
    link.ended(why);
    const at = this.links.indexOf(link);
    if (at >= 0) this.links.splice(at, 1);
    if (this.byThreadId.get(link.threadId) === link) this.byThreadId.delete(link.threadId);
    link.port.close();
  }

  private receive(link: ThreadLink, message: FromThread): void {
    switch (message.t) {
      case 'batch':
        for (const item of message.items) {
          if (isFromListener(item)) this.events.fromListener(link, item);
          else this.events.fromSession(link, item);
        }
        return;
      case 'mailbox':
        return this.forward(message.to, message.port);
      case 'ready': {
        if (link.state !== ThreadState.Starting) return;
        link.running(message.threadId);
        this.byThreadId.set(message.threadId, link);
        const waiting = this.waiting.get(message.threadId);
        this.waiting.delete(message.threadId);
        for (const port of waiting ?? []) this.forward(message.threadId, port);
        this.events.ready(link);
        return;
      }
    }
  }
}

/** What piscina rejected a thread's task with, as text (an Error from the thread, or anything else). */
function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
