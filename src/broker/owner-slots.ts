/**
 * Register owner ids for threads. The shared register records which thread holds its lock by a
 * small owner id (1 ..= maxOwners); thread ids grow without bound over a process's life (every
 * replaced worker, every broker started in the same process), so threads claim owner ids from
 * this table instead of deriving them from `threadId`, and the ids stay dense (the register
 * scans one reader word per owner id on every write).
 *
 * Layout: `Int32Array(maxOwners)` over a SharedArrayBuffer; word `i` holds the `threadId` that
 * owns owner id `i + 1`, or 0 when free. Word 0 (owner 1) is the main thread's, set at creation.
 * A worker claims the first free word with `compareExchange(0 → threadId)` when it attaches
 * (sequentially consistent, so two workers never claim the same word). Main frees a dead
 * worker's word with `Atomics.store(0)` after `recoverDeadOwner` has run for it; live workers
 * never free theirs (they exit only when the whole broker closes).
 */

/** Owner id of the main thread. */
export const MAIN_OWNER = 1;

export class OwnerSlots {
  private readonly words: Int32Array;

  constructor(readonly buffer: SharedArrayBuffer) {
    this.words = new Int32Array(buffer);
  }

  /** A table for `maxOwners` owners; owner 1 is taken by the calling (main) thread. */
  static create(maxOwners: number): OwnerSlots {
    const slots = new OwnerSlots(new SharedArrayBuffer(maxOwners * Int32Array.BYTES_PER_ELEMENT));
    // The main thread's threadId is 0, which also means "free": mark it with -1 instead.
    Atomics.store(slots.words, 0, -1);
    return slots;
  }

  /** Claims an owner id for `threadId`; throws when all are taken. */
  claim(threadId: number): number {
    for (let i = 1; i < this.words.length; i++) {
      if (Atomics.compareExchange(this.words, i, 0, threadId) === 0) return i + 1;
    }
    throw new RangeError(`no free register owner id: ${this.words.length} threads attached`);
  }

  /** The owner id `threadId` holds, or undefined. */
  ownerOf(threadId: number): number | undefined {
    for (let i = 1; i < this.words.length; i++) if (Atomics.load(this.words, i) === threadId) return i + 1;
    return undefined;
  }

  /** Frees `owner` (main only, after recovering what the dead thread held). */
  release(owner: number): void {
    Atomics.store(this.words, owner - 1, 0);
  }
}
