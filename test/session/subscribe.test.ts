import { expect } from 'chai';
import type { ISubscribePacket } from 'mqtt-packet';
import { Harness, only, VERSIONS } from './harness.js';

function subscribe(messageId: number, subs: ISubscribePacket['subscriptions'], properties?: ISubscribePacket['properties']): ISubscribePacket {
  return { cmd: 'subscribe', messageId, subscriptions: subs, ...(properties ? { properties } : {}) };
}

describe('session core: SUBSCRIBE / UNSUBSCRIBE', () => {
  for (const v of VERSIONS) {
    describe(`MQTT ${v === 4 ? '3.1.1' : '5.0'}`, () => {
      it('answers SUBACK with one granted QoS per filter in order [MQTT-3.8.4-5 (3.1.1), MQTT-3.9.3-1 (5.0)]', () => {
        const h = new Harness();
        h.connect(v);
        const reply = h.send(subscribe(4, [{ topic: 'a/#', qos: 2 }, { topic: 'b', qos: 0 }, { topic: 'c/+', qos: 1 }]));
        expect(only(reply, 'suback')).to.deep.equal([{ cmd: 'suback', messageId: 4, granted: [2, 0, 1] }]);
        expect([...h.subscriptions.keys()]).to.deep.equal(['a/#', 'b', 'c/+']);
      });

      it('fails an invalid filter with 0x80 (v5: 0x8F) and still grants the others [MQTT-4.7.1-2]', () => {
        const h = new Harness();
        h.connect(v);
        const reply = h.send(subscribe(1, [{ topic: 'a/#/b', qos: 1 }, { topic: 'ok', qos: 1 }]));
        expect(only(reply, 'suback')[0]!.granted).to.deep.equal([v === 5 ? 0x8f : 0x80, 1]);
        expect([...h.subscriptions.keys()]).to.deep.equal(['ok']);
      });

      it('reports a register refusal as a SUBACK failure (v5: 0x97 by default)', () => {
        const h = new Harness({ refuseFilters: ['full'] });
        h.connect(v);
        expect(only(h.send(subscribe(1, [{ topic: 'full', qos: 1 }])), 'suback')[0]!.granted).to.deep.equal([v === 5 ? 0x97 : 0x80]);
      });

      it('grants at most maximumQoS (section 3.8.4)', () => {
        const h = new Harness({ config: { maximumQoS: 1 } });
        h.connect(v);
        expect(only(h.send(subscribe(1, [{ topic: 'x', qos: 2 }])), 'suback')[0]!.granted).to.deep.equal([1]);
      });

      it('waits for the register before the SUBACK', () => {
        const h = new Harness({ autoSubscribe: false });
        h.connect(v);
        expect(h.send(subscribe(1, [{ topic: 'x', qos: 1 }]))).to.deep.equal([]);
        const action = h.actionsOf('subscribe')[0]!;
        expect(action.entries).to.deep.equal([{ filter: 'x', options: v === 5 ? { qos: 1, retainHandling: 0 } : { qos: 1 } }]);
        h.apply(h.core.completeSubscribe(1, [{ ok: true, isNew: true }], h.now));
        expect(only(h.out, 'suback')).to.have.length(1);
      });

      it('closes on a SUBSCRIBE with packet id 0 [MQTT-2.3.1-1]', () => {
        const h = new Harness();
        h.connect(v);
        h.send(subscribe(0, [{ topic: 'x', qos: 0 }]));
        expect(h.closed).to.equal(true);
      });

      it('answers UNSUBSCRIBE with UNSUBACK (v5: 0x00 / 0x11 per filter) [MQTT-3.10.4-4]', () => {
        const h = new Harness();
        h.connect(v);
        h.send(subscribe(1, [{ topic: 'a', qos: 0 }]));
        const reply = h.send({ cmd: 'unsubscribe', messageId: 2, unsubscriptions: ['a', 'never'] });
        expect(reply).to.deep.equal([{ cmd: 'unsuback', messageId: 2, granted: v === 5 ? [0x00, 0x11] : [] }]);
        expect(h.subscriptions.size).to.equal(0);
      });

      it('accepts a shared subscription and never asks for retained messages for it', () => {
        const h = new Harness();
        h.connect(v);
        h.retained.set('a', { topic: 'a', payload: Buffer.from('r'), qos: 0, retain: true });
        const reply = h.send(subscribe(1, [{ topic: '$share/g/a', qos: 1 }]));
        expect(only(reply, 'suback')[0]!.granted).to.deep.equal([1]);
        expect(h.actionsOf('sendRetained')).to.have.length(0);
      });

      it(v === 5
        ? 'shared subscriptions when Shared Subscription Available is 0: DISCONNECT 0x9E, nothing subscribed (5.0 section 3.2.2.3.13)'
        : 'refuses shared subscriptions when not available with SUBACK 0x80', () => {
        const h = new Harness({ config: { sharedSubscriptionAvailable: false } });
        h.connect(v);
        const reply = h.send(subscribe(1, [{ topic: 'a', qos: 1 }, { topic: '$share/g/a', qos: 1 }]));
        if (v === 5) {
          expect(reply).to.deep.equal([{ cmd: 'disconnect', reasonCode: 0x9e, properties: { reasonString: 'shared subscription, but Shared Subscription Available is 0 (5.0 section 3.2.2.3.13)' } }]);
          expect(h.closed).to.equal(true);
          expect(h.actionsOf('subscribe')).to.have.length(0);
        } else {
          expect(only(reply, 'suback')[0]!.granted).to.deep.equal([1, 0x80]);
        }
      });

      it(v === 5
        ? 'wildcard subscriptions when Wildcard Subscription Available is 0: DISCONNECT 0xA2, nothing subscribed (5.0 section 3.2.2.3.11)'
        : 'refuses wildcard subscriptions when not available with SUBACK 0x80', () => {
        const h = new Harness({ config: { wildcardSubscriptionAvailable: false } });
        h.connect(v);
        const reply = h.send(subscribe(1, [{ topic: 'a', qos: 1 }, { topic: 'a/#', qos: 1 }]));
        if (v === 5) {
          expect(only(reply, 'disconnect').map((p) => p.reasonCode)).to.deep.equal([0xa2]);
          expect(only(reply, 'suback')).to.deep.equal([]);
          expect(h.closed).to.equal(true);
          expect(h.actionsOf('subscribe')).to.have.length(0);
        } else {
          expect(only(reply, 'suback')[0]!.granted).to.deep.equal([1, 0x80]);
        }
      });
    });
  }

  describe('MQTT 5.0 only', () => {
    it('passes No Local, Retain As Published and Retain Handling to the register', () => {
      const h = new Harness();
      h.connect(5);
      h.send(subscribe(1, [{ topic: 'a', qos: 1, nl: true, rap: true, rh: 2 }]));
      expect(h.actionsOf('subscribe')[0]!.entries[0]!.options).to.deep.equal({ qos: 1, noLocal: true, retainAsPublished: true, retainHandling: 2 });
    });

    it('treats No Local on a shared subscription as a protocol error [MQTT-3.8.3-4]', () => {
      const h = new Harness();
      h.connect(5);
      const reply = h.send(subscribe(1, [{ topic: '$share/g/a', qos: 1, nl: true }]));
      expect(only(reply, 'disconnect')[0]!.reasonCode).to.equal(0x82);
      expect(h.closed).to.equal(true);
    });

    it('passes the subscription identifier with every entry', () => {
      const h = new Harness();
      h.connect(5);
      h.send(subscribe(1, [{ topic: 'a', qos: 0 }, { topic: 'b', qos: 0 }], { subscriptionIdentifier: 42 }));
      expect(h.actionsOf('subscribe')[0]!.entries.map((e) => e.options.subscriptionId)).to.deep.equal([42, 42]);
    });

    it('a Subscription Identifier of 0 is a protocol error: DISCONNECT 0x82, nothing subscribed (5.0 section 3.8.2.1.2)', () => {
      const h = new Harness();
      h.connect(5);
      expect(only(h.send(subscribe(1, [{ topic: 'a', qos: 0 }], { subscriptionIdentifier: 0 })), 'disconnect')[0]!.reasonCode).to.equal(0x82);
      expect(h.actionsOf('subscribe')).to.have.length(0);
    });

    it('closes with 0xA1 on a subscription identifier when they are not available', () => {
      const h = new Harness({ config: { subscriptionIdentifiersAvailable: false } });
      h.connect(5);
      expect(only(h.send(subscribe(1, [{ topic: 'a', qos: 0 }], { subscriptionIdentifier: 1 })), 'disconnect')[0]!.reasonCode).to.equal(0xa1);
    });

    it('fails an invalid UNSUBSCRIBE filter with 0x8F without asking the register', () => {
      const h = new Harness();
      h.connect(5);
      expect(h.send({ cmd: 'unsubscribe', messageId: 3, unsubscriptions: ['a/#/b'] })).to.deep.equal([{ cmd: 'unsuback', messageId: 3, granted: [0x8f] }]);
      expect(h.actionsOf('unsubscribe')).to.have.length(0);
    });
  });
});

describe('session core: SUBSCRIBE across connections', () => {
  for (const v of VERSIONS) {
    it(`MQTT ${v === 4 ? '3.1.1' : '5.0'}: a SUBSCRIBE still pending when the connection ends does not block its packet id on the next one`, () => {
      const h = new Harness({ autoSubscribe: false });
      h.connect(v, { clean: false, ...(v === 5 ? { properties: { sessionExpiryInterval: 60 } } : {}) });
      h.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a', qos: 1 }] });
      h.connect(v, { clean: false });
      h.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'b', qos: 1 }] });
      expect(h.closed).to.equal(false);
      // The late answer for the first connection's SUBSCRIBE is ignored; the second one's is sent.
      h.apply(h.core.completeSubscribe(1, [{ ok: false }], h.now));
      expect(only(h.out, 'suback')).to.deep.equal([]);
      h.apply(h.core.completeSubscribe(1, [{ ok: true, isNew: true }], h.now));
      expect(only(h.out, 'suback')).to.deep.equal([{ cmd: 'suback', messageId: 1, granted: [1] }]);
    });
  }
});
