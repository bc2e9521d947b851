import { expect } from 'chai';
import mqttPacket from 'mqtt-packet';
import {
  PAYLOAD_HEADER_BYTES,
  PacketReader,
  PacketType,
  PublishTemplate,
  encodeConnect,
  encodeSubscribe,
  newPublishView,
  readPublish,
  remainingLengthSize,
  writeAck,
} from '../../bench/lib/wire.js';

/** Decodes with mqtt-packet, the reference the generator's hand-written encoder is checked against. */
function decodeAll(bytes: Buffer): mqttPacket.Packet[] {
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  const packets: mqttPacket.Packet[] = [];
  const errors: Error[] = [];
  parser.on('packet', (p) => packets.push(p));
  parser.on('error', (e) => errors.push(e));
  parser.parse(bytes);
  if (errors.length > 0) throw errors[0];
  return packets;
}

interface Cut {
  type: number;
  flags: number;
  body: Buffer;
}

function reader(maxPacketBytes?: number): { reader: PacketReader; cuts: Cut[] } {
  const cuts: Cut[] = [];
  const r = new PacketReader((type, flags, buf, body, end) => cuts.push({ type, flags, body: Buffer.from(buf.subarray(body, end)) }), maxPacketBytes);
  return { reader: r, cuts };
}

