import { expect } from 'chai';
import mqttPacket from 'mqtt-packet';
import { PacketFramer, FramingError } from '../../src/protocol/framer.js';
import { PacketDecoder, DecodeError } from '../../src/protocol/decoder.js';
import { scanFrame } from '../../src/protocol/frame-walk.js';
import { mayRepeat, PROPERTY_DEFINITIONS, type PropertyKind } from '../../src/protocol/properties.js';
import { encodePacket } from '../../src/protocol/encoder.js';
import { reasonName, ReasonCode, isFailure } from '../../src/protocol/reason-codes.js';
import { userPropertyOrderOf } from '../../src/protocol/user-property-order.js';

const publish = (topic: string, payload: string) =>
  encodePacket({ cmd: 'publish', topic, payload: Buffer.from(payload), qos: 0, dup: false, retain: false }, 4);

/** An MQTT string or binary field: two length bytes, then the bytes. */
const str = (text: string): number[] => {
  const bytes = [...Buffer.from(text, 'utf8')];
  return [bytes.length >> 8, bytes.length & 0xff, ...bytes];
};
/** A whole packet with a one-byte Remaining Length. */
const frame = (first: number, body: number[]): Buffer => Buffer.from([first, body.length, ...body]);
/** A property list: its one-byte length, then the properties. */
const props = (...bytes: number[]): number[] => [bytes.length, ...bytes];
const repeatedIn = (bytes: Buffer): string | undefined => scanFrame(bytes, 5)?.repeated;
/** A v5 CONNECT with these (connect) properties and, given will properties, a will. */
const connect = (properties: number[], will?: number[]): Buffer =>
  frame(0x10, [...str('MQTT'), 5, will ? 0x06 : 0x02, 0, 0, ...properties, ...str('c'), ...(will ? [...will, ...str('w'), ...str('x')] : [])]);
/** A User Property (0x26): name, then value. */
const user = (name: string, value: string): number[] => [0x26, ...str(name), ...str(value)];

