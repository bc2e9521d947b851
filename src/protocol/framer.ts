/**
 * Cuts a byte stream into MQTT control packets (fixed header + remaining length) before any
 * packet is decoded, so that a peer can never make us buffer more than `maxPacketSize` bytes:
 * the size is known from the first five bytes and an oversize packet is refused before its
 * body arrives (MQTT 5.0 section 3.1.2.11.4; MQTT 3.1.1 has no such property, so the broker's
 * own limit applies). Pure: no sockets, no timers.
 */

/** Largest remaining length the four-byte variable integer can encode [MQTT-1.5.5]. */
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

/** Splits incoming bytes into whole packets, one `Buffer` per packet (header included). */
export class PacketFramer {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  /** @param maxPacketSize the largest whole packet (header + body) accepted, in bytes. */
  constructor(private maxPacketSize: number) {
    if (!Number.isInteger(maxPacketSize) || maxPacketSize < 2 || maxPacketSize > MAX_REMAINING_LENGTH + 5) {
      throw new RangeError(`maxPacketSize: expected an integer from 2 to ${MAX_REMAINING_LENGTH + 5}, got ${maxPacketSize}`);
    }
  }

  /** Changes the limit (e.g. once a CONNECT has said which protocol the peer speaks). */
  setMaxPacketSize(size: number): void {
    this.maxPacketSize = size;
  }

  /** Bytes received and not yet returned as a packet. */
  get buffered(): number {
    return this.pendingBytes;
  }

  /**
   * Feeds a chunk; returns the packets it completes, in order. Throws {@link FramingError}
   * for a malformed remaining length or a packet over the limit (then the framer is unusable).
   */
  push(chunk: Buffer): Buffer[] {
    if (this.pendingBytes === 0) return this.cut(chunk);
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    const joined = Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    return this.cut(joined);
  }

  private cut(data: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let pos = 0;
    while (pos < data.length) {
      const size = this.packetSize(data, pos);
      if (size === undefined || pos + size > data.length) break;
      out.push(data.subarray(pos, pos + size));
      pos += size;
    }
    if (pos < data.length) {
      const rest = data.subarray(pos);
      this.pending.push(rest);
      this.pendingBytes = rest.length;
    }
    return out;
  }

  /** Whole size of the packet starting at `pos`, or undefined until its header is complete. */
  private packetSize(data: Buffer, pos: number): number | undefined {
    let remaining = 0;
    let multiplier = 1;
    for (let i = 1; i <= 4; i++) {
      if (pos + i >= data.length) return undefined;
      const byte = data[pos + i]!;
      remaining += (byte & 0x7f) * multiplier;
      if ((byte & 0x80) === 0) {
        const size = 1 + i + remaining;
        if (size > this.maxPacketSize) {
          throw new FramingError(`packet of ${size} bytes exceeds the maximum packet size of ${this.maxPacketSize}`, 'too-large', size);
        }
        return size;
      }
      multiplier *= 128;
    }
    throw new FramingError('remaining length is longer than four bytes [MQTT-1.5.5]', 'malformed');
  }
}
