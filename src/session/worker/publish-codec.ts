/**
 * The hot path of a session worker, PUBLISH and its acknowledgements (PUBACK, PUBREC, PUBREL,
 * PUBCOMP) in and out, without mqtt-packet's general
 * machinery (its parser copies through a BufferList and calls `debug` at every step; its
 * generator goes through a stream shim): a profile of the fan-in benchmark put half of the
 * worker's time there. Only the plain cases are handled here, byte for byte as mqtt-packet
 * does them; everything else (every other packet type, any PUBLISH with properties, anything
 * malformed) goes to mqtt-packet, so its checks and error messages stay the only ones.
 */
import type { IPublishPacket, Packet } from 'mqtt-packet';
import { PacketDecoder } from '../../protocol/decoder.js';
import { encodePacket } from '../../protocol/encoder.js';
import { bodyStart, encodePlainControl, remainingLengthBytes, writeRemainingLength } from '../../protocol/plain-control.js';

const PUBLISH = 3;
/** Packet types 4..7, index = type - 4. */
const ACKS = ['puback', 'pubrec', 'pubrel', 'pubcomp'] as const;
type AckCmd = (typeof ACKS)[number];
const ACK_TYPES: Record<string, number> = { puback: 4, pubrec: 5, pubrel: 6, pubcomp: 7 };

/**
 * A {@link PacketDecoder} that decodes a plain PUBLISH or acknowledgement itself and hands every
 * other frame to mqtt-packet.
 */
export class FastDecoder extends PacketDecoder {
  constructor(maxPacketSize: number) {
    super(maxPacketSize);
  }

  protected override decodeFrame(frame: Buffer, out: Packet[]): void {
    const type = frame[0]! >> 4;
    if (type === PUBLISH || (type >= 4 && type <= 7 && frame.length === 4)) {
      const packet = type === PUBLISH ? decodePlainPublish(frame, this.protocolVersion) : decodePlainAck(frame, this.protocolVersion);
      if (packet !== undefined) {
        out.push(packet);
        this.sizes.push(frame.length);
        return;
      }
    }
    super.decodeFrame(frame, out);
  }
}

/**
 * A whole PUBLISH frame decoded the way mqtt-packet decodes it (same fields; the payload a
 * view of the frame), or undefined when it is anything but plain: QoS 3, a topic or packet id
 * running past the packet, v5 properties, a protocol other than 3.1.1 and 5.
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

/** The 4 bytes of a PUBACK / PUBREC / PUBREL / PUBCOMP with only a packet id (and success, in v5). */
function encodePlainAck(cmd: AckCmd, messageId: number): Buffer {
  const type = ACK_TYPES[cmd]!;
  const bytes = Buffer.allocUnsafe(4);
  bytes[0] = (type << 4) | (type === 6 ? 2 : 0);
  bytes[1] = 2;
  bytes[2] = messageId >> 8;
  bytes[3] = messageId & 0xff;
  return bytes;
}

/** The last PUBLISH encoded on this thread: fan-out encodes one message for many sessions in a row. */
interface EncodedPublish {
  payload: Uint8Array;
  topic: string;
  header: number;
  version: number;
  bytes: Buffer;
  /** Offset of the packet id in `bytes` (QoS 1/2), else -1. */
  idAt: number;
}
let last: EncodedPublish | undefined;

/**
 * Encodes `packet` for a peer speaking `version`. A PUBLISH without properties is encoded here,
 * and once per message for all its subscribers that get it with the same QoS, flags and
 * protocol (only the packet id differs, and is patched into a copy); the returned buffer must
 * not be changed (it may be shared). A plain CONNACK, SUBACK or PINGRESP is encoded by
 * `plain-control.ts`; anything else goes through mqtt-packet.
 */
export function encodeOutgoing(packet: Packet, version: number): Buffer {
  if (ACK_TYPES[packet.cmd] !== undefined && (version === 4 || version === 5)) {
    const ack = packet as Packet & { messageId?: number; reasonCode?: number; dup?: boolean; properties?: object };
    const plain = typeof ack.messageId === 'number' && ack.properties === undefined && !ack.dup && (version === 4 || ack.reasonCode === 0);
    return plain ? encodePlainAck(ack.cmd as AckCmd, ack.messageId!) : encodePacket(packet, version);
  }
  if (packet.cmd !== 'publish') return encodePlainControl(packet, version) ?? encodePacket(packet, version);
  if (packet.properties !== undefined || (version !== 4 && version !== 5)) return encodePacket(packet, version);
  const payload = packet.payload;
  if (typeof payload === 'string' || typeof packet.topic !== 'string' || packet.topic === '') return encodePacket(packet, version);
  const qos = packet.qos;
  if (qos > 0 && packet.messageId === undefined) return encodePacket(packet, version);
  const header = 0x30 | (packet.dup ? 8 : 0) | (qos << 1) | (packet.retain ? 1 : 0);
  let cached = last;
  if (
    cached === undefined ||
    cached.header !== header ||
    cached.version !== version ||
    cached.topic !== packet.topic ||
    !sameBytes(cached.payload, payload)
  ) {
    cached = last = encodePlainPublish(packet.topic, payload, header, version);
  }
  if (cached.idAt < 0) return cached.bytes;
  const copy = Buffer.allocUnsafe(cached.bytes.length);
  cached.bytes.copy(copy, 0);
  copy[cached.idAt] = packet.messageId! >> 8;
  copy[cached.idAt + 1] = packet.messageId! & 0xff;
  return copy;
}

/** The same bytes: the same view, or views of the same region of one buffer (payloads are never written to). */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a === b || (a.buffer === b.buffer && a.byteOffset === b.byteOffset && a.byteLength === b.byteLength);
}

function encodePlainPublish(topic: string, payload: Uint8Array, header: number, version: number): EncodedPublish {
  const qos = (header >> 1) & 3;
  const topicBytes = Buffer.byteLength(topic);
  const remaining = 2 + topicBytes + (qos > 0 ? 2 : 0) + (version === 5 ? 1 : 0) + payload.byteLength;
  const bytes = Buffer.allocUnsafe(1 + remainingLengthBytes(remaining) + remaining);
  bytes[0] = header;
  let pos = writeRemainingLength(bytes, 1, remaining);
  bytes[pos++] = topicBytes >> 8;
  bytes[pos++] = topicBytes & 0xff;
  pos += bytes.write(topic, pos, 'utf8');
  let idAt = -1;
  if (qos > 0) {
    idAt = pos;
    bytes[pos++] = 0;
    bytes[pos++] = 0;
  }
  if (version === 5) bytes[pos++] = 0;
  bytes.set(payload, pos);
  return { payload, topic, header, version, bytes, idAt };
}
