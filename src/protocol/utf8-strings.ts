/**
 * The check every received UTF-8 Encoded String gets, from its bytes: well-formed UTF-8
 * [MQTT-1.5.3-1 in 3.1.1, MQTT-1.5.4-1 in 5.0] and no U+0000 [MQTT-1.5.3-2, MQTT-1.5.4-2];
 * both halves of a User Property [MQTT-1.5.7-1]. Buffer#toString, which mqtt-packet and the
 * plain decoders use, turns ill-formed UTF-8 into U+FFFD without a word, so a packet that breaks
 * these rules would decode, and its altered strings be forwarded; the bytes are the only place
 * to see it. Such a packet is a Malformed Packet in 5.0 and closes the connection in 3.1.1: the
 * decoder throws a `malformed` DecodeError (0x81).
 *
 * Binary fields (Password, Will Payload, Correlation Data, Authentication Data) and payloads
 * are not strings and are not checked here. A payload with Payload Format Indicator 1 that is
 * not UTF-8 is the session core's (0x99, [MQTT-3.3.2-4]).
 */
import { isUtf8 } from 'node:buffer';
import { PROPERTIES_BY_ID } from './properties.js';

/** What is wrong with one string field. */
export type Utf8Fault = 'ill-formed' | 'null';

/**
 * What is wrong with the UTF-8 Encoded String in `frame[start, end)`, or undefined when nothing
 * is. Cheap on the usual ASCII string: one pass over its bytes, no allocation; only a string
 * with a byte ≥ 0x80 is handed to `isUtf8` (which takes a view, the one allocation). U+0000 can
 * only be the byte 0x00 in well-formed UTF-8 (its two-byte form C0 80 is an overlong, which
 * `isUtf8` refuses), and 0x00 is never part of another character's encoding, so a byte scan
 * finds it.
 */
export function utf8StringFault(frame: Uint8Array, start: number, end: number): Utf8Fault | undefined {
  for (let i = start; i < end; i++) {
    const byte = frame[i]!;
    if (byte === 0) return 'null';
    if (byte >= 0x80) {
      // The bytes before i are ASCII, which cannot change whether the rest is well-formed.
      if (!isUtf8(frame.subarray(i, end))) return 'ill-formed';
      for (let j = i + 1; j < end; j++) if (frame[j] === 0) return 'null';
      return undefined;
    }
  }
  return undefined;
}

/**
 * Why the whole frame `frame` (one packet, already decoded by mqtt-packet, so its structure is
 * sound) may not be received because of one of its UTF-8 Encoded Strings, or undefined. Walks
 * every string field of every packet type: the CONNECT's Protocol Name, Client Identifier, Will
 * Topic and User Name; a PUBLISH's Topic Name; the Topic Filters of SUBSCRIBE and UNSUBSCRIBE;
 * and in 5.0, every string property (Content Type, Response Topic, Assigned Client Identifier,
 * Authentication Method, Response Information, Server Reference, Reason String) and both
 * strings of every User Property, in the packet's and the will's property lists. `version` is
 * the protocol the frame was decoded as; a CONNECT says its own.
 */
export function frameStringFault(frame: Buffer, version: number): string | undefined {
  return new FrameWalk(frame, version).run();
}

/** A walk over one frame's fields; any read past the end stops it (mqtt-packet decoded the frame, so none should). */
class FrameWalk {
  private pos: number;
  private readonly end: number;

  constructor(
    private readonly frame: Buffer,
    private version: number,
  ) {
    let pos = 1;
    while (pos < frame.length && (frame[pos++]! & 0x80) !== 0);
    this.pos = pos;
    this.end = frame.length;
  }

  run(): string | undefined {
    const type = this.frame[0]! >> 4;
    switch (type) {
      case 1:
        return this.connect();
      case 3: {
        const topic = this.string('Topic Name');
        if (topic !== undefined) return topic;
        if (((this.frame[0]! >> 1) & 3) > 0) this.pos += 2;
        return this.version === 5 ? this.properties() : undefined;
      }
      case 8:
      case 10: {
        // SUBSCRIBE, UNSUBSCRIBE: Packet Identifier, properties, then the Topic Filters (each
        // followed by its options byte in a SUBSCRIBE).
        this.pos += 2;
        const props = this.version === 5 ? this.properties() : undefined;
        if (props !== undefined) return props;
        while (this.pos < this.end) {
          const filter = this.string('Topic Filter');
          if (filter !== undefined) return filter;
          if (type === 8) this.pos++;
        }
        return undefined;
      }
      default:
        return this.version === 5 ? this.otherProperties(type) : undefined;
    }
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
    const v5 = this.version === 5;
    const fault = (v5 ? this.properties() : undefined) ?? this.string('Client Identifier');
    if (fault !== undefined) return fault;
    if ((flags & 0x04) !== 0) {
      const will = (v5 ? this.properties('will ') : undefined) ?? this.string('Will Topic');
      if (will !== undefined) return will;
      this.skipPrefixed(); // Will Payload: binary
    }
    // The Password (flag 0x40) that may follow is binary.
    return (flags & 0x80) !== 0 ? this.string('User Name') : undefined;
  }

