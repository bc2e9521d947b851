/**
 * Bytes in, decoded packets out: {@link PacketFramer} bounds memory, then each whole packet is
 * decoded by hand when it is plain (`plain-publish.ts`: PUBLISH and its acknowledgements;
 * `plain-control.ts`: CONNECT, SUBSCRIBE, PINGREQ, DISCONNECT), else by mqtt-packet, whose
 * result one walk over the frame's bytes (`frame-walk.ts`) checks and mends. Every UTF-8 Encoded
 * String is checked from its bytes (`utf8-strings.ts`): ill-formed UTF-8 or U+0000 is a
 * `malformed` error. Errors are typed so a session can answer with the right reason code.
 */
import mqttPacket, { type Packet, type UserProperties } from 'mqtt-packet';
import { FramingError, PacketFramer } from './framer.js';
import { readUserProperties, scanFrame, type FrameScan, type UserPropertyScan } from './frame-walk.js';
import { decodePlainControl } from './plain-control.js';
import { decodePlainAck, decodePlainPublish } from './plain-publish.js';
import { ReasonCode } from './reason-codes.js';
import { setUserPropertyOrder } from './user-property-order.js';

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

/** The MQTT 5 reason code that closes a connection for each kind of {@link DecodeError}. */
export const DECODE_ERROR_REASON_CODES: Readonly<Record<DecodeError['kind'], number>> = {
  malformed: ReasonCode.MalformedPacket,
  'too-large': ReasonCode.PacketTooLarge,
  protocol: ReasonCode.ProtocolError,
};

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
   * it (a CONNECT sets its own). `keepOrder`: see {@link PacketDecoderOptions.userPropertyOrder}.
   * Throws {@link DecodeError}.
   */
  parse(frame: Buffer, version: number, keepOrder: boolean): { packets: Packet[]; version: number } {
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
    const decodedVersion = parser.settings.protocolVersion ?? version;
    // One walk over the bytes (`frame-walk.ts`) finds what mqtt-packet's decoding hides. Its
    // strings: Buffer#toString turns ill-formed UTF-8 into U+FFFD, which only the bytes show (a
    // plain frame was checked as it was decoded; a bad string makes it not plain and sends it
    // here, so this is the one place the error is raised). In v5, repeated properties and User
    // Properties lost or reordered by the object form. A string fault comes first: the packet is
    // Malformed whatever else it holds. A decoder that one day decodes properties itself must
    // check them the same way.
    const scan = scanFrame(frame, decodedVersion);
    if (scan !== undefined) {
      if (scan.stringFault !== undefined) throw new DecodeError(scan.stringFault, 'malformed');
      if (scan.repeated !== undefined) {
        throw new DecodeError(`${scan.repeated} included more than once: a Protocol Error (MQTT 5.0, the property's own section)`, 'protocol');
      }
      restoreUserProperties(packets[0] as DecodedWithProperties, frame, scan, keepOrder);
    }
    return { packets, version: decodedVersion };
  }
}

let threadParser: ThreadParser | undefined;

/** A decoded packet's property lists, as mqtt-packet puts them. */
type DecodedWithProperties = Packet & {
  properties?: { userProperties?: UserProperties };
  will?: { properties?: { userProperties?: UserProperties } };
};

/**
 * Reads again from the bytes the User Properties of the lists `scan` names: in place of
 * mqtt-packet's object where it may have lost a value, and with `keepOrder`, as the received
 * order beside it where the object would reorder them.
 */
function restoreUserProperties(packet: DecodedWithProperties | undefined, frame: Buffer, scan: FrameScan, keepOrder: boolean): void {
  if (scan.userProperties !== undefined && packet?.properties !== undefined) {
    restoreList(packet.properties, frame, scan.userProperties, keepOrder);
  }
  if (scan.willUserProperties !== undefined && packet?.will?.properties !== undefined) {
    restoreList(packet.will.properties, frame, scan.willUserProperties, keepOrder);
  }
}

/** {@link restoreUserProperties} for one list. */
function restoreList(properties: { userProperties?: UserProperties }, frame: Buffer, list: UserPropertyScan, keepOrder: boolean): void {
  const order = keepOrder && list.reordered;
  if (!list.lost && !order) return;
  const read = readUserProperties(frame, list.at);
  if (list.lost) properties.userProperties = read.object;
  if (order) setUserPropertyOrder(properties, read.order);
}

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

/** {@link PacketDecoder.sizes} after a push that completed no packet. */
const NO_SIZES: readonly number[] = Object.freeze([]);

/** Options of a {@link PacketDecoder}. */
export interface PacketDecoderOptions {
  /**
   * Where mqtt-packet's object form of a list's User Properties would not keep the order
   * received (interleaved names, names that are array indices), also give that order, on the
   * property list under `USER_PROPERTY_ORDER` (see `user-property-order.ts`). The broker sets
   * it: it forwards User Properties and MUST keep their order [MQTT-3.3.2-18, MQTT-3.1.3-10].
   * Weft's client sets it too, to hand applications the order received (`client/core/user-property-list.ts`).
   */
  userPropertyOrder?: boolean;
}

/** Incremental decoder for one connection. */
export class PacketDecoder {
  private readonly framer: PacketFramer;
  private version: number;
  private readonly keepOrder: boolean;
  /**
   * Whole-packet sizes in bytes of what the last {@link push} returned, index for index. A new
   * array of just that length each time: one array reused across pushes would keep the store it
   * grew to (17 slots after its first packet; `length = 0` does not shrink it) for as long as
   * the connection lives, most of it idle.
   */
  sizes: readonly number[] = NO_SIZES;

  /**
   * @param maxPacketSize largest whole packet accepted, in bytes.
   * @param protocolVersion 4 (3.1.1) or 5; a CONNECT decoded here switches it by itself.
   */
  constructor(maxPacketSize: number, protocolVersion: 3 | 4 | 5 = 4, options: PacketDecoderOptions = {}) {
    this.framer = new PacketFramer(maxPacketSize);
    this.version = protocolVersion;
    this.keepOrder = options.userPropertyOrder === true;
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
    this.sizes = NO_SIZES;
    if (frames.length === 0) return out;
    // A frame is one packet, so this is the final length (an odd frame only grows or trims it).
    const sizes = new Array<number>(frames.length);
    for (const frame of frames) this.decodeFrame(frame, out, sizes);
    sizes.length = out.length;
    this.sizes = sizes;
    return out;
  }

  /** Decodes one whole frame into `out`, its size into `sizes` at the same index. Throws {@link DecodeError}. */
  private decodeFrame(frame: Buffer, out: Packet[], sizes: number[]): void {
    const plain = decodePlain(frame, this.version);
    if (plain !== undefined) {
      if (plain.cmd === 'connect') this.version = plain.protocolVersion!;
      sizes[out.push(plain) - 1] = frame.length;
      return;
    }
    threadParser ??= new ThreadParser();
    const { packets, version } = threadParser.parse(frame, this.version, this.keepOrder);
    this.version = version;
    for (const packet of packets) sizes[out.push(packet) - 1] = frame.length;
  }
}
