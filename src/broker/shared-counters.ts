/**
 * Counters that session workers increment and main reads, in one small SharedArrayBuffer
 * (`Int32Array`, one word per counter, named below). Every thread adds with `Atomics.add`;
 * main reads with `Atomics.load`. Counts are exact; they wrap after 2^31 events.
 * One word goes the other way: `retainedMessages`, which only main writes (`Atomics.store`
 * after each change of the retained store) and session threads read. One is a gauge, not a
 * count: `pendingConnections`, and one counts bytes: `pendingConnectBytes` (see there and
 * `pending-gauge.ts`).
 */

/** Word index of each counter. */
export const CounterWord = {
  /** Messages a session core dropped (queue full, expired, too large for the client...). */
  sessionDropped: 0,
  /** Routed messages dropped because a client's socket stayed behind and the hold queue was full. */
  relayDropped: 1,
  /** Connections closed for a packet over `maxPacketSize`. */
  packetTooLarge: 2,
  /** Connections closed for a packet that could not be decoded (malformed / protocol error). */
  badPackets: 3,
  /**
   * Messages in main's retained store now (written by main only). A session whose client
   * subscribes asks main for matching retained messages only when it is not 0: a subscription
   * then costs no round trip through main while nothing is retained. A retained message still on
   * its way to main when this reads 0 is missed exactly as it would be by a query that overtook
   * it (the threads' links are not ordered with each other).
   */
  retainedMessages: 4,
  /** Connections closed because no CONNECT arrived within `connectTimeout` (main or a session thread accepted them). */
  connectTimeouts: 5,
  /** Connections closed because their first packet was not a CONNECT [MQTT-3.1.0-1]. */
  notConnectFirst: 6,
  /**
   * Retained-message sequence (wrapping): a thread draws the next number for each retained
   * PUBLISH before routing it; a SUBSCRIBE's retained query carries the number read after its
   * subscription is in the register. A stored message drawn later was routed live to that
   * subscription (it saw the subscription), so main leaves it out of the answer: the client
   * gets it once, not again as a retained message of a subscription it predates
   * [MQTT-3.3.1-9] (see broker.ts, retainedFor).
   */
  retainSeq: 7,
  /**
   * Gauge: sockets accepted whose CONNECT has not been decoded yet, by main and every session
   * thread together, held at most `maxPendingConnections` (pending-gauge.ts). Written by whoever
   * accepts: a place is taken with {@link SharedCounters.addBelow} (compare-and-exchange, so two
   * threads can never both take the last one) and given back with `add(word, -1)`; main also
   * subtracts, once, what a dead thread held. Only the atomicity of each read-modify-write is
   * relied on, no ordering with other memory: the word guards no data.
   */
  pendingConnections: 8,
  /** Sockets closed at accept because `maxPendingConnections` sockets were already waiting for their CONNECT. */
  pendingRefused: 9,
  /**
   * Gauge, in bytes: the first packets being read (fixed header + remaining length each, reserved
   * as soon as the header gives the size), by main and every session thread together, held at
   * most `maxPendingConnectBytes` (pending-gauge.ts). Taken with {@link SharedCounters.addWithin}
   * and given back like {@link CounterWord.pendingConnections}; the option's range (at most
   * 2^31 - 1) keeps the word from overflowing, since it never exceeds the option.
   */
  pendingConnectBytes: 10,
  /** Sockets closed because their first packet did not fit in what was left of `maxPendingConnectBytes`. */
  pendingBytesRefused: 11,
} as const;

const WORDS = 12;

export class SharedCounters {
  private readonly words: Int32Array;

  constructor(readonly buffer: SharedArrayBuffer) {
    this.words = new Int32Array(buffer);
  }

  static create(): SharedCounters {
    return new SharedCounters(new SharedArrayBuffer(WORDS * Int32Array.BYTES_PER_ELEMENT));
  }

  add(word: number, n = 1): void {
    Atomics.add(this.words, word, n);
  }

  /**
   * `word`'s value read with a read-modify-write (adding 0), not a load: a later `next` on
   * another thread then synchronizes with it, so what this thread wrote before (a subscription
   * in the register) is visible to what that thread does after its `next` (its routing).
   */
  readOrdered(word: number): number {
    return Atomics.add(this.words, word, 0);
  }

  /**
   * Adds one to `word` unless it is already `limit` or more; true when it added. A
   * compare-and-exchange loop: a concurrent change makes the exchange fail and the loop re-read,
   * so the word never goes past `limit` however many threads take at once.
   */
  addBelow(word: number, limit: number): boolean {
    return this.addWithin(word, 1, limit);
  }

  /**
   * Adds `n` (positive) to `word` unless the sum would exceed `limit`; true when it added. The
   * same compare-and-exchange loop as {@link addBelow}: the word never goes past `limit`, so a
   * `limit` of at most 2^31 - 1 can never make the Int32 word wrap (`seen + n` is compared as a
   * double, before anything is stored).
   */
  addWithin(word: number, n: number, limit: number): boolean {
    for (let seen = Atomics.load(this.words, word); seen + n <= limit; ) {
      const before = Atomics.compareExchange(this.words, word, seen, seen + n);
      if (before === seen) return true;
      seen = before;
    }
    return false;
  }

  /** Adds one to `word` and returns the new value (wrapping at 2^31). */
  next(word: number): number {
    return (Atomics.add(this.words, word, 1) + 1) | 0;
  }

  read(word: number): number {
    return Atomics.load(this.words, word);
  }

  /** Main only: sets a word it alone writes. */
  set(word: number, value: number): void {
    Atomics.store(this.words, word, value);
  }
}
