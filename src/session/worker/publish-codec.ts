/**
 * The hot path of a session worker going out: PUBLISH and its acknowledgements (PUBACK, PUBREC,
 * PUBREL, PUBCOMP) encoded without mqtt-packet's generator (a stream shim and `Buffer.concat`):
 * a profile of the fan-in benchmark put half of the worker's time in mqtt-packet, coming in
 * and going out (decoding is `protocol/plain-publish.ts`). Only the plain cases are encoded
 * here, byte for byte as mqtt-packet does them; everything else (any PUBLISH with properties,
 * other packets but the plain control ones) goes to mqtt-packet.
 */
import type { Packet } from 'mqtt-packet';
import { encodePacket } from '../../protocol/encoder.js';
import { encodePlainControl, remainingLengthBytes, writeRemainingLength } from '../../protocol/plain-control.js';

type AckCmd = 'puback' | 'pubrec' | 'pubrel' | 'pubcomp';
const ACK_TYPES: Record<string, number> = { puback: 4, pubrec: 5, pubrel: 6, pubcomp: 7 };

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
