/**
 * What a session worker writes, encoded by the shared plain encoders (`protocol/encoder.ts`;
 * a profile of the fan-in benchmark had put half of the worker's time in mqtt-packet, coming
 * in and going out), with one thing of its own: fan-out encodes one message for many sessions
 * in a row, so the last PUBLISH without properties is kept and reused (see {@link encodeOutgoing}).
 */
import type { IPublishPacket, Packet } from 'mqtt-packet';
import { encodePlainFirst } from '../../protocol/encoder.js';
import { encodePlainPublish, publishIdOffset } from '../../protocol/plain-publish-encode.js';
import { isU16 } from '../../protocol/plain-write.js';

/** The last PUBLISH encoded on this thread, and what it was encoded from. */
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
 * Encodes `packet` for a peer speaking `version`; the returned buffer must not be changed (it
 * may be shared). A PUBLISH without properties is encoded once per message for all its
 * subscribers that get it with the same QoS, flags and protocol: only the packet id differs,
 * and is patched into a copy. Everything else is `encodePlainFirst`'s (a PUBLISH with
 * properties is too: a subscriber's Subscription Identifiers and Topic Alias are its own).
 */
export function encodeOutgoing(packet: Packet, version: number): Buffer {
  if (packet.cmd !== 'publish' || packet.properties !== undefined || (version !== 4 && version !== 5)) return encodePlainFirst(packet, version);
  const { topic, payload } = packet;
  if (!(payload instanceof Uint8Array) || typeof topic !== 'string') return encodePlainFirst(packet, version);
  const header = 0x30 | (packet.dup ? 8 : 0) | ((packet.qos || 0) << 1) | (packet.retain ? 1 : 0);
  const cached = last;
  if (
    cached !== undefined &&
    cached.header === header &&
    cached.version === version &&
    cached.topic === topic &&
    sameBytes(cached.payload, payload) &&
    (cached.idAt < 0 || isU16(packet.messageId))
  ) {
    if (cached.idAt < 0) return cached.bytes;
    const copy = Buffer.allocUnsafe(cached.bytes.length);
    cached.bytes.copy(copy, 0);
    copy[cached.idAt] = packet.messageId! >> 8;
    copy[cached.idAt + 1] = packet.messageId! & 0xff;
    return copy;
  }
  const bytes = encodePlainPublish(packet as IPublishPacket, version);
  if (bytes === undefined) return encodePlainFirst(packet, version);
  last = { payload, topic, header, version, bytes, idAt: header & 0x06 ? publishIdOffset(bytes) : -1 };
  return bytes;
}

/** The same bytes: the same view, or views of the same region of one buffer (payloads are never written to). */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a === b || (a.buffer === b.buffer && a.byteOffset === b.byteOffset && a.byteLength === b.byteLength);
}
