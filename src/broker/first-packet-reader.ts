/**
 * Reading a newly accepted socket's first packet, the same on both accept paths (main's
 * `ClientConnection`, a session thread's `ThreadListener`): its fixed header, then the packet
 * itself gathered into one buffer of exactly its size, decoded from that buffer, and kept for
 * whoever takes the socket next ({@link FirstBytes}) with what came after it; bounded by
 * `maxPacketSize`, by the `connectTimeout` timer, and by the socket's place under
 * `maxPendingConnections` and its first packet's bytes under `maxPendingConnectBytes`
 * (pending-gauge.ts). What to do with the packet, an undecodable one, a refusal or a timeout is
 * the owner's: this only reads.
 *
 * Memory: while the first packet is read, a socket holds at most its fixed header (five bytes)
 * and then that one buffer, the packet's size, reserved before it is allocated. A first packet
 * that comes whole in the first chunk (the common case) is decoded from the chunk and kept as
 * it is, with no buffer of its own. Once decoded nothing is copied again: the session gets
 * that same buffer (no decoder's copy, no copy kept aside for the session, no growth room).
 *
 * Invariant: the timer runs, the place is held and the bytes are reserved exactly while the
 * first packet is awaited; {@link stop} ends all three, once, whichever way reading ends
 * (packet, error, refusal, timeout, close, the broker closing).
 */
import type { Packet } from 'mqtt-packet';
import type { Logger } from 'pino';
import { DecodeError, PacketDecoder } from '../protocol/decoder.js';
import { encodePacket } from '../protocol/encoder.js';
import { FramingError, wholePacketSize } from '../protocol/framer.js';
import { answerUndecodableConnect } from '../session/core/connect.js';
import { FirstBytes } from './first-bytes.js';
import type { PendingPlace } from './pending-gauge.js';
import { CounterWord, type SharedCounters } from './shared-counters.js';

/**
 * What a chunk came to: the first packet; why there is none (the connection must close); or
 * `refused`, the first packet's size, which did not fit in what is left of
 * `maxPendingConnectBytes` (close without answering: the packet was not read).
 */
export type FirstRead = { readonly packet: Packet } | { readonly error: unknown } | { readonly refused: number };

/** A fixed header's longest: the type byte and four remaining-length bytes. */
const HEADER_MAX = 5;

export class FirstPacketReader {
  /** Every byte read once the first packet is whole (or failed): the packet's and what came after. */
  readonly bytes = new FirstBytes();
  private active = true;
  /** The fixed header while it is split across chunks (`headLength` bytes of it). */
  private head: Buffer | undefined;
  private headLength = 0;
  /** The first packet once its size is known, `filled` bytes of it so far. */
  private packet: Buffer | undefined;
  private filled = 0;
  private timer: NodeJS.Timeout | undefined;
  private place: PendingPlace | undefined;
  private readonly maxPacketSize: number;

  /**
   * @param timedOut called once if no first packet decodes within `connectTimeout` (reading has stopped).
   * @param own what a chunk kept as it came must be made (main: a copy that owns its memory,
   *   for a transfer; the identity by default).
   */
  constructor(
    limits: { readonly maxPacketSize: number; readonly connectTimeout: number },
    place: PendingPlace,
    timedOut: () => void,
    private readonly own: (chunk: Buffer) => Uint8Array = (chunk) => chunk,
  ) {
    this.place = place;
    this.maxPacketSize = limits.maxPacketSize;
    this.timer = setTimeout(() => {
      this.stop();
      timedOut();
    }, limits.connectTimeout);
  }

  /** True until the first packet decoded, failed to, was refused, or reading was stopped. */
  get reading(): boolean {
    return this.active;
  }

  /**
   * Reads `chunk`: the first packet, the decoding error or the refusal, once; undefined while
   * more bytes are needed. After reading ended, the chunk is only kept.
   */
  push(chunk: Buffer): FirstRead | undefined {
    if (!this.active) {
      this.keep(chunk);
      return undefined;
    }
    try {
      return this.packet === undefined ? this.readHeader(chunk) : this.fill(chunk, 0);
    } catch (error) {
      this.stop();
      return { error: error instanceof FramingError ? new DecodeError(error.message, error.kind) : error };
    }
  }

  /** Reading ends (whichever way): buffers not kept go, the timer stops, the place and bytes are given back; once. */
  stop(): void {
    this.active = false;
    this.head = undefined;
    this.headLength = 0;
    this.packet = undefined;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.place?.release();
    this.place = undefined;
  }

