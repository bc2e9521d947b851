/** Packet objects in, bytes out, through mqtt-packet's generator. */
import mqttPacket, { type Packet } from 'mqtt-packet';

// mqtt-packet's first generate() otherwise fills a cache of 65,536 two-byte Buffers (one per
// 16-bit number): ~6 MiB of heap in every isolate that encodes (main and each session thread),
// which was the largest share of the broker's memory per connection. Weft encodes PUBLISH and
// plain acks itself (publish-codec.ts), so in the broker the generator only writes control
// packets, where making a number's two bytes on the spot costs nothing measurable; the client's
// packets still come here, at two small allocations more each.
(mqttPacket.writeToStream as unknown as { cacheNumbers: boolean }).cacheNumbers = false;

/** Encodes `packet` for a peer speaking `protocolVersion` (4 = 3.1.1, 5 = 5.0). */
export function encodePacket(packet: Packet, protocolVersion: number): Buffer {
  return mqttPacket.generate(packet, { protocolVersion: protocolVersion as 3 | 4 | 5 });
}
