/**
 * The register's writer mutex and reader indicators, all in shared memory.
 *
 * Writer mutex (word H.LOCK): 0 free, else `owner << 2 | 1`, with bit 2 set once some thread
 * waits. The owner is in the same word as the lock, so it is recorded by the very
 * compareExchange that takes the lock: a thread cannot die holding an anonymous lock.
 *
 * Reader indicators: one word per owner (its own 64-byte line), 1 while that thread is inside a
 * read. A reader stores 1 in its slot, then loads LOCK; a writer takes LOCK, then loads every
 * slot. Both sides use Atomics (sequentially consistent), so in the single total order of those
 * operations either the writer sees the reader's 1 and waits, or the reader sees the lock and
 * backs off: they never both proceed (a Dekker handshake). A reader leaving stores 0 and, if it
 * then sees LOCK held, notifies its slot, so a writer waiting on that slot wakes.
 *
 * Nobody here calls the blocking `Atomics.wait`: threads with an event loop wait with
 * `Atomics.waitAsync`, holding a timer meanwhile because a pending waitAsync alone does not keep
 * Node's event loop alive. Waits also time out and re-check, a safety net, not a correctness need.
 */
import { H, READER_STRIDE } from './shared-layout.js';

export const LOCK_HELD = 1;
export const LOCK_WAITERS = 2;

/** How long one asynchronous wait lasts before re-checking (ms). */
const WAIT_SLICE_MS = 50;

/** Word index of `owner`'s reader slot. */
export function readerSlot(m: Int32Array, owner: number): number {
  return m[H.READERS_BASE]! + owner * READER_STRIDE;
}

/** The owner recorded in a LOCK value. */
export function lockOwner(value: number): number {
  return value >>> 2;
}

/** Awaits a change of `m[index]` away from `value` (or a timeout), keeping the loop alive. */
export async function waitChange(m: Int32Array, index: number, value: number): Promise<void> {
  const w = Atomics.waitAsync(m, index, value, WAIT_SLICE_MS);
  if (!w.async) return;
  const keepAlive = setTimeout(() => {}, WAIT_SLICE_MS * 4);
  try {
    await w.value;
  } finally {
    clearTimeout(keepAlive);
  }
}

/** Takes the writer mutex if it is free; never waits. */
export function tryLock(m: Int32Array, owner: number): boolean {
  return Atomics.compareExchange(m, H.LOCK, 0, (owner << 2) | LOCK_HELD) === 0;
}

/** Takes the writer mutex, waiting asynchronously while another thread holds it. */
export async function lock(m: Int32Array, owner: number): Promise<void> {
  if (tryLock(m, owner)) return;
  for (;;) {
    let c = Atomics.load(m, H.LOCK);
    if (c === 0) {
      // Taken with the waiters bit: others may still be waiting, so the release must notify.
      if (Atomics.compareExchange(m, H.LOCK, 0, (owner << 2) | LOCK_HELD | LOCK_WAITERS) === 0) return;
      continue;
    }
    if ((c & LOCK_WAITERS) === 0) {
      if (Atomics.compareExchange(m, H.LOCK, c, c | LOCK_WAITERS) !== c) continue;
      c |= LOCK_WAITERS;
    }
    await waitChange(m, H.LOCK, c);
  }
}

/** Releases the writer mutex and wakes every waiter (writers and waiting readers). */
export function unlock(m: Int32Array): void {
  const old = Atomics.exchange(m, H.LOCK, 0);
  if ((old & LOCK_WAITERS) !== 0) Atomics.notify(m, H.LOCK);
}

/**
 * Waits until no reader is inside a read. Called with the mutex held, so no new reader enters.
 */
export async function drainReaders(m: Int32Array): Promise<void> {
  const owners = m[H.MAX_OWNERS]!;
  for (let o = 1; o <= owners; o++) {
    const slot = readerSlot(m, o);
    while (Atomics.load(m, slot) !== 0) await waitChange(m, slot, 1);
  }
}

/** True when no reader is inside a read (the synchronous check of {@link drainReaders}). */
export function readersGone(m: Int32Array): boolean {
  const owners = m[H.MAX_OWNERS]!;
  for (let o = 1; o <= owners; o++) if (Atomics.load(m, readerSlot(m, o)) !== 0) return false;
  return true;
}

/**
 * Enters a read for the thread owning `slot`; false (slot left at 0) while a writer holds the
 * mutex. On true the caller must call {@link leaveRead}.
 */
export function enterRead(m: Int32Array, slot: number): boolean {
  Atomics.store(m, slot, 1);
  if (Atomics.load(m, H.LOCK) === 0) return true;
  leaveRead(m, slot);
  return false;
}

/** Leaves a read; wakes a writer waiting for this slot. */
export function leaveRead(m: Int32Array, slot: number): void {
  Atomics.store(m, slot, 0);
  if (Atomics.load(m, H.LOCK) !== 0) Atomics.notify(m, slot);
}

/** Marks the mutex as waited on, so its release notifies; returns the value to wait on (0 if free). */
export function markWaiting(m: Int32Array): number {
  for (;;) {
    const c = Atomics.load(m, H.LOCK);
    if (c === 0 || (c & LOCK_WAITERS) !== 0) return c;
    if (Atomics.compareExchange(m, H.LOCK, c, c | LOCK_WAITERS) === c) return c | LOCK_WAITERS;
  }
}
