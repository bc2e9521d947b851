/**
 * PUBLISH and its acknowledgements (PUBACK, PUBREC, PUBREL, PUBCOMP) encoded without
 * mqtt-packet's generator, which writes through a stream shim, a chunk array and a final copy
 * (a QoS 1 PUBLISH took ~1-1.8 µs there, a v5 PUBACK ~0.5-1 µs; here ~0.2 µs and ~50 ns).
 * Broker (`session/worker/publish-codec.ts`) and client (`client/core/client-core.ts`) both
 * encode with these, through `encoder.ts`.
 *
 * An encoder returns undefined for anything it does not write exactly as mqtt-packet does
 * (protocol 3.1, a Buffer topic, a property mqtt-packet would refuse or write oddly, a value
 * out of range); `encodePlainFirst` then hands the packet to mqtt-packet, so its checks and
 * error messages stay the only ones. The one deliberate difference: a v5 acknowledgement whose
 * reason code is left undefined goes out in the short form (see {@link encodePlainAck}).
 */
import type { IPublishPacket, Packet } from 'mqtt-packet';
import { ACK_PROPERTIES, measureProperties, propertiesBytes, PUBLISH_PROPERTIES, writeProperties } from './plain-properties.js';
import { isU16, MAX_VARIABLE_BYTE_INTEGER, remainingLengthBytes, stringBytes, writeRemainingLength, writeString, writeU16 } from './plain-write.js';

// What the last measurePublish() found, read by encodePlainPublish right after it: parts of one
// synchronous call, kept here so that measuring allocates nothing.
let measuredTopicBytes = 0;
let measuredPropertyBytes = 0;
let measuredPayloadBytes = 0;

/** The Remaining Length of `packet` written plainly for `version`, or -1 when it is not plain (see {@link encodePlainPublish}). */
function measurePublish(packet: IPublishPacket, version: number): number {
  if (version !== 4 && version !== 5) return -1;
  const { topic, payload } = packet;
  if (typeof topic !== 'string') return -1;
  const qos = packet.qos || 0;
  if (qos !== 0 && qos !== 1 && qos !== 2) return -1;
  // [MQTT-2.2.1-2] a packet id only with QoS > 0 (mqtt-packet ignores one given with QoS 0).
  if (qos > 0 && !isU16(packet.messageId)) return -1;
  const payloadBytes = payload instanceof Uint8Array ? payload.byteLength : typeof payload === 'string' ? Buffer.byteLength(payload) : -1;
  const topicBytes = stringBytes(topic);
  if (payloadBytes < 0 || topicBytes < 0) return -1;
  let propertyBytes = 0;
  if (version === 5) {
    propertyBytes = measureProperties(packet.properties, PUBLISH_PROPERTIES);
    if (propertyBytes < 0) return -1;
  }
  const remaining = 2 + topicBytes + (qos > 0 ? 2 : 0) + (version === 5 ? propertiesBytes(propertyBytes) : 0) + payloadBytes;
  if (remaining > MAX_VARIABLE_BYTE_INTEGER) return -1;
  measuredTopicBytes = topicBytes;
  measuredPropertyBytes = propertyBytes;
  measuredPayloadBytes = payloadBytes;
  return remaining;
}

/**
 * The size in bytes of `packet` as {@link encodePlainPublish} writes it, without writing it, or
 * undefined when it is not plain: for a check against a peer's Maximum Packet Size.
 */
export function plainPublishSize(packet: IPublishPacket, version: number): number | undefined {
  const remaining = measurePublish(packet, version);
  return remaining < 0 ? undefined : 1 + remainingLengthBytes(remaining) + remaining;
}

/**
 * The bytes of `packet` for a peer speaking `version` (4 = 3.1.1, 5 = 5.0), or undefined when
 * it is not plain. The payload may be a string (written as UTF-8) or any Uint8Array (mqtt-packet
 * takes only a Buffer); the topic a string, empty when a v5 Topic Alias stands for it
 * (MQTT 5.0 section 3.3.2.3.4). v3.1.1 has no properties: `properties` is ignored, as
 * mqtt-packet ignores it. DUP, QoS and RETAIN are written as given.
 */
