/**
 * The plain encoders against mqtt-packet, over a wide table of packets of both protocols: every
 * packet they claim decodes (with mqtt-packet's own parser) to the packet given, and is byte
 * for byte what mqtt-packet's generate() writes, but for the two documented differences (a v5
 * acknowledgement with no reason code given takes the short form; a non-Buffer Uint8Array
 * payload, which mqtt-packet cannot write at all). What they do not claim goes to mqtt-packet
 * unchanged: the same bytes, or the same error.
 */
import { expect } from 'chai';
import mqttPacket, { type IPublishPacket, type Packet } from 'mqtt-packet';
import { encodePacket, encodePlain, encodePlainFirst } from '../../src/protocol/encoder.js';
import { plainPublishSize, publishIdOffset } from '../../src/protocol/plain-publish-encode.js';
import { remainingLengthBytes, writeRemainingLength } from '../../src/protocol/plain-write.js';
import { decodeOne, normal } from '../support/mqtt-packet-form.js';
import { PacketDecoder } from '../../src/protocol/decoder.js';
import { setUserPropertyOrder, userPropertyOrderOf } from '../../src/protocol/user-property-order.js';



/**
 * What mqtt-packet should decode `packet` to, as far as `packet` says: strings sent as bytes
 * (payload, password) come back as bytes, v3.1.1 has no properties, and a v5 acknowledgement or
 * DISCONNECT without a reason code means 0x00.
 */
function expected(packet: Packet, version: number): Record<string, unknown> {
  const p = { ...(packet as unknown as Record<string, unknown>) };
  const v = p.cmd === 'connect' ? (p.protocolVersion as number) : version;
  if (typeof p.payload === 'string') p.payload = Buffer.from(p.payload);
  if (typeof p.password === 'string') p.password = Buffer.from(p.password);
  if (p.will) {
    const will = { ...(p.will as Record<string, unknown>) };
    if (typeof will.payload === 'string') will.payload = Buffer.from(will.payload);
    if (v !== 5) delete will.properties;
    p.will = will;
  }
  if (v !== 5) {
    delete p.properties;
    delete p.reasonCode;
  } else if (['puback', 'pubrec', 'pubrel', 'pubcomp', 'disconnect'].includes(p.cmd as string)) {
    p.reasonCode ??= 0;
  }
  if (p.properties !== undefined && Object.keys(p.properties as object).length === 0) delete p.properties;
  // A v5 subscription's options all come back; a v3.1.1 UNSUBACK has no reason codes.
  if (p.cmd === 'subscribe' && v === 5) p.subscriptions = (p.subscriptions as object[]).map((s) => ({ nl: false, rap: false, rh: 0, ...s }));
  if (p.cmd === 'unsuback' && v !== 5) delete p.granted;
  return normal(p) as Record<string, unknown>;
}

/** The documented differences: what mqtt-packet would need to be given to write the plain bytes. */
function asMqttPacketWrites(packet: Packet, version: number): Packet {
  const p = { ...packet } as Packet & { reasonCode?: number; properties?: object; payload?: unknown };
  const ack = ['puback', 'pubrec', 'pubrel', 'pubcomp'].includes(p.cmd);
  // MQTT 5.0 section 3.4.2.1 (and 3.5.2.1, 3.6.2.1, 3.7.2.1): success with no properties may omit the reason code.
  if (ack && version === 5 && p.reasonCode === undefined && p.properties === undefined) p.reasonCode = 0;
  if (p.cmd === 'publish' && p.payload instanceof Uint8Array && !Buffer.isBuffer(p.payload)) p.payload = Buffer.from(p.payload);
  return p;
}

/** Asserts the plain encoder claims `packet`, that its bytes decode to it, and that they are mqtt-packet's. */
function expectPlain(packet: Packet, version: number, label: string): Buffer {
  const bytes = encodePlain(packet, version);
  expect(bytes, `${label}: claimed`).to.be.instanceOf(Buffer);
  const decoded = decodeOne(bytes!, version) as unknown as Record<string, unknown>;
  const want = expected(packet, version);
  const got = normal(decoded) as Record<string, unknown>;
  for (const key of Object.keys(want)) expect(got[key], `${label}: ${key}`).to.deep.equal(want[key]);
  expect(bytes, `${label}: mqtt-packet's bytes`).to.deep.equal(encodePacket(asMqttPacketWrites(packet, version), version));
  expect(encodePlainFirst(packet, version), `${label}: encodePlainFirst`).to.deep.equal(bytes);
  return bytes!;
}