  /**
   * The packets whose only strings are properties: CONNACK (flags, reason code), PUBACK to
   * PUBCOMP (Packet Identifier, reason code), SUBACK and UNSUBACK (Packet Identifier), DISCONNECT
   * and AUTH (reason code); where the packet ends before its properties, it has none.
   */
  private otherProperties(type: number): string | undefined {
    if (type === 2) this.pos += 2;
    else if (type >= 4 && type <= 7) this.pos += 3;
    else if (type === 9 || type === 11) this.pos += 2;
    else if (type === 14 || type === 15) this.pos += 1;
    else return undefined; // PINGREQ, PINGRESP
    return this.pos < this.end ? this.properties() : undefined;
  }

  /** The property list here (Variable Byte Integer length first): its string properties and User Properties. */
  private properties(list = ''): string | undefined {
    let length = 0;
    for (let i = 0; ; i++) {
      if (i === 4 || this.pos >= this.end) return undefined;
      const byte = this.frame[this.pos++]!;
      length += (byte & 0x7f) * 128 ** i;
      if ((byte & 0x80) === 0) break;
    }
    const end = Math.min(this.pos + length, this.end);
    while (this.pos < end) {
      const property = PROPERTIES_BY_ID.get(this.frame[this.pos++]!);
      if (property === undefined) {
        // Not followable (mqtt-packet refuses unknown identifiers, so never): on past the list.
        this.pos = end;
        return undefined;
      }
      switch (property.kind) {
        case 'boolean':
        case 'byte':
          this.pos += 1;
          break;
        case 'u16':
          this.pos += 2;
          break;
        case 'u32':
          this.pos += 4;
          break;
        case 'varint':
          while (this.pos < end && (this.frame[this.pos++]! & 0x80) !== 0);
          break;
        case 'binary':
          this.skipPrefixed();
          break;
        case 'string': {
          const fault = this.string(`${list}${property.title}`);
          if (fault !== undefined) return fault;
          break;
        }
        case 'pairs': {
          const fault = this.string(`${list}User Property name`, true) ?? this.string(`${list}User Property value`, true);
          if (fault !== undefined) return fault;
          break;
        }
      }
    }
    this.pos = end;
    return undefined;
  }

  /** Checks the length-prefixed string here and moves past it; why it may not be received, or undefined. */
  private string(what: string, pair = false): string | undefined {
    const start = this.pos + 2;
    const stop = this.skipPrefixed();
    if (stop > this.end) return undefined;
    const fault = utf8StringFault(this.frame, start, stop);
    return fault === undefined ? undefined : utf8FaultMessage(what, fault, this.version, pair);
  }

  /** Moves past a length-prefixed field; returns where it ends (past `end` when it runs over). */
  private skipPrefixed(): number {
    if (this.pos + 2 > this.end) return (this.pos = this.end + 1);
    this.pos += 2 + ((this.frame[this.pos]! << 8) | this.frame[this.pos + 1]!);
    return this.pos;
  }
}

/** The DecodeError message for a string field `what` with `fault`, citing the rule of protocol `version`. */
function utf8FaultMessage(what: string, fault: Utf8Fault, version: number, pair = false): string {
  const v5 = version === 5;
  const rule = fault === 'ill-formed' ? (v5 ? 'MQTT-1.5.4-1' : 'MQTT-1.5.3-1') : v5 ? 'MQTT-1.5.4-2' : 'MQTT-1.5.3-2';
  const text = fault === 'ill-formed' ? 'is not well-formed UTF-8' : 'contains U+0000';
  return `${what} ${text} [${rule}${pair ? ', MQTT-1.5.7-1' : ''}]`;
}