export function encodePlainPublish(packet: IPublishPacket, version: number): Buffer | undefined {
  const remaining = measurePublish(packet, version);
  if (remaining < 0) return undefined;
  const { topic, payload } = packet;
  const qos = packet.qos || 0;
  const topicBytes = measuredTopicBytes;
  const propertyBytes = measuredPropertyBytes;
  const payloadBytes = measuredPayloadBytes;
  const bytes = Buffer.allocUnsafe(1 + remainingLengthBytes(remaining) + remaining);
  bytes[0] = 0x30 | (packet.dup ? 0x08 : 0) | (qos << 1) | (packet.retain ? 0x01 : 0);
  let pos = writeRemainingLength(bytes, 1, remaining);
  pos = writeString(bytes, pos, topic as string, topicBytes);
  if (qos > 0) pos = writeU16(bytes, pos, packet.messageId!);
  if (version === 5) pos = writeProperties(bytes, pos, packet.properties, propertyBytes, PUBLISH_PROPERTIES);
  if (typeof payload === 'string') bytes.write(payload, pos, payloadBytes, 'utf8');
  else bytes.set(payload, pos);
  return bytes;
}

/** Where the packet id of a QoS 1/2 PUBLISH encoded above sits: after the fixed header and the topic. */
export function publishIdOffset(bytes: Buffer): number {
  let pos = 1;
  while ((bytes[pos++]! & 0x80) !== 0);
  return pos + 2 + ((bytes[pos]! << 8) | bytes[pos + 1]!);
}

/** Packet type nibbles; PUBREL's header flags are 0b0010 [MQTT-3.6.1-1], the others' 0. */
const ACK_HEADERS: Record<string, number> = { puback: 0x40, pubrec: 0x50, pubrel: 0x62, pubcomp: 0x70 };

type AckPacket = Packet & { cmd: 'puback' | 'pubrec' | 'pubrel' | 'pubcomp'; messageId?: number; reasonCode?: number; properties?: object; dup?: boolean };

/**
 * The bytes of a PUBACK, PUBREC, PUBREL or PUBCOMP, or undefined when it is not plain (a packet
 * id out of range, a PUBREL with DUP, which mqtt-packet would write into reserved flag bits, a
 * property mqtt-packet would refuse).
 *
 * In v5, success (reason code 0x00 or none given) without properties takes the short form: the
 * packet id alone, Remaining Length 2. MQTT 5.0 sections 3.4.2.1, 3.5.2.1, 3.6.2.1 and 3.7.2.1:
 * "The Reason Code and Property Length can be omitted if the Reason Code is 0x00 (Success) and
 * there are no Properties. In this case the [packet] has a Remaining Length of 2." mqtt-packet
 * writes that form for an explicit 0x00 but, for a reason code left undefined, writes
 * `00 00` after the id (Remaining Length 4): the same packet to every receiver, two bytes longer.
 * Any other reason code, or properties, are written as mqtt-packet writes them: reason code,
 * then the property list (an empty one as its one length byte).
 */
export function encodePlainAck(packet: AckPacket, version: number): Buffer | undefined {
  const header = ACK_HEADERS[packet.cmd];
  const { messageId, reasonCode, properties } = packet;
  if (header === undefined || (version !== 4 && version !== 5) || !isU16(messageId)) return undefined;
  if (packet.cmd === 'pubrel' && packet.dup) return undefined;
  if (version === 4 || ((reasonCode === undefined || reasonCode === 0) && properties === undefined)) {
    const bytes = Buffer.allocUnsafe(4);
    bytes[0] = header;
    bytes[1] = 2;
    bytes[2] = messageId >> 8;
    bytes[3] = messageId & 0xff;
    return bytes;
  }
  const code = reasonCode ?? 0;
  if (!Number.isInteger(code) || code < 0 || code > 0xff) return undefined;
  const propertyBytes = measureProperties(properties, ACK_PROPERTIES);
  if (propertyBytes < 0) return undefined;
  const remaining = 3 + propertiesBytes(propertyBytes);
  if (remaining > MAX_VARIABLE_BYTE_INTEGER) return undefined;
  const bytes = Buffer.allocUnsafe(1 + remainingLengthBytes(remaining) + remaining);
  bytes[0] = header;
  let pos = writeRemainingLength(bytes, 1, remaining);
  pos = writeU16(bytes, pos, messageId);
  bytes[pos++] = code;
  writeProperties(bytes, pos, properties, propertyBytes, ACK_PROPERTIES);
  return bytes;
}
