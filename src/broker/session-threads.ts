/**
 * The shared session→thread table: `Int32Array` over a SharedArrayBuffer, one word per session
 * slot, holding the `threadId` of the worker that hosts the session (0: no session).
 *
 * Who writes each word, and when:
 * - the session's worker stores its `threadId` when the session's task starts, before it tells
 *   main it started and before the session can subscribe to anything, so a publisher that finds
 *   the session in the register always finds its thread here;
 * - the main thread stores 0 after the session's task has settled (ended or its thread died) and
 *   before the slot is handed out again.
 * One writer at a time per word by construction; readers (every thread that routes messages) use
 * `Atomics.load`. A reader that sees a stale thread id sends to a thread that no longer knows
 * the session id, and the message is dropped there (the id carries a generation).
 */
import type { SessionId } from '../register/types.js';
import { slotOf } from './session-ids.js';

/** Read and write access to the table; each thread wraps the same buffer. */
export class SessionThreadTable {
  private readonly words: Int32Array;

  constructor(readonly buffer: SharedArrayBuffer) {
    this.words = new Int32Array(buffer);
  }

  /** A table for `slots` sessions, all empty. */
  static create(slots: number): SessionThreadTable {
    return new SessionThreadTable(new SharedArrayBuffer(slots * Int32Array.BYTES_PER_ELEMENT));
  }

  /** The thread hosting `session`, or 0 when unknown. */
  threadOf(session: SessionId): number {
    return Atomics.load(this.words, slotOf(session));
  }

  /** Worker side: `session` now lives on `threadId`. */
  place(session: SessionId, threadId: number): void {
    Atomics.store(this.words, slotOf(session), threadId);
  }

  /** Main side: the session's task has settled; the slot is free. */
  clear(session: SessionId): void {
    Atomics.store(this.words, slotOf(session), 0);
  }
}
