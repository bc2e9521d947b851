/**
 * Packet objects in, bytes out. {@link encodePlainFirst} is what broker and client send with:
 * the plain encoders (`plain-publish-encode.ts`, `plain-control-encode.ts`) for every packet
 * they write exactly as mqtt-packet would, mqtt-packet's generator ({@link encodePacket}) for
 * the rest (AUTH, protocol 3.1, properties or values the plain encoders leave alone), so a
 * packet mqtt-packet refuses is still refused with its error.
 */
import mqttPacket, { type IPublishPacket, type Packet } from 'mqtt-packet';
import { encodePlainControl } from './plain-control-encode.js';
import { encodePlainAck, encodePlainPublish } from './plain-publish-encode.js';

// mqtt-packet's first generate() otherwise fills a cache of 65,536 two-byte Buffers (one per
// 16-bit number): ~6 MiB of heap in every isolate that encodes (main and each session thread),
// which was the largest share of the broker's memory per connection. Most packets never reach
// the generator now (see encodePlainFirst); for the few that do, making a number's two bytes
// on the spot costs nothing measurable.
(mqttPacket.writeToStream as unknown as { cacheNumbers: boolean }).cacheNumbers = false;

/** Encodes `packet` with mqtt-packet alone, for a peer speaking `protocolVersion` (4 = 3.1.1, 5 = 5.0). Throws what mqtt-packet throws. */
export function encodePacket(packet: Packet, protocolVersion: number): Buffer {
  const bytes = mqttPacket.generate(packet, { protocolVersion: protocolVersion as 3 | 4 | 5 });
  // No MQTT packet is empty: mqtt-packet returns no bytes, without an error, for some values it
  // cannot write; sending that would lose the packet without a word.
  if (bytes.length === 0) throw new TypeError(`cannot encode this ${packet.cmd} packet for protocol level ${protocolVersion}: mqtt-packet wrote no bytes`);
  return bytes;
}

/**
 * The bytes of `packet` from a plain encoder, or undefined when none takes it. Byte for byte
 * what {@link encodePacket} gives, but for a v5 PUBACK/PUBREC/PUBREL/PUBCOMP with success and no
 * reason code given, which takes the 2-byte short form (`encodePlainAck`). PINGREQ's and
 * PINGRESP's bytes are shared, and the caller must not change any returned buffer.
 */
export function encodePlain(packet: Packet, version: number): Buffer | undefined {
  switch (packet.cmd) {
    case 'publish':
      return encodePlainPublish(packet as IPublishPacket, version);
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp':
      return encodePlainAck(packet, version);
    default:
      return encodePlainControl(packet, version);
  }
}

/** Encodes `packet` for a peer speaking `version`: plainly when it can (see {@link encodePlain}), else with mqtt-packet. Throws what mqtt-packet throws. */
export function encodePlainFirst(packet: Packet, version: number): Buffer {
  return encodePlain(packet, version) ?? encodePacket(packet, version);
}
