/**
 * The control packets encoded without mqtt-packet's generator: CONNECT, SUBSCRIBE, UNSUBSCRIBE,
 * PINGREQ and DISCONNECT (mostly the client's), CONNACK, SUBACK, UNSUBACK and PINGRESP (the
 * broker's). Each is written byte for byte as mqtt-packet writes it, MQTT 5 properties
 * included (`plain-properties.ts`), or not at all: undefined for anything else (protocol 3.1 or
 * bridge mode, a Buffer where a string is usual, a value out of range or of another type, a
 * DUP flag on SUBSCRIBE/UNSUBSCRIBE, which mqtt-packet writes into reserved flag bits), which
 * `encodePlainFirst` then hands to mqtt-packet, so its checks and error messages stay the only
 * ones. Decoding these is `plain-control.ts`.
 */
import type { IConnackPacket, IConnectPacket, IDisconnectPacket, ISubackPacket, ISubscribePacket, IUnsubackPacket, IUnsubscribePacket, Packet } from 'mqtt-packet';
import {
  ACK_PROPERTIES,
  CONNACK_PROPERTIES,
  CONNECT_PROPERTIES,
  DISCONNECT_PROPERTIES,
  measureProperties,
  propertiesBytes,
  SUBSCRIBE_PROPERTIES,
  UNSUBSCRIBE_PROPERTIES,
  WILL_PROPERTIES,
  writeProperties,
  type PropertyTable,
} from './plain-properties.js';
import { isU16, MAX_VARIABLE_BYTE_INTEGER, remainingLengthBytes, stringBytes, writeBinary, writeRemainingLength, writeString, writeU16 } from './plain-write.js';

/** Shared bytes of the packets that are only a fixed header: they must not be changed. */
const PINGREQ = Buffer.from([0xc0, 0]);
const PINGRESP = Buffer.from([0xd0, 0]);

/**
 * The bytes of a plain control packet for a peer speaking `version` (4 or 5; a CONNECT carries
 * its own version, as mqtt-packet takes it), or undefined (see above). PINGREQ's and PINGRESP's
 * bytes are shared: they must not be changed.
 */
export function encodePlainControl(packet: Packet, version: number): Buffer | undefined {
  if (packet.cmd === 'connect') return encodePlainConnect(packet);
  if (version !== 4 && version !== 5) return undefined;
  switch (packet.cmd) {
    case 'connack':
      return encodePlainConnack(packet, version);
    case 'subscribe':
      return encodePlainSubscribe(packet, version);
    case 'suback':
      return encodePlainSuback(packet, version);
    case 'unsubscribe':
      return encodePlainUnsubscribe(packet, version);
    case 'unsuback':
      return encodePlainUnsuback(packet, version);
    case 'pingreq':
      return PINGREQ;
    case 'pingresp':
      return PINGRESP;
    case 'disconnect':
      return encodePlainDisconnect(packet, version);
    default:
      return undefined;
  }
}

/** A Buffer, or a string as UTF-8: bytes of its length-prefixed form's content, or -1 when too long or neither. */
function stringOrBufferBytes(value: unknown): number {
  if (typeof value === 'string') return stringBytes(value);
  return Buffer.isBuffer(value) && value.length <= 0xffff ? value.length : -1;
}

function writeStringOrBuffer(bytes: Buffer, pos: number, value: string | Buffer, length: number): number {
  return typeof value === 'string' ? writeString(bytes, pos, value, length) : writeBinary(bytes, pos, value);
}

/** The property list's size for a v5 packet (0 and unused in v4), or -1 when it is not plain. */
function measure(version: number, properties: unknown, allowed: PropertyTable): number {
  return version === 5 ? measureProperties(properties, allowed) : 0;
}

/** A whole packet: header byte and remaining length written, the rest for the caller; undefined when too long. */
function allocate(header: number, remaining: number): { bytes: Buffer; pos: number } | undefined {
  if (remaining > MAX_VARIABLE_BYTE_INTEGER) return undefined;
  const bytes = Buffer.allocUnsafe(1 + remainingLengthBytes(remaining) + remaining);
  bytes[0] = header;
  return { bytes, pos: writeRemainingLength(bytes, 1, remaining) };
}