  /** Keeps a chunk: the first as it came (made one's `own`), later ones copied by {@link FirstBytes}. */
  private keep(chunk: Buffer): void {
    this.bytes.push(this.bytes.length === 0 ? this.own(chunk) : chunk);
  }

  /** The fixed header, from the bytes held and `chunk`; once it gives the size, the packet. */
  private readHeader(chunk: Buffer): FirstRead | undefined {
    const before = this.headLength;
    let size: number | undefined;
    let pos = 0;
    try {
      if (before === 0) {
        size = wholePacketSize(chunk, 0);
      } else {
        const head = this.head!;
        while (size === undefined && pos < chunk.length) {
          head[this.headLength++] = chunk[pos++]!;
          size = wholePacketSize(head.subarray(0, this.headLength), 0);
        }
      }
      if (size !== undefined && size > this.maxPacketSize) {
        throw new DecodeError(`packet of ${size} bytes exceeds the maximum packet size of ${this.maxPacketSize}`, 'too-large');
      }
    } catch (error) {
      // What was received is kept to answer it: a CONNECT's protocol level says which CONNACK.
      if (before > 0) this.keep(Buffer.from(this.head!.subarray(0, before)));
      this.keep(chunk);
      throw error;
    }
    if (size === undefined) {
      // Fewer than HEADER_MAX bytes so far (else the size is known, or wholePacketSize threw).
      // Unpooled: a slice of the shared pool would pin a whole pool slab.
      if (before === 0) {
        this.head = Buffer.alloc(HEADER_MAX);
        this.headLength = chunk.copy(this.head);
      }
      return undefined;
    }
    // Reserved before anything of the body is held: a refused socket holds nothing.
    if (!this.place!.reserve(size)) {
      this.stop();
      return { refused: size };
    }
    if (before === 0 && chunk.length >= size) {
      // The whole packet in the first chunk: decoded from it, the chunk kept as it came.
      this.keep(chunk);
      return this.decode(size === chunk.length ? chunk : chunk.subarray(0, size));
    }
    // One buffer of the packet's exact size (unpooled: it can be transferred to the session's thread).
    const packet = Buffer.allocUnsafeSlow(size);
    if (before > 0) this.head!.copy(packet, 0, 0, this.headLength);
    this.filled = before > 0 ? this.headLength : 0;
    this.head = undefined;
    this.headLength = 0;
    this.packet = packet;
    return this.fill(chunk, pos);
  }

  /** Copies what `chunk` holds of the packet from `pos`; once it is whole, keeps and decodes it. */
  private fill(chunk: Buffer, pos: number): FirstRead | undefined {
    const packet = this.packet!;
    const n = Math.min(packet.length - this.filled, chunk.length - pos);
    chunk.copy(packet, this.filled, pos, pos + n);
    this.filled += n;
    if (this.filled < packet.length) return undefined;
    this.keep(packet);
    if (pos + n < chunk.length) this.keep(chunk.subarray(pos + n));
    return this.decode(packet);
  }

  /** Decodes the whole first packet `frame` (kept already), and stops reading. Throws {@link DecodeError}. */
  private decode(frame: Buffer): FirstRead {
    // The CONNECT's will may be published by main (crash wills), User Properties in the order
    // received [MQTT-3.1.3-10].
    const packets = new PacketDecoder(this.maxPacketSize, 4, { userPropertyOrder: true }).push(frame);
    if (packets.length === 0) throw new DecodeError('first packet decoded to nothing', 'malformed');
    this.stop();
    return { packet: packets[0]! };
  }
}

/**
 * A first packet that did not decode (`error` from {@link FirstPacketReader.push}), on either
 * accept path: counted, logged (a peer fault), and the CONNACK to write before closing, if the
 * spec has one for it (`answerUndecodableConnect` reads `bytes`, the client id being unknown,
 * so no session can answer); undefined: close without one.
 */
export function answerUndecodableFirst(error: unknown, bytes: Uint8Array, counters: SharedCounters, log: Logger, remote: () => string): Buffer | undefined {
  const fault = error instanceof DecodeError ? error.kind : 'malformed';
  counters.add(fault === 'too-large' ? CounterWord.packetTooLarge : CounterWord.badPackets);
  const answer = answerUndecodableConnect(bytes, fault);
  if (log.isLevelEnabled('warn')) {
    log.warn({ remote: remote(), err: (error as Error)?.message, reason: answer.reason, connack: answer.connack !== undefined }, 'undecodable first packet');
  }
  return answer.connack === undefined ? undefined : encodePacket(answer.connack, answer.version);
}
