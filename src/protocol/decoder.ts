/**
 * Bytes in, decoded packets out: {@link PacketFramer} bounds memory, then each whole packet is
 * decoded by hand when it is plain (`plain-publish.ts`: PUBLISH and its acknowledgements;
 * `plain-control.ts`: CONNECT, SUBSCRIBE, PINGREQ, DISCONNECT), else by mqtt-packet. Every
 * UTF-8 Encoded String is checked from its bytes (`utf8-strings.ts`): ill-formed UTF-8 or
 * U+0000 is a `malformed` error. Errors are typed so a session can answer with the right reason code.
 */
import mqttPacket, { type Packet, type UserProperties } from 'mqtt-packet';
import { FramingError, PacketFramer } from './framer.js';
import { bodyStart, decodePlainControl } from './plain-control.js';
import { decodePlainAck, decodePlainPublish } from './plain-publish.js';
import { mayRepeat, PROPERTIES_BY_ID, PROPERTY_DEFINITIONS, type PropertyKind } from './properties.js';
import { ReasonCode } from './reason-codes.js';
import { setUserPropertyOrder, UserPropertyOrderCheck, type UserPropertyOrder } from './user-property-order.js';
import { frameStringFault } from './utf8-strings.js';

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
    // mqtt-packet decodes strings with Buffer#toString, which turns ill-formed UTF-8 into
    // U+FFFD: only the bytes show it. A plain frame was checked as it was decoded (a bad string
    // makes it not plain and sends it here), so this is the one place the error is raised.
    const stringFault = frameStringFault(frame, decodedVersion);
    if (stringFault !== undefined) throw new DecodeError(stringFault, 'malformed');
    // Only v5 has properties; a plain frame never comes here, so this runs only for packets
    // with properties (or another reason mqtt-packet decodes them). A decoder that one day
    // decodes properties itself must scan them the same way.
    const scan = decodedVersion === 5 ? scanFrameProperties(frame) : undefined;
    if (scan !== undefined) {
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
function restoreUserProperties(packet: DecodedWithProperties | undefined, frame: Buffer, scan: PropertyScan, keepOrder: boolean): void {
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
   * Weft's client hands applications the object form and leaves it off.
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

/** Bytes of a fixed-size property value, by kind; the others are a Variable Byte Integer or length-prefixed fields. */
const FIXED_SIZE: Partial<Record<PropertyKind, number>> = { boolean: 1, byte: 1, u16: 2, u32: 4 };

const USER_PROPERTY = PROPERTY_DEFINITIONS.userProperties!.id;

/** A property list whose User Properties must be read again from the bytes (see {@link scanFrameProperties}). */
export interface UserPropertyScan {
  /** Where the list starts (at its length). */
  at: number;
  /** mqtt-packet's object may have lost a value: one of them is '' and another follows. */
  lost: boolean;
  /** mqtt-packet's object would not keep the order received (see {@link UserPropertyOrderCheck}). */
  reordered: boolean;
}

/**
 * What the byte scan of an MQTT 5 frame's property lists found that mqtt-packet's decoding of it
 * hides (see {@link scanFrameProperties}).
 */
export interface PropertyScan {
  /** The name of a property included more than once where its section says that is a Protocol Error. */
  repeated?: string;
  /** The packet's own property list, when its User Properties must be read again from the bytes. */
  userProperties?: UserPropertyScan;
  /** The same for the will properties of a CONNECT. */
  willUserProperties?: UserPropertyScan;
}

/**
 * Scans the property lists of the MQTT 5 packet `frame` (whole, already decoded by mqtt-packet)
 * for what mqtt-packet's decoding loses; undefined when there is nothing. Both come from one
 * flaw: mqtt-packet turns a repeated property, or a repeated User Property name, into an array
 * only `if (result[name])`, so a repeat after a first value of 0, false or '' replaces that
 * value and the decoded packet shows one value.
 * - `repeated`: a property included more than once that may not be ({@link mayRepeat}): every
 *   property but User Property, and but the Subscription Identifier of a PUBLISH (a Server's
 *   carries one per matching subscription, MQTT 5.0 section 3.3.2.3.8; a client's carries none,
 *   which the session core checks [MQTT-3.3.4-6]). The packet is then a Protocol Error (0x82).
 *   This is the only check for repeats: a session core never sees them.
 * - `userProperties` / `willUserProperties`, `lost`: a User Property whose value is '' is
 *   followed by another User Property in the same list, so a later value of the same name may
 *   have replaced it; {@link readUserProperties} reads that list's User Properties again. They
 *   must reach subscribers unaltered [MQTT-3.3.2-17].
 * - `reordered`, the other flaw of the object form: it groups the values of a name and puts
 *   names that are array indices first, so where the received order is not the one the object
 *   gives, a broker's decoder reads that order from the bytes too [MQTT-3.3.2-18,
 *   MQTT-3.1.3-10] (see {@link UserPropertyOrderCheck}).
 * Anything the scan cannot follow (mqtt-packet decoded it, so nothing should be) ends it with
 * undefined: the packet is then as mqtt-packet decoded it.
 */
export function scanFrameProperties(frame: Buffer): PropertyScan | undefined {
  const type = frame[0]! >> 4;
  const end = frame.length;
  let pos = bodyStart(frame);
  const skipPrefixed = (at: number): number => (at + 2 > end ? end + 1 : at + 2 + ((frame[at]! << 8) | frame[at + 1]!));
  switch (type) {
    case 1: {
      // CONNECT: Protocol Name, Level, Flags, Keep Alive, properties; then the Client Identifier
      // and, with the Will Flag, the will properties.
      pos = skipPrefixed(pos);
      if (pos + 4 > end || frame[pos] !== 5) return undefined;
      const willFlag = (frame[pos + 1]! & 0x04) !== 0;
      const at = pos + 4;
      const connect = scanProperties(frame, at, false);
      if (connect === undefined || connect.repeated !== undefined) return scanResult(connect, at);
      const own = scanResult(connect, at);
      if (!willFlag) return own;
      const willAt = skipPrefixed(connect.end);
      const will = scanProperties(frame, willAt, false);
      if (will === undefined) return own;
      if (will.repeated !== undefined) return { repeated: will.repeated };
      const willList = userPropertyScan(will, willAt);
      return willList === undefined ? own : { ...own, willUserProperties: willList };
    }
    case 2: // CONNACK: flags, reason code
    case 15: // AUTH: reason code
    case 14: // DISCONNECT: reason code (absent: no properties either)
      pos += type === 2 ? 2 : 1;
      break;
    case 3: {
      // PUBLISH: Topic Name, Packet Identifier with QoS 1 and 2.
      pos = skipPrefixed(pos) + (((frame[0]! >> 1) & 3) > 0 ? 2 : 0);
      return scanResult(scanProperties(frame, pos, true), pos);
    }
    case 4:
    case 5:
    case 6:
    case 7: // PUBACK, PUBREC, PUBREL, PUBCOMP: Packet Identifier, reason code (both may end the packet)
      pos += 3;
      break;
    case 8:
    case 9:
    case 10:
    case 11: // SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK: Packet Identifier
      pos += 2;
      break;
    default: // PINGREQ, PINGRESP: no properties
      return undefined;
  }
  return pos < end ? scanResult(scanProperties(frame, pos, false), pos) : undefined;
}

/** The {@link PropertyScan} of one list scanned at `at`, or undefined when it found nothing. */
function scanResult(list: ListScan | undefined, at: number): PropertyScan | undefined {
  if (list === undefined) return undefined;
  if (list.repeated !== undefined) return { repeated: list.repeated };
  const userProperties = userPropertyScan(list, at);
  return userProperties === undefined ? undefined : { userProperties };
}

/** The {@link UserPropertyScan} of one list scanned at `at`, or undefined when its User Properties need nothing. */
function userPropertyScan(list: ListScan, at: number): UserPropertyScan | undefined {
  return list.userPropertyLost || list.reordered ? { at, lost: list.userPropertyLost, reordered: list.reordered } : undefined;
}

interface ListScan {
  repeated: string | undefined;
  /** A User Property with an empty value is followed by another User Property. */
  userPropertyLost: boolean;
  /** The object form of the User Properties would not keep their order. */
  reordered: boolean;
  /** Where the list ends. */
  end: number;
}

/** The order check of every list this thread scans (the scan is synchronous): a list costs no allocation. */
const orderCheck = new UserPropertyOrderCheck();

/**
 * Scans the property list (length first) at `pos`: the first property found twice that may not
 * be, whether a User Property value may have been lost or the object form would reorder them,
 * and where the list ends; undefined when the list runs past the frame or has an unknown id.
 */
function scanProperties(frame: Buffer, pos: number, publish: boolean): ListScan | undefined {
  const length = readVarint(frame, pos);
  if (length === undefined) return undefined;
  const end = length.next + length.value;
  if (end > frame.length) return undefined;
  // Identifiers are 1..0x2A: two 32-bit masks of those seen.
  let seenLow = 0;
  let seenHigh = 0;
  let emptyUserValue = false;
  let userPropertyLost = false;
  let userProperties = 0;
  let firstUserName = 0;
  let firstUserNameLength = 0;
  for (let at = length.next; at < end; ) {
    const id = frame[at]!;
    const property = PROPERTIES_BY_ID.get(id);
    if (property === undefined) return undefined;
    const bit = 1 << (id & 31);
    const seen = ((id < 32 ? seenLow : seenHigh) & bit) !== 0;
    if (seen && !mayRepeat(property, publish)) return { repeated: property.title, userPropertyLost: false, reordered: false, end };
    if (id < 32) seenLow |= bit;
    else seenHigh |= bit;
    const next = propertyEnd(frame, at, end, property.kind);
    if (next === undefined) return undefined;
    if (id === USER_PROPERTY) {
      // The name's two length bytes follow the identifier, the value's the name (propertyEnd checked all are there).
      const nameLength = (frame[at + 1]! << 8) | frame[at + 2]!;
      if (emptyUserValue) userPropertyLost = true;
      else {
        const valueAt = at + 3 + nameLength;
        emptyUserValue = frame[valueAt] === 0 && frame[valueAt + 1] === 0;
      }
      // A lone User Property keeps its order: the check starts at the second, so a list with
      // none or one costs nothing more.
      userProperties++;
      if (userProperties === 1) {
        firstUserName = at + 3;
        firstUserNameLength = nameLength;
      } else {
        if (userProperties === 2) {
          orderCheck.reset();
          orderCheck.add(frame, firstUserName, firstUserNameLength);
        }
        orderCheck.add(frame, at + 3, nameLength);
      }
    }
    at = next;
  }
  return { repeated: undefined, userPropertyLost, reordered: userProperties >= 2 && orderCheck.reordered, end };
}

/** Where the property at `at` (its identifier byte) of `kind` ends, or undefined past `end`. */
function propertyEnd(frame: Buffer, at: number, end: number, kind: PropertyKind): number | undefined {
  at++;
  const size = FIXED_SIZE[kind];
  if (size !== undefined) at += size;
  else if (kind === 'varint') {
    const value = readVarint(frame, at);
    if (value === undefined) return undefined;
    at = value.next;
  } else {
    // string and binary: one length-prefixed field; a User Property: two.
    for (let field = kind === 'pairs' ? 2 : 1; field > 0; field--) {
      if (at + 2 > end) return undefined;
      at += 2 + ((frame[at]! << 8) | frame[at + 1]!);
    }
  }
  return at > end ? undefined : at;
}

/**
 * The User Properties of the property list at `pos` (length first, already followed by
 * {@link scanFrameProperties}), read from the bytes: `object` in mqtt-packet's form,
 * `{ name: value }` or `{ name: [values] }` for a name given more than once, values in the order
 * received, but with no value lost (a name seen before becomes an array whatever its first value
 * was); `order`, every name and value in the order received [MQTT-3.3.2-18].
 */
export function readUserProperties(frame: Buffer, pos: number): { object: UserProperties; order: UserPropertyOrder } {
  const length = readVarint(frame, pos)!;
  const end = length.next + length.value;
  // Null prototype, as mqtt-packet's: a name such as `__proto__` is a name like any other.
  const pairs = Object.create(null) as Record<string, string | string[]>;
  const order: string[] = [];
  for (let at = length.next; at < end; ) {
    const id = frame[at]!;
    const next = propertyEnd(frame, at, end, PROPERTIES_BY_ID.get(id)!.kind)!;
    if (id === USER_PROPERTY) {
      const nameLength = (frame[at + 1]! << 8) | frame[at + 2]!;
      const name = frame.toString('utf8', at + 3, at + 3 + nameLength);
      const value = frame.toString('utf8', at + 5 + nameLength, next);
      order.push(name, value);
      const before = pairs[name];
      if (before === undefined) pairs[name] = value;
      else if (Array.isArray(before)) before.push(value);
      else pairs[name] = [before, value];
    }
    at = next;
  }
  return { object: pairs, order };
}

/** A Variable Byte Integer at `pos` (at most four bytes, MQTT 5.0 section 1.5.5), or undefined past the frame. */
function readVarint(frame: Buffer, pos: number): { value: number; next: number } | undefined {
  let value = 0;
  for (let i = 0; i < 4; i++) {
    if (pos + i >= frame.length) return undefined;
    const byte = frame[pos + i]!;
    value += (byte & 0x7f) * 128 ** i;
    if ((byte & 0x80) === 0) return { value, next: pos + i + 1 };
  }
  return undefined;
}
