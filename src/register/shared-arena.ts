/**
 * Views of the register's buffer, its allocator and the undo log that makes every write
 * all-or-nothing. Only the thread holding the writer mutex calls the mutating methods.
 *
 * Every store into memory that existed before the write began goes through {@link Arena.set},
 * which first appends (word index, old value) to the undo log. Blocks allocated during the write
 * are filled with {@link Arena.init} (not logged): rolling back the allocator state (TOP, free
 * list heads and the link word of a reused block, all logged) makes them unreachable again.
 * Rolling back restores the logged words newest first, so a write that threw, or whose thread
 * died, leaves the structure exactly as before it began.
 */
import { classWords, H, sizeClass } from './shared-layout.js';
import { RegisterFullError } from './types.js';

const PAGE = 64 * 1024;

/** Thrown by the test hook that stops a write half-way (the lock stays held). */
export class WriteHaltedForTest extends Error {
  override readonly name = 'WriteHaltedForTest';
}

/** Fixed-length views of the buffer (length-tracking views are ~20× slower in Node 20). */
export class Views {
  i32: Int32Array;
  u16: Uint16Array;
  constructor(readonly sab: SharedArrayBuffer) {
    const bytes = Atomics.load(new Int32Array(sab, 0, 8), H.CAPACITY_BYTES);
    this.i32 = new Int32Array(sab, 0, bytes >>> 2);
    this.u16 = new Uint16Array(sab, 0, bytes >>> 1);
  }

  /** Re-creates the views if a writer has grown the buffer since. Call inside a read or write. */
  refresh(): void {
    const bytes = Atomics.load(this.i32, H.CAPACITY_BYTES);
    if (bytes !== this.i32.length << 2) {
      this.i32 = new Int32Array(this.sab, 0, bytes >>> 2);
      this.u16 = new Uint16Array(this.sab, 0, bytes >>> 1);
    }
  }
}

/** Allocator and undo log over {@link Views}; used by the mutex holder only. */
export class Arena {
  /** Test hook: when positive, the write stops (throws WriteHaltedForTest) after this many logged stores. */
  haltAfter = 0;

  constructor(readonly views: Views) {}

  get m(): Int32Array {
    return this.views.i32;
  }

  /** Logged store: records the old value, then writes. */
  set(index: number, value: number): void {
    const m = this.views.i32;
    const old = m[index]!;
    if (old === value) return;
    const n = m[H.UNDO_COUNT]!;
    if (n >= m[H.UNDO_CAP]!) throw new RegisterFullError('a single write touched more words than the undo log holds');
    if (this.haltAfter > 0 && --this.haltAfter === 0) throw new WriteHaltedForTest('write halted by the test hook');
    const e = m[H.UNDO_BASE]! + 2 * n;
    m[e] = index;
    m[e + 1] = old;
    Atomics.store(m, H.UNDO_COUNT, n + 1);
    m[index] = value;
  }

  /** Unlogged store, only into a block allocated by the current write. */
  init(index: number, value: number): void {
    this.views.i32[index] = value;
  }

  /** Allocates a zeroed block of at least `words` words; RegisterFullError past maxBytes. */
  alloc(words: number): number {
    const m = this.views.i32;
    const c = sizeClass(words);
    const size = classWords(c);
    const head = m[H.FREE_BASE]! + c;
    let p = m[head]!;
    if (p !== 0) {
      this.set(head, m[p]!);
      this.set(p, 0); // logs the link word a rollback must put back
    } else {
      p = m[H.TOP]!;
      const end = p + size;
      if (end * 4 > Atomics.load(m, H.CAPACITY_BYTES)) this.#grow(end * 4);
      this.set(H.TOP, end);
    }
    this.set(H.USED_WORDS, this.views.i32[H.USED_WORDS]! + size);
    this.views.i32.fill(0, p, p + size);
    return p;
  }

  /** Returns a block to its size class's free list. */
  free(p: number, words: number): void {
    const m = this.views.i32;
    const c = sizeClass(words);
    const head = m[H.FREE_BASE]! + c;
    this.set(p, m[head]!);
    this.set(head, p);
    this.set(H.USED_WORDS, m[H.USED_WORDS]! - classWords(c));
  }

  /** Ends the write: forgets the undo log and bumps the version readers' caches check. */
  commit(): void {
    const m = this.views.i32;
    Atomics.store(m, H.UNDO_COUNT, 0);
    Atomics.add(m, H.VERSION, 1);
  }

  /** Undoes the logged stores newest first; safe to repeat if interrupted. */
  rollback(): void {
    this.views.refresh();
    const m = this.views.i32;
    const base = m[H.UNDO_BASE]!;
    for (let n = Atomics.load(m, H.UNDO_COUNT); n > 0; n--) {
      const e = base + 2 * (n - 1);
      m[m[e]!] = m[e + 1]!;
      Atomics.store(m, H.UNDO_COUNT, n - 1);
    }
    Atomics.add(m, H.VERSION, 1);
  }

  #grow(needBytes: number): void {
    const m = this.views.i32;
    const max = m[H.MAX_BYTES]!;
    if (needBytes > max) throw new RegisterFullError(`the register has reached its maxBytes (${max} bytes)`);
    const cur = this.views.sab.byteLength;
    let next = Math.max(needBytes, Math.min(max, cur * 2));
    next = Math.min(max, Math.ceil(next / PAGE) * PAGE);
    if (next > cur) this.views.sab.grow(next);
    // Published after the grow: a reader that sees the new capacity can make views that long.
    Atomics.store(m, H.CAPACITY_BYTES, next);
    this.views.refresh();
  }
}