/**
 * CONNECT as mqtt-packet writes it (MQTT 5.0 section 3.1): protocol name `MQTT`, version 4 or 5,
 * the flags [MQTT-3.1.2-3] (reserved bit 0), keep alive, v5 properties, client id, will
 * (v5 will properties, topic, payload), user name, password.
 */
function encodePlainConnect(packet: IConnectPacket): Buffer | undefined {
  const v = packet.protocolVersion || 4;
  if ((v !== 4 && v !== 5) || (packet.protocolId !== undefined && packet.protocolId !== 'MQTT') || (packet as { bridgeMode?: boolean }).bridgeMode) return undefined;
  const clean = packet.clean === undefined ? true : packet.clean;
  const clientId = packet.clientId || '';
  const keepalive = packet.keepalive || 0;
  // 3.1.1: an empty client id needs Clean Session 1 [MQTT-3.1.3-7], and mqtt-packet gives the
  // error. 5.0 dropped that rule: the server assigns an id [MQTT-3.1.3-6] whatever Clean Start
  // says, and the session can be resumed under it; mqtt-packet refuses that CONNECT, so it is
  // written here.
  if (typeof clean !== 'boolean' || typeof clientId !== 'string' || (clientId === '' && !clean && v === 4) || !isU16(keepalive)) return undefined;
  const clientIdBytes = stringBytes(clientId);
  const propertyBytes = measure(v, packet.properties, CONNECT_PROPERTIES);
  if (clientIdBytes < 0 || propertyBytes < 0) return undefined;
  // protocol name (2 + 4), version, flags, keep alive
  let remaining = 10 + 2 + clientIdBytes + (v === 5 ? propertiesBytes(propertyBytes) : 0);
  let flags = clean ? 0x02 : 0;

  const will = packet.will;
  let willTopicBytes = 0;
  let willPayloadBytes = 0;
  let willPropertyBytes = 0;
  if (will) {
    if (typeof will !== 'object' || typeof will.topic !== 'string' || will.topic === '') return undefined;
    const willQos = will.qos || 0;
    if (willQos !== 0 && willQos !== 1 && willQos !== 2) return undefined;
    willTopicBytes = stringBytes(will.topic);
    willPayloadBytes = will.payload ? stringOrBufferBytes(will.payload) : 0;
    willPropertyBytes = measure(v, will.properties, WILL_PROPERTIES);
    if (willTopicBytes < 0 || willPayloadBytes < 0 || willPropertyBytes < 0) return undefined;
    remaining += 2 + willTopicBytes + 2 + willPayloadBytes + (v === 5 ? propertiesBytes(willPropertyBytes) : 0);
    // Will flag, Will QoS, Will Retain (MQTT 5.0 sections 3.1.2.5 to 3.1.2.7).
    flags |= 0x04 | (willQos << 3) | (will.retain ? 0x20 : 0);
  }

  const { username, password } = packet;
  let usernameBytes = 0;
  let passwordBytes = 0;
  if (username != null) {
    usernameBytes = typeof username === 'string' ? stringBytes(username) : -1;
    if (usernameBytes < 0) return undefined;
    remaining += 2 + usernameBytes;
    flags |= 0x80;
  }
  if (password != null) {
    // A password needs a user name (mqtt-packet refuses one without).
    passwordBytes = username != null ? stringOrBufferBytes(password) : -1;
    if (passwordBytes < 0) return undefined;
    remaining += 2 + passwordBytes;
    flags |= 0x40;
  }

  const out = allocate(0x10, remaining);
  if (out === undefined) return undefined;
  const { bytes } = out;
  let pos = writeString(bytes, out.pos, 'MQTT', 4);
  bytes[pos++] = v;
  bytes[pos++] = flags;
  pos = writeU16(bytes, pos, keepalive);
  if (v === 5) pos = writeProperties(bytes, pos, packet.properties, propertyBytes, CONNECT_PROPERTIES);
  pos = writeString(bytes, pos, clientId, clientIdBytes);
  if (will) {
    if (v === 5) pos = writeProperties(bytes, pos, will.properties, willPropertyBytes, WILL_PROPERTIES);
    pos = writeString(bytes, pos, will.topic, willTopicBytes);
    pos = will.payload ? writeStringOrBuffer(bytes, pos, will.payload as string | Buffer, willPayloadBytes) : writeU16(bytes, pos, 0);
  }
  if (username != null) pos = writeString(bytes, pos, username, usernameBytes);
  if (password != null) writeStringOrBuffer(bytes, pos, password as string | Buffer, passwordBytes);
  return bytes;
}

