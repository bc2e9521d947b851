/**
 * Session ids: allocated by the main thread only. The low 20 bits are a slot (an index into
 * the shared session→thread table), bits 20..30 a generation that changes each time the slot is
 * reused, so a message addressed to a session that is gone can never reach the session that
 * took its slot: receivers look sessions up by the whole id.
 */
import type { SessionId } from '../register/types.js';

/** Bits of a session id that hold the slot. */
export const SLOT_BITS = 20;
/** Largest number of slots (and so of sessions at once). */
export const MAX_SLOTS = 1 << SLOT_BITS;
const SLOT_MASK = MAX_SLOTS - 1;
/** Generations run 1..=2047 so every id is positive and at least 2^20 (int32, as the register wants). */
const MAX_GENERATION = 0x7ff;

/** The slot part of a session id. */
export function slotOf(session: SessionId): number {
  return session & SLOT_MASK;
}

/** Hands out session ids for `capacity` slots; main thread only, no sharing. */
export class SessionIdAllocator {
  private readonly generations: Uint16Array;
  private readonly free: number[] = [];
  private live = 0;

  constructor(readonly capacity: number) {
    if (capacity > MAX_SLOTS) throw new RangeError(`at most ${MAX_SLOTS} session slots`);
    this.generations = new Uint16Array(capacity);
    // Popping from the end hands out low slots first.
    for (let slot = capacity - 1; slot >= 0; slot--) this.free.push(slot);
  }

  /** Sessions allocated and not yet released. */
  get size(): number {
    return this.live;
  }

  /** A fresh id, or undefined when every slot is taken. */
  allocate(): SessionId | undefined {
    const slot = this.free.pop();
    if (slot === undefined) return undefined;
    const generation = (this.generations[slot]! % MAX_GENERATION) + 1;
    this.generations[slot] = generation;
    this.live++;
    return (generation << SLOT_BITS) | slot;
  }

  /** Returns the id's slot for reuse (the caller has cleared the slot's shared words). */
  release(session: SessionId): void {
    this.free.push(slotOf(session));
    this.live--;
  }
}
