import { expect } from 'chai';
import type { IDisconnectPacket, IPublishPacket, Packet } from 'mqtt-packet';
import { setUserPropertyOrder, userPropertyOrderOf } from '../../src/protocol/user-property-order.js';
import { Harness, only, publish, VERSIONS } from './harness.js';

const codesOf = (packets: Packet[]): [string, number | undefined][] => packets.map((p) => [p.cmd, (p as IDisconnectPacket).reasonCode]);

describe('session core: PUBLISH both directions', () => {
  for (const v of VERSIONS) {
    describe(`MQTT ${v === 4 ? '3.1.1' : '5.0'}`, () => {
      it('routes an inbound QoS 0 PUBLISH without acknowledging it [MQTT-4.3.1-1]', () => {
        const h = new Harness();
        h.connect(v);
        expect(h.send(publish('a/b', 0))).to.deep.equal([]);
        expect(h.routed.map((m) => m.topic)).to.deep.equal(['a/b']);
      });

      it('acknowledges an inbound QoS 1 PUBLISH with PUBACK once routed [MQTT-4.3.2-2]', () => {
        const h = new Harness({ autoRoute: false });
        h.connect(v);
        expect(h.send(publish('a/b', 1, 5))).to.deep.equal([]);
        expect(h.pendingRoutes).to.deep.equal([5]);
        expect(h.completeRoute(5)).to.deep.equal([{ cmd: 'puback', messageId: 5 }]);
      });

      it('routes a QoS 2 PUBLISH exactly once even when resent with DUP before PUBREL [MQTT-4.3.3-2 (3.1.1), MQTT-4.3.3-10 (5.0)]', () => {
        const h = new Harness();
        h.connect(v);
        expect(h.send(publish('a/b', 2, 9))).to.deep.equal([{ cmd: 'pubrec', messageId: 9 }]);
        expect(h.send(publish('a/b', 2, 9, { dup: true }))).to.deep.equal([{ cmd: 'pubrec', messageId: 9 }]);
        expect(h.routed).to.have.length(1);
        expect(h.send({ cmd: 'pubrel', messageId: 9 })).to.deep.equal([{ cmd: 'pubcomp', messageId: 9 }]);
        // After PUBREL the id is free: a new PUBLISH with it is a new message.
        h.send(publish('a/b', 2, 9));
        expect(h.routed).to.have.length(2);
      });

      it('keeps the QoS 2 packet id across a reconnect so a resend is not routed twice [MQTT-4.3.3-2, MQTT-4.4.0-1]', () => {
        const h = new Harness();
        h.connect(v, { clean: false, properties: v === 5 ? { sessionExpiryInterval: 60 } : undefined });
        h.send(publish('a/b', 2, 3));
        h.drop();
        h.connect(v, { clean: false });
        expect(h.send(publish('a/b', 2, 3, { dup: true }))).to.deep.equal([{ cmd: 'pubrec', messageId: 3 }]);
        expect(h.routed).to.have.length(1);
      });

      it('closes on a QoS 1 PUBLISH with packet id 0 [MQTT-2.3.1-1]', () => {
        const h = new Harness();
        h.connect(v);
        const reply = h.send(publish('a', 1, 0));
        expect(h.closed).to.equal(true);
        if (v === 5) expect(only(reply, 'disconnect')[0]!.reasonCode).to.equal(0x82);
      });

      it('closes on a wildcard in a PUBLISH topic [MQTT-3.3.2-2]', () => {
        const h = new Harness();
        h.connect(v);
        const reply = h.send(publish('a/+', 0));
        expect(h.closed).to.equal(true);
        expect(h.routed).to.have.length(0);
        if (v === 5) expect(only(reply, 'disconnect')[0]!.reasonCode).to.equal(0x90);
        else expect(reply).to.deep.equal([]);
      });

      it('closes on DUP set for QoS 0 [MQTT-3.3.1-2]', () => {
        const h = new Harness();
        h.connect(v);
        const reply = h.send(publish('a', 0, undefined, { dup: true }));
        expect(h.closed).to.equal(true);
        if (v === 5) expect(only(reply, 'disconnect')[0]!.reasonCode).to.equal(0x81);
      });

      it('answers PUBREL for an unknown packet id with PUBCOMP (v5: 0x92)', () => {
        const h = new Harness();
        h.connect(v);
        const reply = h.send({ cmd: 'pubrel', messageId: 77 });
        expect(reply).to.deep.equal([v === 5 ? { cmd: 'pubcomp', messageId: 77, reasonCode: 0x92 } : { cmd: 'pubcomp', messageId: 77 }]);
      });

      it('answers PINGREQ with PINGRESP [MQTT-3.12.4-1]', () => {
        const h = new Harness();
        h.connect(v);
        expect(h.send({ cmd: 'pingreq' })).to.deep.equal([{ cmd: 'pingresp' }]);
      });

      it('delivers outbound QoS 0 at once with no packet id', () => {
        const h = new Harness();
        h.connect(v);
        const [p] = h.deliver({ topic: 't', qos: 0 }) as IPublishPacket[];
        expect(p).to.include({ cmd: 'publish', topic: 't', qos: 0, dup: false });
        expect(p!.messageId).to.equal(undefined);
      });

      it('sends outbound QoS at the lower of message and subscription QoS [MQTT-3.8.4-6]', () => {
        const h = new Harness();
        h.connect(v);
        expect((h.deliver({ topic: 't', qos: 2 }, { qos: 1 })[0] as IPublishPacket).qos).to.equal(1);
        expect((h.deliver({ topic: 't', qos: 1 }, { qos: 2 })[0] as IPublishPacket).qos).to.equal(1);
      });

      it('numbers outbound QoS 1/2 from 1, never reusing an id in use [MQTT-2.3.1-1,2]', () => {
        const h = new Harness();
        h.connect(v);
        const ids = [1, 2, 3].map(() => (h.deliver({ topic: 't', qos: 1 })[0] as IPublishPacket).messageId);
        expect(ids).to.deep.equal([1, 2, 3]);
        h.send({ cmd: 'puback', messageId: 2 });
        expect((h.deliver({ topic: 't', qos: 1 })[0] as IPublishPacket).messageId).to.equal(4);
      });

      it('goes on numbering after the last in-flight message completes, not from 1 again', () => {
        const h = new Harness();
        h.connect(v);
        const first = (h.deliver({ topic: 't', qos: 1 })[0] as IPublishPacket).messageId;
        h.send({ cmd: 'puback', messageId: first });
        expect(h.core.stats().inflight).to.equal(0);
        expect((h.deliver({ topic: 't', qos: 2 })[0] as IPublishPacket).messageId).to.equal(2);
        expect(h.core.stats().inflight).to.equal(1);
      });

      it('completes outbound QoS 2 with PUBREC → PUBREL → PUBCOMP', () => {
        const h = new Harness();
        h.connect(v);
        const [p] = h.deliver({ topic: 't', qos: 2 }) as IPublishPacket[];
        expect(h.send({ cmd: 'pubrec', messageId: p!.messageId })).to.deep.equal([{ cmd: 'pubrel', messageId: p!.messageId }]);
        expect(h.send({ cmd: 'pubcomp', messageId: p!.messageId })).to.deep.equal([]);
        expect(h.core.stats().inflight).to.equal(0);
      });

      it('clears RETAIN on ordinary forwarding [MQTT-3.3.1-9 (3.1.1), MQTT-3.3.1-12 (5.0)]', () => {
        const h = new Harness();
        h.connect(v);
        expect((h.deliver({ topic: 't', retain: true })[0] as IPublishPacket).retain).to.equal(false);
      });
    });
  }

  describe('MQTT 5.0 only', () => {
    it('answers PUBACK 0x10 when no subscriber matched', () => {
      const h = new Harness({ matched: 0 });
      h.connect(5);
      expect(h.send(publish('a', 1, 1))).to.deep.equal([{ cmd: 'puback', messageId: 1, reasonCode: 0x10 }]);
      expect(h.send(publish('a', 2, 2))).to.deep.equal([{ cmd: 'pubrec', messageId: 2, reasonCode: 0x10 }]);
    });

    it('a PUBREC with a failure code ends the QoS 2 flow and frees the window', () => {
      const h = new Harness({ config: { maxInflight: 1 } });
      h.connect(5);
      const [p] = h.deliver({ topic: 'a', qos: 2 }) as IPublishPacket[];
      h.deliver({ topic: 'b', qos: 2 });
      const next = h.send({ cmd: 'pubrec', messageId: p!.messageId, reasonCode: 0x87 });
      expect(only(next, 'pubrel')).to.have.length(0);
      expect(only(next, 'publish').map((x) => x.topic)).to.deep.equal(['b']);
    });

    it('answers a PUBREC for an unknown packet id with PUBREL 0x92', () => {
      const h = new Harness();
      h.connect(5);
      expect(h.send({ cmd: 'pubrec', messageId: 40 })).to.deep.equal([{ cmd: 'pubrel', messageId: 40, reasonCode: 0x92 }]);
    });

    it('keeps RETAIN when the subscription asked Retain As Published [MQTT-3.3.1-13]', () => {
      const h = new Harness();
      h.connect(5);
      expect((h.deliver({ topic: 't', retain: true }, { retainAsPublished: true })[0] as IPublishPacket).retain).to.equal(true);
    });

    it('refuses a PUBLISH above Maximum QoS with DISCONNECT 0x9B [MQTT-3.2.2-11]', () => {
      const h = new Harness({ config: { maximumQoS: 1 } });
      h.connect(5);
      expect(only(h.send(publish('a', 2, 1)), 'disconnect')[0]!.reasonCode).to.equal(0x9b);
    });

    it('refuses a retained PUBLISH when retain is not available with DISCONNECT 0x9A [MQTT-3.2.2-14]', () => {
      const h = new Harness({ config: { retainAvailable: false } });
      h.connect(5);
      expect(only(h.send(publish('a', 0, undefined, { retain: true })), 'disconnect')[0]!.reasonCode).to.equal(0x9a);
    });

    it('closes with 0x99 on Payload Format Indicator 1 and a payload that is not UTF-8', () => {
      const h = new Harness();
      h.connect(5);
      const bad = publish('a', 0, undefined, { payload: Buffer.from([0xff, 0xfe]), properties: { payloadFormatIndicator: true } });
      expect(only(h.send(bad), 'disconnect')[0]!.reasonCode).to.equal(0x99);
      const h2 = new Harness();
      h2.connect(5);
      h2.send(publish('a', 0, undefined, { payload: Buffer.from('ok ✓'), properties: { payloadFormatIndicator: true } }));
      expect(h2.routed).to.have.length(1);
    });

    it('refuses a Response Topic with a wildcard or empty with DISCONNECT 0x82, and one with U+0000 with 0x81, routing nothing [MQTT-3.3.2-13,14]', () => {
      for (const [responseTopic, code] of [['reply/+', 0x82], ['reply/#', 0x82], ['', 0x82], ['re\u0000ply', 0x81]] as const) {
        const h = new Harness();
        h.connect(5);
        const out = h.send(publish('a', 1, 1, { properties: { responseTopic } }));
        expect(codesOf(out), JSON.stringify(responseTopic)).to.deep.equal([['disconnect', code]]);
        expect(h.closed).to.equal(true);
        expect(h.routed).to.deep.equal([]);
      }
      const ok = new Harness();
      ok.connect(5);
      ok.send(publish('a', 0, undefined, { properties: { responseTopic: 'reply/$x y' } }));
      expect(ok.routed[0]!.properties!.responseTopic).to.equal('reply/$x y');
    });

    it('forwards user properties unchanged and in order [MQTT-3.3.2-17,18]', () => {
      const h = new Harness();
      h.connect(5);
      const userProperties = { z: 'first', a: ['second', 'third'] };
      h.send(publish('a', 0, undefined, { properties: { userProperties, contentType: 'text/plain', responseTopic: 'r', correlationData: Buffer.from('c') } }));
      const routed = h.routed[0]!;
      expect(Object.keys(routed.properties!.userProperties!)).to.deep.equal(['z', 'a']);
      const [out] = h.deliver(routed) as IPublishPacket[];
      expect(out!.properties).to.deep.include({ userProperties, contentType: 'text/plain', responseTopic: 'r', correlationData: Buffer.from('c') });
    });

    it('carries the User Properties\' received order, where the decoder gives one, from the PUBLISH to the routed message and on to each PUBLISH it sends [MQTT-3.3.2-18]', () => {
      const h = new Harness();
      h.connect(5);
      // As the broker's decoder gives a=1, b=2, a=3: the object groups them, the order is beside it.
      const properties: NonNullable<IPublishPacket['properties']> = { userProperties: { a: ['1', '3'], b: '2' } };
      setUserPropertyOrder(properties, ['a', '1', 'b', '2', 'a', '3']);
      h.send(publish('a', 1, 5, { properties }));
      const routed = h.routed[0]!;
      // Plain data on the routed message: it survives the structured clone between threads.
      expect(structuredClone(routed.properties)).to.deep.equal({ userProperties: { a: ['1', '3'], b: '2' }, userPropertyOrder: ['a', '1', 'b', '2', 'a', '3'] });
      const [out] = h.deliver(structuredClone(routed), { subscriptionIds: [4] }) as IPublishPacket[];
      expect(userPropertyOrderOf(out!.properties)).to.deep.equal(['a', '1', 'b', '2', 'a', '3']);
      expect(out!.properties).to.deep.include({ userProperties: { a: ['1', '3'], b: '2' }, subscriptionIdentifier: 4 });
      // A PUBLISH whose object keeps the order carries none.
      h.send(publish('a', 0, undefined, { properties: { userProperties: { a: '1' } } }));
      expect(h.routed[1]!.properties).to.not.have.property('userPropertyOrder');
      expect(userPropertyOrderOf((h.deliver(h.routed[1]!) as IPublishPacket[])[0]!.properties)).to.equal(undefined);
    });

    it('does not include properties in a PUBLISH to a 3.1.1 client', () => {
      const h = new Harness();
      h.connect(4);
      const [p] = h.deliver({ topic: 't', properties: { contentType: 'x' }, expiresAt: h.now + 5000 }, { subscriptionIds: [3] }) as IPublishPacket[];
      expect(p!.properties).to.equal(undefined);
    });
  });
});