/** CONNACK: session present flag, return code (3.1.1) or reason code (5.0), v5 properties. */
function encodePlainConnack(packet: IConnackPacket, version: 4 | 5): Buffer | undefined {
  const code = version === 5 ? packet.reasonCode : packet.returnCode;
  if (typeof code !== 'number' || !Number.isInteger(code) || code < 0 || code > 0xff) return undefined;
  const propertyBytes = measure(version, packet.properties, CONNACK_PROPERTIES);
  if (propertyBytes < 0) return undefined;
  const out = allocate(0x20, 2 + (version === 5 ? propertiesBytes(propertyBytes) : 0));
  if (out === undefined) return undefined;
  const { bytes } = out;
  let pos = out.pos;
  bytes[pos++] = packet.sessionPresent ? 1 : 0;
  bytes[pos++] = code;
  if (version === 5) writeProperties(bytes, pos, packet.properties, propertyBytes, CONNACK_PROPERTIES);
  return bytes;
}

/**
 * SUBSCRIBE (header flags 0b0010 [MQTT-3.8.1-1]): packet id, v5 properties, then each filter
 * with its options byte: QoS, and in v5 No Local, Retain As Published, Retain Handling
 * (MQTT 5.0 section 3.8.3.1). At least one filter (section 3.8.3).
 */
function encodePlainSubscribe(packet: ISubscribePacket, version: 4 | 5): Buffer | undefined {
  const { messageId, subscriptions } = packet;
  if (!isU16(messageId) || (packet as { dup?: boolean }).dup || !Array.isArray(subscriptions) || subscriptions.length === 0) return undefined;
  const propertyBytes = measure(version, packet.properties, SUBSCRIBE_PROPERTIES);
  if (propertyBytes < 0) return undefined;
  let remaining = 2 + (version === 5 ? propertiesBytes(propertyBytes) : 0);
  const topicBytes: number[] = [];
  const options: number[] = [];
  for (const sub of subscriptions) {
    const length = typeof sub?.topic === 'string' ? stringBytes(sub.topic) : -1;
    const option = length < 0 ? -1 : subscriptionOptions(sub, version);
    if (option < 0) return undefined;
    topicBytes.push(length);
    options.push(option);
    remaining += 2 + length + 1;
  }
  const out = allocate(0x82, remaining);
  if (out === undefined) return undefined;
  const { bytes } = out;
  let pos = writeU16(bytes, out.pos, messageId);
  if (version === 5) pos = writeProperties(bytes, pos, packet.properties, propertyBytes, SUBSCRIBE_PROPERTIES);
  for (let i = 0; i < subscriptions.length; i++) {
    pos = writeString(bytes, pos, subscriptions[i]!.topic, topicBytes[i]!);
    bytes[pos++] = options[i]!;
  }
  return bytes;
}

/** A subscription's options byte, or -1 when a value is not one mqtt-packet takes as such. */
function subscriptionOptions(sub: ISubscribePacket['subscriptions'][number], version: 4 | 5): number {
  const { qos } = sub;
  if (qos !== 0 && qos !== 1 && qos !== 2) return -1;
  if (version === 4) return qos;
  const nl = (sub as { nl?: unknown }).nl ?? false;
  const rap = (sub as { rap?: unknown }).rap ?? false;
  const rh = (sub as { rh?: unknown }).rh ?? 0;
  if (typeof nl !== 'boolean' || typeof rap !== 'boolean' || (rh !== 0 && rh !== 1 && rh !== 2)) return -1;
  return qos | (nl ? 0x04 : 0) | (rap ? 0x08 : 0) | (rh << 4);
}

/** SUBACK: packet id, v5 properties, one return/reason code per filter (MQTT 5.0 section 3.9.3). */
function encodePlainSuback(packet: ISubackPacket, version: 4 | 5): Buffer | undefined {
  return encodeCodeList(0x90, packet.messageId, packet.granted, packet.properties, version);
}

