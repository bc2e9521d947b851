/**
 * PUBLISH and its acknowledgements (PUBACK, PUBREC, PUBREL, PUBCOMP) decoded without
 * mqtt-packet's parser, which copies through a BufferList and calls `debug` at every step: a
 * profile of the fan-in benchmark put half of a session thread's time in mqtt-packet. Only the
 * plain cases are decoded here, field for field as mqtt-packet decodes them; anything else
 * (any PUBLISH with properties, anything malformed) returns undefined and goes to mqtt-packet,
 * so its checks and error messages stay the only ones. Broker and client both decode with it
 * (`decoder.ts`).
 */
import type { IPublishPacket, Packet } from 'mqtt-packet';
import { bodyStart } from './plain-control.js';
import { utf8StringFault } from './utf8-strings.js';

/** Packet types 4..7, index = type - 4. */
const ACKS = ['puback', 'pubrec', 'pubrel', 'pubcomp'] as const;

/**
 * A whole PUBLISH frame decoded the way mqtt-packet decodes it (same fields; the payload a
 * view of the frame), or undefined when it is anything but plain: QoS 3, a topic or packet id
 * running past the packet, a topic that is ill-formed UTF-8 or holds U+0000 (the decoder's
 * check of mqtt-packet's result refuses it: [MQTT-1.5.3-1,2], [MQTT-1.5.4-1,2]), v5 properties,
 * a protocol other than 3.1.1 and 5.
 */
export function decodePlainPublish(frame: Buffer, version: number): IPublishPacket | undefined {
  if (version !== 4 && version !== 5) return undefined;
  const flags = frame[0]! & 0x0f;
  const qos = (flags >> 1) & 3;
  if (qos === 3) return undefined;
  let pos = bodyStart(frame);
  const end = frame.length;
  const length = end - pos;
  if (pos + 2 > end) return undefined;
  const topicLength = (frame[pos]! << 8) | frame[pos + 1]!;
  pos += 2;
  if (pos + topicLength > end) return undefined;
  // A pass over the topic's bytes, no allocation unless one is ≥ 0x80 (then `isUtf8`).
  if (utf8StringFault(frame, pos, pos + topicLength) !== undefined) return undefined;
  const topic = frame.toString('utf8', pos, pos + topicLength);
  pos += topicLength;
  let messageId: number | undefined;
  if (qos > 0) {
    if (pos + 2 > end) return undefined;
    messageId = (frame[pos]! << 8) | frame[pos + 1]!;
    pos += 2;
  }
  if (version === 5) {
    // Only an empty property list is plain (one zero byte); the rest is mqtt-packet's.
    if (pos >= end || frame[pos] !== 0) return undefined;
    pos += 1;
  }
  const packet: IPublishPacket = {
    cmd: 'publish',
    retain: (flags & 1) !== 0,
    qos: qos as 0 | 1 | 2,
    dup: (flags & 8) !== 0,
    length,
    topic,
    payload: frame.subarray(pos, end),
  } as IPublishPacket;
  if (messageId !== undefined) packet.messageId = messageId;
  return packet;
}

/**
 * A 4-byte PUBACK / PUBREC / PUBREL / PUBCOMP (packet id only) decoded as mqtt-packet decodes
 * it, or undefined when its header flags are not the required ones [MQTT-2.2.2-1] (mqtt-packet
 * then reports the error) or the protocol is neither 3.1.1 nor 5.
 */
export function decodePlainAck(frame: Buffer, version: number): Packet | undefined {
  if ((version !== 4 && version !== 5) || frame.length !== 4 || frame[1] !== 2) return undefined;
  const type = frame[0]! >> 4;
  const flags = frame[0]! & 0x0f;
  if (type < 4 || type > 7 || flags !== (type === 6 ? 2 : 0)) return undefined;
  const packet = {
    cmd: ACKS[type - 4]!,
    retain: false,
    qos: type === 6 ? 1 : 0,
    dup: false,
    length: 2,
    topic: null,
    payload: null,
    messageId: (frame[2]! << 8) | frame[3]!,
  } as unknown as Packet & { reasonCode?: number };
  // A v5 acknowledgement without a reason code means success (0x00).
  if (version === 5) packet.reasonCode = 0;
  return packet;
}
