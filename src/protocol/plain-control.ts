/**
 * The control packets every connection sends once or now and then (CONNECT, SUBSCRIBE, PINGREQ,
 * DISCONNECT) decoded in their plain form, without mqtt-packet's general machinery; encoding
 * them, and the broker's CONNACK, SUBACK, UNSUBACK and PINGRESP, is `plain-control-encode.ts`.
 * A profile of 2,000 connections being set up put a fifth of the broker's CPU in mqtt-packet:
 * its parser copies through a BufferList and calls `debug` at every step, all of it cold code
 * for packets each connection sees once.
 *
 * Plain means: MQTT 3.1.1, or 5.0 with an empty property list, and nothing that mqtt-packet
 * would refuse or read differently. Decoding returns undefined for anything else (a malformed
 * frame included, and a string that is ill-formed UTF-8 or holds U+0000), and the caller hands
 * the frame to mqtt-packet, so its checks and its error messages stay the only ones (and the
 * decoder's check of the strings, `utf8-strings.ts`); what is decoded here is field for field
 * what mqtt-packet gives.
 */
import type { IConnectPacket, ISubscribePacket, ISubscription, Packet } from 'mqtt-packet';
import { utf8StringFault } from './utf8-strings.js';

const CONNECT = 0x10;
/** SUBSCRIBE with its required header flags 0b0010 [MQTT-3.8.1-1]. */
const SUBSCRIBE = 0x82;
const PINGREQ = 0xc0;
const DISCONNECT = 0xe0;

/**
 * Where a whole frame's variable header starts: after the type byte and the remaining length.
 * The remaining length is then `frame.length` minus that (the framer cut the frame to it, and
 * checked that it takes at most four bytes, all present).
 */
export function bodyStart(frame: Buffer): number {
  let pos = 1;
  while ((frame[pos++]! & 0x80) !== 0);
  return pos;
}

/** A cursor over one frame; every read returns undefined past the frame's end. */
class Reader {
  constructor(
    private readonly frame: Buffer,
    public pos: number,
  ) {}

  get atEnd(): boolean {
    return this.pos >= this.frame.length;
  }

  byte(): number | undefined {
    return this.pos < this.frame.length ? this.frame[this.pos++] : undefined;
  }

  u16(): number | undefined {
    if (this.pos + 2 > this.frame.length) return undefined;
    const value = (this.frame[this.pos]! << 8) | this.frame[this.pos + 1]!;
    this.pos += 2;
    return value;
  }

  /**
   * A length-prefixed string, decoded as mqtt-packet decodes it (Buffer#toString); undefined
   * too when it is ill-formed UTF-8 or holds U+0000 [MQTT-1.5.3-1,2, MQTT-1.5.4-1,2]: the frame
   * then goes to mqtt-packet, and the decoder's check of its strings refuses it with its message.
   */
  string(): string | undefined {
    const end = this.lengthPrefixedEnd();
    if (end === undefined || utf8StringFault(this.frame, this.pos, end) !== undefined) return undefined;
    const value = this.frame.toString('utf8', this.pos, end);
    this.pos = end;
    return value;
  }

  /** Length-prefixed binary data: a view of the frame, as mqtt-packet's is of its chunk. */
  binary(): Buffer | undefined {
    const end = this.lengthPrefixedEnd();
    if (end === undefined) return undefined;
    const value = this.frame.subarray(this.pos, end);
    this.pos = end;
    return value;
  }

  /** An MQTT 5 property list that is empty (one zero byte); false for any other. */
  emptyProperties(): boolean {
    return this.byte() === 0;
  }

  private lengthPrefixedEnd(): number | undefined {
    const length = this.u16();
    if (length === undefined || this.pos + length > this.frame.length) return undefined;
    return this.pos + length;
  }
}

/**
 * A whole CONNECT frame decoded as mqtt-packet decodes it, or undefined when it is not plain:
 * a protocol other than `MQTT` 4 or 5 (3.1's `MQIsdp`, bridge mode), properties (connect or
 * will), any flag mqtt-packet refuses [MQTT-3.1.2-3] or a will QoS of 3, a field running past
 * the frame, or bytes after the last field.
 */
