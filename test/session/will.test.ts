import { expect } from 'chai';
import type { IConnectPacket } from 'mqtt-packet';
import { setUserPropertyOrder } from '../../src/protocol/user-property-order.js';
import { SessionState } from '../../src/session/core/index.js';
import { Harness, VERSIONS } from './harness.js';

function will(extra: Partial<NonNullable<IConnectPacket['will']>> = {}): NonNullable<IConnectPacket['will']> {
  return { topic: 'clients/c/status', payload: Buffer.from('gone'), qos: 1, retain: false, ...extra };
}

describe('session core: will message', () => {
  for (const v of VERSIONS) {
    describe(`MQTT ${v === 4 ? '3.1.1' : '5.0'}`, () => {
      it('discards the will on a normal DISCONNECT [MQTT-3.1.2-10 (3.1.1), MQTT-3.14.4-3 (5.0)]', () => {
        const h = new Harness();
        h.connect(v, { will: will() });
        h.send({ cmd: 'disconnect' });
        h.drop();
        expect(h.routed).to.have.length(0);
        expect(h.closed).to.equal(true);
      });

      it('publishes the will when the connection is lost without DISCONNECT [MQTT-3.1.2-8]', () => {
        const h = new Harness();
        h.connect(v, { will: will() });
        h.drop();
        expect(h.routed.map((m) => [m.topic, String(m.payload), m.qos])).to.deep.equal([['clients/c/status', 'gone', 1]]);
        expect(h.actionsOf('route')[0]!.origin).to.equal('will');
      });

      it('publishes the will when the server closes for a protocol error [MQTT-3.1.2-8]', () => {
        const h = new Harness();
        h.connect(v, { will: will() });
        h.send({ cmd: 'connack', sessionPresent: false } as never);
        expect(h.closed).to.equal(true);
        expect(h.routed).to.have.length(1);
      });

      it('stores a will with RETAIN as a retained message', () => {
        const h = new Harness();
        h.connect(v, { will: will({ retain: true }) });
        h.drop();
        expect(String(h.retained.get('clients/c/status')!.payload)).to.equal('gone');
      });

      it('routes the will before the session ends', () => {
        const h = new Harness();
        h.connect(v, { will: will(), clean: true });
        h.drop();
        const kinds = h.actions.map((a) => a.kind);
        expect(kinds.indexOf('route')).to.be.lessThan(kinds.indexOf('endSession'));
      });
    });
  }

  describe('MQTT 5.0 only', () => {
    it('publishes the will on DISCONNECT 0x04 Disconnect with Will Message', () => {
      const h = new Harness();
      h.connect(5, { will: will() });
      h.send({ cmd: 'disconnect', reasonCode: 0x04 });
      expect(h.routed).to.have.length(1);
    });

    it('publishes the will on a DISCONNECT with an error reason code: only 0x00 discards it [MQTT-3.1.2-8, MQTT-3.14.4-3]', () => {
      for (const code of [0x80, 0x81, 0x82, 0x83, 0x93, 0x95, 0x99]) {
        const h = new Harness();
        h.connect(5, { will: will() });
        h.send({ cmd: 'disconnect', reasonCode: code });
        expect(h.closed, `0x${code.toString(16)} closes`).to.equal(true);
        expect(h.routed.map((m) => m.topic), `0x${code.toString(16)}`).to.deep.equal(['clients/c/status']);
      }
      const normal = new Harness();
      normal.connect(5, { will: will() });
      normal.send({ cmd: 'disconnect', reasonCode: 0x00 });
      expect(normal.routed).to.have.length(0);
    });

    it('a DISCONNECT with an error reason code keeps the Will Delay Interval [MQTT-3.1.2-8]', () => {
      const h = new Harness();
      h.connect(5, { will: will({ properties: { willDelayInterval: 10 } }), properties: { sessionExpiryInterval: 100 } });
      h.send({ cmd: 'disconnect', reasonCode: 0x80 });
      expect(h.routed).to.have.length(0);
      h.advance(10_000);
      expect(h.routed).to.have.length(1);
    });

    it('publishes and retains the will with its User Properties in the order received, where the decoder gives one [MQTT-3.1.3-10]', () => {
      const h = new Harness();
      const properties = { userProperties: { '0': 'b', x: 'a' } };
      setUserPropertyOrder(properties, ['x', 'a', '0', 'b']);
      h.connect(5, { will: will({ retain: true, properties }) });
      h.drop();
      expect(h.routed[0]!.properties).to.deep.equal({ userProperties: { '0': 'b', x: 'a' }, userPropertyOrder: ['x', 'a', '0', 'b'] });
      expect(h.retained.get('clients/c/status')!.properties).to.have.property('userPropertyOrder').that.deep.equals(['x', 'a', '0', 'b']);
    });

    it('delays the will by the Will Delay Interval', () => {
      const h = new Harness();
      h.connect(5, { will: will({ properties: { willDelayInterval: 10 } }), properties: { sessionExpiryInterval: 100 } });
      h.drop();
      expect(h.routed).to.have.length(0);
      expect(h.core.nextDeadline()).to.equal(h.now + 10_000);
      h.advance(9_999);
      expect(h.routed).to.have.length(0);
      h.advance(1);
      expect(h.routed).to.have.length(1);
      expect(h.core.state).to.equal(SessionState.Offline);
    });

    it('does not send the will if the session is resumed within the delay [MQTT-3.1.3-9]', () => {
      const h = new Harness();
      h.connect(5, { clean: false, will: will({ properties: { willDelayInterval: 10 } }), properties: { sessionExpiryInterval: 100 } });
      h.drop();
      h.advance(5_000);
      h.connect(5, { clean: false, properties: { sessionExpiryInterval: 100 } });
      h.advance(10_000);
      expect(h.routed).to.have.length(0);
    });

    it('sends a delayed will when a Clean Start connection ends its session within the delay (§3.1.3.2.2)', () => {
      const h = new Harness();
      h.connect(5, { clean: false, will: will({ properties: { willDelayInterval: 60 } }), properties: { sessionExpiryInterval: 100 } });
      h.drop();
      h.advance(5_000);
      expect(h.routed).to.have.length(0);
      h.connect(5, { clean: true, properties: { sessionExpiryInterval: 100 } });
      expect(h.routed.map((m) => m.topic)).to.deep.equal(['clients/c/status']);
      h.advance(120_000);
      expect(h.routed).to.have.length(1);
    });

    it('sends a delayed will when the session ends first (session expiry before will delay)', () => {
      const h = new Harness();
      h.connect(5, { will: will({ properties: { willDelayInterval: 60 } }), properties: { sessionExpiryInterval: 5 } });
      h.drop();
      expect(h.core.nextDeadline()).to.equal(h.now + 5_000);
      h.advance(5_000);
      expect(h.routed).to.have.length(1);
      expect(h.ended).to.equal(true);
    });

    it('sends a delayed will at once when the session expiry interval is 0', () => {
      const h = new Harness();
      h.connect(5, { will: will({ properties: { willDelayInterval: 60 } }) });
      h.drop();
      expect(h.routed).to.have.length(1);
      expect(h.ended).to.equal(true);
    });

    it('gives the will its Message Expiry Interval from the time it is published', () => {
      const h = new Harness();
      h.connect(5, { will: will({ properties: { willDelayInterval: 10, messageExpiryInterval: 30 } }), properties: { sessionExpiryInterval: 100 } });
      h.drop();
      h.advance(10_000);
      expect(h.routed[0]!.expiresAt).to.equal(h.now + 30_000);
    });

    it('on takeover publishes the old will when its delay is 0', () => {
      const h = new Harness();
      h.connect(5, { clean: false, will: will(), properties: { sessionExpiryInterval: 100 } });
      h.connect(5, { clean: false, properties: { sessionExpiryInterval: 100 } });
      expect(h.routed).to.have.length(1);
    });

    it('on takeover does not publish a delayed will of a session that continues [MQTT-3.1.3-9]', () => {
      const h = new Harness();
      h.connect(5, { clean: false, will: will({ properties: { willDelayInterval: 30 } }), properties: { sessionExpiryInterval: 100 } });
      h.connect(5, { clean: false, properties: { sessionExpiryInterval: 100 } });
      h.advance(60_000);
      expect(h.routed).to.have.length(0);
    });
  });
});

describe('session core: will on takeover and shutdown', () => {
  it('MQTT 3.1.1: a takeover publishes the old connection\'s will (the server closed it without DISCONNECT)', () => {
    const h = new Harness();
    h.connect(4, { clean: false, will: will() });
    h.connect(4, { clean: false });
    expect(h.routed.map((m) => m.topic)).to.deep.equal(['clients/c/status']);
  });

  for (const v of VERSIONS) {
    it(`MQTT ${v === 4 ? '3.1.1' : '5.0'}: shutdown publishes the will at once, whatever its delay`, () => {
      const h = new Harness();
      h.connect(v, { will: will(v === 5 ? { properties: { willDelayInterval: 600 } } : {}), ...(v === 5 ? { properties: { sessionExpiryInterval: 3600 } } : {}) });
      h.apply(h.core.shutdown(h.now));
      expect(h.routed).to.have.length(1);
      expect(h.ended).to.equal(true);
    });
  }
});
