/**
 * MQTT 5 properties a client includes more than once, end to end. Each property's section says
 * "It is a Protocol Error to include [it] more than once"; the decoder finds every repeat in the
 * property bytes (mqtt-packet lets a repeat after a first value of 0, false or '' replace it, and
 * makes an array of the others) and refuses the packet, with DISCONNECT 0x82 (CONNACK 0x82 for a
 * CONNECT); the session core never sees one. Before, a
 * repeated Subscription Identifier left the SUBSCRIBE unanswered for ever (the register refused
 * the array), and a repeated Message Expiry Interval reached subscribers as 0. Raw bytes,
 * since no client library sends such packets.
 */
import { expect } from 'chai';
import type { IDisconnectPacket, Packet } from 'mqtt-packet';
import { PLACEMENTS, RawClient } from './helpers.js';
import { brokerPerTest, packetsUntilClosed, rawSubscribe, rawV5 } from './v5-helpers.js';
import { str } from './wire-bytes.js';

const codes = (packets: Packet[]): [string, number | undefined][] => packets.map((p) => [p.cmd, (p as IDisconnectPacket).reasonCode]);

/** A whole packet: fixed header byte, one-byte Remaining Length (< 128), body. */
function frame(first: number, body: number[]): number[] {
  if (body.length >= 128) throw new Error('test frame too long for a one-byte Remaining Length');
  return [first, body.length, ...body];
}

for (const placement of PLACEMENTS) {
  describe(`v5 repeated properties: ${placement.name}`, function () {
    this.timeout(10000);
    const { broker } = brokerPerTest(placement.options);

    it('a SUBSCRIBE with the Subscription Identifier twice gets DISCONNECT 0x82, not silence (5.0 section 3.8.2.1.2)', async () => {
      const { raw } = await rawV5(broker(), 'twice-sid');
      try {
        const properties = [0x0b, 5, 0x0b, 6]; // Subscription Identifier 5, then 6
        raw.sendBytes(frame(0x82, [0, 1, properties.length, ...properties, ...str('twice/sid'), 1]));
        expect(codes(await packetsUntilClosed(raw))).to.deep.equal([['disconnect', 0x82]]);
      } finally {
        raw.destroy();
      }
    });

    for (const [name, property] of [
      ['Message Expiry Interval', [0x02, 0, 0, 0, 10, 0x02, 0, 0, 0, 20]],
      ['Topic Alias', [0x23, 0, 1, 0x23, 0, 2]],
      ['Content Type', [0x03, ...str('a'), 0x03, ...str('b')]],
    ] as const) {
      it(`a PUBLISH with the ${name} twice gets DISCONNECT 0x82 and is neither acknowledged nor forwarded (5.0 section 3.3.2.3)`, async () => {
        const { raw } = await rawV5(broker(), `twice-${property[0]}`);
        try {
          const topic = `twice/${property[0]}`;
          // Subscribed itself: a forwarded copy would reach this very connection, and before
          // its PUBACK (the route is dispatched on its own thread first).
          expect(await rawSubscribe(raw, 1, [{ topic, qos: 1 }])).to.deep.equal([1]);
          raw.sendBytes(frame(0x32, [...str(topic), 0, 2, property.length, ...property, 0x78]));
          expect(codes(await packetsUntilClosed(raw))).to.deep.equal([['disconnect', 0x82]]);
        } finally {
          raw.destroy();
        }
      });
    }

    it('a PUBLISH with the Message Expiry Interval 0 and then 10 gets DISCONNECT 0x82: a first value of 0 no longer hides the repeat (5.0 section 3.3.2.3.3)', async () => {
      const { raw } = await rawV5(broker(), 'twice-falsy');
      try {
        const topic = 'twice/falsy';
        expect(await rawSubscribe(raw, 1, [{ topic, qos: 1 }])).to.deep.equal([1]);
        // mqtt-packet kept only the 10 (it makes an array only when the first value is truthy).
        const property = [0x02, 0, 0, 0, 0, 0x02, 0, 0, 0, 10];
        raw.sendBytes(frame(0x32, [...str(topic), 0, 2, property.length, ...property, 0x78]));
        expect(codes(await packetsUntilClosed(raw))).to.deep.equal([['disconnect', 0x82]]);
      } finally {
        raw.destroy();
      }
    });

    it('a CONNECT with the Session Expiry Interval 0 and then 100 is refused with CONNACK 0x82 (5.0 section 3.1.2.11.2)', async () => {
      const raw = await RawClient.open(broker(), 5);
      try {
        const properties = [0x11, 0, 0, 0, 0, 0x11, 0, 0, 0, 100];
        raw.sendBytes(frame(0x10, [...str('MQTT'), 5, 0x02, 0, 0, properties.length, ...properties, ...str('twice-falsy-connect')]));
        expect(codes(await packetsUntilClosed(raw))).to.deep.equal([['connack', 0x82]]);
      } finally {
        raw.destroy();
      }
    });

    it('a CONNECT whose will has the Message Expiry Interval twice is refused with CONNACK 0x82 (5.0 section 3.1.3.2.4)', async () => {
      const raw = await RawClient.open(broker(), 5);
      try {
        const will = [0x02, 0, 0, 0, 5, 0x02, 0, 0, 0, 6];
        // Will Flag (0x04) and Clean Start; no connect properties; the will's properties, topic and payload.
        raw.sendBytes(frame(0x10, [...str('MQTT'), 5, 0x06, 0, 0, 0, ...str('twice-will'), will.length, ...will, ...str('w/t'), ...str('x')]));
        expect(codes(await packetsUntilClosed(raw))).to.deep.equal([['connack', 0x82]]);
      } finally {
        raw.destroy();
      }
    });

    it('a CONNECT with the Receive Maximum twice is refused with CONNACK 0x82 (5.0 section 3.1.2.11)', async () => {
      const { raw, connack } = await rawV5(broker(), 'twice-connect', { properties: { receiveMaximum: [5, 6] } });
      try {
        expect(connack.reasonCode).to.equal(0x82);
        expect(await packetsUntilClosed(raw)).to.deep.equal([]);
      } finally {
        raw.destroy();
      }
    });
  });
}
