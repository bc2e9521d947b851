/**
 * The listening socket's duplicates while the session threads accept (docs/architecture.md,
 * "Who accepts a socket"): main's own, kept for the broker's life, and one per session thread.
 *
 * Invariants:
 * - main's duplicate is opened in the listen callback, in the same tick main closes its own
 *   `net.Server` (nothing is accepted in between), and closed by {@link close};
 * - a thread's duplicate is main's until the thread says `listening` (it then closes with the
 *   thread); one sent to a thread that dies first is closed by main once the thread has surely
 *   exited, if the number still names the listening socket;
 * - no duplicate is made while such a close is pending (the gate): fd numbers are process-wide,
 *   and every duplicate has the same inode, so the inode check alone could not tell a new
 *   thread's duplicate from the dead thread's;
 * - each listening thread gets, with its duplicate, its own share of the pending gauges (places
 *   and first-packet bytes); main subtracts a dead thread's share from the gauges once the
 *   thread has surely exited (`pending-gauge.ts`), so the sockets that closed with it free their
 *   places and bytes (at shutdown main sets the gauges to 0 once every thread has exited).
 */
import type { Server } from 'node:net';
import { duplicateListener, type FdHandoff, type HandedSocket } from './fd-handoff.js';
import { ThreadState, type ThreadLink } from './thread-links.js';
import { newShare, reclaimShare } from './pending-gauge.js';
import type { SharedCounters } from './shared-counters.js';

export class ListenerDuplicates {
  /** Main's duplicate; undefined before listening, when main accepts, and after close. */
  private own: HandedSocket | undefined;
  /** Settles when no orphaned thread duplicate waits to be closed. */
  private gate: Promise<void> = Promise.resolve();
  /**
   * Threads that held a duplicate they had not said they opened when the broker closed: closing
   * the links and terminating the threads can come before a thread reads its `listen`, and then
   * nobody else closes that duplicate (the port would stay bound). See {@link closeUnopened}.
   */
  private unopened: ThreadLink[] = [];
  /**
   * Each listening thread's share of the pending gauges, sent with its `listen`:
   * what main gives back for it when it dies (pending-gauge.ts).
   */
  private readonly shares = new Map<ThreadLink, Int32Array>();
  /** Set by {@link close}. */
  private closing = false;

  constructor(
    private readonly handoff: FdHandoff,
    /** Test hook: which threads (by start ordinal) listen. */
    private readonly listensOn: (ordinal: number) => boolean,
    private readonly counters: SharedCounters,
  ) {}

  /** Whether the threads accept (main kept a duplicate and closed its server). */
  get active(): boolean {
    return this.own !== undefined;
  }

  /**
   * In `server`'s listen callback: keeps a duplicate of its fd and closes `server`, so main never
   * accepts. False (server untouched, main goes on accepting) when `server` has no fd to duplicate.
   */
  keep(server: Server): boolean {
    this.own = duplicateListener(server);
    if (this.own === undefined) return false;
    server.close();
    return true;
  }

  /**
   * Sends ready thread `link` its own duplicate (`listen`), once, after the gate; `anyway`
   * (test hook) whatever `listensOn` says.
   */
  give(link: ThreadLink, anyway = false): void {
    if (this.own === undefined || (!anyway && !this.listensOn(link.ordinal))) return;
    void this.gate.then(() => {
      const own = this.own;
      if (own === undefined || link.state !== ThreadState.Running || link.listenFd !== undefined || link.listening) return;
      link.listenFd = this.handoff.duplicate(own.fd);
      // One share per thread for its life: a thread given a duplicate again (a test's
      // acceptOnly) may still hold places counted in the share it had.
      const share = this.shares.get(link) ?? newShare();
      this.shares.set(link, share);
      link.send({ t: 'listen', fd: link.listenFd.fd, pending: share.buffer as SharedArrayBuffer });
    });
  }

  /** Thread `link` said `listening`: its duplicate is its own now. */
  opened(link: ThreadLink): void {
    link.listenFd = undefined;
    link.listening = true;
  }

  /**
   * Test hook: thread `link` stops listening (it closes its duplicate) and may be given one
   * again. Only for a thread that said `listening`: one still opening its duplicate is left be.
   */
  stop(link: ThreadLink): void {
    if (!link.listening) return;
    link.send({ t: 'unlisten' });
    link.listening = false;
  }

  /** Thread `link` died: a duplicate it never opened is closed once `exited` settles. */
  threadDied(link: ThreadLink, exited: Promise<void>): void {
    // Its pending sockets closed with it without giving their places back: main does, once the
    // thread has surely exited (no change to its share can come after).
    const share = this.shares.get(link);
    this.shares.delete(link);
    // Once the broker is closing, main sets the gauges to 0 when every thread has exited instead.
    if (share !== undefined) void exited.then(() => this.closing || reclaimShare(this.counters, share));
    const orphan = link.listenFd;
    link.listenFd = undefined;
    if (orphan === undefined) return;
    const handoff = this.handoff;
    this.gate = this.gate.then(() => exited).then(() => handoff.closeOrphan(orphan));
  }

  /** The broker is closing: every thread stops listening, and main's duplicate is closed. */
  close(links: readonly ThreadLink[]): void {
    this.closing = true;
    for (const link of links) link.send({ t: 'unlisten' });
    this.unopened = links.filter((link) => link.listenFd !== undefined);
    if (this.own !== undefined) this.handoff.closeOrphan(this.own);
    this.own = undefined;
  }

  /**
   * After {@link close}, once every thread has exited: a duplicate a thread never said it opened
   * is closed here if its number still names the listening socket (a thread that opened it
   * closed it as it exited; no other duplicate of the listening socket is open any more, so the
   * inode check cannot mistake one).
   */
  closeUnopened(): void {
    for (const link of this.unopened) {
      const orphan = link.listenFd;
      link.listenFd = undefined;
      if (orphan !== undefined) this.handoff.closeOrphan(orphan);
    }
    this.unopened = [];
  }
}
