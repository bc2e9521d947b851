/**
 * Cuts a byte stream into MQTT control packets (fixed header + remaining length) before any
 * packet is decoded, so that a peer can never make us buffer more than `maxPacketSize` bytes:
 * the size is known from the first five bytes and an oversize packet is refused before its
 * body arrives (MQTT 5.0 section 3.1.2.11.4; MQTT 3.1.1 has no such property, so the broker's
 * own limit applies). Pure: no sockets, no timers.
 */

/** Largest remaining length the four-byte variable integer can encode (MQTT 5.0 §1.5.5, 3.1.1 §2.2.3; a section, no rule id). */
export const MAX_REMAINING_LENGTH = 268_435_455;

/** Why a byte stream cannot be framed; the connection must be closed. */
export class FramingError extends Error {
  override readonly name = 'FramingError';
  constructor(
    message: string,
    /** `malformed`: a bad remaining length; `too-large`: over the limit. */
    readonly kind: 'malformed' | 'too-large',
    /** The whole packet size announced, when known. */
    readonly size?: number,
  ) {
    super(message);
  }
}

/**
 * A packet's bytes held while its header has not arrived whole: the type byte and at most
 * three remaining-length bytes (a fourth with its continuation bit set is malformed).
 */
const HEADER_MAX = 5;

/**
 * Capacity first given to a packet split across chunks: a packet up to this size gets its exact
 * buffer at once; a larger one starts here, grows to what arrived when its first chunk brings
 * more (at least doubling), then doubles as bytes come, up to its announced size. So a peer that
 * announces a large packet and sends nothing more makes us hold at most twice this, or twice
 * what it sent, not the size it announced.
 */
const INITIAL_CAPACITY = 4096;

/**
 * Splits incoming bytes into whole packets, one `Buffer` per packet (header included).
 *
 * Cost is linear in the bytes received, however the peer splits them. A chunk that starts on a
 * packet boundary is cut without copying (the hot path: every packet a view of the chunk). A
 * packet split across chunks is gathered into one buffer of its own, sized from its header, so
 * each byte is copied into it once (plus the doublings of a large packet, less than its size
 * again), instead of re-joining everything pending on every chunk, which is quadratic for a
 * packet sent one byte at a time. What is held is that one buffer, or at most
 * {@link HEADER_MAX} header bytes.
 */
export class PacketFramer {
  /** The header bytes of a packet whose size is not known yet (`headLength` of them). */
  private head: Buffer | undefined;
  private headLength = 0;
  /** The packet being gathered, once its size is known: `bodyLength` bytes of `size` so far. */
  private body: Buffer | undefined;
  private bodyLength = 0;
  private size = 0;
  private copiedBytes = 0;

  /** @param maxPacketSize the largest whole packet (header + body) accepted, in bytes. */
  constructor(private maxPacketSize: number) {
    if (!Number.isInteger(maxPacketSize) || maxPacketSize < 2 || maxPacketSize > MAX_REMAINING_LENGTH + 5) {
      throw new RangeError(`maxPacketSize: expected an integer from 2 to ${MAX_REMAINING_LENGTH + 5}, got ${maxPacketSize}`);
    }
  }

  /**
   * Changes the limit (e.g. once a CONNECT has said which protocol the peer speaks). A packet
   * already being gathered is checked against it on the next {@link push}.
   */
  setMaxPacketSize(size: number): void {
    this.maxPacketSize = size;
  }

  /** Bytes received and not yet returned as a packet. */
  get buffered(): number {
    return this.headLength + this.bodyLength;
  }

  /**
   * Bytes copied into the framer's own buffers since it was made (gathering split packets,
   * growing a large one): a measure of work that load does not move, for tests to assert that it
   * stays linear in the bytes received. Always 0 while every chunk holds whole packets.
   */
  get copied(): number {
    return this.copiedBytes;
  }

  /**
   * Feeds a chunk; returns the packets it completes, in order. Throws {@link FramingError}
   * for a malformed remaining length or a packet over the limit (then the framer is unusable).
   */
  push(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    if (this.headLength === 0 && this.body === undefined) {
      this.cut(chunk, 0, out);
      return out;
    }
    let pos = 0;
    if (this.body === undefined) {
      pos = this.completeHead(chunk);
      if (this.body === undefined) return out;
    }
    if (this.size > this.maxPacketSize) throw this.tooLarge(this.size);
    pos = this.fillBody(chunk, pos);
    if (this.bodyLength < this.size) return out;
    // The body's capacity reached the announced size, which it never exceeds: the buffer is the packet.
    out.push(this.body!);
    this.body = undefined;
    this.bodyLength = 0;
    this.size = 0;
    if (pos < chunk.length) this.cut(chunk, pos, out);
    return out;
  }