/** UNSUBACK: packet id; in v5 properties and one reason code per filter (MQTT 5.0 section 3.11.3). */
function encodePlainUnsuback(packet: IUnsubackPacket, version: 4 | 5): Buffer | undefined {
  if ((packet as { dup?: boolean }).dup) return undefined;
  if (version === 5) return encodeCodeList(0xb0, packet.messageId, (packet as { granted?: unknown }).granted, packet.properties, version);
  if (!isU16(packet.messageId)) return undefined;
  const bytes = Buffer.allocUnsafe(4);
  bytes[0] = 0xb0;
  bytes[1] = 2;
  writeU16(bytes, 2, packet.messageId);
  return bytes;
}

/** A SUBACK or v5 UNSUBACK: packet id, v5 properties, a non-empty list of one-byte codes. */
function encodeCodeList(header: number, messageId: unknown, codes: unknown, properties: unknown, version: 4 | 5): Buffer | undefined {
  if (!isU16(messageId) || !Array.isArray(codes) || codes.length === 0) return undefined;
  for (const code of codes) if (typeof code !== 'number' || !Number.isInteger(code) || code < 0 || code > 0xff) return undefined;
  const propertyBytes = measure(version, properties, ACK_PROPERTIES);
  if (propertyBytes < 0) return undefined;
  const out = allocate(header, 2 + (version === 5 ? propertiesBytes(propertyBytes) : 0) + codes.length);
  if (out === undefined) return undefined;
  const { bytes } = out;
  let pos = writeU16(bytes, out.pos, messageId);
  if (version === 5) pos = writeProperties(bytes, pos, properties as object | undefined, propertyBytes, ACK_PROPERTIES);
  for (const code of codes as number[]) bytes[pos++] = code;
  return bytes;
}

/** UNSUBSCRIBE (header flags 0b0010, MQTT 5.0 section 3.10.1): packet id, v5 properties, at least one filter (section 3.10.3). */
function encodePlainUnsubscribe(packet: IUnsubscribePacket, version: 4 | 5): Buffer | undefined {
  const { messageId, unsubscriptions } = packet;
  if (!isU16(messageId) || (packet as { dup?: boolean }).dup || !Array.isArray(unsubscriptions) || unsubscriptions.length === 0) return undefined;
  const propertyBytes = measure(version, packet.properties, UNSUBSCRIBE_PROPERTIES);
  if (propertyBytes < 0) return undefined;
  let remaining = 2 + (version === 5 ? propertiesBytes(propertyBytes) : 0);
  const topicBytes: number[] = [];
  for (const topic of unsubscriptions) {
    const length = typeof topic === 'string' ? stringBytes(topic) : -1;
    if (length < 0) return undefined;
    topicBytes.push(length);
    remaining += 2 + length;
  }
  const out = allocate(0xa2, remaining);
  if (out === undefined) return undefined;
  const { bytes } = out;
  let pos = writeU16(bytes, out.pos, messageId);
  if (version === 5) pos = writeProperties(bytes, pos, packet.properties, propertyBytes, UNSUBSCRIBE_PROPERTIES);
  for (let i = 0; i < unsubscriptions.length; i++) pos = writeString(bytes, pos, unsubscriptions[i]!, topicBytes[i]!);
  return bytes;
}

/**
 * DISCONNECT: nothing after the fixed header in v3.1.1 (a reason code there is ignored, as
 * mqtt-packet ignores it); in v5 the reason code (0x00 when none is given) and the property
 * list, always both, as mqtt-packet writes them (MQTT 5.0 section 3.14.2.1 would allow less).
 */
function encodePlainDisconnect(packet: IDisconnectPacket, version: 4 | 5): Buffer | undefined {
  if (version === 4) return Buffer.from([0xe0, 0]);
  const code = packet.reasonCode ?? 0;
  if (!Number.isInteger(code) || code < 0 || code > 0xff) return undefined;
  const propertyBytes = measureProperties(packet.properties, DISCONNECT_PROPERTIES);
  if (propertyBytes < 0) return undefined;
  const out = allocate(0xe0, 1 + propertiesBytes(propertyBytes));
  if (out === undefined) return undefined;
  out.bytes[out.pos] = code;
  writeProperties(out.bytes, out.pos + 1, packet.properties, propertyBytes, DISCONNECT_PROPERTIES);
  return out.bytes;
}
