import { expect } from 'chai';
import mqttPacket from 'mqtt-packet';
import { PacketFramer, FramingError } from '../../src/protocol/framer.js';
import { PacketDecoder, DecodeError } from '../../src/protocol/decoder.js';
import { encodePacket } from '../../src/protocol/encoder.js';
import { reasonName, ReasonCode, isFailure } from '../../src/protocol/reason-codes.js';

const publish = (topic: string, payload: string) =>
  encodePacket({ cmd: 'publish', topic, payload: Buffer.from(payload), qos: 0, dup: false, retain: false }, 4);

describe('protocol: framing and decoding', () => {
  it('cuts packets that arrive one byte at a time', () => {
    const framer = new PacketFramer(1024);
    const bytes = Buffer.concat([publish('a/b', 'x'), publish('c', 'yy')]);
    const frames: Buffer[] = [];
    for (const byte of bytes) frames.push(...framer.push(Buffer.from([byte])));
    expect(frames.map((f) => f.length)).to.deep.equal([publish('a/b', 'x').length, publish('c', 'yy').length]);
    expect(framer.buffered).to.equal(0);
  });

  it('cuts several packets from one chunk and keeps the tail', () => {
    const framer = new PacketFramer(1024);
    const one = publish('t', 'payload');
    const frames = framer.push(Buffer.concat([one, one, one.subarray(0, 3)]));
    expect(frames).to.have.length(2);
    expect(framer.buffered).to.equal(3);
    expect(framer.push(one.subarray(3))).to.have.length(1);
  });

  it('refuses an oversize packet from its header alone, before the body arrives', () => {
    const framer = new PacketFramer(100);
    const big = publish('t', 'x'.repeat(200));
    expect(() => framer.push(big.subarray(0, 3))).to.throw(FramingError).with.property('kind', 'too-large');
  });

  it('refuses a remaining length longer than four bytes [MQTT-1.5.5]', () => {
    const framer = new PacketFramer(1024);
    expect(() => framer.push(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01])))
      .to.throw(FramingError).with.property('kind', 'malformed');
  });

  it('rejects a maximum packet size that is not a sane integer, naming the option', () => {
    expect(() => new PacketFramer(1.5)).to.throw(RangeError, /maxPacketSize/);
  });

  it('decodes a v5 CONNECT and then decodes following packets as v5', () => {
    const decoder = new PacketDecoder(1 << 20);
    const connect = mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: 'c', clean: true, keepalive: 10, properties: { sessionExpiryInterval: 30 } });
    const [packet] = decoder.push(connect);
    expect(packet).to.include({ cmd: 'connect', clientId: 'c', protocolVersion: 5 });
    expect(decoder.protocolVersion).to.equal(5);
    const disconnect = encodePacket({ cmd: 'disconnect', reasonCode: 0x04 }, 5);
    expect(decoder.push(disconnect)[0]).to.include({ cmd: 'disconnect', reasonCode: 0x04 });
  });

  it('turns a bad packet into a DecodeError instead of a thrown parser error', () => {
    const decoder = new PacketDecoder(1024);
    // PUBLISH with QoS 3 (both QoS bits set) is malformed [MQTT-3.3.1-4].
    expect(() => decoder.push(Buffer.from([0x36, 0x03, 0x00, 0x01, 0x61]))).to.throw(DecodeError);
  });

  it('names reason codes for logs', () => {
    expect(reasonName(ReasonCode.KeepAliveTimeout)).to.equal('0x8d KeepAliveTimeout');
    expect(isFailure(ReasonCode.NoMatchingSubscribers)).to.equal(false);
    expect(isFailure(ReasonCode.PacketTooLarge)).to.equal(true);
  });

  describe('decoders sharing their thread\'s parser', () => {
    it('each keeps its own protocol version, set by its own CONNECT', () => {
      const v5 = new PacketDecoder(1024);
      const v4 = new PacketDecoder(1024);
      v5.push(encodePacket({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: 'a', clean: true, keepalive: 0 }, 5));
      v4.push(encodePacket({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'b', clean: true, keepalive: 0 }, 4));
      expect([v5.protocolVersion, v4.protocolVersion]).to.deep.equal([5, 4]);
      // A v5 SUBACK carries a properties length; decoded as 3.1.1 it would not.
      const [suback5] = v5.push(encodePacket({ cmd: 'suback', messageId: 1, granted: [1], properties: { reasonString: 'ok' } }, 5));
      const [suback4] = v4.push(encodePacket({ cmd: 'suback', messageId: 2, granted: [0] }, 4));
      expect((suback5 as { properties?: unknown }).properties).to.deep.equal({ reasonString: 'ok' });
      expect(suback4).to.include({ cmd: 'suback', messageId: 2 });
    });

    it('a malformed frame on one connection leaves the others decoding', () => {
      const bad = new PacketDecoder(1024);
      const good = new PacketDecoder(1024);
      // SUBSCRIBE whose fixed-header flags are not 0010 [MQTT-3.8.1-1].
      expect(() => bad.push(Buffer.from([0x80, 0x06, 0x00, 0x01, 0x00, 0x01, 0x61, 0x00]))).to.throw(DecodeError);
      const [packet] = good.push(encodePacket({ cmd: 'pingreq' }, 4));
      expect(packet).to.include({ cmd: 'pingreq' });
    });
  });
});
