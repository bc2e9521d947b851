/**
 * Test hook (test-hooks.ts, `startBrokerWith(..., { hold })`): what each session thread sends
 * main passes a gate first, which may hold it, so a test can force an order of events across
 * threads (a thread's `released` arriving after another thread's `accepted`, or after close()
 * began) without sleeping. Built only when a test asks for it: without it, ThreadLinks calls
 * the broker's own events directly, and the broker's path costs nothing more.
 *
 * Invariants: a link stays ordered. An item held holds every later item of the same thread
 * (queued, offered to the hold in turn once released), as if it were still in flight on that
 * thread's port; other threads' items go on. Held items of a thread that died are handled before
 * its death, as ThreadLinks handles what a dead thread sent last; held items of a link main
 * closed (the broker closed) are dropped when released, as a closed port drops them.
 */
import { isFromListener, type FromListener, type FromSession } from './thread-messages.js';
import { ThreadState, type ThreadEvents, type ThreadLink } from './thread-links.js';

/** An item a session thread sends main: from one of its sessions or from its listener. */
export type ThreadItem = FromSession | FromListener;

/**
 * Called with each item a session thread (by its start ordinal) sends main, before main
 * handles it; a promise holds that item, and every later one of that thread, until it settles.
 */
export type HoldItem = (ordinal: number, item: ThreadItem) => Promise<void> | undefined;

export class ThreadGate implements ThreadEvents {
  /** Per thread being held: the held item first, then what came after it. */
  private readonly held = new Map<ThreadLink, ThreadItem[]>();
  /** Waiters for an item, notified as it arrives (before it is held or handled). */
  private waiters: { ordinal: number; match: (item: ThreadItem) => boolean; resolve: () => void }[] = [];

  constructor(
    private readonly events: ThreadEvents,
    private readonly hold: HoldItem,
  ) {}

  /** Resolves when thread `ordinal` sends an item `match` accepts. */
  seen(ordinal: number, match: (item: ThreadItem) => boolean): Promise<void> {
    return new Promise<void>((resolve) => this.waiters.push({ ordinal, match, resolve }));
  }

  fromSession(link: ThreadLink, message: FromSession): void {
    this.pass(link, message);
  }

  fromListener(link: ThreadLink, message: FromListener): void {
    this.pass(link, message);
  }

  ready(link: ThreadLink): void {
    this.events.ready(link);
  }

  died(link: ThreadLink, err: unknown): void {
    const queue = this.held.get(link);
    this.held.delete(link);
    for (const item of queue ?? []) this.handle(link, item);
    this.events.died(link, err);
  }

  private pass(link: ThreadLink, item: ThreadItem): void {
    const queue = this.held.get(link);
    if (queue !== undefined) {
      queue.push(item);
      return;
    }
    if (this.waiters.length > 0) {
      const ready = this.waiters.filter((w) => w.ordinal === link.ordinal && w.match(item));
      this.waiters = this.waiters.filter((w) => !ready.includes(w));
      for (const waiter of ready) waiter.resolve();
    }
    const wait = this.hold(link.ordinal, item);
    if (wait === undefined) return this.handle(link, item);
    this.held.set(link, [item]);
    // What main throws handling them is thrown as it would be from the port's 'message' event
    // (an uncaught exception), not left as an unhandled rejection.
    void wait.then(() => this.resume(link)).catch((err: unknown) => process.nextTick(() => {
      throw err;
    }));
  }

  private resume(link: ThreadLink): void {
    const queue = this.held.get(link);
    if (queue === undefined) return;
    this.held.delete(link);
    // Main closed the link meanwhile: what was still "in flight" is lost with the port.
    if (link.state === ThreadState.Gone) return;
    const [first, ...rest] = queue;
    this.handle(link, first!);
    for (const item of rest) this.pass(link, item);
  }

  private handle(link: ThreadLink, item: ThreadItem): void {
    if (isFromListener(item)) this.events.fromListener(link, item);
    else this.events.fromSession(link, item);
  }
}