describe('bench: generator codec', () => {
  describe('encoder, checked against mqtt-packet', () => {
    it('encodes CONNECT as MQTT 3.1.1 with a clean session and the client id', () => {
      const [packet] = decodeAll(encodeConnect('gen-1', 0)) as mqttPacket.IConnectPacket[];
      expect(packet!.cmd).to.equal('connect');
      expect(packet!.protocolVersion).to.equal(4);
      expect(packet!.clean).to.equal(true);
      expect(packet!.keepalive).to.equal(0);
      expect(packet!.clientId).to.equal('gen-1');
    });

    it('encodes SUBSCRIBE with the reserved flags 0b0010 [MQTT-3.8.1-1] and one QoS per filter', () => {
      const bytes = encodeSubscribe(7, ['a/+', 'b/#'], 1);
      expect(bytes[0]).to.equal(0x82);
      const [packet] = decodeAll(bytes) as mqttPacket.ISubscribePacket[];
      expect(packet!.messageId).to.equal(7);
      expect(packet!.subscriptions.map((s) => [s.topic, s.qos])).to.deep.equal([
        ['a/+', 1],
        ['b/#', 1],
      ]);
    });

    it('refuses a SUBSCRIBE without filters [MQTT-3.8.3-3]', () => {
      expect(() => encodeSubscribe(1, [], 0)).to.throw(RangeError);
    });

    for (const qos of [0, 1, 2] as const) {
      it(`fills a QoS ${qos} PUBLISH template with packet id, publisher and sequence number`, () => {
        const template = new PublishTemplate('bench/x', qos, 32);
        const out = Buffer.alloc(template.size * 2);
        let pos = template.fill(out, 0, 513, 3, 70_000);
        pos = template.fill(out, pos, 514, 3, 70_001, 123_456_789n);
        expect(pos).to.equal(out.length);
        const packets = decodeAll(out) as mqttPacket.IPublishPacket[];
        expect(packets).to.have.length(2);
        const [first, second] = packets;
        expect(first!.topic).to.equal('bench/x');
        expect(first!.qos).to.equal(qos);
        if (qos > 0) expect([first!.messageId, second!.messageId]).to.deep.equal([513, 514]);
        const payload = first!.payload as Buffer;
        expect(payload.length).to.equal(32);
        expect(payload.readUInt16BE(0)).to.equal(3);
        expect(payload.readUInt32BE(2)).to.equal(70_000);
        expect(payload.readBigUInt64BE(8)).to.equal(0n);
        expect((second!.payload as Buffer).readBigUInt64BE(8)).to.equal(123_456_789n);
      });
    }

    it('leaves the template itself untouched by fill', () => {
      const template = new PublishTemplate('t', 1, PAYLOAD_HEADER_BYTES);
      const before = Buffer.from(template.bytes);
      template.fill(Buffer.alloc(template.size), 0, 9, 9, 9, 9n);
      expect(template.bytes.equals(before)).to.equal(true);
    });

    it('encodes a remaining length of two bytes for a payload over 127 bytes (§2.2.3)', () => {
      const template = new PublishTemplate('t', 0, 200);
      expect(template.bytes[1]! & 0x80).to.equal(0x80);
      const [packet] = decodeAll(template.bytes) as mqttPacket.IPublishPacket[];
      expect((packet!.payload as Buffer).length).to.equal(200);
    });

    it('writes PUBREL with flags 0b0010 [MQTT-3.6.1-1] and the other acks with 0', () => {
      const out = Buffer.alloc(16);
      let pos = writeAck(out, 0, PacketType.PUBACK, 1);
      pos = writeAck(out, pos, PacketType.PUBREC, 2);
      pos = writeAck(out, pos, PacketType.PUBREL, 3);
      writeAck(out, pos, PacketType.PUBCOMP, 258);
      expect([out[0], out[4], out[8], out[12]]).to.deep.equal([0x40, 0x50, 0x62, 0x70]);
      const packets = decodeAll(out);
      expect(packets.map((p) => [p.cmd, (p as { messageId?: number }).messageId])).to.deep.equal([
        ['puback', 1],
        ['pubrec', 2],
        ['pubrel', 3],
        ['pubcomp', 258],
      ]);
    });

    it('sizes remaining lengths at the one/two/three/four byte boundaries', () => {
      expect([0, 127, 128, 16_383, 16_384, 2_097_151, 2_097_152, 268_435_455].map(remainingLengthSize)).to.deep.equal([1, 1, 2, 2, 3, 3, 4, 4]);
      expect(() => remainingLengthSize(268_435_456)).to.throw(RangeError);
    });
  });

  describe('incremental reader', () => {
    const stream = Buffer.concat([
      mqttPacket.generate({ cmd: 'connack', returnCode: 0, sessionPresent: false }),
      new PublishTemplate('a/b', 1, 300).bytes,
      mqttPacket.generate({ cmd: 'puback', messageId: 5 }),
      mqttPacket.generate({ cmd: 'pingresp' }),
    ]);

    it('cuts the same packets whether bytes arrive whole or one at a time', () => {
      const whole = reader();
      whole.reader.push(stream);
      const bytewise = reader();
      for (const byte of stream) bytewise.reader.push(Buffer.from([byte]));
      expect(whole.cuts.map((c) => c.type)).to.deep.equal([PacketType.CONNACK, PacketType.PUBLISH, PacketType.PUBACK, PacketType.PINGRESP]);
      expect(bytewise.cuts).to.deep.equal(whole.cuts);
      expect(bytewise.reader.buffered).to.equal(0);
    });

    it('cuts the same packets at every split point of the stream', () => {
      const whole = reader();
      whole.reader.push(stream);
      for (let split = 1; split < stream.length; split++) {
        const parts = reader();
        parts.reader.push(stream.subarray(0, split));
        parts.reader.push(stream.subarray(split));
        expect(parts.cuts, `split at ${split}`).to.deep.equal(whole.cuts);
      }
    });

    it('keeps an incomplete tail and says how many bytes it holds', () => {
      const { reader: r, cuts } = reader();
      r.push(stream.subarray(0, 6));
      expect(cuts).to.have.length(1);
      expect(r.buffered).to.equal(2);
    });

    it('hands over a zero-length body (PINGRESP)', () => {
      const { reader: r, cuts } = reader();
      r.push(Buffer.from([0xd0, 0x00]));
      expect(cuts).to.deep.equal([{ type: PacketType.PINGRESP, flags: 0, body: Buffer.alloc(0) }]);
    });

    it('throws on a remaining length longer than four bytes (§2.2.3)', () => {
      const { reader: r } = reader();
      expect(() => r.push(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]))).to.throw(/four bytes/);
    });

    it('throws on a packet over its limit from the header alone', () => {
      const { reader: r } = reader(100);
      expect(() => r.push(Buffer.from([0x30, 0xc8, 0x01]))).to.throw(/exceeds/);
    });
  });

  describe('readPublish', () => {
    it('finds topic, packet id and the generator header of a QoS 2 delivery', () => {
      const template = new PublishTemplate('room/1', 2, 40);
      const bytes = Buffer.alloc(template.size);
      template.fill(bytes, 0, 65_535, 12, 4_000_000_000, 99n);
      const { reader: r, cuts } = reader();
      r.push(bytes);
      const [cut] = cuts;
      const view = readPublish(cut!.body, cut!.flags, 0, cut!.body.length, newPublishView(), true);
      expect(view.qos).to.equal(2);
      expect(view.packetId).to.equal(65_535);
      expect(cut!.body.toString('utf8', view.topicStart, view.topicEnd)).to.equal('room/1');
      expect(view.payloadEnd - view.payloadStart).to.equal(40);
      expect([view.publisher, view.seq, view.sentAt]).to.deep.equal([12, 4_000_000_000, 99n]);
    });

    it('reports no generator header for a payload shorter than it', () => {
      const packet = mqttPacket.generate({ cmd: 'publish', topic: 't', payload: Buffer.from('hi'), qos: 0, dup: false, retain: false });
      const { reader: r, cuts } = reader();
      r.push(packet);
      const view = readPublish(cuts[0]!.body, cuts[0]!.flags, 0, cuts[0]!.body.length, newPublishView());
      expect([view.publisher, view.seq]).to.deep.equal([-1, -1]);
    });
  });
});