  /** Cuts the whole packets of `data` from `pos` into `out` (views, no copy); keeps the rest. */
  private cut(data: Buffer, pos: number, out: Buffer[]): void {
    while (pos < data.length) {
      const size = this.packetSize(data, pos);
      if (size === undefined) {
        // Fewer than HEADER_MAX bytes, or packetSize would have decided (or thrown).
        // Unpooled: a slice of the shared pool, kept for the connection's life, would pin a whole pool slab.
        this.head ??= Buffer.alloc(HEADER_MAX);
        this.headLength = data.copy(this.head, 0, pos);
        this.copiedBytes += this.headLength;
        return;
      }
      if (pos + size > data.length) {
        this.startBody(size);
        this.fillBody(data, pos);
        return;
      }
      out.push(data.subarray(pos, pos + size));
      pos += size;
    }
  }

  /** Adds header bytes from `chunk` until the packet's size is known; returns where it stopped. */
  private completeHead(chunk: Buffer): number {
    const head = this.head!;
    let pos = 0;
    while (pos < chunk.length) {
      head[this.headLength++] = chunk[pos++]!;
      this.copiedBytes++;
      const size = this.packetSize(head.subarray(0, this.headLength), 0);
      if (size === undefined) continue;
      this.startBody(size);
      head.copy(this.body!, 0, 0, this.headLength);
      this.bodyLength = this.headLength;
      this.copiedBytes += this.headLength;
      this.headLength = 0;
      break;
    }
    return pos;
  }

  /** The packet now gathered is `size` bytes (already checked against the limit). */
  private startBody(size: number): void {
    this.size = size;
    this.body = Buffer.allocUnsafe(Math.min(size, INITIAL_CAPACITY));
    this.bodyLength = 0;
  }

  /** Copies what `chunk` holds of the gathered packet from `pos`; returns where it stopped. */
  private fillBody(chunk: Buffer, pos: number): number {
    const n = Math.min(this.size - this.bodyLength, chunk.length - pos);
    let body = this.body!;
    if (this.bodyLength + n > body.length) {
      // Doubling (capped at the packet's size) keeps the copies of all the growths below the size.
      const grown = Buffer.allocUnsafe(Math.min(this.size, Math.max(body.length * 2, this.bodyLength + n)));
      body.copy(grown, 0, 0, this.bodyLength);
      this.copiedBytes += this.bodyLength;
      this.body = body = grown;
    }
    chunk.copy(body, this.bodyLength, pos, pos + n);
    this.bodyLength += n;
    this.copiedBytes += n;
    return pos + n;
  }

  private tooLarge(size: number): FramingError {
    return new FramingError(`packet of ${size} bytes exceeds the maximum packet size of ${this.maxPacketSize}`, 'too-large', size);
  }

  /** Whole size of the packet starting at `pos`, or undefined until its header is complete. */
  private packetSize(data: Buffer, pos: number): number | undefined {
    const size = wholePacketSize(data, pos);
    if (size !== undefined && size > this.maxPacketSize) throw this.tooLarge(size);
    return size;
  }
}

/**
 * Whole size (fixed header + remaining length) of the packet whose fixed header starts at
 * `pos` in `data`, or undefined until that header is complete. Throws {@link FramingError}
 * (`malformed`) for a remaining length longer than four bytes.
 */
export function wholePacketSize(data: Uint8Array, pos: number): number | undefined {
  let remaining = 0;
  let multiplier = 1;
  for (let i = 1; i <= 4; i++) {
    if (pos + i >= data.length) return undefined;
    const byte = data[pos + i]!;
    remaining += (byte & 0x7f) * multiplier;
    if ((byte & 0x80) === 0) return 1 + i + remaining;
    multiplier *= 128;
  }
  throw new FramingError('remaining length is longer than four bytes (MQTT 5.0 §1.5.5, 3.1.1 §2.2.3)', 'malformed');
}
