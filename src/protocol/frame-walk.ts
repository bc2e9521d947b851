/**
 * The layout of every MQTT packet's fields, in one place: where each packet type's strings and
 * property lists are, the CONNECT's fields in order (with the will), and how each property is
 * written ({@link PROPERTIES_BY_ID}). One walk over a frame mqtt-packet decoded finds, from the
 * bytes, what its decoding hides:
 * - a UTF-8 Encoded String that may not be received (`utf8-strings.ts`): mqtt-packet's
 *   Buffer#toString turns ill-formed UTF-8 into U+FFFD without a word;
 * - a v5 property included more than once where that is a Protocol Error, and User Properties
 *   mqtt-packet's object form lost or would reorder: it makes a repeated property, or a repeated
 *   User Property name, into an array only `if (result[name])`, so a repeat after a first value
 *   of 0, false or '' replaces that value, and its object groups names and puts array-index
 *   names first.
 * The plain decoders read their own few packet shapes as they decode them; this walk is for the
 * frames they leave to mqtt-packet (not the hot path).
 */
import type { UserProperties } from 'mqtt-packet';
import { bodyStart } from './plain-control.js';
import { mayRepeat, PROPERTIES_BY_ID, type PropertyKind } from './properties.js';
import { UserPropertyOrderCheck, type UserPropertyOrder } from './user-property-order.js';
import { utf8FaultMessage, utf8StringFault } from './utf8-strings.js';

/** A property list whose User Properties must be read again from the bytes ({@link readUserProperties}). */
export interface UserPropertyScan {
  /** Where the list starts (at its length). */
  at: number;
  /** mqtt-packet's object may have lost a value: one of them is '' and another follows. */
  lost: boolean;
  /** mqtt-packet's object would not keep the order received (see {@link UserPropertyOrderCheck}). */
  reordered: boolean;
}

/**
 * What {@link scanFrame} found, first of all first: a string fault makes the packet Malformed
 * whatever else it holds, so a scan that has one says nothing more; one with a repeated property
 * says nothing of User Properties (the packet is refused).
 */
export interface FrameScan {
  /** Why a UTF-8 Encoded String of the frame may not be received (the first such; the DecodeError message). */
  stringFault?: string;
  /** The name of the first property included more than once where its section says that is a Protocol Error. */
  repeated?: string;
  /** The packet's own property list, when its User Properties must be read again from the bytes. */
  userProperties?: UserPropertyScan;
  /** The same for the will properties of a CONNECT. */
  willUserProperties?: UserPropertyScan;
}

/**
 * Walks the whole frame `frame` (one packet, already decoded by mqtt-packet, so its structure is
 * sound) as protocol `version` (a CONNECT says its own); undefined when nothing is found.
 * - `stringFault`: every string field of every packet type is checked — the CONNECT's Protocol
 *   Name, Client Identifier, Will Topic and User Name; a PUBLISH's Topic Name; the Topic Filters
 *   of SUBSCRIBE and UNSUBSCRIBE; in 5.0 every string property and both strings of every User
 *   Property [MQTT-1.5.7-1], in the packet's and the will's lists. Binary fields (Password, Will
 *   Payload, Correlation Data, Authentication Data) and payloads are not strings.
 * - `repeated`: a property included more than once that may not be ({@link mayRepeat}): every
 *   property but User Property, and but the Subscription Identifier of a PUBLISH (a Server's
 *   carries one per matching subscription, MQTT 5.0 section 3.3.2.3.8; a client's carries none,
 *   which the session core checks [MQTT-3.3.4-6]). The packet is then a Protocol Error (0x82).
 *   This is the only check for repeats: a session core never sees them.
 * - `userProperties` / `willUserProperties`, `lost`: a User Property whose value is '' is
 *   followed by another User Property in the same list, so a later value of the same name may
 *   have replaced it; they must reach subscribers unaltered [MQTT-3.3.2-17]. `reordered`: the
 *   received order is not the one the object gives [MQTT-3.3.2-18, MQTT-3.1.3-10].
 * A list the walk cannot follow (mqtt-packet decoded it, so none should be) gives no facts; any
 * read past the frame ends the walk.
 */
export function scanFrame(frame: Buffer, version: number): FrameScan | undefined {
  return walker.scan(frame, version);
}

/**
 * The User Properties of the property list at `at` (length first, already followed by
 * {@link scanFrame}), read from the bytes: `object` in mqtt-packet's form, `{ name: value }` or
 * `{ name: [values] }` for a name given more than once, values in the order received, but with
 * no value lost (a name seen before becomes an array whatever its first value was); `order`,
 * every name and value in the order received [MQTT-3.3.2-18].
 */
export function readUserProperties(frame: Buffer, at: number): { object: UserProperties; order: UserPropertyOrder } {
  return walker.readUserProperties(frame, at);
}

/** Bytes of a fixed-size property value, by kind; the others are a Variable Byte Integer or length-prefixed fields. */
const FIXED_SIZE: Partial<Record<PropertyKind, number>> = { boolean: 1, byte: 1, u16: 2, u32: 4 };

