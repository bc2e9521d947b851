/**
 * The load generator's MQTT 3.1.1 codec. It is deliberately tiny and cheap: packets the
 * generator sends are encoded once (PUBLISH as a template whose packet id and payload fields are
 * patched in a copy), and incoming bytes are cut by an incremental reader that decodes only the
 * fixed header and hands the caller offsets into the chunk, so the generator spends its CPU on
 * the broker's traffic, not on objects.
 *
 * Only what the benchmark needs is here: CONNECT (clean session), SUBSCRIBE, PUBLISH and the
 * four acknowledgements, PINGREQ and DISCONNECT.
 */

/** MQTT control packet types (high nibble of byte 1, MQTT 3.1.1 §2.2.1). */
export const PacketType = {
  CONNECT: 1,
  CONNACK: 2,
  PUBLISH: 3,
  PUBACK: 4,
  PUBREC: 5,
  PUBREL: 6,
  PUBCOMP: 7,
  SUBSCRIBE: 8,
  SUBACK: 9,
  PINGREQ: 12,
  PINGRESP: 13,
  DISCONNECT: 14,
} as const;

/** Bytes the remaining length `n` takes (MQTT 3.1.1 §2.2.3): 1 to 4. */
export function remainingLengthSize(n: number): number {
  if (!Number.isInteger(n) || n < 0 || n > 268_435_455) throw new RangeError(`remaining length out of range: ${n}`);
  return n < 128 ? 1 : n < 16_384 ? 2 : n < 2_097_152 ? 3 : 4;
}

function writeRemainingLength(buf: Buffer, pos: number, n: number): number {
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    buf[pos++] = byte;
  } while (n > 0);
  return pos;
}

/** A packet with fixed header `firstByte` around `body`. */
function frame(firstByte: number, body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(1 + remainingLengthSize(body.length) + body.length);
  out[0] = firstByte;
  const pos = writeRemainingLength(out, 1, body.length);
  body.copy(out, pos);
  return out;
}

function utf8Field(s: string): Buffer {
  const bytes = Buffer.from(s, 'utf8');
  if (bytes.length > 65_535) throw new RangeError('string longer than 65535 bytes');
  const out = Buffer.allocUnsafe(2 + bytes.length);
  out.writeUInt16BE(bytes.length, 0);
  bytes.copy(out, 2);
  return out;
}

/**
 * CONNECT for MQTT 3.1.1 (protocol level 4) with a clean session and no will, user or password.
 * `keepAliveSeconds` 0 turns keep-alive off, which is what a bounded benchmark run wants.
 */
export function encodeConnect(clientId: string, keepAliveSeconds = 0): Buffer {
  const header = Buffer.from([0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x02, keepAliveSeconds >> 8, keepAliveSeconds & 0xff]);
  return frame(PacketType.CONNECT << 4, Buffer.concat([header, utf8Field(clientId)]));
}

/** SUBSCRIBE with one requested QoS for every filter; fixed-header flags 0b0010 [MQTT-3.8.1-1]. */
export function encodeSubscribe(packetId: number, filters: readonly string[], qos: 0 | 1 | 2): Buffer {
  if (filters.length === 0) throw new RangeError('SUBSCRIBE needs at least one filter [MQTT-3.8.3-3]');
  const parts: Buffer[] = [Buffer.from([packetId >> 8, packetId & 0xff])];
  for (const f of filters) parts.push(utf8Field(f), Buffer.from([qos]));
  return frame((PacketType.SUBSCRIBE << 4) | 0x02, Buffer.concat(parts));
}

/** A 4-byte acknowledgement (PUBACK, PUBREC, PUBREL, PUBCOMP) written at `pos` in `buf`. */
export function writeAck(buf: Buffer, pos: number, type: number, packetId: number): number {
  // PUBREL carries fixed-header flags 0b0010 [MQTT-3.6.1-1]; the others 0.
  buf[pos] = (type << 4) | (type === PacketType.PUBREL ? 0x02 : 0);
  buf[pos + 1] = 2;
  buf[pos + 2] = packetId >> 8;
  buf[pos + 3] = packetId & 0xff;
  return pos + 4;
}