/** What mqtt-packet alone decodes `bytes` into (v5). */
function mqttPacketAlone(bytes: Buffer): { properties?: Record<string, unknown>; will?: { properties?: Record<string, unknown> } } {
  const alone = mqttPacket.parser({ protocolVersion: 5 });
  const decoded: { properties?: Record<string, unknown>; will?: { properties?: Record<string, unknown> } }[] = [];
  alone.on('packet', (packet) => decoded.push(packet as (typeof decoded)[number]));
  alone.on('error', (err) => {
    throw err;
  });
  alone.parse(bytes);
  expect(decoded, 'mqtt-packet decodes it').to.have.length(1);
  return decoded[0]!;
}

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

  it('refuses a remaining length longer than four bytes (MQTT 5.0 §1.5.5, 3.1.1 §2.2.3)', () => {
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
        const decoded = mqttPacketAlone(bytes);
        const values = Object.values({ ...decoded.properties, ...decoded.will?.properties });
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
      expect(repeatedIn(frame(0x82, [0, 1, ...props(0x0b, 1, 0x0b, 2), ...str('f'), 1]))).to.equal('Subscription Identifier');
    });

    it('finds nothing in lists with each property once, in packets without properties, or in a list it cannot follow', () => {
      expect(repeatedIn(connect(props(0x11, 0, 0, 0, 0, 0x21, 0, 1), props(0x18, 0, 0, 0, 0, 0x02, 0, 0, 0, 0)))).to.equal(undefined);
      expect(repeatedIn(frame(0x40, [0, 1]))).to.equal(undefined);
      expect(repeatedIn(frame(0xe0, [0]))).to.equal(undefined);
      expect(repeatedIn(frame(0xc0, []))).to.equal(undefined);
      // Identifier 0x7f is no property; a list running past the packet.
      expect(repeatedIn(frame(0x30, [...str('t'), ...props(0x7f, 0x7f)]))).to.equal(undefined);
      expect(repeatedIn(frame(0x30, [...str('t'), 9, 0x02, 0, 0]))).to.equal(undefined);
    });

    it('an ill-formed string anywhere in the packet comes first: Malformed (0x81) [MQTT-1.5.4-1], though a repeat came before it', () => {
      const badClientId = frame(0x10, [...str('MQTT'), 5, 0x02, 0, 0, ...props(0x11, 0, 0, 0, 0, 0x11, 0, 0, 0, 9), 0, 1, 0xff]);
      const badWillTopic = connect(props(0x21, 0, 1, 0x21, 0, 2), [...props(), 0, 1, 0xff, ...str('x')]);
      const badSecondValue = frame(0x30, [...str('t'), ...props(0x03, ...str('a'), 0x03, 0, 1, 0xff)]);
      for (const [name, bytes, message] of [
        ['Client Identifier after a repeated Session Expiry Interval', badClientId, 'Client Identifier is not well-formed UTF-8 [MQTT-1.5.4-1]'],
        ["Will Topic after the CONNECT's repeated Receive Maximum", badWillTopic, 'Will Topic is not well-formed UTF-8 [MQTT-1.5.4-1]'],
        ['the repeated Content Type itself', badSecondValue, 'Content Type is not well-formed UTF-8 [MQTT-1.5.4-1]'],
      ] as const) {
        expect(scanFrame(bytes, 5), name).to.deep.equal({ stringFault: message });
        expect(() => new PacketDecoder(1024, 5).push(bytes), name).to.throw(DecodeError, message).with.property('kind', 'malformed');
      }
    });

    it("a bridge's CONNECT (level 0x85: version 5 with bit 7 set, as mqtt-packet reads it) is checked like any v5 CONNECT", () => {
      const bytes = frame(0x10, [...str('MQTT'), 0x85, 0x02, 0, 0, ...props(0x11, 0, 0, 0, 0, 0x11, 0, 0, 0, 100), ...str('c')]);
      expect(mqttPacketAlone(bytes)).to.include({ protocolVersion: 5, bridgeMode: true });
      expect(() => new PacketDecoder(1024, 4).push(bytes)).to.throw(DecodeError, 'Session Expiry Interval included more than once').with.property('kind', 'protocol');
    });

    it('leaves MQTT 3.1.1 packets alone (they have no properties)', () => {
      const decoder = new PacketDecoder(1024, 4);
      // SUBSCRIBE 3.1.1 (a plain frame; mqtt-packet path for a 3.1.1 CONNECT with a will is the same).
      const [packet] = decoder.push(frame(0x82, [0, 1, ...str('f'), 1]));
      expect(packet).to.include({ cmd: 'subscribe', messageId: 1 });
    });

    /** One value of each kind, none falsy: mqtt-packet makes an array of a repeat of these. */
    const VALUE: Record<PropertyKind, number[]> = {
      boolean: [1],
      byte: [1],
      u16: [0, 1],
      u32: [0, 0, 0, 1],
      varint: [1],
      string: str('a'),
      binary: str('b'),
      pairs: [...str('k'), ...str('v')],
    };
    for (const publish of [true, false]) {
      it(`every property twice in a ${publish ? 'PUBLISH' : 'DISCONNECT'} is refused unless the one table (protocol/properties.ts) says it may repeat there`, () => {
        for (const [key, property] of Object.entries(PROPERTY_DEFINITIONS)) {
          const twice = [property.id, ...VALUE[property.kind], property.id, ...VALUE[property.kind]];
          const bytes = publish ? frame(0x30, [...str('t'), ...props(...twice)]) : frame(0xe0, [0, ...props(...twice)]);
          expect(repeatedIn(bytes), key).to.equal(mayRepeat(property, publish) ? undefined : property.title);
        }
        // What may repeat: User Property anywhere, Subscription Identifier in a PUBLISH.
        const repeatable = Object.values(PROPERTY_DEFINITIONS).filter((p) => mayRepeat(p, publish)).map((p) => p.title);
        expect(repeatable).to.deep.equal(publish ? ['Subscription Identifier', 'User Property'] : ['User Property']);
      });
    }
  });

  describe('MQTT 5 User Properties: none lost [MQTT-3.3.2-17], in order [MQTT-3.3.2-18]', () => {
    // mqtt-packet makes an array of a repeated name only `if (result[name])`: after a first
    // value '', the next value of that name replaces it.
    const pairs = [...user('k', ''), ...user('k', 'x')];
    const expected = { k: ['', 'x'] };
    const cases: [string, Buffer, (packet: Record<string, unknown>) => unknown][] = [
      ['PUBLISH', frame(0x30, [...str('t'), ...props(...pairs), 0x78]), (p) => (p.properties as Record<string, unknown>).userProperties],
      ['PUBLISH QoS 1 with other properties around them', frame(0x32, [...str('t'), 0, 7, ...props(0x02, 0, 0, 0, 9, ...pairs, 0x03, ...str('c')), 0x78]), (p) => (p.properties as Record<string, unknown>).userProperties],
      ['CONNECT', connect(props(...pairs)), (p) => (p.properties as Record<string, unknown>).userProperties],
      ['CONNECT will properties', connect(props(), props(...pairs)), (p) => ((p.will as Record<string, unknown>).properties as Record<string, unknown>).userProperties],
      ['SUBSCRIBE', frame(0x82, [0, 1, ...props(...pairs), ...str('f'), 1]), (p) => (p.properties as Record<string, unknown>).userProperties],
      ['UNSUBSCRIBE', frame(0xa2, [0, 1, ...props(...pairs), ...str('f')]), (p) => (p.properties as Record<string, unknown>).userProperties],
      ['PUBACK', frame(0x40, [0, 1, 0, ...props(...pairs)]), (p) => (p.properties as Record<string, unknown>).userProperties],
      ['DISCONNECT', frame(0xe0, [0, ...props(...pairs)]), (p) => (p.properties as Record<string, unknown>).userProperties],
      ['CONNACK (the client decodes it)', frame(0x20, [0, 0, ...props(...pairs)]), (p) => (p.properties as Record<string, unknown>).userProperties],
      ['SUBACK (the client decodes it)', frame(0x90, [0, 1, ...props(...pairs), 0]), (p) => (p.properties as Record<string, unknown>).userProperties],
    ];
    for (const [name, bytes, userProperties] of cases) {
      it(`${name}: a name given '' then 'x' keeps both values, in order`, () => {
        expect(userProperties(mqttPacketAlone(bytes) as Record<string, unknown>), 'mqtt-packet alone loses the first').to.deep.equal({ k: 'x' });
        // As a broker decodes (version from the CONNECT) and as a client does (set to 5 up front).
        const [packet] = new PacketDecoder(1024, 5).push(bytes);
        expect({ ...(userProperties(packet as unknown as Record<string, unknown>) as object) }).to.deep.equal(expected);
      });
    }

    it('keeps every value of every name in the order received, other names in between, empty names included', () => {
      const list = [...user('a', ''), ...user('b', '1'), ...user('a', 'x'), ...user('', ''), ...user('a', ''), ...user('', 'y'), ...user('b', '')];
      const [packet] = new PacketDecoder(1024, 5).push(frame(0x30, [...str('t'), ...props(...list)]));
      const got = (packet as { properties: { userProperties: Record<string, unknown> } }).properties.userProperties;
      expect(Object.entries(got)).to.deep.equal([
        ['a', ['', 'x', '']],
        ['b', ['1', '']],
        ['', ['', 'y']],
      ]);
    });

    it('reads a name such as __proto__ as a name like any other', () => {
      const [packet] = new PacketDecoder(1024, 5).push(frame(0x30, [...str('t'), ...props(...user('__proto__', ''), ...user('__proto__', 'x'))]));
      const got = (packet as { properties: { userProperties: Record<string, unknown> } }).properties.userProperties;
      expect(Object.getOwnPropertyNames(got)).to.deep.equal(['__proto__']);
      expect(got['__proto__']).to.deep.equal(['', 'x']);
    });

    it('finds nothing to read again where mqtt-packet lost nothing: no User Property, or none with an empty value before another', () => {
      for (const list of [[0x02, 0, 0, 0, 9], [...user('k', '1'), ...user('k', '2')], [...user('k', '1'), ...user('k', '')], user('k', ''), [...user('k', ''), 0x03, ...str('c')]]) {
        expect(scanFrame(frame(0x30, [...str('t'), ...props(...list)]), 5), JSON.stringify(list)).to.equal(undefined);
      }
    });

    it('reads again only the list that needs it: the will\'s, not the CONNECT\'s', () => {
      const bytes = connect(props(...user('c', '1')), props(...pairs));
      const scan = scanFrame(bytes, 5);
      expect(scan).to.have.property('willUserProperties').that.deep.includes({ lost: true, reordered: false });
      expect(scan).to.not.have.property('userProperties');
      const [packet] = new PacketDecoder(1024, 5).push(bytes) as unknown as { properties: { userProperties: object }; will: { properties: { userProperties: object } } }[];
      expect({ ...packet!.properties.userProperties }).to.deep.equal({ c: '1' });
      expect({ ...packet!.will.properties.userProperties }).to.deep.equal(expected);
    });
  });
});

