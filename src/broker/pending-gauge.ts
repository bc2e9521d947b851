/**
 * The broker-wide bounds on sockets accepted whose CONNECT has not been decoded yet: their
 * number (option `maxPendingConnections`) and the bytes of the first packets they are sending
 * (option `maxPendingConnectBytes`). Each such socket holds a timer for `connectTimeout` and,
 * once its first packet's fixed header is read, a buffer of that packet's whole size, and a
 * peer can open them without limit; main and the session threads accept from the same
 * listening socket, so each bound is one shared word of `shared-counters.ts`
 * (`pendingConnections`, `pendingConnectBytes`) that every accepting thread takes from and
 * gives back to.
 *
 * Invariants:
 * - a socket takes its place when it is accepted, before anything is read, and reserves its
 *   first packet's size (fixed header + remaining length) once that header is read, before the
 *   body is gathered ({@link PendingPlace.reserve}); both are given back together, exactly once
 *   ({@link PendingPlace.release} is idempotent), when it leaves the pending state, whichever
 *   way: CONNECT decoded, first packet undecodable, `connectTimeout`, closed by the peer, closed
 *   by the broker (`unlisten`, shutdown), or refused for want of bytes;
 * - both words are taken with a compare-and-exchange loop: two threads can never both take the
 *   last place or the last bytes, and neither word ever exceeds its bound (so the bytes word,
 *   an Int32, cannot wrap: the option is at most 2^31 - 1);
 * - over the places bound the new socket is closed at once, nothing read (so no CONNACK: there
 *   is no CONNECT to answer, nor a protocol level to answer in), and counted in
 *   `pendingRefused`; a first packet that does not fit in the bytes left is refused by its
 *   owner (the socket closed, no CONNACK: the packet is not read), counted in
 *   `pendingBytesRefused`;
 * - a session thread also counts its places and bytes in words of its own (its share, made by
 *   main and sent with `listen`): when the thread dies its pending sockets close with it and
 *   give nothing back, so main subtracts the share from the gauges once the thread has surely
 *   exited ({@link reclaimShare}). The share is raised after the gauge and lowered before it, so
 *   it never exceeds what the thread holds in the gauge: a thread stopped between the two calls
 *   (only `worker.terminate()` or the process dying can stop JS there; a throw cannot) leaves
 *   at most one place and one packet's bytes taken for good, and the bounds are never exceeded.
 */
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { CounterWord, type SharedCounters } from './shared-counters.js';

/** The words of a thread's share (an Int32Array of {@link SHARE_WORDS}). */
export const ShareWord = {
  /** Its places under `maxPendingConnections`. */
  places: 0,
  /** Its bytes under `maxPendingConnectBytes`. */
  bytes: 1,
} as const;

const SHARE_WORDS = 2;

/** The two bounds, as resolved options. */
export interface PendingLimits {
  readonly maxPendingConnections: number;
  readonly maxPendingConnectBytes: number;
}

/**
 * A pending socket's place under the bounds, and the bytes its first packet reserved;
 * {@link release} gives both back (once, however often called).
 */
export class PendingPlace {
  private held = true;
  /** Bytes reserved, 0 until the first packet's header is read. */
  private bytes = 0;

  constructor(
    private readonly gauge: PendingGauge,
    private readonly socket: Socket,
  ) {}

  /**
   * Reserves `size` bytes (the first packet's whole size) under `maxPendingConnectBytes`; false
   * when they do not fit in what is left, or the place was given back: the owner then closes the
   * socket (counted and logged here).
   */
  reserve(size: number): boolean {
    if (!this.held) return false;
    if (!this.gauge.takeBytes(size, this.socket)) return false;
    this.bytes += size;
    return true;
  }

  release(): void {
    if (!this.held) return;
    this.held = false;
    this.gauge.giveBack(this.bytes);
    this.bytes = 0;
  }
}

export class PendingGauge {
  /**
   * @param share a session thread's own count of its places and bytes ({@link newShare}; main's
   *   gauge has none: main does not die without the broker).
   */
  constructor(
    private readonly counters: SharedCounters,
    private readonly limits: PendingLimits,
    private readonly log: Logger,
    private readonly share?: Int32Array,
  ) {}

  /**
   * A place for the socket just accepted, or undefined when `maxPendingConnections` are taken:
   * the socket is then closed (unread), counted and logged (a peer fault: someone holds many
   * sockets open unsent).
   */
  admit(socket: Socket): PendingPlace | undefined {
    if (this.counters.addBelow(CounterWord.pendingConnections, this.limits.maxPendingConnections)) {
      if (this.share !== undefined) Atomics.add(this.share, ShareWord.places, 1);
      return new PendingPlace(this, socket);
    }
    const refused = this.counters.next(CounterWord.pendingRefused);
    if (logged(refused) && this.log.isLevelEnabled('warn')) {
      this.log.warn({ remote: remoteOf(socket), maxPendingConnections: this.limits.maxPendingConnections, refused }, 'connection closed: too many waiting for their CONNECT');
    }
    socket.destroy();
    return undefined;
  }

  /** {@link PendingPlace.reserve}: `size` bytes taken, or false (counted, logged). */
  takeBytes(size: number, socket: Socket): boolean {
    if (this.counters.addWithin(CounterWord.pendingConnectBytes, size, this.limits.maxPendingConnectBytes)) {
      if (this.share !== undefined) Atomics.add(this.share, ShareWord.bytes, size);
      return true;
    }
    const refused = this.counters.next(CounterWord.pendingBytesRefused);
    if (logged(refused) && this.log.isLevelEnabled('warn')) {
      this.log.warn(
        { remote: remoteOf(socket), size, maxPendingConnectBytes: this.limits.maxPendingConnectBytes, refused },
        'connection closed: its first packet does not fit in the bytes left for those being read',
      );
    }
    return false;
  }

  /** {@link PendingPlace.release}: the share first, so it never exceeds what the gauge holds for it. */
  giveBack(bytes: number): void {
    if (this.share !== undefined) {
      if (bytes !== 0) Atomics.sub(this.share, ShareWord.bytes, bytes);
      Atomics.sub(this.share, ShareWord.places, 1);
    }
    if (bytes !== 0) this.counters.add(CounterWord.pendingConnectBytes, -bytes);
    this.counters.add(CounterWord.pendingConnections, -1);
  }
}

/**
 * Whether the `refused`th refusal is logged. A flood of refusals is one fault, and a line per
 * socket would let it flood the log too: a line is written at the 1st, 2nd, 4th, 8th...
 * refusal since start, with the total (all threads count in one word, so exactly one of them
 * sees each of those numbers).
 */
function logged(refused: number): boolean {
  return (refused & (refused - 1)) === 0;
}

function remoteOf(socket: Socket): string {
  return `${socket.remoteAddress}:${socket.remotePort}`;
}

/** Main: a new thread's share, sent with its `listen` ({@link SHARE_WORDS} Int32 words in shared memory). */
export function newShare(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(SHARE_WORDS * Int32Array.BYTES_PER_ELEMENT));
}

/**
 * Main, once a dead thread has surely exited (nothing can change its share any more): gives back
 * the places and bytes of the pending sockets that closed with it.
 */
export function reclaimShare(counters: SharedCounters, share: Int32Array): void {
  const bytes = Atomics.exchange(share, ShareWord.bytes, 0);
  if (bytes !== 0) counters.add(CounterWord.pendingConnectBytes, -bytes);
  const places = Atomics.exchange(share, ShareWord.places, 0);
  if (places !== 0) counters.add(CounterWord.pendingConnections, -places);
}
