/**
 * Every received UTF-8 Encoded String is checked from its bytes: well-formed UTF-8
 * [MQTT-1.5.3-1, MQTT-1.5.4-1], no U+0000 [MQTT-1.5.3-2, MQTT-1.5.4-2], both strings of a User
 * Property [MQTT-1.5.7-1]. Raw frames, field by field, through the decoder broker and client use:
 * plain frames (decoded by hand) and frames mqtt-packet decodes (v5 properties, UNSUBSCRIBE).
 */
import { expect } from 'chai';
import type { Packet } from 'mqtt-packet';
import { DecodeError, DECODE_ERROR_REASON_CODES, PacketDecoder } from '../../src/protocol/decoder.js';
import { ReasonCode } from '../../src/protocol/reason-codes.js';
import { utf8StringFault } from '../../src/protocol/utf8-strings.js';

/** An MQTT string field from its raw bytes: two length bytes, then the bytes. */
const raw = (bytes: number[]): number[] => [bytes.length >> 8, bytes.length & 0xff, ...bytes];
const str = (text: string): number[] => raw([...Buffer.from(text, 'utf8')]);
/** A whole packet with a one-byte Remaining Length. */
const frame = (first: number, body: number[]): Buffer => Buffer.from([first, body.length, ...body]);
/** A property list: its one-byte length, then the properties. */
const props = (...bytes: number[]): number[] => [bytes.length, ...bytes];

/** Byte sequences a UTF-8 Encoded String may not hold, each after an ASCII 'a'. */
const ILL_FORMED: [string, number[]][] = [
  ["an overlong '/' (C0 AF)", [0xc0, 0xaf]],
  ['an encoded surrogate U+D800 (ED A0 80)', [0xed, 0xa0, 0x80]],
  ['a truncated sequence (E2 82, then the end)', [0xe2, 0x82]],
  ['a truncated sequence followed by ASCII (E2 82 62)', [0xe2, 0x82, 0x62]],
  ['a 0xFF byte', [0xff]],
  ['a code point above U+10FFFF (F4 90 80 80)', [0xf4, 0x90, 0x80, 0x80]],
  ['an overlong U+0000 (C0 80)', [0xc0, 0x80]],
];
/** Well-formed strings, which must decode to exactly these characters. */
const WELL_FORMED: [string, string][] = [
  ['é (2 bytes)', 'aé'],
  ['€ (3 bytes)', 'a€'],
  ['𝄞 (4 bytes, a surrogate pair in JavaScript)', 'a𝄞'],
  ['a real U+FFFD (EF BF BD)', 'a\uFFFD'],
  ['U+FEFF (EF BB BF), kept [MQTT-1.5.4-3]', '\uFEFFa'],
];

interface Field {
  name: string;
  /** Protocol version the decoder starts at (a CONNECT sets its own). */
  version: 4 | 5;
  /** The frame with the string field's raw bytes in place. */
  build(bytes: number[]): Buffer;
  /** The decoded string field. */
  read(packet: Packet): unknown;
}

type Any = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const p = (packet: Packet): Any => packet as unknown as Any;

