/**
 * The broker-wide bound on sockets accepted whose CONNECT has not been decoded yet (option
 * `maxPendingConnections`). Each such socket may hold up to `maxPacketSize` bytes and a timer
 * for `connectTimeout`, and a peer can open them without limit; main and the session threads
 * accept from the same listening socket, so the bound is one shared word, the
 * `pendingConnections` gauge of `shared-counters.ts`, that every accepting thread takes a place
 * in and gives it back.
 *
 * Invariants:
 * - a socket takes its place when it is accepted, before anything is read, and gives it back
 *   exactly once ({@link PendingPlace.release} is idempotent) when it leaves the pending state,
 *   whichever way: CONNECT decoded, first packet undecodable, `connectTimeout`, closed by the
 *   peer, closed by the broker;
 * - over the bound the new socket is closed at once, nothing read (so no CONNACK: there is no
 *   CONNECT to answer, nor a protocol level to answer in), and counted in `pendingRefused`;
 * - a session thread also counts its places in a word of its own (its share, made by main and
 *   sent with `listen`): when the thread dies its pending sockets close with it and give nothing
 *   back, so main subtracts the share from the gauge once the thread has surely exited
 *   ({@link reclaimShare}). The share is raised after the gauge and lowered before it, so it never
 *   exceeds what the thread holds in the gauge: a thread stopped between the two calls (only
 *   `worker.terminate()` or the process dying can stop JS there; a throw cannot) leaves at most
 *   one place taken for good, and the bound is never exceeded.
 */
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { CounterWord, type SharedCounters } from './shared-counters.js';

/** A pending socket's place under the bound; {@link release} gives it back (once, however often called). */
export class PendingPlace {
  private held = true;

  constructor(private readonly gauge: PendingGauge) {}

  release(): void {
    if (!this.held) return;
    this.held = false;
    this.gauge.giveBack();
  }
}

export class PendingGauge {
  /**
   * @param max `maxPendingConnections`.
   * @param share a session thread's own count of its places (main's gauge has none: main does
   *   not die without the broker).
   */
  constructor(
    private readonly counters: SharedCounters,
    private readonly max: number,
    private readonly log: Logger,
    private readonly share?: Int32Array,
  ) {}

  /**
   * A place for the socket just accepted, or undefined when `max` are taken: the socket is then
   * closed (unread), counted and logged (a peer fault: someone holds many sockets open unsent).
   * A flood of refusals is one fault, and a line per socket would let it flood the log too: a
   * line is written at the 1st, 2nd, 4th, 8th... refusal since start, with the total (all
   * threads count in one word, so exactly one of them sees each of those numbers).
   */
  admit(socket: Socket): PendingPlace | undefined {
    if (this.counters.addBelow(CounterWord.pendingConnections, this.max)) {
      if (this.share !== undefined) Atomics.add(this.share, 0, 1);
      return new PendingPlace(this);
    }
    const refused = this.counters.next(CounterWord.pendingRefused);
    if ((refused & (refused - 1)) === 0 && this.log.isLevelEnabled('warn')) {
      this.log.warn({ remote: `${socket.remoteAddress}:${socket.remotePort}`, maxPendingConnections: this.max, refused }, 'connection closed: too many waiting for their CONNECT');
    }
    socket.destroy();
    return undefined;
  }

  /** {@link PendingPlace.release}: the share first, so it never exceeds what the gauge holds for it. */
  giveBack(): void {
    if (this.share !== undefined) Atomics.sub(this.share, 0, 1);
    this.counters.add(CounterWord.pendingConnections, -1);
  }
}

/** Main: a new thread's share, sent with its `listen` (one Int32 word in shared memory). */
export function newShare(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));
}

/**
 * Main, once a dead thread has surely exited (nothing can change its share any more): gives back
 * the places of the pending sockets that closed with it.
 */
export function reclaimShare(counters: SharedCounters, share: Int32Array): void {
  const held = Atomics.exchange(share, 0, 0);
  if (held !== 0) counters.add(CounterWord.pendingConnections, -held);
}
