/**
 * Once-per-event-loop-turn flushing: whatever marks itself dirty during a turn is flushed by a
 * single `setImmediate`, so many socket chunks or routed messages become one cross-thread
 * message per destination per turn (DESIGN-NOTES: batching is what makes a relay cheap).
 */

/** Something that has buffered output to send. */
export interface Flushable {
  flush(): void;
}

/** Collects dirty {@link Flushable}s and flushes them all once per turn. */
export class TurnBatch {
  private readonly dirty = new Set<Flushable>();
  private immediate: NodeJS.Immediate | undefined;

  /** Flushes `item` at the end of this turn (once, however often it is marked). */
  mark(item: Flushable): void {
    this.dirty.add(item);
    this.immediate ??= setImmediate(() => this.flushNow());
  }

  /** Flushes everything marked so far, now. */
  flushNow(): void {
    if (this.immediate !== undefined) clearImmediate(this.immediate);
    this.immediate = undefined;
    // An item marked while flushing is flushed in this same pass (a Set's iteration visits
    // entries added during it); the immediate that mark() scheduled then finds nothing to do.
    for (const item of this.dirty) {
      this.dirty.delete(item);
      item.flush();
    }
  }

  /** Drops pending work without flushing (shutdown). */
  cancel(): void {
    if (this.immediate !== undefined) clearImmediate(this.immediate);
    this.immediate = undefined;
    this.dirty.clear();
  }
}