const CONNECT4 = [...str('MQTT'), 4];
const CONNECT5 = [...str('MQTT'), 5];
const FIELDS: Field[] = [
  { name: 'PUBLISH Topic Name, 3.1.1 QoS 0 (plain)', version: 4, build: (b) => frame(0x30, [...raw(b), 0x78]), read: (x) => p(x).topic },
  { name: 'PUBLISH Topic Name, 3.1.1 QoS 1 (plain)', version: 4, build: (b) => frame(0x32, [...raw(b), 0, 1, 0x78]), read: (x) => p(x).topic },
  { name: 'PUBLISH Topic Name, 5.0 (plain)', version: 5, build: (b) => frame(0x30, [...raw(b), 0, 0x78]), read: (x) => p(x).topic },
  { name: 'PUBLISH Topic Name, 5.0 with properties (mqtt-packet)', version: 5, build: (b) => frame(0x30, [...raw(b), ...props(0x01, 0x00), 0x78]), read: (x) => p(x).topic },
  { name: 'CONNECT Client Identifier, 3.1.1 (plain)', version: 4, build: (b) => frame(0x10, [...CONNECT4, 0x02, 0, 60, ...raw(b)]), read: (x) => p(x).clientId },
  { name: 'CONNECT Client Identifier, 5.0 (plain)', version: 4, build: (b) => frame(0x10, [...CONNECT5, 0x02, 0, 60, 0, ...raw(b)]), read: (x) => p(x).clientId },
  { name: 'CONNECT Client Identifier, 5.0 with properties (mqtt-packet)', version: 4, build: (b) => frame(0x10, [...CONNECT5, 0x02, 0, 60, ...props(0x11, 0, 0, 0, 10), ...raw(b)]), read: (x) => p(x).clientId },
  { name: 'CONNECT Client Identifier, 3.1 MQIsdp (mqtt-packet)', version: 4, build: (b) => frame(0x10, [...str('MQIsdp'), 3, 0x02, 0, 60, ...raw(b)]), read: (x) => p(x).clientId },
  { name: 'CONNECT Will Topic, 3.1.1 (plain)', version: 4, build: (b) => frame(0x10, [...CONNECT4, 0x06, 0, 60, ...str('c'), ...raw(b), ...str('x')]), read: (x) => p(x).will.topic },
  { name: 'CONNECT Will Topic, 5.0 with will properties (mqtt-packet)', version: 4, build: (b) => frame(0x10, [...CONNECT5, 0x06, 0, 60, 0, ...str('c'), ...props(0x01, 0x00), ...raw(b), ...str('x')]), read: (x) => p(x).will.topic },
  { name: 'CONNECT User Name, 3.1.1 (plain)', version: 4, build: (b) => frame(0x10, [...CONNECT4, 0x82, 0, 60, ...str('c'), ...raw(b)]), read: (x) => p(x).username },
  { name: 'CONNECT User Name, 5.0 with properties (mqtt-packet)', version: 4, build: (b) => frame(0x10, [...CONNECT5, 0x82, 0, 60, ...props(0x11, 0, 0, 0, 10), ...str('c'), ...raw(b)]), read: (x) => p(x).username },
  { name: 'SUBSCRIBE Topic Filter, 3.1.1 (plain)', version: 4, build: (b) => frame(0x82, [0, 1, ...str('ok'), 0, ...raw(b), 0]), read: (x) => p(x).subscriptions[1].topic },
  { name: 'SUBSCRIBE Topic Filter, 5.0 with properties (mqtt-packet)', version: 5, build: (b) => frame(0x82, [0, 1, ...props(0x0b, 1), ...raw(b), 0]), read: (x) => p(x).subscriptions[0].topic },
  { name: 'UNSUBSCRIBE Topic Filter, 3.1.1 (mqtt-packet)', version: 4, build: (b) => frame(0xa2, [0, 1, ...str('ok'), ...raw(b)]), read: (x) => p(x).unsubscriptions[1] },
  { name: 'UNSUBSCRIBE Topic Filter, 5.0 (mqtt-packet)', version: 5, build: (b) => frame(0xa2, [0, 1, 0, ...raw(b)]), read: (x) => p(x).unsubscriptions[0] },
  { name: 'PUBLISH User Property name [MQTT-1.5.7-1]', version: 5, build: (b) => frame(0x30, [...str('t'), ...props(0x26, ...raw(b), ...str('v')), 0x78]), read: (x) => Object.keys(p(x).properties.userProperties)[0] },
  { name: 'PUBLISH User Property value [MQTT-1.5.7-1]', version: 5, build: (b) => frame(0x30, [...str('t'), ...props(0x26, ...str('k'), ...raw(b)), 0x78]), read: (x) => p(x).properties.userProperties.k },
  { name: 'PUBLISH Content Type', version: 5, build: (b) => frame(0x30, [...str('t'), ...props(0x03, ...raw(b)), 0x78]), read: (x) => p(x).properties.contentType },
  { name: 'PUBLISH Response Topic', version: 5, build: (b) => frame(0x30, [...str('t'), ...props(0x08, ...raw(b)), 0x78]), read: (x) => p(x).properties.responseTopic },
  { name: 'CONNECT Authentication Method', version: 4, build: (b) => frame(0x10, [...CONNECT5, 0x02, 0, 60, ...props(0x15, ...raw(b)), ...str('c')]), read: (x) => p(x).properties.authenticationMethod },
  { name: 'CONNECT User Property value', version: 4, build: (b) => frame(0x10, [...CONNECT5, 0x02, 0, 60, ...props(0x26, ...str('k'), ...raw(b)), ...str('c')]), read: (x) => p(x).properties.userProperties.k },
  { name: 'CONNECT will Content Type', version: 4, build: (b) => frame(0x10, [...CONNECT5, 0x06, 0, 60, 0, ...str('c'), ...props(0x03, ...raw(b)), ...str('w'), ...str('x')]), read: (x) => p(x).will.properties.contentType },
  { name: 'CONNECT will User Property name', version: 4, build: (b) => frame(0x10, [...CONNECT5, 0x06, 0, 60, 0, ...str('c'), ...props(0x26, ...raw(b), ...str('v')), ...str('w'), ...str('x')]), read: (x) => Object.keys(p(x).will.properties.userProperties)[0] },
  { name: 'CONNACK Assigned Client Identifier (client side)', version: 5, build: (b) => frame(0x20, [0, 0, ...props(0x12, ...raw(b))]), read: (x) => p(x).properties.assignedClientIdentifier },
  { name: 'CONNACK Response Information (client side)', version: 5, build: (b) => frame(0x20, [0, 0, ...props(0x1a, ...raw(b))]), read: (x) => p(x).properties.responseInformation },
  { name: 'CONNACK Server Reference (client side)', version: 5, build: (b) => frame(0x20, [0, 0x9c, ...props(0x1c, ...raw(b))]), read: (x) => p(x).properties.serverReference },
  { name: 'CONNACK Reason String (client side)', version: 5, build: (b) => frame(0x20, [0, 0x80, ...props(0x1f, ...raw(b))]), read: (x) => p(x).properties.reasonString },
  { name: 'PUBACK Reason String', version: 5, build: (b) => frame(0x40, [0, 1, 0x10, ...props(0x1f, ...raw(b))]), read: (x) => p(x).properties.reasonString },
  { name: 'PUBREL User Property value', version: 5, build: (b) => frame(0x62, [0, 1, 0x00, ...props(0x26, ...str('k'), ...raw(b))]), read: (x) => p(x).properties.userProperties.k },
  { name: 'SUBACK Reason String (client side)', version: 5, build: (b) => frame(0x90, [0, 1, ...props(0x1f, ...raw(b)), 0]), read: (x) => p(x).properties.reasonString },
  { name: 'UNSUBACK Reason String (client side)', version: 5, build: (b) => frame(0xb0, [0, 1, ...props(0x1f, ...raw(b)), 0]), read: (x) => p(x).properties.reasonString },
  { name: 'DISCONNECT Reason String', version: 5, build: (b) => frame(0xe0, [0x81, ...props(0x1f, ...raw(b))]), read: (x) => p(x).properties.reasonString },
  { name: 'DISCONNECT Server Reference (client side)', version: 5, build: (b) => frame(0xe0, [0x9c, ...props(0x1c, ...raw(b))]), read: (x) => p(x).properties.serverReference },
  { name: 'AUTH Authentication Method', version: 5, build: (b) => frame(0xf0, [0x18, ...props(0x15, ...raw(b))]), read: (x) => p(x).properties.authenticationMethod },
];

