/**
 * Counters that session workers increment and main reads, in one small SharedArrayBuffer
 * (`Int32Array`, one word per counter, named below). Every thread adds with `Atomics.add`;
 * main reads with `Atomics.load`. Counts are exact; they wrap after 2^31 events.
 * One word goes the other way: `retainedMessages`, which only main writes (`Atomics.store`
 * after each change of the retained store) and session threads read.
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
} as const;

const WORDS = 7;

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

  read(word: number): number {
    return Atomics.load(this.words, word);
  }

  /** Main only: sets a word it alone writes. */
  set(word: number, value: number): void {
    Atomics.store(this.words, word, value);
  }
}