describe('protocol: MQTT 5 User Properties in the order received [MQTT-3.3.2-18, MQTT-3.1.3-10]', () => {
  /** A PUBLISH whose property list is `list`. */
  const publishWith = (list: number[]): Buffer => frame(0x30, [...str('t'), ...props(...list), 0x78]);
  /** User Properties from [name, value] pairs. */
  const users = (pairs: [string, string][]): number[] => pairs.flatMap(([name, value]) => user(name, value));
  /** Decodes `bytes` as the broker does (received order kept) or, with `keep` false, as Weft's client does. */
  const decode = (bytes: Buffer, keep = true): { properties?: object; will?: { properties?: object } } =>
    new PacketDecoder(4096, 5, { userPropertyOrder: keep }).push(bytes)[0] as unknown as { properties?: object; will?: { properties?: object } };
  /** What JavaScript's key order makes of `pairs` in mqtt-packet's object form, flattened. */
  const objectOrder = (pairs: [string, string][]): string[] => {
    const object = Object.create(null) as Record<string, string[]>;
    for (const [name, value] of pairs) (object[name] ??= []).push(value);
    return Object.entries(object).flatMap(([name, values]) => values.flatMap((value) => [name, value]));
  };

  const cases: [string, [string, string][], boolean][] = [
    ['interleaved names (a, b, a)', [['a', '1'], ['b', '2'], ['a', '3']], true],
    ['a name that is an array index after one that is not', [['x', '1'], ['0', '2']], true],
    ['array indices in descending order', [['10', '1'], ['9', '2']], true],
    ['array indices in ascending order, then other names', [['0', '1'], ['1', '2'], ['9', '3'], ['10', '4'], ['x', '5']], false],
    ['a name repeated at once (its values stay together)', [['a', '1'], ['a', '2'], ['b', '3'], ['b', '4']], false],
    ["names that look like numbers but are no array index ('01', '-1', '1.5', '4294967295')", [['x', '1'], ['01', '2'], ['-1', '3'], ['1.5', '4'], ['4294967295', '5']], false],
    ["'4294967294', the greatest array index, after another name", [['x', '1'], ['4294967294', '2']], true],
    ['one User Property', [['0', '1']], false],
    ['distinct names', [['content', 'a'], ['trace', 'b'], ['z', 'c']], false],
  ];
  for (const [name, pairs, reordered] of cases) {
    it(`${name}: ${reordered ? 'the received order is kept beside the object' : 'the object keeps the order, nothing more is made'}`, () => {
      expect(objectOrder(pairs).join('\u0000') !== pairs.flat().join('\u0000'), 'precondition: JavaScript reorders exactly these').to.equal(reordered);
      const bytes = publishWith(users(pairs));
      expect(scanFrame(bytes, 5)?.userProperties?.reordered ?? false).to.equal(reordered);
      const packet = decode(bytes);
      expect(userPropertyOrderOf(packet.properties)).to.deep.equal(reordered ? pairs.flat() : undefined);
      // The object form is what mqtt-packet gives, whichever the case.
      expect({ ...(packet.properties as { userProperties: object }).userProperties }).to.deep.equal({ ...(mqttPacketAlone(bytes).properties!.userProperties as object) });
    });
  }

  it('decides from the bytes exactly when the object form would reorder: 500 random lists of names and repeats', () => {
    // A fixed-seed generator (xorshift32): the same lists on every run.
    let seed = 0x2545f491;
    const random = (n: number): number => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) % n;
    };
    const names = ['a', 'b', 'c', '0', '1', '2', '10', '01', 'é', ''];
    for (let run = 0; run < 500; run++) {
      const pairs: [string, string][] = Array.from({ length: 1 + random(6) }, (_, i) => [names[random(names.length)]!, `v${i}`]);
      const reordered = objectOrder(pairs).join('\u0000') !== pairs.flat().join('\u0000');
      const packet = decode(publishWith(users(pairs)));
      expect(userPropertyOrderOf(packet.properties), JSON.stringify(pairs)).to.deep.equal(reordered ? pairs.flat() : undefined);
    }
  });

  it("with a value lost to a first '' as well (k='', m, k='x'): the object gets every value, the order is kept beside it", () => {
    const pairs: [string, string][] = [['k', ''], ['m', '1'], ['k', 'x']];
    const packet = decode(publishWith(users(pairs)));
    expect({ ...(packet.properties as { userProperties: object }).userProperties }).to.deep.equal({ k: ['', 'x'], m: '1' });
    expect(userPropertyOrderOf(packet.properties)).to.deep.equal(['k', '', 'm', '1', 'k', 'x']);
  });

  it('more distinct names than the scan compares (64) are taken as reordered: the order read from the bytes is still the received one', () => {
    const pairs = Array.from({ length: 70 }, (_, i): [string, string] => [`n${i}`, `${i}`]);
    const body = [...str('t'), ...(() => {
      const list = users(pairs);
      return [0x80 | (list.length & 0x7f), list.length >> 7, ...list];
    })()];
    const bytes = Buffer.from([0x30, 0x80 | (body.length & 0x7f), body.length >> 7, ...body]);
    expect(userPropertyOrderOf(decode(bytes).properties)).to.deep.equal(pairs.flat());
  });

  it("keeps the order of a will's User Properties on the will's property list, not the CONNECT's [MQTT-3.1.3-10]", () => {
    const bytes = connect(props(...users([['c', '1'], ['d', '2'], ['c', '3']])), props(...users([['1', 'a'], ['0', 'b']])));
    const packet = decode(bytes);
    expect(userPropertyOrderOf(packet.will!.properties)).to.deep.equal(['1', 'a', '0', 'b']);
    // The CONNECT's own list is read the same way (nothing forwards it; it costs nothing more).
    expect(userPropertyOrderOf(packet.properties)).to.deep.equal(['c', '1', 'd', '2', 'c', '3']);
  });

  it('without the userPropertyOrder option, a decoder gives the object form only', () => {
    const packet = decode(publishWith(users([['a', '1'], ['b', '2'], ['a', '3']])), false);
    expect(userPropertyOrderOf(packet.properties)).to.equal(undefined);
    expect({ ...(packet.properties as { userProperties: object }).userProperties }).to.deep.equal({ a: ['1', '3'], b: '2' });
  });

  it('the order is not enumerable: keys, spreads and deep equality see only the properties mqtt-packet gives', () => {
    const packet = decode(publishWith(users([['a', '1'], ['b', '2'], ['a', '3']])));
    const properties = packet.properties as Record<string | symbol, unknown>;
    expect(Object.keys(properties)).to.deep.equal(['userProperties']);
    expect(userPropertyOrderOf({ ...properties })).to.equal(undefined);
    expect(properties).to.deep.equal({ userProperties: { a: ['1', '3'], b: '2' } });
  });
});
