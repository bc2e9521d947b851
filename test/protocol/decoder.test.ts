import { expect } from 'chai';
import mqttPacket from 'mqtt-packet';
import { PacketFramer, FramingError } from '../../src/protocol/framer.js';
import { PacketDecoder, DecodeError, repeatedPropertyIn } from '../../src/protocol/decoder.js';
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

  it('gives the sizes of the last push only: none for a chunk that completes no packet', () => {
    const decoder = new PacketDecoder(1024);
    const one = publish('t', 'payload');
    const two = publish('a/b', 'x');
    decoder.push(Buffer.concat([one, two]));
    expect(decoder.sizes).to.deep.equal([one.length, two.length]);
    decoder.push(two.subarray(0, 2));
    expect(decoder.sizes).to.deep.equal([]);
    decoder.push(two.subarray(2));
    expect(decoder.sizes).to.deep.equal([two.length]);
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

  describe('MQTT 5 properties included more than once', () => {
    /** An MQTT string or binary field: two length bytes, then the bytes. */
    const str = (text: string): number[] => {
      const bytes = [...Buffer.from(text, 'utf8')];
      return [bytes.length >> 8, bytes.length & 0xff, ...bytes];
    };
    /** A whole packet with a one-byte Remaining Length. */
    const frame = (first: number, body: number[]): Buffer => Buffer.from([first, body.length, ...body]);
    /** A property list: its one-byte length, then the properties. */
    const props = (...bytes: number[]): number[] => [bytes.length, ...bytes];
    const connect = (properties: number[], will?: number[]): Buffer =>
      frame(0x10, [...str('MQTT'), 5, will ? 0x06 : 0x02, 0, 0, ...properties, ...str('c'), ...(will ? [...will, ...str('w'), ...str('x')] : [])]);

    // Each packet once with the repeat after a falsy first value (0, false, ''), which
    // mqtt-packet replaces without a trace, and the name the error gives.
    const cases: [string, Buffer, string][] = [
      ['PUBLISH, Message Expiry Interval 0 then 10', frame(0x30, [...str('t'), ...props(0x02, 0, 0, 0, 0, 0x02, 0, 0, 0, 10), 0x78]), 'Message Expiry Interval'],
      ['PUBLISH, Payload Format Indicator 0 then 1', frame(0x32, [...str('t'), 0, 1, ...props(0x01, 0, 0x01, 1), 0x78]), 'Payload Format Indicator'],
      ["PUBLISH, Content Type '' then 'a'", frame(0x30, [...str('t'), ...props(0x03, ...str(''), 0x03, ...str('a'))]), 'Content Type'],
      ['SUBSCRIBE, Subscription Identifier 0 then 5', frame(0x82, [0, 1, ...props(0x0b, 0, 0x0b, 5), ...str('f'), 1]), 'Subscription Identifier'],
      ['CONNECT, Session Expiry Interval 0 then 100', connect(props(0x11, 0, 0, 0, 0, 0x11, 0, 0, 0, 100)), 'Session Expiry Interval'],
      ['CONNECT will, Will Delay Interval 0 then 5', connect(props(), props(0x18, 0, 0, 0, 0, 0x18, 0, 0, 0, 5)), 'Will Delay Interval'],
      ["PUBACK, Reason String '' then 'x'", frame(0x40, [0, 1, 0x10, ...props(0x1f, ...str(''), 0x1f, ...str('x'))]), 'Reason String'],
      ['DISCONNECT, Session Expiry Interval 0 then 10', frame(0xe0, [0, ...props(0x11, 0, 0, 0, 0, 0x11, 0, 0, 0, 10)]), 'Session Expiry Interval'],
      ['CONNACK, Maximum QoS 0 then 1', frame(0x20, [0, 0, ...props(0x24, 0, 0x24, 1)]), 'Maximum QoS'],
    ];
    for (const [name, bytes, property] of cases) {
      it(`${name}: DecodeError 'protocol' (→ 0x82) naming it, not the second value taken for the only one`, () => {
        // What mqtt-packet alone makes of it: one value, the repeat invisible.
        const alone = mqttPacket.parser({ protocolVersion: 5 });
        const decoded: { properties?: object; will?: { properties?: object } }[] = [];
        alone.on('packet', (packet) => decoded.push(packet as (typeof decoded)[number]));
        alone.parse(bytes);
        expect(decoded, 'mqtt-packet decodes it').to.have.length(1);
        const values = Object.values({ ...decoded[0]!.properties, ...decoded[0]!.will?.properties });
        expect(values.some(Array.isArray), 'mqtt-packet shows an array').to.equal(false);
        const decoder = new PacketDecoder(1024, 5);
        expect(() => decoder.push(bytes)).to.throw(DecodeError, `${property} included more than once`).with.property('kind', 'protocol');
      });
    }

    it('a repeat after a truthy first value is refused the same way (mqtt-packet made it an array, which the core refused)', () => {
      const decoder = new PacketDecoder(1024, 5);
      const bytes = frame(0x30, [...str('t'), ...props(0x23, 0, 1, 0x23, 0, 2)]);
      expect(() => decoder.push(bytes)).to.throw(DecodeError, 'Topic Alias included more than once').with.property('kind', 'protocol');
    });

    it('User Property may repeat, and so may the Subscription Identifiers of a PUBLISH (MQTT 5.0 sections 3.3.2.3.7, 3.3.2.3.8)', () => {
      const decoder = new PacketDecoder(1024, 5);
      const user = [0x26, ...str('k'), ...str('1'), 0x26, ...str('k'), ...str('2')];
      const [publish] = decoder.push(frame(0x30, [...str('t'), ...props(0x0b, 1, 0x0b, 2, ...user), 0x78]));
      expect((publish as { properties?: unknown }).properties).to.deep.equal({ subscriptionIdentifier: [1, 2], userProperties: { k: ['1', '2'] } });
      const [ack] = decoder.push(frame(0x40, [0, 1, 0, ...props(...user)]));
      expect(ack).to.include({ cmd: 'puback', messageId: 1 });
    });

    it('a SUBSCRIBE may not repeat its Subscription Identifier (MQTT 5.0 section 3.8.2.1.2)', () => {
      expect(repeatedPropertyIn(frame(0x82, [0, 1, ...props(0x0b, 1, 0x0b, 2), ...str('f'), 1]))).to.equal('Subscription Identifier');
    });

    it('finds nothing in lists with each property once, in packets without properties, or in a list it cannot follow', () => {
      expect(repeatedPropertyIn(connect(props(0x11, 0, 0, 0, 0, 0x21, 0, 1), props(0x18, 0, 0, 0, 0, 0x02, 0, 0, 0, 0)))).to.equal(undefined);
      expect(repeatedPropertyIn(frame(0x40, [0, 1]))).to.equal(undefined);
      expect(repeatedPropertyIn(frame(0xe0, [0]))).to.equal(undefined);
      expect(repeatedPropertyIn(frame(0xc0, []))).to.equal(undefined);
      // Identifier 0x7f is no property; a list running past the packet.
      expect(repeatedPropertyIn(frame(0x30, [...str('t'), ...props(0x7f, 0x7f)]))).to.equal(undefined);
      expect(repeatedPropertyIn(frame(0x30, [...str('t'), 9, 0x02, 0, 0]))).to.equal(undefined);
    });

    it('leaves MQTT 3.1.1 packets alone (they have no properties)', () => {
      const decoder = new PacketDecoder(1024, 4);
      // SUBSCRIBE 3.1.1 (a plain frame; mqtt-packet path for a 3.1.1 CONNECT with a will is the same).
      const [packet] = decoder.push(frame(0x82, [0, 1, ...str('f'), 1]));
      expect(packet).to.include({ cmd: 'subscribe', messageId: 1 });
    });
  });
});
