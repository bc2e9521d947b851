/**
 * Bytes in, decoded packets out: {@link PacketFramer} bounds memory, then each whole packet is
 * decoded by hand when it is plain (`plain-publish.ts`: PUBLISH and its acknowledgements;
 * `plain-control.ts`: CONNECT, SUBSCRIBE, PINGREQ, DISCONNECT), else by mqtt-packet. Errors are typed so a session can answer with the right reason code.
 */
import mqttPacket, { type Packet } from 'mqtt-packet';
import { FramingError, PacketFramer } from './framer.js';
import { decodePlainControl } from './plain-control.js';
import { decodePlainAck, decodePlainPublish } from './plain-publish.js';

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

/**
 * One mqtt-packet parser per thread, shared by every {@link PacketDecoder} on it. A decoder only
 * ever hands it one whole frame (the framer cut it), which the parser decodes synchronously and
 * is then back at its start state, so nothing of one connection is left in it for the next. An
 * idle connection thus holds no parser (each is a stream, a BufferList and listeners: most of
 * what an idle connection cost). A frame that fails leaves it mid-way: it is then replaced.
 */
class ThreadParser {
  private parser = this.create();
  private decoded: Packet[] = [];
  private failure: Error | undefined;

  private create(): ReturnType<typeof mqttPacket.parser> {
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    parser.on('packet', (packet: Packet) => this.decoded.push(packet));
    parser.on('error', (err: Error) => {
      this.failure ??= err;
    });
    return parser;
  }

  /**
   * Decodes one whole `frame` as protocol `version`; returns its packets and the version after
   * it (a CONNECT sets its own). Throws {@link DecodeError}.
   */
  parse(frame: Buffer, version: number): { packets: Packet[]; version: number } {
    // A CONNECT makes the decoded packet the parser's settings (mqtt-packet does
    // `this.settings = packet`), so settings are set afresh for each frame, never mutated.
    const parser = this.parser as unknown as { settings: { protocolVersion?: number } };
    parser.settings = SETTINGS[version] ?? { protocolVersion: version };
    this.parser.parse(frame);
    const packets = this.decoded;
    this.decoded = [];
    if (this.failure) {
      const err = this.failure;
      this.failure = undefined;
      this.parser = this.create();
      const protocol = /protocol|version|Invalid header flag bits|reserved/i.test(err.message) && !/malformed/i.test(err.message);
      throw new DecodeError(err.message, protocol ? 'protocol' : 'malformed');
    }
    return { packets, version: parser.settings.protocolVersion ?? version };
  }
}

let threadParser: ThreadParser | undefined;

/** A plain packet decoded by hand (PUBLISH first: the hot path), or undefined for mqtt-packet. */
function decodePlain(frame: Buffer, version: number): Packet | undefined {
  const type = frame[0]! >> 4;
  if (type === 3) return decodePlainPublish(frame, version);
  if (type >= 4 && type <= 7) return decodePlainAck(frame, version);
  return decodePlainControl(frame, version);
}

/** Parser settings per protocol version, shared and never changed. */
const SETTINGS: Record<number, { readonly protocolVersion: number }> = {
  3: Object.freeze({ protocolVersion: 3 }),
  4: Object.freeze({ protocolVersion: 4 }),
  5: Object.freeze({ protocolVersion: 5 }),
};

/** Incremental decoder for one connection. */
export class PacketDecoder {
  private readonly framer: PacketFramer;
  private version: number;
  /** Whole-packet sizes in bytes of what the last {@link push} returned, index for index. */
  readonly sizes: number[] = [];

  /**
   * @param maxPacketSize largest whole packet accepted, in bytes.
   * @param protocolVersion 4 (3.1.1) or 5; a CONNECT decoded here switches it by itself.
   */
  constructor(maxPacketSize: number, protocolVersion: 3 | 4 | 5 = 4) {
    this.framer = new PacketFramer(maxPacketSize);
    this.version = protocolVersion;
  }

  /** The protocol version packets are decoded as (3, 4 or 5). */
  get protocolVersion(): number {
    return this.version;
  }

  /** Sets the version to decode as (a client does this after sending its CONNECT). */
  set protocolVersion(version: 3 | 4 | 5) {
    this.version = version;
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
  private decodeFrame(frame: Buffer, out: Packet[]): void {
    const plain = decodePlain(frame, this.version);
    if (plain !== undefined) {
      if (plain.cmd === 'connect') this.version = plain.protocolVersion!;
      out.push(plain);
      this.sizes.push(frame.length);
      return;
    }
    threadParser ??= new ThreadParser();
    const { packets, version } = threadParser.parse(frame, this.version);
    this.version = version;
    for (const packet of packets) {
      out.push(packet);
      this.sizes.push(frame.length);
    }
  }
}