/** Asserts the plain encoder leaves `packet` to mqtt-packet, and that encodePlainFirst then gives what mqtt-packet gives: bytes or error. */
function expectFallback(packet: Packet, version: number, label: string): void {
  expect(encodePlain(packet, version), `${label}: not claimed`).to.equal(undefined);
  let theirs: Buffer | Error;
  try {
    theirs = encodePacket(packet, version);
  } catch (err) {
    theirs = err as Error;
  }
  if (theirs instanceof Error) expect(() => encodePlainFirst(packet, version), label).to.throw(theirs.message);
  else expect(encodePlainFirst(packet, version), label).to.deep.equal(theirs);
}

const VERSIONS = [4, 5] as const;
const LONG_TOPIC = 'a/'.repeat(32_767) + 'z'; // 65,535 bytes: the longest string MQTT can carry (MQTT 5.0 section 1.5.4)
const PAYLOADS: [string, Buffer | string][] = [
  ['empty', Buffer.alloc(0)],
  ['bytes', Buffer.from([0, 1, 2, 0xff])],
  ['string', 'grüße'],
  ['300 bytes', Buffer.alloc(300, 7)],
];
const TOPICS = ['a/b', 'ü/日本/🙂', LONG_TOPIC];
const PUBLISH_PROPERTIES: [string, IPublishPacket['properties'] | undefined][] = [
  ['none', undefined],
  ['empty', {}],
  ['expiry+content type', { messageExpiryInterval: 60, contentType: 'application/json' }],
  [
    'all',
    {
      payloadFormatIndicator: true,
      messageExpiryInterval: 0xffff_ffff,
      topicAlias: 7,
      responseTopic: 'reply/to/ü',
      correlationData: Buffer.from([9, 8, 7]),
      userProperties: { a: 'b', 'ü': ['1', '2', '3'] },
      subscriptionIdentifier: [1, 127, 128, 16_384, 268_435_455],
      contentType: 'text/plain',
    },
  ],
];