function decode(field: Field, bytes: number[]): Packet[] {
  return new PacketDecoder(1 << 20, field.version).push(field.build(bytes));
}

/** The error decoding throws, checked to be a `malformed` DecodeError (0x81). */
function decodeError(field: Field, bytes: number[]): DecodeError {
  let thrown: unknown;
  try {
    decode(field, bytes);
  } catch (err) {
    thrown = err;
  }
  expect(thrown, 'decoding throws').to.be.instanceOf(DecodeError);
  const err = thrown as DecodeError;
  expect(err.kind).to.equal('malformed');
  expect(DECODE_ERROR_REASON_CODES[err.kind]).to.equal(ReasonCode.MalformedPacket);
  return err;
}

describe('protocol: UTF-8 Encoded Strings are checked from their bytes', () => {
  for (const field of FIELDS) {
    describe(field.name, () => {
      // The rule ids of the protocol the frame is in (a CONNECT's is its own level): every
      // field not named 3.1.1 or 3.1 is a 5.0 one.
      const v5 = !/ 3\.1/.test(field.name);
      const illRule = v5 ? 'MQTT-1.5.4-1' : 'MQTT-1.5.3-1';
      const nullRule = v5 ? 'MQTT-1.5.4-2' : 'MQTT-1.5.3-2';

      it('precondition: the frame decodes with an ASCII string in place', () => {
        const [packet] = decode(field, [0x61, 0x2f, 0x62]);
        expect(field.read(packet!)).to.equal('a/b');
      });

      for (const [what, bytes] of ILL_FORMED) {
        it(`${what} is a Malformed Packet [${illRule}]`, () => {
          expect(decodeError(field, [0x61, ...bytes]).message).to.include(illRule).and.include('not well-formed UTF-8');
        });
      }

      it(`U+0000 is a Malformed Packet [${nullRule}]`, () => {
        expect(decodeError(field, [0x61, 0x00, 0x62]).message).to.include(nullRule).and.include('U+0000');
      });

      it(`U+0000 after a multi-byte character is a Malformed Packet [${nullRule}]`, () => {
        expect(decodeError(field, [0xc3, 0xa9, 0x00]).message).to.include(nullRule);
      });

      for (const [what, text] of WELL_FORMED) {
        it(`${what} decodes unaltered`, () => {
          const packets = decode(field, [...Buffer.from(text, 'utf8')]);
          expect(packets).to.have.length(1);
          expect(field.read(packets[0]!)).to.equal(text);
        });
      }
    });
  }

  it('a User Property fault cites [MQTT-1.5.7-1] and names the half', () => {
    const field = FIELDS.find((f) => f.name.startsWith('PUBLISH User Property value'))!;
    expect(decodeError(field, [0xff]).message).to.equal('User Property value is not well-formed UTF-8 [MQTT-1.5.4-1, MQTT-1.5.7-1]');
  });

  it('a will property fault names the will', () => {
    const field = FIELDS.find((f) => f.name === 'CONNECT will Content Type')!;
    expect(decodeError(field, [0xff]).message).to.equal('will Content Type is not well-formed UTF-8 [MQTT-1.5.4-1]');
  });

  it('binary fields are not checked: Password, Will Payload, Correlation Data, Authentication Data, payload', () => {
    const bad = [0xff, 0xed, 0xa0, 0x80, 0x00];
    const decoder = new PacketDecoder(1 << 20, 4);
    const [connect] = decoder.push(
      frame(0x10, [...CONNECT5, 0xc6, 0, 60, ...props(0x15, ...str('m'), 0x16, ...raw(bad)), ...str('c'), 0, ...str('w'), ...raw(bad), ...str('u'), ...raw(bad)]),
    );
    expect([...(p(connect!).password as Buffer)]).to.deep.equal(bad);
    expect([...(p(connect!).will.payload as Buffer)]).to.deep.equal(bad);
    expect([...(p(connect!).properties.authenticationData as Buffer)]).to.deep.equal(bad);
    const [publish] = decoder.push(frame(0x30, [...str('t'), ...props(0x09, ...raw(bad)), ...bad]));
    expect([...(p(publish!).properties.correlationData as Buffer)]).to.deep.equal(bad);
    expect([...(p(publish!).payload as Buffer)]).to.deep.equal(bad);
  });

  it('utf8StringFault looks only at the range it is given', () => {
    const bytes = Buffer.from([0xff, 0x61, 0x62, 0x00]);
    expect(utf8StringFault(bytes, 1, 3)).to.equal(undefined);
    expect(utf8StringFault(bytes, 0, 3)).to.equal('ill-formed');
    expect(utf8StringFault(bytes, 1, 4)).to.equal('null');
  });
});