export const DISCONNECT = Buffer.from([PacketType.DISCONNECT << 4, 0]);
export const PINGREQ = Buffer.from([PacketType.PINGREQ << 4, 0]);

/**
 * Payload layout every generator PUBLISH carries, so the receiving side can count loss and
 * duplicates and measure latency without decoding anything else:
 * bytes 0–1 publisher index (u16 BE), 2–5 sequence number (u32 BE), 6–7 zero,
 * 8–15 send time from `process.hrtime.bigint()` (u64 BE; 0 when the scenario does not time).
 */
export const PAYLOAD_HEADER_BYTES = 16;

/** One PUBLISH encoded once; {@link PublishTemplate.fill} patches a copy per send. */
export class PublishTemplate {
  /** The whole encoded packet, with zeroed packet id and payload header. */
  readonly bytes: Buffer;
  /** Offset of the packet id in {@link bytes}, or -1 for QoS 0. */
  readonly packetIdOffset: number;
  /** Offset of the payload in {@link bytes}. */
  readonly payloadOffset: number;

  constructor(
    readonly topic: string,
    readonly qos: 0 | 1 | 2,
    payloadBytes: number,
  ) {
    if (payloadBytes < PAYLOAD_HEADER_BYTES) throw new RangeError(`payload must be at least ${PAYLOAD_HEADER_BYTES} bytes`);
    const topicField = utf8Field(topic);
    const idBytes = qos > 0 ? 2 : 0;
    const remaining = topicField.length + idBytes + payloadBytes;
    const headerBytes = 1 + remainingLengthSize(remaining);
    const bytes = Buffer.alloc(headerBytes + remaining, 0x61); // payload filler: 'a'
    bytes[0] = (PacketType.PUBLISH << 4) | (qos << 1);
    writeRemainingLength(bytes, 1, remaining);
    topicField.copy(bytes, headerBytes);
    this.packetIdOffset = qos > 0 ? headerBytes + topicField.length : -1;
    if (qos > 0) bytes.writeUInt16BE(0, this.packetIdOffset);
    this.payloadOffset = headerBytes + topicField.length + idBytes;
    bytes.fill(0, this.payloadOffset, this.payloadOffset + PAYLOAD_HEADER_BYTES);
    this.bytes = bytes;
  }

  get size(): number {
    return this.bytes.length;
  }

  /**
   * Copies the template into `out` at `pos` and patches it; returns the position after it.
   * `sentAt` 0n leaves the time field zero (skips the BigInt write on the hot path).
   */
  fill(out: Buffer, pos: number, packetId: number, publisher: number, seq: number, sentAt = 0n): number {
    this.bytes.copy(out, pos);
    if (this.packetIdOffset >= 0) {
      out[pos + this.packetIdOffset] = packetId >> 8;
      out[pos + this.packetIdOffset + 1] = packetId & 0xff;
    }
    const p = pos + this.payloadOffset;
    out[p] = publisher >> 8;
    out[p + 1] = publisher & 0xff;
    out.writeUInt32BE(seq >>> 0, p + 2);
    if (sentAt !== 0n) out.writeBigUInt64BE(sentAt, p + 8);
    return pos + this.bytes.length;
  }
}

/** What {@link readPublish} finds in a PUBLISH; reused between calls to avoid allocation. */
export interface PublishView {
  qos: number;
  packetId: number;
  topicStart: number;
  topicEnd: number;
  payloadStart: number;
  payloadEnd: number;
  /** From the generator's payload header, or -1 when the payload is shorter than it. */
  publisher: number;
  seq: number;
  /** Send time (hrtime ns) from the payload header; 0n when absent. */
  sentAt: bigint;
}

