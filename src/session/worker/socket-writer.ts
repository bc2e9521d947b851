/**
 * A session thread's batched socket writes. Each owned socket's bytes of a turn used to leave
 * with their own `socket.write`: Node's Writable layer, the stream binding, a write request and
 * a callback per socket, ~2 µs of JavaScript and C++ around a ~3.6 µs loopback write in a steady
 * fan-out. Here the turn's links with an idle socket give their bytes to one call of the addon's
 * `writeBatchShared`, which sends to every fd in turn (one non-blocking `sendmsg` each). A buffer
 * that several links send (a PUBLISH encoded once for every subscriber of a fan-out) is passed
 * once, each link's bytes naming it by index: the addon fetches a buffer through N-API once per
 * call, not once per socket.
 *
 * Ownership invariant, which is what makes writing below the stream safe: an fd is written here
 * only
 * - by the thread that owns its socket (main handed the fd to this thread; nobody else writes
 *   it), from this thread's loop, inside one synchronous pass of its {@link TurnBatch};
 * - while its `net.Socket` is alive (not destroyed: the fd is open and still this socket's, not
 *   a reused number) and writable (not ending, not errored), uncorked, with nothing queued in
 *   its stream (`writableLength === 0`: no bytes in the Writable buffer and no write pending in
 *   libuv, whose queue holds only what the stream gave it). The check is made in the same pass,
 *   just before the call, so nothing can queue in between.
 * Whatever the kernel does not take (its buffer is full, or it failed: EPIPE, ECONNRESET) goes
 * to `socket.write` right after, in order: the stream then owns the socket's output again (the
 * next turn finds it not idle and writes through it), backpressure works as before, and an error
 * is reported the usual way, by Node's own failed write ('error', then 'close').
 */
import type { Flushable, TurnBatch } from '../../broker/turn-batch.js';
import type { WriteBatch } from '../../broker/fd-handoff.js';

/** A link whose socket's bytes may go through the writer (see `ConnectionLink`). */
export interface BatchWritable {
  /**
   * When the socket may be written directly (see the invariant above): pushes this turn's
   * chunks onto `into` (the link keeps them until {@link batchWritten}) and returns the fd.
   * Otherwise -1, the link having written them through its stream, or having none left (a
   * closing link wrote them through its stream since it was listed).
   */
  takeBatch(into: Buffer[]): number;
  /** How the batch went: `result` bytes of the chunks taken were sent, or `-errno`. True when all were. */
  batchWritten(result: number): boolean;
}

/**
 * A link with more chunks than this in a turn joins them into one buffer first (as
 * `socket.write` did): a saturating fan-out's hundreds of small packets per socket per turn cost
 * more as that many indexes and iovecs than as one `Buffer.concat` (measured: performance.md,
 * tenth round, even with shared buffers fetched once). (The addon's own limit, its MAX_CHUNKS,
 * is 1,024.)
 */
export const MAX_BATCH_CHUNKS = 16;

/** Entries' arrays start this large and double as needed (they are kept for the thread's life). */
const INITIAL_ENTRIES = 64;

export class SocketWriter implements Flushable {
  /** Links added this pass, in order; `spare` is the other array, swapped in while flushing. */
  private pending: BatchWritable[] = [];
  private spare: BatchWritable[] = [];
  /** The links' chunks of this pass, as they pushed them; emptied into {@link chunks} and {@link refs}. */
  private readonly taken: Buffer[] = [];
  /** This pass's distinct chunks, each once, in first-use order. */
  private readonly chunks: Buffer[] = [];
  /** Index in {@link chunks} of each chunk taken, entry after entry. */
  private refs = new Int32Array(INITIAL_ENTRIES);
  /** A chunk's index in {@link chunks}, for chunks not equal to the one just before. */
  private readonly indexOf = new Map<Buffer, number>();
  private fds = new Int32Array(INITIAL_ENTRIES);
  private counts = new Int32Array(INITIAL_ENTRIES);
  private results = new Int32Array(INITIAL_ENTRIES);

  constructor(
    private readonly writeBatch: WriteBatch,
    private readonly batch: TurnBatch,
    /** The thread's write callback (`WorkerThread.socketWritten`), once per pass that sent a socket's bytes in full. */
    private readonly written: () => void,
  ) {}

  /**
   * Writes `link`'s bytes in this turn's pass (the writer runs after the links marked before
   * it). A link is listed once per pass: it keeps its own flag (see `ConnectionLink.batched`).
   */
  add(link: BatchWritable): void {
    this.batch.mark(this);
    this.pending.push(link);
  }

  flush(): void {
    const entries = this.pending;
    if (entries.length === 0) return;
    this.pending = this.spare;
    this.spare = entries;
    const taken = this.taken;
    // The links that write directly are compacted to the front of `entries`, in order.
    let n = 0;
    for (let i = 0; i < entries.length; i++) {
      const link = entries[i]!;
      const before = taken.length;
      const fd = link.takeBatch(taken);
      if (fd < 0) continue;
      if (n === this.fds.length) this.grow();
      this.fds[n] = fd;
      this.counts[n] = taken.length - before;
      entries[n++] = link;
    }
    let full = false;
    if (n > 0) {
      this.index();
      try {
        this.writeBatch(this.fds, this.counts, this.refs, this.chunks, n, this.results);
      } catch (err) {
        // Only a bad argument throws (a programming error: the arrays are built just above and
        // links push only Buffers). The addon checks an entry's arguments before sending it, and
        // even then stores every entry's result: what the entries before the bad one sent (not
        // to be written again), 0 for the rest (written through their streams). The error is
        // rethrown so it is not silent.
        this.chunks.length = 0;
        this.finish(entries, n);
        throw err;
      }
      this.chunks.length = 0;
      full = this.finish(entries, n);
    }
    entries.length = 0;
    // Node calls a write's callback on the next tick; one call for all the links written in
    // full does what one per link did (it re-checks every held session).
    if (full) process.nextTick(this.written);
  }

  /**
   * Moves the chunks taken into {@link chunks}, each distinct one once, and their order into
   * {@link refs}. A fan-out's links send the same buffers in the same order, so most chunks
   * equal the previous one or are found in the map; a link's own chunks (a joined batch) are
   * added once each.
   */
  private index(): void {
    const taken = this.taken;
    const chunks = this.chunks;
    const indexOf = this.indexOf;
    if (taken.length > this.refs.length) this.refs = new Int32Array(Math.max(taken.length, this.refs.length * 2));
    const refs = this.refs;
    let previous: Buffer | undefined;
    let previousIndex = -1;
    for (let i = 0; i < taken.length; i++) {
      const chunk = taken[i]!;
      if (chunk !== previous) {
        let index = indexOf.get(chunk);
        if (index === undefined) {
          index = chunks.push(chunk) - 1;
          indexOf.set(chunk, index);
        }
        previous = chunk;
        previousIndex = index;
      }
      refs[i] = previousIndex;
    }
    taken.length = 0;
    indexOf.clear();
  }

  /** Hands each entry its result; true when some link's bytes all went to the kernel. */
  private finish(entries: BatchWritable[], n: number): boolean {
    let full = false;
    for (let i = 0; i < n; i++) {
      if (entries[i]!.batchWritten(this.results[i]!)) full = true;
    }
    return full;
  }

  private grow(): void {
    const size = this.fds.length * 2;
    const fds = new Int32Array(size);
    fds.set(this.fds);
    const counts = new Int32Array(size);
    counts.set(this.counts);
    this.fds = fds;
    this.counts = counts;
    this.results = new Int32Array(size);
  }
}
