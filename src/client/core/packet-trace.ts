/** A short, payload-free description of a packet for DEBUG traces. */
import type { Packet } from 'mqtt-packet';

export function describePacket(packet: Packet): Record<string, unknown> {
  const d: Record<string, unknown> = { cmd: packet.cmd };
  if (packet.messageId !== undefined) d.messageId = packet.messageId;
  if (packet.cmd === 'publish') {
    d.topic = packet.topic;
    d.qos = packet.qos;
    d.dup = packet.dup;
    d.bytes = typeof packet.payload === 'string' ? Buffer.byteLength(packet.payload) : packet.payload.length;
  }
  if ('reasonCode' in packet && packet.reasonCode !== undefined) d.reasonCode = packet.reasonCode;
  return d;
}
