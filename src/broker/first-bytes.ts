/**
 * The bytes a socket delivered with and after its first packet, kept for whoever takes the
 * socket next (the session, on this thread or another): the first packet's own buffer (or the
 * chunk it came whole in), then whatever followed until the socket is taken. A peer may send
 * those in any number of chunks, one byte at a time: kept as received, each would cost a Buffer
 * object (~100 bytes) per byte. So the first is kept as it came (a CONNECT almost always comes
 * in one chunk: no copy on that path), and every later one is copied into one tail buffer that
 * doubles as it fills: at most two chunks are held, the tail in memory under twice the bytes
 * it received plus {@link TAIL_MIN}, and each byte is copied a constant number of times.
 *
 * The tail is an unpooled buffer of its own, so it can be transferred to another thread.
 */

/** First capacity of the tail, in bytes. */
const TAIL_MIN = 256;

export class FirstBytes {
  private first: Uint8Array | undefined;
  private tail: Uint8Array | undefined;
  private tailLength = 0;

  /** Bytes held. */
  get length(): number {
    return (this.first?.byteLength ?? 0) + this.tailLength;
  }

  /** Keeps `chunk`: the first as it is (the caller copies it if it must own it), later ones copied. */
  push(chunk: Uint8Array): void {
    if (this.first === undefined) {
      this.first = chunk;
      return;
    }
    const needed = this.tailLength + chunk.byteLength;
    let tail = this.tail;
    if (tail === undefined || needed > tail.byteLength) {
      const grown = new Uint8Array(Math.max(TAIL_MIN, 2 * needed));
      if (tail !== undefined) grown.set(tail.subarray(0, this.tailLength));
      this.tail = tail = grown;
    }
    tail.set(chunk, this.tailLength);
    this.tailLength = needed;
  }

  /** What is held, in order, as at most two chunks; the holder keeps nothing after. */
  take(): Uint8Array[] {
    const out: Uint8Array[] = [];
    if (this.first !== undefined) out.push(this.first);
    if (this.tail !== undefined) out.push(this.tail.subarray(0, this.tailLength));
    this.first = undefined;
    this.tail = undefined;
    this.tailLength = 0;
    return out;
  }

  /** What is held, joined into one Buffer (to answer a first packet that did not decode). */
  joined(): Buffer {
    const first = this.first ?? new Uint8Array(0);
    if (this.tail === undefined) return Buffer.from(first.buffer, first.byteOffset, first.byteLength);
    return Buffer.concat([first, this.tail.subarray(0, this.tailLength)]);
  }
}