/** Which property list is walked: a PUBLISH's may repeat its Subscription Identifier; a will's names its strings so. */
type ListKind = 'packet' | 'publish' | 'will';

const NO_FRAME = Buffer.alloc(0);

/**
 * A cursor over one frame at a time. One instance per thread serves every frame (the walk is
 * synchronous), with one {@link UserPropertyOrderCheck}: a frame with nothing to report costs no
 * allocation. Any read past the end leaves `pos` past `end`, which ends every loop.
 */
class FrameWalker {
  private frame: Buffer = NO_FRAME;
  private pos = 0;
  private end = 0;
  private version = 0;
  private repeated: string | undefined;
  private own: UserPropertyScan | undefined;
  private will: UserPropertyScan | undefined;
  private readonly orderCheck = new UserPropertyOrderCheck();

  scan(frame: Buffer, version: number): FrameScan | undefined {
    this.start(frame, bodyStart(frame));
    this.version = version;
    this.repeated = this.own = this.will = undefined;
    const stringFault = this.packet(frame[0]! >> 4);
    this.frame = NO_FRAME; // hold no connection's bytes
    if (stringFault !== undefined) return { stringFault };
    if (this.repeated !== undefined) return { repeated: this.repeated };
    if (this.own === undefined && this.will === undefined) return undefined;
    const scan: FrameScan = {};
    if (this.own !== undefined) scan.userProperties = this.own;
    if (this.will !== undefined) scan.willUserProperties = this.will;
    return scan;
  }

  readUserProperties(frame: Buffer, at: number): { object: UserProperties; order: UserPropertyOrder } {
    this.start(frame, at);
    const length = this.varint();
    const end = this.pos + length;
    // Null prototype, as mqtt-packet's: a name such as `__proto__` is a name like any other.
    const pairs = Object.create(null) as Record<string, string | string[]>;
    const order: string[] = [];
    while (this.pos < end) {
      const kind = PROPERTIES_BY_ID.get(frame[this.pos++]!)!.kind;
      if (kind !== 'pairs') {
        this.skipValue(kind);
        continue;
      }
      const name = this.text();
      const value = this.text();
      order.push(name, value);
      const before = pairs[name];
      if (before === undefined) pairs[name] = value;
      else if (Array.isArray(before)) before.push(value);
      else pairs[name] = [before, value];
    }
    this.frame = NO_FRAME;
    return { object: pairs, order };
  }

  private start(frame: Buffer, pos: number): void {
    this.frame = frame;
    this.end = frame.length;
    this.pos = pos;
  }

  /** Walks the body of a packet of `type`; the first string fault, or undefined. */
  private packet(type: number): string | undefined {
    switch (type) {
      case 1:
        return this.connect();
      case 3: {
        // PUBLISH: Topic Name, Packet Identifier with QoS 1 and 2, properties.
        const topic = this.string('Topic Name');
        if (topic !== undefined) return topic;
        if (((this.frame[0]! >> 1) & 3) > 0) this.pos += 2;
        return this.properties('publish');
      }
      case 8:
      case 10: {
        // SUBSCRIBE, UNSUBSCRIBE: Packet Identifier, properties, then the Topic Filters (each
        // followed by its options byte in a SUBSCRIBE).
        this.pos += 2;
        const props = this.properties('packet');
        if (props !== undefined) return props;
        while (this.pos < this.end) {
          const filter = this.string('Topic Filter');
          if (filter !== undefined) return filter;
          if (type === 8) this.pos++;
        }
        return undefined;
      }
      // The packets whose only strings are properties; where one ends before its properties, it has none.
      case 2: // CONNACK: flags, reason code
        this.pos += 2;
        break;
      case 4:
      case 5:
      case 6:
      case 7: // PUBACK, PUBREC, PUBREL, PUBCOMP: Packet Identifier, reason code
        this.pos += 3;
        break;
      case 9:
      case 11: // SUBACK, UNSUBACK: Packet Identifier
        this.pos += 2;
        break;
      case 14:
      case 15: // DISCONNECT, AUTH: reason code
        this.pos += 1;
        break;
      default: // PINGREQ, PINGRESP
        return undefined;
    }
    return this.pos < this.end ? this.properties('packet') : undefined;
  }

  /** CONNECT: Protocol Name, Level, Flags, Keep Alive, properties, Client Identifier, will, User Name. */
  private connect(): string | undefined {
    const name = this.string('Protocol Name');
    if (name !== undefined) return name;
    if (this.pos + 4 > this.end) return undefined;
    // A bridge sets bit 7 of the level (mqtt-packet takes it); the rest is the protocol version.
    this.version = this.frame[this.pos]! & 0x7f;
    const flags = this.frame[this.pos + 1]!;
    this.pos += 4;
    const fault = this.properties('packet') ?? this.string('Client Identifier');
    if (fault !== undefined) return fault;
    if ((flags & 0x04) !== 0) {
      const will = this.properties('will') ?? this.string('Will Topic');
      if (will !== undefined) return will;
      this.skipPrefixed(); // Will Payload: binary
    }
    // The Password (flag 0x40) that may follow is binary.
    return (flags & 0x80) !== 0 ? this.string('User Name') : undefined;
  }