export function decodePlainConnect(frame: Buffer): IConnectPacket | undefined {
  if (frame[0] !== CONNECT) return undefined;
  const pos = bodyStart(frame);
  const length = frame.length - pos;
  const read = new Reader(frame, pos);
  if (read.string() !== 'MQTT') return undefined;
  const protocolVersion = read.byte();
  if (protocolVersion !== 4 && protocolVersion !== 5) return undefined;
  const flags = read.byte();
  const keepalive = read.u16();
  if (flags === undefined || keepalive === undefined || (flags & 0x01) !== 0) return undefined;
  const willFlag = (flags & 0x04) !== 0;
  const willQos = (flags >> 3) & 3;
  const willRetain = (flags & 0x20) !== 0;
  if (willQos === 3 || (!willFlag && (willQos !== 0 || willRetain))) return undefined;
  if (protocolVersion === 5 && !read.emptyProperties()) return undefined;
  const clientId = read.string();
  if (clientId === undefined) return undefined;
  const packet = {
    cmd: 'connect',
    retain: false,
    qos: 0,
    dup: false,
    length,
    topic: null,
    payload: null,
    protocolId: 'MQTT',
    protocolVersion,
    clean: (flags & 0x02) !== 0,
    keepalive,
    clientId,
  } as unknown as IConnectPacket;
  if (willFlag) {
    if (protocolVersion === 5 && !read.emptyProperties()) return undefined;
    const topic = read.string();
    const payload = read.binary();
    if (topic === undefined || payload === undefined) return undefined;
    packet.will = { retain: willRetain, qos: willQos as 0 | 1 | 2, topic, payload };
  }
  if ((flags & 0x80) !== 0) {
    const username = read.string();
    if (username === undefined) return undefined;
    packet.username = username;
  }
  if ((flags & 0x40) !== 0) {
    const password = read.binary();
    if (password === undefined) return undefined;
    packet.password = password;
  }
  return read.atEnd ? packet : undefined;
}

/**
 * A whole SUBSCRIBE frame of protocol `version` decoded as mqtt-packet decodes it, or undefined
 * when it is not plain: another protocol, properties, option bits mqtt-packet refuses (reserved
 * bits, QoS 3, retain handling 3), a field running past the frame, or no subscription at all.
 */
export function decodePlainSubscribe(frame: Buffer, version: number): ISubscribePacket | undefined {
  if (frame[0] !== SUBSCRIBE || (version !== 4 && version !== 5)) return undefined;
  const pos = bodyStart(frame);
  const length = frame.length - pos;
  const read = new Reader(frame, pos);
  const messageId = read.u16();
  if (messageId === undefined || (version === 5 && !read.emptyProperties())) return undefined;
  const subscriptions: ISubscription[] = [];
  while (!read.atEnd) {
    const topic = read.string();
    const options = read.byte();
    if (topic === undefined || options === undefined) return undefined;
    if ((options & (version === 5 ? 0xc0 : 0xfc)) !== 0) return undefined;
    const qos = options & 3;
    const rh = (options >> 4) & 3;
    if (qos === 3 || rh === 3) return undefined;
    subscriptions.push(
      version === 5
        ? { topic, qos: qos as 0 | 1 | 2, nl: (options & 0x04) !== 0, rap: (options & 0x08) !== 0, rh: rh as 0 | 1 | 2 }
        : { topic, qos: qos as 0 | 1 | 2 },
    );
  }
  if (subscriptions.length === 0) return undefined;
  return {
    cmd: 'subscribe',
    retain: false,
    qos: 1,
    dup: false,
    length,
    topic: null,
    payload: null,
    subscriptions,
    messageId,
  } as unknown as ISubscribePacket;
}

/**
 * A two-byte PINGREQ or DISCONNECT (no reason code, no properties) as mqtt-packet decodes it
 * (a 5.0 DISCONNECT without a reason code means 0x00, normal disconnection), or undefined.
 */
function decodeEmpty(frame: Buffer, version: number): Packet | undefined {
  if (frame.length !== 2 || (version !== 4 && version !== 5)) return undefined;
  const cmd = frame[0] === PINGREQ ? 'pingreq' : 'disconnect';
  const packet = { cmd, retain: false, qos: 0, dup: false, length: 0, topic: null, payload: null } as unknown as Packet & { reasonCode?: number };
  if (cmd === 'disconnect' && version === 5) packet.reasonCode = 0;
  return packet;
}

/** Decodes a plain CONNECT, SUBSCRIBE, PINGREQ or DISCONNECT (see above); undefined for every other frame. */
export function decodePlainControl(frame: Buffer, version: number): Packet | undefined {
  switch (frame[0]) {
    case CONNECT:
      return decodePlainConnect(frame);
    case SUBSCRIBE:
      return decodePlainSubscribe(frame, version);
    case PINGREQ:
    case DISCONNECT:
      return decodeEmpty(frame, version);
    default:
      return undefined;
  }
}
