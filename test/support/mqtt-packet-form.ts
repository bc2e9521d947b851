/**
 * Test helpers that judge encoded bytes by mqtt-packet's parser, the reference codec: decode one
 * whole packet, and put packets in a comparable form.
 */
import { expect } from 'chai';
import mqttPacket, { type Packet } from 'mqtt-packet';

/** Decodes one whole packet with mqtt-packet alone; fails on an error, on none or on more than one. */
export function decodeOne(bytes: Buffer, version: number): Packet {
  const parser = mqttPacket.parser({ protocolVersion: version as 4 | 5 });
  const packets: Packet[] = [];
  const errors: Error[] = [];
  parser.on('packet', (packet: Packet) => packets.push(packet));
  parser.on('error', (error: Error) => errors.push(error));
  parser.parse(bytes);
  expect(errors.map((e) => e.message), 'decode errors').to.deep.equal([]);
  expect(packets, 'decoded packets').to.have.length(1);
  return packets[0]!;
}

/** JSON-like form for comparison: bytes as arrays of numbers, null-prototype objects as plain ones, undefined fields dropped. */
export function normal(value: unknown): unknown {
  if (value instanceof Uint8Array) return [...value];
  if (Array.isArray(value)) return value.map(normal);
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value)) if ((value as Record<string, unknown>)[key] !== undefined) out[key] = normal((value as Record<string, unknown>)[key]);
    return out;
  }
  return value;
}