  /**
   * The property list here (Variable Byte Integer length first), in 5.0 only: checks its strings
   * (the first fault is returned and ends the walk), notes its first repeat and its User
   * Properties' facts, and moves past it.
   */
  private properties(kind: ListKind): string | undefined {
    if (this.version !== 5) return undefined;
    const frame = this.frame;
    const at = this.pos;
    const length = this.varint();
    const end = this.pos + length;
    if (length < 0 || end > this.end) return this.runOver();
    const list = kind === 'will' ? 'will ' : '';
    // Identifiers are 1..0x2A: two 32-bit masks of those seen.
    let seenLow = 0;
    let seenHigh = 0;
    let repeated: string | undefined;
    let users = 0;
    let emptyValueSeen = false;
    let lost = false;
    let firstName = 0;
    let firstNameLength = 0;
    while (this.pos < end) {
      const id = frame[this.pos++]!;
      const property = PROPERTIES_BY_ID.get(id);
      if (property === undefined) {
        // Not followable (mqtt-packet refuses unknown identifiers, so never): on past the list, no facts.
        this.pos = end;
        return undefined;
      }
      const bit = 1 << (id & 31);
      if (((id < 32 ? seenLow : seenHigh) & bit) !== 0 && !mayRepeat(property, kind === 'publish')) repeated ??= property.title;
      if (id < 32) seenLow |= bit;
      else seenHigh |= bit;
      if (property.kind === 'string') {
        const fault = this.string(property.title, list);
        if (fault !== undefined) return fault;
      } else if (property.kind === 'pairs') {
        const nameAt = this.pos + 2;
        const nameFault = this.string('User Property name', list, true);
        if (nameFault !== undefined) return nameFault;
        const nameLength = this.pos - nameAt;
        const emptyValue = frame[this.pos] === 0 && frame[this.pos + 1] === 0;
        const valueFault = this.string('User Property value', list, true);
        if (valueFault !== undefined) return valueFault;
        if (this.pos > end) break;
        if (emptyValueSeen) lost = true;
        else emptyValueSeen = emptyValue;
        // A lone User Property keeps its order: the check starts at the second, so a list with
        // none or one costs nothing more.
        users++;
        if (users === 1) {
          firstName = nameAt;
          firstNameLength = nameLength;
        } else {
          if (users === 2) {
            this.orderCheck.reset();
            this.orderCheck.add(frame, firstName, firstNameLength);
          }
          this.orderCheck.add(frame, nameAt, nameLength);
        }
      } else this.skipValue(property.kind);
    }
    if (this.pos > end) {
      // A property ran past its list (mqtt-packet would not decode that): on after it, no facts.
      this.pos = end;
      return undefined;
    }
    if (repeated !== undefined) this.repeated ??= repeated;
    const reordered = users >= 2 && this.orderCheck.reordered;
    if (lost || reordered) {
      const scan = { at, lost, reordered };
      if (kind === 'will') this.will = scan;
      else this.own = scan;
    }
    return undefined;
  }

  /** Checks the length-prefixed string here (`list` + `what` in a message) and moves past it; why it may not be received, or undefined. */
  private string(what: string, list = '', pair = false): string | undefined {
    const start = this.pos + 2;
    if (this.skipPrefixed() > this.end) return undefined;
    const fault = utf8StringFault(this.frame, start, this.pos);
    return fault === undefined ? undefined : utf8FaultMessage(list + what, fault, this.version, pair);
  }

  /** The length-prefixed string here, decoded; moves past it. */
  private text(): string {
    const start = this.pos + 2;
    this.skipPrefixed();
    return this.frame.toString('utf8', start, this.pos);
  }

  /** Moves past the value of a property of `kind` here. */
  private skipValue(kind: PropertyKind): void {
    const size = FIXED_SIZE[kind];
    if (size !== undefined) this.pos += size;
    else if (kind === 'varint') {
      if (this.varint() < 0) this.runOver();
    } else {
      // string and binary: one length-prefixed field; a User Property: two.
      this.skipPrefixed();
      if (kind === 'pairs') this.skipPrefixed();
    }
  }

  /** Moves past a length-prefixed field; returns where it ends (past `end` when it runs over). */
  private skipPrefixed(): number {
    if (this.pos + 2 > this.end) return (this.pos = this.end + 1);
    this.pos += 2 + ((this.frame[this.pos]! << 8) | this.frame[this.pos + 1]!);
    return this.pos;
  }

  /** The Variable Byte Integer here (at most four bytes, MQTT 5.0 section 1.5.5), moving past it; -1 when it runs past the frame. */
  private varint(): number {
    let value = 0;
    for (let i = 0; i < 4 && this.pos < this.end; i++) {
      const byte = this.frame[this.pos++]!;
      value += (byte & 0x7f) * 128 ** i;
      if ((byte & 0x80) === 0) return value;
    }
    return -1;
  }

  /** Ends the walk: what follows cannot be found. */
  private runOver(): undefined {
    this.pos = this.end + 1;
    return undefined;
  }
}

const walker = new FrameWalker();
