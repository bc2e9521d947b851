import { expect } from 'chai';
import { Harness, only, VERSIONS } from './harness.js';

describe('session core: keep alive', () => {
  for (const v of VERSIONS) {
    describe(`MQTT ${v === 4 ? '3.1.1' : '5.0'}`, () => {
      it('survives at 1.5 × keep alive minus 1 ms and closes at 1.5 × [MQTT-3.1.2-24 (3.1.1), MQTT-3.1.2-22 (5.0)]', () => {
        const h = new Harness();
        h.connect(v, { keepalive: 10, will: { topic: 'w', payload: Buffer.from('x'), qos: 0, retain: false } });
        expect(h.core.nextDeadline()).to.equal(h.now + 15_000);
        h.advance(14_999);
        expect(h.closed).to.equal(false);
        const written = h.advance(1);
        expect(h.closed).to.equal(true);
        expect(h.actionsOf('close')[0]!.reasonCode).to.equal(0x8d);
        if (v === 5) expect(only(written, 'disconnect')[0]!.reasonCode).to.equal(0x8d);
        else expect(written).to.deep.equal([]);
        // The will goes, as for any connection the server closes.
        expect(h.routed.map((m) => m.topic)).to.deep.equal(['w']);
      });

      it('any packet from the client restarts the keep alive period', () => {
        const h = new Harness();
        h.connect(v, { keepalive: 10 });
        h.advance(14_000);
        h.send({ cmd: 'pingreq' });
        h.advance(14_999);
        expect(h.closed).to.equal(false);
        h.advance(1);
        expect(h.closed).to.equal(true);
      });

      it('keep alive 0 turns the mechanism off', () => {
        const h = new Harness();
        h.connect(v, { keepalive: 0 });
        expect(h.core.nextDeadline()).to.equal(undefined);
        h.advance(10_000_000);
        expect(h.closed).to.equal(false);
      });
    });
  }

  it('MQTT 5.0: a Server Keep Alive replaces the client value for the timeout [MQTT-3.2.2-21,22]', () => {
    const h = new Harness({ config: { maxKeepAlive: 4 } });
    h.connect(5, { keepalive: 100 });
    h.advance(5_999);
    expect(h.closed).to.equal(false);
    h.advance(1);
    expect(h.closed).to.equal(true);
  });
});
