import { expect } from 'chai';
import mqttPacket, { type IPublishPacket, type Packet } from 'mqtt-packet';
import { DecodeError, PacketDecoder } from '../../../src/protocol/decoder.js';
import { encodePacket } from '../../../src/protocol/encoder.js';
import { decodePlainPublish } from '../../../src/protocol/plain-publish.js';
import { encodeOutgoing } from '../../../src/session/worker/publish-codec.js';

const connect = (protocolVersion: 4 | 5) =>
  encodePacket({ cmd: 'connect', protocolId: 'MQTT', protocolVersion, clientId: 'c', clean: true, keepalive: 0 }, protocolVersion);

function publish(qos: 0 | 1 | 2, extra: Partial<IPublishPacket> = {}): IPublishPacket {
  const packet: IPublishPacket = { cmd: 'publish', topic: 'a/b/ü', payload: Buffer.from('hello'), qos, retain: false, dup: false, ...extra };
  if (qos > 0 && packet.messageId === undefined) packet.messageId = 0x1234;
  return packet;
}

/** Decodes `bytes` with mqtt-packet alone, as protocol `version`. */
function reference(bytes: Buffer, version: 4 | 5): Packet[] {
  const parser = mqttPacket.parser({ protocolVersion: version });
  const packets: Packet[] = [];
  parser.on('packet', (packet: Packet) => packets.push(packet));
  parser.parse(bytes);
  return packets;
}

/** Decodes `bytes` with Weft's decoder (plain packets by hand) after a CONNECT of `version`. */
function fast(bytes: Buffer, version: 4 | 5): Packet[] {
  const decoder = new PacketDecoder(1 << 20);
  decoder.push(connect(version));
  return decoder.push(bytes);
}

describe('session worker: PUBLISH codec', () => {
  for (const version of [4, 5] as const) {
    for (const qos of [0, 1, 2] as const) {
      it(`encodes a plain v${version} QoS ${qos} PUBLISH byte for byte as mqtt-packet does`, () => {
        for (const extra of [{}, { retain: true }, { dup: true }, { payload: Buffer.alloc(300, 7) }, { payload: Buffer.alloc(0) }]) {
          const packet = publish(qos, extra);
          expect(encodeOutgoing(packet, version)).to.deep.equal(encodePacket(packet, version));
        }
      });

      it(`decodes a plain v${version} QoS ${qos} PUBLISH as mqtt-packet does`, () => {
        const bytes = encodePacket(publish(qos, { retain: true, payload: Buffer.alloc(200, 3) }), version);
        const [mine] = fast(bytes, version) as IPublishPacket[];
        const [theirs] = reference(bytes, version) as IPublishPacket[];
        expect({ ...mine, payload: Buffer.from(mine!.payload as Buffer) }).to.deep.equal({ ...theirs, payload: Buffer.from(theirs!.payload as Buffer) });
      });
    }
  }

  for (const version of [4, 5] as const) {
    for (const cmd of ['puback', 'pubrec', 'pubrel', 'pubcomp'] as const) {
      it(`encodes and decodes a plain v${version} ${cmd} as mqtt-packet does`, () => {
        const packet = { cmd, messageId: 0xbeef, reasonCode: 0 } as Packet;
        const bytes = encodeOutgoing(packet, version);
        expect(bytes).to.deep.equal(encodePacket(packet, version));
        expect({ ...fast(bytes, version)[0] }).to.deep.equal({ ...reference(bytes, version)[0] });
      });
    }
  }

  it('leaves acknowledgements with a failure reason code or properties to mqtt-packet', () => {
    for (const packet of [
      { cmd: 'puback', messageId: 7, reasonCode: 0x10 },
      { cmd: 'pubrec', messageId: 7, reasonCode: 0, properties: { reasonString: 'x' } },
    ] as Packet[]) {
      const bytes = encodeOutgoing(packet, 5);
      expect(bytes).to.deep.equal(encodePacket(packet, 5));
      expect({ ...fast(bytes, 5)[0] }).to.deep.equal({ ...reference(bytes, 5)[0] });
    }
  });

  it('refuses a PUBREL without its required header flags [MQTT-3.6.1-1]', () => {
    const bytes = encodePacket({ cmd: 'pubrel', messageId: 1 }, 4);
    bytes[0] = 0x60;
    expect(() => fast(bytes, 4)).to.throw(DecodeError, /flag/);
  });

  it('patches the packet id into a copy when one message goes to many sessions', () => {
    const payload = Buffer.from('shared');
    const first = encodeOutgoing(publish(1, { payload, messageId: 1 }), 4);
    const second = encodeOutgoing(publish(1, { payload, messageId: 2 }), 4);
    expect(first).to.deep.equal(encodePacket(publish(1, { payload, messageId: 1 }), 4));
    expect(second).to.deep.equal(encodePacket(publish(1, { payload, messageId: 2 }), 4));
  });

  it('does not reuse an encoding for another topic, flag, version or payload of the same buffer', () => {
    const whole = Buffer.from('abcdef');
    const cases: [IPublishPacket, 4 | 5][] = [
      [publish(0, { payload: whole.subarray(0, 3) }), 4],
      [publish(0, { payload: whole.subarray(3) }), 4],
      [publish(0, { payload: whole.subarray(3), topic: 'x' }), 4],
      [publish(0, { payload: whole.subarray(3), topic: 'x', retain: true }), 4],
      [publish(0, { payload: whole.subarray(3), topic: 'x', retain: true }), 5],
    ];
    for (const [packet, version] of cases) expect(encodeOutgoing(packet, version)).to.deep.equal(encodePacket(packet, version));
  });

  it('leaves PUBLISHes with properties and other packets to mqtt-packet', () => {
    const withAlias = publish(1, { topic: '', properties: { topicAlias: 3 } });
    expect(encodeOutgoing(withAlias, 5)).to.deep.equal(encodePacket(withAlias, 5));
    const bytes = encodePacket(publish(0, { properties: { contentType: 'text/plain' } }), 5);
    expect(decodePlainPublish(bytes, 5)).to.equal(undefined);
    expect((fast(bytes, 5)[0] as IPublishPacket).properties).to.deep.equal({ contentType: 'text/plain' });
  });

  it('reports sizes index for index and keeps packet order across both paths', () => {
    const a = encodePacket(publish(0), 4);
    // UNSUBSCRIBE is never decoded by hand: it goes through mqtt-packet.
    const other = encodePacket({ cmd: 'unsubscribe', messageId: 9, unsubscriptions: ['t'] }, 4);
    const b = encodePacket(publish(1), 4);
    const decoder = new PacketDecoder(1 << 20);
    decoder.push(connect(4));
    const packets = decoder.push(Buffer.concat([a, other, b]));
    expect(packets.map((p) => p.cmd)).to.deep.equal(['publish', 'unsubscribe', 'publish']);
    expect(decoder.sizes).to.deep.equal([a.length, other.length, b.length]);
  });

  it('refuses QoS 3 with the same DecodeError as mqtt-packet [MQTT-3.3.1-4]', () => {
    const bytes = encodePacket(publish(0), 4);
    bytes[0] = bytes[0]! | 0x06;
    expect(() => fast(bytes, 4)).to.throw(DecodeError, /QoS/);
  });

  it('refuses a packet over the size limit before decoding it', () => {
    const decoder = new PacketDecoder(64);
    expect(() => decoder.push(encodePacket(publish(0, { payload: Buffer.alloc(100) }), 4))).to.throw(DecodeError).with.property('kind', 'too-large');
  });
});