describe('protocol: plain encoders', () => {
  describe('PUBLISH', () => {
    for (const version of VERSIONS) {
      for (const qos of [0, 1, 2] as const) {
        it(`v${version} QoS ${qos}: every topic, payload, DUP/RETAIN and property list decodes to itself, in mqtt-packet's bytes`, () => {
          let count = 0;
          for (const topic of TOPICS) {
            for (const [payloadName, payload] of PAYLOADS) {
              for (const [dup, retain] of [[false, false], [true, false], [false, true], [true, true]] as const) {
                for (const [propsName, properties] of PUBLISH_PROPERTIES) {
                  const packet: IPublishPacket = { cmd: 'publish', topic, payload, qos, dup, retain };
                  if (qos > 0) packet.messageId = count % 2 === 0 ? 1 : 65_535;
                  if (properties !== undefined) packet.properties = properties;
                  expectPlain(packet, version, `${topic.slice(0, 10)} ${payloadName} dup=${dup} retain=${retain} props=${propsName}`);
                  count++;
                }
              }
            }
          }
          expect(count).to.equal(TOPICS.length * PAYLOADS.length * 4 * PUBLISH_PROPERTIES.length);
        });
      }
    }

    it('v5: an empty topic with a Topic Alias (MQTT 5.0 section 3.3.2.3.4), one Subscription Identifier, a single User Property', () => {
      expectPlain({ cmd: 'publish', topic: '', payload: Buffer.from('x'), qos: 1, messageId: 3, dup: false, retain: false, properties: { topicAlias: 1 } }, 5, 'alias');
      expectPlain({ cmd: 'publish', topic: 't', payload: Buffer.from('x'), qos: 0, dup: false, retain: false, properties: { subscriptionIdentifier: 5 } }, 5, 'one id');
      expectPlain({ cmd: 'publish', topic: 't', payload: Buffer.from('x'), qos: 0, dup: false, retain: false, properties: { userProperties: { k: 'v' } } }, 5, 'one pair');
    });

    for (const version of VERSIONS) {
      it(`v${version}: remaining lengths at the variable byte integer boundaries 127/128, 16383/16384, 2097151/2097152 [MQTT-1.5.5-1]`, () => {
        for (const qos of [0, 1] as const) {
          for (const remaining of [0x7f, 0x80, 0x3fff, 0x4000, 0x1f_ffff, 0x20_0000]) {
            const topic = 'rl';
            const fixed = 2 + topic.length + (qos > 0 ? 2 : 0) + (version === 5 ? 1 : 0);
            const packet: IPublishPacket = { cmd: 'publish', topic, payload: Buffer.alloc(remaining - fixed, 1), qos, dup: false, retain: false };
            if (qos > 0) packet.messageId = 0x1234;
            const bytes = expectPlain(packet, version, `remaining ${remaining}`);
            const header = remainingLengthBytes(remaining);
            expect(bytes.length, `remaining ${remaining}`).to.equal(1 + header + remaining);
            const want = Buffer.alloc(header);
            writeRemainingLength(want, 0, remaining);
            expect(bytes.subarray(1, 1 + header)).to.deep.equal(want);
          }
        }
      });
    }

    it('writes a non-Buffer Uint8Array payload (which mqtt-packet cannot) as its bytes', () => {
      const whole = new Uint8Array([0, 1, 2, 3, 4, 5]);
      for (const version of VERSIONS) {
        expectPlain({ cmd: 'publish', topic: 't', payload: whole.subarray(2, 5) as Buffer, qos: 1, messageId: 9, dup: false, retain: false }, version, `v${version}`);
      }
    });

    it('finds the packet id of an encoded QoS 1/2 PUBLISH after any topic and remaining length', () => {
      for (const topic of ['', 't', LONG_TOPIC]) {
        const bytes = encodePlain({ cmd: 'publish', topic, payload: Buffer.alloc(200), qos: 2, messageId: 0xabcd, dup: false, retain: false }, 5)!;
        const at = publishIdOffset(bytes);
        expect(bytes.readUInt16BE(at)).to.equal(0xabcd);
      }
    });

    it('measures a PUBLISH at the size it writes, without writing it, and not at all when it is not plain', () => {
      for (const version of VERSIONS) {
        for (const payload of [Buffer.alloc(0), 'é', Buffer.alloc(16_384)]) {
          for (const properties of [undefined, { contentType: 'text/plain', userProperties: { a: ['1', '2'] } }]) {
            const packet: IPublishPacket = { cmd: 'publish', topic: 'a/b', payload, qos: 1, messageId: 7, dup: false, retain: false, ...(properties ? { properties } : {}) };
            expect(plainPublishSize(packet, version)).to.equal(encodePlain(packet, version)!.length);
          }
        }
      }
      expect(plainPublishSize({ cmd: 'publish', topic: 't', payload: Buffer.alloc(1), qos: 0, dup: false, retain: false }, 3)).to.equal(undefined);
    });

    it('leaves to mqtt-packet what it does not write exactly as mqtt-packet does (same bytes or same error)', () => {
      const base: IPublishPacket = { cmd: 'publish', topic: 't', payload: Buffer.from('x'), qos: 1, messageId: 1, dup: false, retain: false };
      const cases: [string, Packet, number][] = [
        ['protocol 3.1', base, 3],
        ['a Buffer topic', { ...base, topic: Buffer.from('t') as unknown as string }, 4],
        ['a topic over 65,535 bytes', { ...base, topic: LONG_TOPIC + 'z' }, 4],
        ['QoS 1 without a packet id', { ...base, messageId: undefined } as Packet, 4],
        ['a packet id over 65535', { ...base, messageId: 70_000 }, 5],
        ['QoS 3', { ...base, qos: 3 as 0 }, 4],
        ['a number payload', { ...base, payload: 5 as unknown as Buffer }, 4],
        ['a property not allowed on PUBLISH', { ...base, properties: { reasonString: 'x' } as never }, 5],
        ['an unknown property', { ...base, properties: { colour: 'red' } as never }, 5],
        ['a Topic Alias out of range', { ...base, properties: { topicAlias: 70_000 } }, 5],
        ['a boolean given as a number', { ...base, properties: { payloadFormatIndicator: 1 as never } }, 5],
        ['a string correlation data', { ...base, properties: { correlationData: 'abc' as never } }, 5],
        ['null properties', { ...base, properties: null as never }, 5],
        ['a repeated Topic Alias', { ...base, properties: { topicAlias: [1, 2] as never } }, 5],
      ];
      for (const [label, packet, version] of cases) expectFallback(packet, version, label);
    });
  });

  describe('empty property values', () => {
    const base: IPublishPacket = { cmd: 'publish', topic: 't', payload: Buffer.from('x'), qos: 1, messageId: 1, dup: false, retain: false };
    const cases: [string, Packet, Packet][] = [
      ['PUBLISH with an empty User Property object', { ...base, properties: { userProperties: {} } }, { ...base, properties: {} }],
      ['PUBLISH with an empty Subscription Identifier list', { ...base, properties: { subscriptionIdentifier: [] as never } }, { ...base, properties: {} }],
      ['PUBLISH with a User Property name and no values', { ...base, properties: { userProperties: { a: [] } } }, { ...base, properties: {} }],
      ['DISCONNECT with an empty User Property object', { cmd: 'disconnect', reasonCode: 0, properties: { userProperties: {} } }, { cmd: 'disconnect', reasonCode: 0, properties: {} }],
    ];
    for (const [label, packet, without] of cases) {
      it(`${label} is encoded as none (mqtt-packet alone wrote no bytes, losing the packet)`, () => {
        expect(mqttPacket.generate(packet, { protocolVersion: 5 }).length, 'mqtt-packet').to.equal(0);
        const bytes = encodePlainFirst(packet, 5);
        expect(bytes).to.deep.equal(encodePacket(without, 5));
        expect(decodeOne(bytes, 5).cmd).to.equal(packet.cmd);
      });
    }

    it('encodePacket refuses to return an empty packet', () => {
      expect(() => encodePacket({ ...base, properties: { userProperties: {} } }, 5)).to.throw(TypeError, /publish.*no bytes/);
    });
  });

  describe('PUBACK, PUBREC, PUBREL, PUBCOMP', () => {
    for (const version of VERSIONS) {
      for (const cmd of ['puback', 'pubrec', 'pubrel', 'pubcomp'] as const) {
        it(`v${version} ${cmd}: decodes to itself, with mqtt-packet's bytes [MQTT-3.6.1-1]`, () => {
          // Reason codes each packet may carry: MQTT 5.0 sections 3.4.2.1, 3.5.2.1, 3.6.2.1, 3.7.2.1.
          const [other, failure] = cmd === 'puback' || cmd === 'pubrec' ? [0x10, 0x80] : [0x92, 0x92];
          const variants: Record<string, unknown>[] =
            version === 4
              ? [{}, { reasonCode: other, properties: { reasonString: 'ignored in 3.1.1' } }]
              : [{ reasonCode: 0 }, { reasonCode: other }, { reasonCode: 0, properties: {} }, { reasonCode: failure, properties: { reasonString: 'no', userProperties: { a: ['1', '2'] } } }, { properties: { reasonString: 'r' } }];
          for (const messageId of [0, 1, 0x1234, 0xffff]) {
            for (const variant of variants) {
              const packet = { cmd, messageId, ...variant } as Packet;
              const bytes = expectPlain(packet, version, `${messageId} ${JSON.stringify(variant)}`);
              if (version === 4 || variant.reasonCode === 0 && variant.properties === undefined) expect(bytes.length).to.equal(4);
            }
          }
        });
      }
    }

    it('v5: success with no reason code given takes the short form, Remaining Length 2 (MQTT 5.0 sections 3.4.2.1, 3.5.2.1, 3.6.2.1, 3.7.2.1), where mqtt-packet writes 4', () => {
      for (const cmd of ['puback', 'pubrec', 'pubrel', 'pubcomp'] as const) {
        const packet = { cmd, messageId: 0xbeef } as Packet;
        const bytes = expectPlain(packet, 5, cmd);
        expect([...bytes]).to.deep.equal([bytes[0], 2, 0xbe, 0xef]);
        expect((decodeOne(bytes, 5) as { reasonCode?: number }).reasonCode).to.equal(0);
        expect(encodePacket(packet, 5).length).to.equal(6);
      }
    });

    it('leaves to mqtt-packet a PUBREL with DUP, a bad packet id or reason code, and a property not allowed on an ack', () => {
      const cases: [string, Packet, number][] = [
        ['PUBREL with DUP (mqtt-packet writes it into the reserved flags)', { cmd: 'pubrel', messageId: 1, dup: true } as Packet, 4],
        ['no packet id', { cmd: 'puback' } as Packet, 5],
        ['a packet id over 65535', { cmd: 'pubcomp', messageId: 65_536 }, 4],
        ['a reason code over 255', { cmd: 'puback', messageId: 1, reasonCode: 256 }, 5],
        ['Topic Alias on an ack', { cmd: 'pubrec', messageId: 1, reasonCode: 0, properties: { topicAlias: 1 } as never }, 5],
        ['protocol 3.1', { cmd: 'puback', messageId: 1 }, 3],
      ];
      for (const [label, packet, version] of cases) expectFallback(packet, version, label);
    });
  });

  describe('CONNECT', () => {
    const wills = [
      undefined,
      { topic: 'last/ü', payload: Buffer.from('gone'), qos: 1 as const, retain: true },
      { topic: 'w', payload: Buffer.alloc(0), qos: 2 as const, retain: false },
      { topic: 'w', payload: 'as a string', qos: 0 as const, retain: false },
      {
        topic: 'w',
        payload: Buffer.from('p'),
        qos: 1 as const,
        retain: false,
        properties: { willDelayInterval: 30, payloadFormatIndicator: true, messageExpiryInterval: 60, contentType: 'c', responseTopic: 'r', correlationData: Buffer.from('d'), userProperties: { u: 'v' } },
      },
    ];
    const credentials = [{}, { username: 'user' }, { username: '', password: '' }, { username: 'user', password: Buffer.from('secret') }, { username: 'ü', password: 'pässword' }];
    const connectProperties = [
      undefined,
      {},
      { maximumPacketSize: 1 << 20 },
      {
        sessionExpiryInterval: 0xffff_ffff,
        receiveMaximum: 10,
        maximumPacketSize: 1 << 20,
        topicAliasMaximum: 5,
        requestResponseInformation: true,
        requestProblemInformation: false,
        userProperties: { a: 'b' },
        authenticationMethod: 'SCRAM-SHA-1',
        authenticationData: Buffer.from([1, 2]),
      },
    ];
    for (const protocolVersion of VERSIONS) {
      it(`v${protocolVersion}: every will, credential, client id, flag and property list decodes to itself, in mqtt-packet's bytes [MQTT-3.1.2-3]`, () => {
        for (const will of wills) {
          for (const cred of credentials) {
            for (const [clientId, clean] of [['', true], ['client-1', false], ['ü'.repeat(100), true]] as const) {
              for (const properties of connectProperties) {
                for (const keepalive of [0, 60, 65_535]) {
                  const packet = { cmd: 'connect', protocolId: 'MQTT', protocolVersion, clientId, clean, keepalive, ...cred } as Packet & Record<string, unknown>;
                  if (will) packet.will = will;
                  if (properties) packet.properties = properties;
                  expectPlain(packet, protocolVersion, JSON.stringify({ will: will?.topic, cred, clientId: clientId.slice(0, 4), properties: Object.keys(properties ?? {}).length, keepalive }));
                }
              }
            }
          }
        }
      });
    }

    it('takes the defaults mqtt-packet takes: protocol 4, clean start, keep alive 0, no protocol name given', () => {
      expectPlain({ cmd: 'connect', clientId: 'c' } as Packet, 4, 'defaults');
    });

    it('crosses the 2-byte remaining length boundary with a long password', () => {
      for (const size of [100, 16_000, 40_000]) {
        expectPlain({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: 'c', clean: true, keepalive: 0, username: 'u', password: Buffer.alloc(size, 1) } as Packet, 5, `${size}`);
      }
    });

    it('v5: writes an empty client id with Clean Start 0, which mqtt-packet refuses but 5.0 allows [MQTT-3.1.3-6]', () => {
      const packet = { cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: '', clean: false, keepalive: 30, properties: { sessionExpiryInterval: 60 } } as Packet;
      expect(() => encodePacket(packet, 5)).to.throw(/clientId/);
      const decoded = decodeOne(encodePlainFirst(packet, 5), 5) as unknown as Record<string, unknown>;
      expect([decoded.cmd, decoded.clientId, decoded.clean, decoded.keepalive]).to.deep.equal(['connect', '', false, 30]);
      expect(decoded.properties).to.deep.equal({ sessionExpiryInterval: 60 });
    });

    it('leaves to mqtt-packet protocol 3.1, bridge mode, refused flags and values it writes oddly (same bytes or same error)', () => {
      const base = { cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'c', clean: true, keepalive: 0 } as const;
      const cases: [string, Packet][] = [
        ['3.1', { ...base, protocolId: 'MQIsdp', protocolVersion: 3 }],
        ['bridge mode', { ...base, bridgeMode: true } as Packet],
        ['an empty client id without clean start (MQTT 3.1.1 section 3.1.3.1)', { ...base, clientId: '', clean: false }],
        ['a password without a user name', { ...base, password: Buffer.from('p') }],
        ['a Buffer client id', { ...base, clientId: Buffer.from('c') as unknown as string }],
        ['a keep alive over 65535', { ...base, keepalive: 70_000 }],
        ['a will without a topic', { ...base, will: { topic: '', payload: Buffer.alloc(0), qos: 0, retain: false } }],
        ['a will QoS of 3', { ...base, will: { topic: 'w', payload: Buffer.alloc(0), qos: 3 as 0, retain: false } }],
        ['a v5 property not allowed on CONNECT', { ...base, protocolVersion: 5, properties: { topicAlias: 1 } as never }],
        ['a v5 will property not allowed on a will', { ...base, protocolVersion: 5, will: { topic: 'w', payload: Buffer.alloc(0), qos: 0, retain: false, properties: { sessionExpiryInterval: 1 } as never } }],
      ];
      for (const [label, packet] of cases) expectFallback(packet, (packet as { protocolVersion: number }).protocolVersion === 5 ? 5 : 4, label);
    });
  });

  describe('CONNACK, SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK, PINGREQ, PINGRESP, DISCONNECT', () => {
    for (const version of VERSIONS) {
      it(`v${version}: each decodes to itself, in mqtt-packet's bytes [MQTT-3.8.1-1]`, () => {
        const v5 = version === 5;
        const packets: Packet[] = [
          v5 ? { cmd: 'connack', sessionPresent: true, reasonCode: 0 } : { cmd: 'connack', sessionPresent: true, returnCode: 0 },
          v5 ? { cmd: 'connack', sessionPresent: false, reasonCode: 0x87 } : { cmd: 'connack', sessionPresent: false, returnCode: 5 },
          { cmd: 'suback', messageId: 0x1234, granted: [0, 1, 2, 0x80] },
          { cmd: 'suback', messageId: 7, granted: Array.from({ length: 300 }, (_, i) => i % 3) },
          { cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a/+/b', qos: 1 }] },
          { cmd: 'subscribe', messageId: 0xffff, subscriptions: Array.from({ length: 50 }, (_, i) => ({ topic: `t/${i}/ü/#`, qos: (i % 3) as 0 | 1 | 2 })) },
          { cmd: 'subscribe', messageId: 2, subscriptions: [{ topic: LONG_TOPIC, qos: 2 }] },
          { cmd: 'unsubscribe', messageId: 3, unsubscriptions: ['a/+/b'] },
          { cmd: 'unsubscribe', messageId: 4, unsubscriptions: ['x', 'ü/#', LONG_TOPIC] },
          { cmd: 'unsuback', messageId: 5, ...(v5 ? { granted: [0, 0x11] } : {}) } as Packet,
          { cmd: 'pingreq' },
          { cmd: 'pingresp' },
          { cmd: 'disconnect' },
        ];
        if (v5) {
          packets.push(
            {
              cmd: 'connack',
              sessionPresent: false,
              reasonCode: 0,
              properties: {
                sessionExpiryInterval: 10,
                receiveMaximum: 100,
                maximumQoS: 1,
                retainAvailable: false,
                maximumPacketSize: 1 << 20,
                assignedClientIdentifier: 'auto-1',
                topicAliasMaximum: 10,
                reasonString: 'ok',
                userProperties: { a: 'b' },
                wildcardSubscriptionAvailable: false,
                subscriptionIdentifiersAvailable: true,
                sharedSubscriptionAvailable: false,
                serverKeepAlive: 30,
                responseInformation: 'resp',
                serverReference: 'other',
                authenticationMethod: 'm',
                authenticationData: Buffer.from('d'),
              },
            },
            { cmd: 'connack', sessionPresent: false, reasonCode: 0x95, properties: { reasonString: 'too big' } },
            { cmd: 'subscribe', messageId: 6, subscriptions: [{ topic: 'a', qos: 0, nl: true, rap: true, rh: 2 }, { topic: 'b', qos: 2, nl: false, rap: false, rh: 1 }], properties: { subscriptionIdentifier: 268_435_455, userProperties: { x: 'y' } } },
            { cmd: 'suback', messageId: 8, granted: [0x8f], properties: { reasonString: 'deep' } },
            { cmd: 'unsubscribe', messageId: 9, unsubscriptions: ['a'], properties: { userProperties: { x: ['1', '2'] } } },
            { cmd: 'unsuback', messageId: 10, granted: [0x11], properties: { reasonString: 'none' } } as Packet,
            { cmd: 'disconnect', reasonCode: 0x04 },
            { cmd: 'disconnect', reasonCode: 0x8e, properties: { sessionExpiryInterval: 0, reasonString: 'taken over', userProperties: { a: 'b' }, serverReference: 's' } },
          );
        }
        for (const packet of packets) expectPlain(packet, version, `${packet.cmd} ${JSON.stringify(packet).slice(0, 60)}`);
      });
    }

    it('v3.1.1: properties and reason codes are not written, as mqtt-packet does not write them', () => {
      expectPlain({ cmd: 'connack', sessionPresent: false, returnCode: 0, properties: { receiveMaximum: 10 } }, 4, 'connack');
      expectPlain({ cmd: 'disconnect', reasonCode: 0x04 }, 4, 'disconnect');
      expectPlain({ cmd: 'unsuback', messageId: 1, granted: [0x11] } as Packet, 4, 'unsuback');
    });

    it('shares the bytes of PINGREQ and PINGRESP', () => {
      expect(encodePlain({ cmd: 'pingreq' }, 4)).to.equal(encodePlain({ cmd: 'pingreq' }, 5));
      expect(encodePlain({ cmd: 'pingresp' }, 4)).to.equal(encodePlain({ cmd: 'pingresp' }, 5));
    });

    it('leaves AUTH, protocol 3.1, DUP on SUBSCRIBE/UNSUBSCRIBE and values it does not write exactly to mqtt-packet (same bytes or same error)', () => {
      const cases: [string, Packet, number][] = [
        ['AUTH', { cmd: 'auth', reasonCode: 0x18, properties: { authenticationMethod: 'm' } }, 5],
        ['SUBSCRIBE in 3.1', { cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 't', qos: 0 }] }, 3],
        ['SUBSCRIBE with DUP', { cmd: 'subscribe', messageId: 1, dup: true, subscriptions: [{ topic: 't', qos: 0 }] } as Packet, 4],
        ['SUBSCRIBE with no filter', { cmd: 'subscribe', messageId: 1, subscriptions: [] }, 4],
        ['SUBSCRIBE with QoS 3', { cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 't', qos: 3 as 0 }] }, 5],
        ['SUBSCRIBE with Retain Handling 3', { cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 't', qos: 0, rh: 3 as 0 }] }, 5],
        ['SUBSCRIBE with two Subscription Identifiers', { cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 't', qos: 0 }], properties: { subscriptionIdentifier: [1, 2] as never } }, 5],
        ['UNSUBSCRIBE with DUP', { cmd: 'unsubscribe', messageId: 1, dup: true, unsubscriptions: ['t'] } as Packet, 4],
        ['UNSUBSCRIBE with a number for a filter', { cmd: 'unsubscribe', messageId: 1, unsubscriptions: [5 as unknown as string] }, 4],
        ['SUBACK with no codes', { cmd: 'suback', messageId: 1, granted: [] }, 4],
        ['SUBACK with a code over 255', { cmd: 'suback', messageId: 1, granted: [256] }, 4],
        ['CONNACK without its code', { cmd: 'connack', sessionPresent: false, reasonCode: 0 }, 4],
        ['CONNACK with a property not allowed on it', { cmd: 'connack', sessionPresent: false, reasonCode: 0, properties: { topicAlias: 1 } as never }, 5],
        ['v5 UNSUBACK without reason codes', { cmd: 'unsuback', messageId: 1 } as Packet, 5],
        ['DISCONNECT with a reason code over 255', { cmd: 'disconnect', reasonCode: 300 }, 5],
      ];
      for (const [label, packet, version] of cases) expectFallback(packet, version, label);
    });
  });
});

