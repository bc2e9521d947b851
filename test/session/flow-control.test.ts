import { expect } from 'chai';
import type { IPublishPacket } from 'mqtt-packet';
import { Harness, only, publish, VERSIONS } from './harness.js';

describe('session core: flow control and bounds', () => {
  for (const v of VERSIONS) {
    describe(`MQTT ${v === 4 ? '3.1.1' : '5.0'}`, () => {
      it('keeps at most maxInflight QoS 1/2 messages in flight and sends the next on PUBACK', () => {
        const h = new Harness({ config: { maxInflight: 2 } });
        h.connect(v);
        for (const t of ['a', 'b', 'c']) h.deliver({ topic: t, qos: 1 });
        expect(only(h.out, 'publish').map((p) => p.topic)).to.deep.equal(['a', 'b']);
        expect(h.core.stats().queued).to.equal(1);
        const next = h.send({ cmd: 'puback', messageId: 1 });
        expect(only(next, 'publish').map((p) => p.topic)).to.deep.equal(['c']);
      });

      it('QoS 0 is not held back by a full window', () => {
        const h = new Harness({ config: { maxInflight: 1 } });
        h.connect(v);
        h.deliver({ topic: 'a', qos: 1 });
        expect(h.deliver({ topic: 'b', qos: 0 })).to.have.length(1);
      });

      it('bounds the queue at maxQueued, dropping QoS 0 first and counting every drop', () => {
        const h = new Harness({ config: { maxInflight: 1, maxQueued: 2 } });
        h.connect(v);
        h.deliver({ topic: 'inflight', qos: 1 });
        h.deliver({ topic: 'q1', qos: 1 });
        h.deliver({ topic: 'q2', qos: 1 });
        h.deliver({ topic: 'q3', qos: 1 });
        expect(h.core.stats().queued).to.equal(2);
        expect(h.core.stats().dropped['queue-full']).to.equal(1);
        expect(h.actionsOf('dropped')[0]).to.deep.include({ topic: 'q3', cause: 'queue-full' });
      });

      it('when full, an arriving QoS 1 replaces the oldest queued QoS 0 (offline, queueQoS0Offline)', () => {
        const h = new Harness({ config: { maxQueued: 2, queueQoS0Offline: true } });
        h.connect(v, { clean: false, ...(v === 5 ? { properties: { sessionExpiryInterval: 60 } } : {}) });
        h.drop();
        h.deliver({ topic: 'zero', qos: 0 });
        h.deliver({ topic: 'one', qos: 1 });
        h.deliver({ topic: 'two', qos: 1 });
        h.deliver({ topic: 'late-zero', qos: 0 });
        expect(h.actionsOf('dropped').map((d) => d.topic)).to.deep.equal(['zero', 'late-zero']);
        h.connect(v, { clean: false });
        expect(only(h.out, 'publish').map((p) => p.topic)).to.deep.equal(['one', 'two']);
      });

      it('ignores a PUBACK for an unknown packet id', () => {
        const h = new Harness();
        h.connect(v);
        expect(h.send({ cmd: 'puback', messageId: 999 })).to.deep.equal([]);
        expect(h.closed).to.equal(false);
      });
    });
  }

  describe('MQTT 5.0 only', () => {
    it("honours the client's Receive Maximum as the outbound window [MQTT-3.3.4-9]", () => {
      const h = new Harness({ config: { maxInflight: 10 } });
      h.connect(5, { properties: { receiveMaximum: 1 } });
      h.deliver({ topic: 'a', qos: 2 });
      expect(h.deliver({ topic: 'b', qos: 1 })).to.deep.equal([]);
      const p = only(h.out, 'publish')[0] as IPublishPacket;
      h.send({ cmd: 'pubrec', messageId: p.messageId });
      expect(h.core.stats().queued).to.equal(1);
      expect(only(h.send({ cmd: 'pubcomp', messageId: p.messageId }), 'publish').map((x) => x.topic)).to.deep.equal(['b']);
    });

    it('closes with 0x93 when the client exceeds our Receive Maximum', () => {
      const h = new Harness({ config: { receiveMaximum: 2 }, autoRoute: false });
      h.connect(5);
      h.send(publish('a', 1, 1));
      h.send(publish('a', 2, 2));
      const reply = h.send(publish('a', 1, 3));
      expect(only(reply, 'disconnect')[0]!.reasonCode).to.equal(0x93);
    });

    it('a QoS 2 message counts against Receive Maximum until PUBCOMP is sent', () => {
      const h = new Harness({ config: { receiveMaximum: 1 } });
      h.connect(5);
      h.send(publish('a', 2, 1));
      expect(only(h.send(publish('a', 1, 2)), 'disconnect')[0]!.reasonCode).to.equal(0x93);
      const h2 = new Harness({ config: { receiveMaximum: 1 } });
      h2.connect(5);
      h2.send(publish('a', 2, 1));
      h2.send({ cmd: 'pubrel', messageId: 1 });
      expect(h2.send(publish('a', 1, 2))).to.deep.equal([{ cmd: 'puback', messageId: 2 }]);
    });
  });
});
