/**
 * Backpressure from subscribers to publishers across threads: how many QoS 1/2 messages each
 * session has waiting, and whether a publisher has found it congested. Without it a publisher's
 * thread, running in parallel with a slower subscriber's thread, outpaces it until the
 * subscriber's queue (`maxQueuedMessages`) overflows and acknowledged messages are dropped.
 *
 * Shared memory: an `Int32Array` over a SharedArrayBuffer, two words per session slot.
 * - `DEPTH`: QoS 1/2 deliveries routed to the session and not yet handed to its core (in transit
 *   between threads) plus the messages its core has queued. Every routing thread adds 1 per
 *   delivery with `Atomics.add`; the session's host (one thread) subtracts what it consumed with
 *   `Atomics.sub`. Main stores 0 when the slot is released, before it is handed out again.
 * - `CONGESTED`: 0, or the time (ms modulo 2^30, never 0) at which some publisher found `DEPTH`
 *   at the high-water mark. Set by publishers with `compareExchange` (0 → stamp), cleared by
 *   the host (store 0 + `notify`) when `DEPTH` falls below the low-water mark, or by a
 *   publisher that finds it already low again.
 *
 * Why the flag cannot stay set while the queue is drained: the host subtracts from `DEPTH` and
 * then loads `CONGESTED`; a publisher stores `CONGESTED` and then loads `DEPTH`. Each is a
 * sequentially consistent Atomics operation, so in their single total order either the host's
 * load comes after the publisher's store (the host sees the flag and clears it), or the
 * publisher's load comes after the host's subtraction (the publisher sees the low depth and
 * clears it itself): the two cannot both miss each other.
 *
 * A publisher that finds a target congested stops reading its own connection (TCP pushes back
 * on its client) until the flag clears, for at most `stallMs` from the moment the congestion
 * began: a subscriber that does not drain within that time (stuck, or offline) no longer holds
 * publishers back, and its queue bound applies instead (counted in `sessionDropped`).
 */
import type { SessionId } from '../register/types.js';
import { waitChange } from '../register/shared-lock.js';
import { slotOf } from './session-ids.js';

const WORDS_PER_SLOT = 2;
const DEPTH = 0;
const CONGESTED = 1;
const STAMP_MASK = 0x3fffffff;

/** A time stamp that fits a word and is never 0 (0 means "not congested"). */
function stamp(now: number): number {
  return now & STAMP_MASK || 1;
}

/** Thresholds of one broker, the same on every thread. */
export interface BacklogLimits {
  /** A target at or above this depth holds its publishers back. */
  high: number;
  /** The flag clears once the depth is below this. */
  low: number;
  /** Longest a congestion holds publishers back (ms); 0 turns backpressure off. */
  stallMs: number;
}

/** Limits derived from a session's queue bound: hold publishers at half of it, release at a quarter. */
export function backlogLimits(maxQueued: number, stallMs: number): BacklogLimits {
  const high = Math.max(1, Math.floor(maxQueued / 2));
  return { high, low: Math.max(1, Math.floor(maxQueued / 4)), stallMs: maxQueued === 0 ? 0 : stallMs };
}

export class SessionBacklog {
  private readonly words: Int32Array;

  constructor(
    readonly buffer: SharedArrayBuffer,
    readonly limits: BacklogLimits,
  ) {
    this.words = new Int32Array(buffer);
  }

  /** A backlog for `slots` sessions, all empty. */
  static create(slots: number, limits: BacklogLimits): SessionBacklog {
    return new SessionBacklog(new SharedArrayBuffer(slots * WORDS_PER_SLOT * Int32Array.BYTES_PER_ELEMENT), limits);
  }

  /**
   * A routing thread hands one QoS 1/2 message to `session`. Returns the congestion stamp the
   * publisher should wait on ({@link waitUntilClear}), or 0 when it may go on.
   */
  added(session: SessionId, now: number): number {
    const at = slotOf(session) * WORDS_PER_SLOT;
    const depth = Atomics.add(this.words, at + DEPTH, 1) + 1;
    const { high, low, stallMs } = this.limits;
    if (depth < high || stallMs === 0) return 0;
    let since = Atomics.load(this.words, at + CONGESTED);
    if (since === 0) {
      const mine = stamp(now);
      const found = Atomics.compareExchange(this.words, at + CONGESTED, 0, mine);
      since = found === 0 ? mine : found;
      // The other half of the handshake in the file comment: the host may have drained already.
      if (Atomics.load(this.words, at + DEPTH) < low) {
        Atomics.compareExchange(this.words, at + CONGESTED, since, 0);
        return 0;
      }
    }
    return this.elapsed(since, now) < stallMs ? since : 0;
  }

  /** The session's host consumed `n` (may be negative: its core queued more than it received). */
  consumed(session: SessionId, n: number): void {
    if (n === 0) return;
    const at = slotOf(session) * WORDS_PER_SLOT;
    const depth = Atomics.sub(this.words, at + DEPTH, n) - n;
    if (depth < this.limits.low && Atomics.load(this.words, at + CONGESTED) !== 0) {
      Atomics.store(this.words, at + CONGESTED, 0);
      Atomics.notify(this.words, at + CONGESTED);
    }
  }

  /**
   * Resolves once `session`'s congestion that began at `since` has cleared or has lasted
   * `stallMs`. Never blocks the event loop (`Atomics.waitAsync`).
   */
  async waitUntilClear(session: SessionId, since: number): Promise<void> {
    const at = slotOf(session) * WORDS_PER_SLOT + CONGESTED;
    while (Atomics.load(this.words, at) === since && this.elapsed(since, Date.now()) < this.limits.stallMs) {
      await waitChange(this.words, at, since);
    }
  }

  /** Main, when a slot is released: nothing of the old session may count against the next. */
  clear(session: SessionId): void {
    const at = slotOf(session) * WORDS_PER_SLOT;
    Atomics.store(this.words, at + DEPTH, 0);
    Atomics.store(this.words, at + CONGESTED, 0);
  }

  /** Current depth of `session` (tests, stats). */
  depth(session: SessionId): number {
    return Atomics.load(this.words, slotOf(session) * WORDS_PER_SLOT + DEPTH);
  }

  private elapsed(since: number, now: number): number {
    return (stamp(now) - since) & STAMP_MASK;
  }
}
