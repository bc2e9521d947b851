/** Packet objects in, bytes out, through mqtt-packet's generator. */
import mqttPacket, { type Packet } from 'mqtt-packet';

/** Encodes `packet` for a peer speaking `protocolVersion` (4 = 3.1.1, 5 = 5.0). */
export function encodePacket(packet: Packet, protocolVersion: number): Buffer {
  return mqttPacket.generate(packet, { protocolVersion: protocolVersion as 3 | 4 | 5 });
}