export function newPublishView(): PublishView {
  return { qos: 0, packetId: 0, topicStart: 0, topicEnd: 0, payloadStart: 0, payloadEnd: 0, publisher: -1, seq: -1, sentAt: 0n };
}

/**
 * Reads a PUBLISH variable header (MQTT 3.1.1 §3.3.2) and the generator's payload header into `view`.
 * `flags` is the fixed header's low nibble, `body`/`end` the offsets a {@link PacketReader} gave.
 * Reads the send time only when `wantTime` (BigInt reads cost on the hot path).
 */
export function readPublish(buf: Buffer, flags: number, body: number, end: number, view: PublishView, wantTime = false): PublishView {
  view.qos = (flags >> 1) & 0x03;
  const topicLength = (buf[body]! << 8) | buf[body + 1]!;
  view.topicStart = body + 2;
  view.topicEnd = view.topicStart + topicLength;
  let p = view.topicEnd;
  if (view.qos > 0) {
    view.packetId = (buf[p]! << 8) | buf[p + 1]!;
    p += 2;
  } else {
    view.packetId = 0;
  }
  if (p > end) throw new Error('PUBLISH shorter than its own topic');
  view.payloadStart = p;
  view.payloadEnd = end;
  if (end - p >= PAYLOAD_HEADER_BYTES) {
    view.publisher = (buf[p]! << 8) | buf[p + 1]!;
    view.seq = buf.readUInt32BE(p + 2);
    view.sentAt = wantTime ? buf.readBigUInt64BE(p + 8) : 0n;
  } else {
    view.publisher = -1;
    view.seq = -1;
    view.sentAt = 0n;
  }
  return view;
}

/** Called once per whole packet: type, fixed-header flags, the buffer, body start and end. */
export type PacketHandler = (type: number, flags: number, buf: Buffer, body: number, end: number) => void;

/**
 * Incremental packet reader. Cuts whole packets out of a byte stream and calls the handler with
 * offsets into the chunk (no copy, no object per packet); keeps only an incomplete tail, which
 * is joined with the next chunk. A remaining length over four bytes (MQTT 3.1.1 §2.2.3) or a packet
 * larger than `maxPacketBytes` throws: the generator treats either as a broken run.
 */
export class PacketReader {
  private tail: Buffer | null = null;

  constructor(
    private readonly onPacket: PacketHandler,
    private readonly maxPacketBytes = 1 << 20,
  ) {}

  /** Bytes held waiting for the rest of a packet. */
  get buffered(): number {
    return this.tail?.length ?? 0;
  }

  push(chunk: Buffer): void {
    let buf = chunk;
    if (this.tail !== null) {
      buf = Buffer.concat([this.tail, chunk]);
      this.tail = null;
    }
    const len = buf.length;
    let pos = 0;
    while (pos + 2 <= len) {
      let remaining = 0;
      let multiplier = 1;
      let i = pos + 1;
      let complete = false;
      for (let n = 0; n < 4 && i < len; n++) {
        const byte = buf[i++]!;
        remaining += (byte & 0x7f) * multiplier;
        if ((byte & 0x80) === 0) {
          complete = true;
          break;
        }
        multiplier *= 128;
      }
      if (!complete) {
        if (i - pos - 1 >= 4) throw new Error('malformed remaining length: more than four bytes (MQTT 3.1.1 §2.2.3)');
        break;
      }
      const end = i + remaining;
      if (end - pos > this.maxPacketBytes) throw new Error(`packet of ${end - pos} bytes exceeds the reader's limit of ${this.maxPacketBytes}`);
      if (end > len) break;
      const first = buf[pos]!;
      this.onPacket(first >> 4, first & 0x0f, buf, i, end);
      pos = end;
    }
    if (pos < len) this.tail = Buffer.from(buf.subarray(pos));
  }
}
