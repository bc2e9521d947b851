import { expect } from 'chai';
import type { IPublishPacket, ISubscribePacket } from 'mqtt-packet';
import { Harness, only, publish, VERSIONS } from './harness.js';

function sub(messageId: number, topic: string, extra: Partial<ISubscribePacket['subscriptions'][number]> = {}, subscriptionIdentifier?: number): ISubscribePacket {
  return { cmd: 'subscribe', messageId, subscriptions: [{ topic, qos: 1, ...extra }], ...(subscriptionIdentifier ? { properties: { subscriptionIdentifier } } : {}) };
}

describe('session core: retained messages', () => {
  for (const v of VERSIONS) {
    describe(`MQTT ${v === 4 ? '3.1.1' : '5.0'}`, () => {
      it('asks the runtime to store a retained PUBLISH and routes it [MQTT-3.3.1-5 (3.1.1)]', () => {
        const h = new Harness();
        h.connect(v);
        h.send(publish('s/1', 1, 1, { retain: true, payload: Buffer.from('on') }));
        const kinds = h.actions.map((a) => a.kind);
        expect(kinds.indexOf('retain')).to.be.lessThan(kinds.indexOf('route'));
        expect(String(h.retained.get('s/1')!.payload)).to.equal('on');
      });

      it('deletes the retained message on a retained PUBLISH with an empty payload [MQTT-3.3.1-10,11 (3.1.1)]', () => {
        const h = new Harness();
        h.connect(v);
        h.send(publish('s/1', 0, undefined, { retain: true }));
        h.send(publish('s/1', 0, undefined, { retain: true, payload: Buffer.alloc(0) }));
        expect(h.actionsOf('retain')[1]).to.deep.equal({ kind: 'retain', topic: 's/1' });
        expect(h.retained.has('s/1')).to.equal(false);
      });

      it('sends matching retained messages after the SUBACK with RETAIN=1 [MQTT-3.3.1-6,8 (3.1.1)]', () => {
        const h = new Harness();
        h.connect(v);
        h.retained.set('s/1', { topic: 's/1', payload: Buffer.from('r'), qos: 1, retain: true });
        const reply = h.send(sub(1, 's/#'));
        expect(reply.map((p) => p.cmd)).to.deep.equal(['suback', 'publish']);
        expect(reply[1]).to.include({ topic: 's/1', retain: true, qos: 1 });
      });

      it('re-sends retained messages when a subscription is replaced (Retain Handling 0) [MQTT-3.8.4-3 (3.1.1)]', () => {
        const h = new Harness();
        h.connect(v);
        h.retained.set('s', { topic: 's', payload: Buffer.from('r'), qos: 0, retain: true });
        h.send(sub(1, 's'));
        expect(only(h.send(sub(2, 's')), 'publish')).to.have.length(1);
      });
    });
  }

  describe('MQTT 5.0 only', () => {
    it('Retain Handling 1 sends retained messages only for a new subscription', () => {
      const h = new Harness();
      h.connect(5);
      h.retained.set('s', { topic: 's', payload: Buffer.from('r'), qos: 0, retain: true });
      expect(only(h.send(sub(1, 's', { rh: 1 })), 'publish')).to.have.length(1);
      expect(only(h.send(sub(2, 's', { rh: 1 })), 'publish')).to.have.length(0);
    });

    it('Retain Handling 2 never sends retained messages', () => {
      const h = new Harness();
      h.connect(5);
      h.retained.set('s', { topic: 's', payload: Buffer.from('r'), qos: 0, retain: true });
      expect(only(h.send(sub(1, 's', { rh: 2 })), 'publish')).to.have.length(0);
    });

    it('a retained message for a new subscription carries its subscription identifier', () => {
      const h = new Harness();
      h.connect(5);
      h.retained.set('s', { topic: 's', payload: Buffer.from('r'), qos: 0, retain: true });
      const [p] = only(h.send(sub(1, 's', {}, 9)), 'publish') as IPublishPacket[];
      expect(p!.properties!.subscriptionIdentifier).to.equal(9);
    });
  });
});
