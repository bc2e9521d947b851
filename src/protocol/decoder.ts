/**
 * Bytes in, decoded packets out: {@link PacketFramer} bounds memory, mqtt-packet decodes each
 * whole packet. Errors are typed so a session can answer with the right reason code.
 */
import mqttPacket, { type Packet } from 'mqtt-packet';
import { FramingError, PacketFramer } from './framer.js';

/** A packet could not be decoded; `kind` says which MQTT 5 reason code fits. */
export class DecodeError extends Error {
  override readonly name = 'DecodeError';
  constructor(
    message: string,
    /** `malformed` → 0x81, `too-large` → 0x95, `protocol` (e.g. a wrong protocol name) → 0x82. */
    readonly kind: 'malformed' | 'too-large' | 'protocol',
  ) {
    super(message);
  }
}

/** Incremental decoder for one connection. */
export class PacketDecoder {
  private readonly framer: PacketFramer;
  private readonly parser: ReturnType<typeof mqttPacket.parser>;
  private decoded: Packet[] = [];
  private failure: Error | undefined;
  /** Whole-packet sizes in bytes of what the last {@link push} returned, index for index. */
  readonly sizes: number[] = [];

  /**
   * @param maxPacketSize largest whole packet accepted, in bytes.
   * @param protocolVersion 4 (3.1.1) or 5; a CONNECT decoded here switches it by itself.
   */
  constructor(maxPacketSize: number, protocolVersion: 3 | 4 | 5 = 4) {
    this.framer = new PacketFramer(maxPacketSize);
    this.parser = mqttPacket.parser({ protocolVersion });
    this.parser.on('packet', (packet: Packet) => this.decoded.push(packet));
    this.parser.on('error', (err: Error) => {
      this.failure ??= err;
    });
  }

  /** The protocol version packets are decoded as (3, 4 or 5). */
  get protocolVersion(): number {
    return (this.parser as unknown as { settings: { protocolVersion?: number } }).settings.protocolVersion ?? 4;
  }

  /** Sets the version to decode as (a client does this after sending its CONNECT). */
  set protocolVersion(version: 3 | 4 | 5) {
    (this.parser as unknown as { settings: { protocolVersion?: number } }).settings.protocolVersion = version;
  }

  /** Changes the size limit. */
  setMaxPacketSize(size: number): void {
    this.framer.setMaxPacketSize(size);
  }

  /** Feeds bytes; returns the packets they complete. Throws {@link DecodeError}. */
  push(chunk: Buffer): Packet[] {
    let frames: Buffer[];
    try {
      frames = this.framer.push(chunk);
    } catch (err) {
      if (err instanceof FramingError) throw new DecodeError(err.message, err.kind);
      throw err;
    }
    const out: Packet[] = [];
    this.sizes.length = 0;
    for (const frame of frames) this.decodeFrame(frame, out);
    return out;
  }

  /** Decodes one whole frame into `out`, its size into {@link sizes}. Throws {@link DecodeError}. */
  protected decodeFrame(frame: Buffer, out: Packet[]): void {
    this.parser.parse(frame);
    if (this.failure) {
      const err = this.failure;
      this.failure = undefined;
      const protocol = /protocol|version|Invalid header flag bits|reserved/i.test(err.message) && !/malformed/i.test(err.message);
      throw new DecodeError(err.message, protocol ? 'protocol' : 'malformed');
    }
    for (const packet of this.decoded) {
      out.push(packet);
      this.sizes.push(frame.length);
    }
    this.decoded = [];
  }
}