describe('protocol: plain PUBLISH encoder, User Properties in the order received [MQTT-3.3.2-18]', () => {
  /** The User Properties of a whole v5 PUBLISH frame, flattened, as they are on the wire (after `properties` of other kinds are skipped). */
  const wireOrder = (bytes: Buffer): string[] => {
    const packet = new PacketDecoder(1 << 16, 5, { userPropertyOrder: true }).push(bytes)[0] as IPublishPacket;
    // Decoded as a broker decodes: the wire order when the object would change it, else the object's own.
    const order = userPropertyOrderOf(packet.properties);
    if (order !== undefined) return [...order];
    return Object.entries(packet.properties?.userProperties ?? {}).flatMap(([name, values]) => (Array.isArray(values) ? values : [values]).flatMap((value) => [name, value]));
  };
  const publishWith = (properties: NonNullable<IPublishPacket['properties']>): IPublishPacket => ({ cmd: 'publish', topic: 'a/b', payload: Buffer.from('x'), qos: 1, messageId: 9, dup: false, retain: false, properties });

  it('writes the User Properties of a list carrying a UserPropertyOrder in that order, where the object would group them and put index names first', () => {
    const properties: NonNullable<IPublishPacket['properties']> = { contentType: 'c', userProperties: { '0': 'z', a: ['1', '3'], b: '2' }, messageExpiryInterval: 5 };
    setUserPropertyOrder(properties, ['a', '1', 'b', '2', 'a', '3', '0', 'z']);
    const bytes = encodePlain(publishWith(properties), 5)!;
    expect(wireOrder(bytes)).to.deep.equal(['a', '1', 'b', '2', 'a', '3', '0', 'z']);
    // The other properties are as given, and the size measured is the size written (Maximum Packet Size checks).
    const decoded = mqttPacket.parser({ protocolVersion: 5 });
    const got: IPublishPacket[] = [];
    decoded.on('packet', (packet) => got.push(packet as IPublishPacket));
    decoded.parse(bytes);
    expect(got[0]!.properties).to.deep.include({ contentType: 'c', messageExpiryInterval: 5 });
    expect(plainPublishSize(publishWith(properties), 5)).to.equal(bytes.length);
    // Without the order, the object's order: what mqtt-packet writes.
    const plain = { ...properties };
    expect(encodePlain(publishWith(plain), 5)).to.deep.equal(encodePacket(publishWith(plain), 5));
    expect(wireOrder(encodePlain(publishWith(plain), 5)!)).to.deep.equal(['0', 'z', 'a', '1', 'a', '3', 'b', '2']);
  });

  it('leaves a UserPropertyOrder that is not names and values alternately, as strings, to mqtt-packet (the object form)', () => {
    for (const order of [['a'], ['a', 1], 'ab']) {
      const properties: NonNullable<IPublishPacket['properties']> = { userProperties: { a: '1' } };
      setUserPropertyOrder(properties, order as never);
      expect(encodePlain(publishWith(properties), 5), JSON.stringify(order)).to.equal(undefined);
      expect(encodePlainFirst(publishWith(properties), 5)).to.deep.equal(encodePacket(publishWith({ userProperties: { a: '1' } }), 5));
    }
  });
});
