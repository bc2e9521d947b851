import { expect } from 'chai';
import type { IPublishPacket } from 'mqtt-packet';
import { encodePacket } from '../../src/protocol/encoder.js';
import { SessionState, TRANSITIONS } from '../../src/session/core/index.js';
import { Harness, only, VERSIONS } from './harness.js';

const persistent = (v: 4 | 5) => ({ clean: false, ...(v === 5 ? { properties: { sessionExpiryInterval: 3600 } } : {}) });

describe('session core: session state across connections', () => {
  for (const v of VERSIONS) {
    describe(`MQTT ${v === 4 ? '3.1.1' : '5.0'}`, () => {
      it('queues QoS 1/2 while offline and delivers them after CONNACK on resume [MQTT-3.1.2-5 (3.1.1), MQTT-3.1.2-4 (5.0)]', () => {
        const h = new Harness();
        h.connect(v, persistent(v));
        h.drop();
        h.deliver({ topic: 'a', qos: 1 });
        h.deliver({ topic: 'b', qos: 2 });
        h.deliver({ topic: 'c', qos: 0 });
        expect(h.core.stats().queued).to.equal(2);
        expect(h.core.stats().dropped['offline-qos0']).to.equal(1);
        h.connect(v, { clean: false });
        expect(h.out.map((p) => p.cmd)).to.deep.equal(['connack', 'publish', 'publish']);
        expect((h.out.slice(1) as IPublishPacket[]).map((p) => [p.topic, p.qos])).to.deep.equal([['a', 1], ['b', 2]]);
      });

      it('resends unacknowledged PUBLISH with DUP=1 and PUBREL in original order on resume [MQTT-4.4.0-1, MQTT-3.3.1-1]', () => {
        const h = new Harness();
        h.connect(v, persistent(v));
        const first = h.deliver({ topic: 'one', qos: 1 })[0] as IPublishPacket;
        const second = h.deliver({ topic: 'two', qos: 2 })[0] as IPublishPacket;
        const third = h.deliver({ topic: 'three', qos: 2 })[0] as IPublishPacket;
        h.send({ cmd: 'pubrec', messageId: second.messageId });
        h.drop();
        h.connect(v, { clean: false });
        const resent = h.out.slice(1);
        expect(resent).to.deep.equal([
          { ...first, dup: true },
          { cmd: 'pubrel', messageId: second.messageId },
          { ...third, dup: true },
        ]);
      });

      it('clean session / clean start discards queued and in-flight messages [MQTT-3.1.2-6 (3.1.1), MQTT-3.1.2-4 (5.0)]', () => {
        const h = new Harness();
        h.connect(v, persistent(v));
        h.deliver({ topic: 'one', qos: 1 });
        h.drop();
        h.deliver({ topic: 'two', qos: 1 });
        h.connect(v, { clean: true });
        expect(only(h.out, 'publish')).to.have.length(0);
        expect(h.core.stats()).to.include({ inflight: 0, queued: 0 });
      });

      it('a clean session ends with its connection', () => {
        const h = new Harness();
        h.connect(v, { clean: true });
        h.drop();
        expect(h.core.state).to.equal(SessionState.Ended);
        expect(h.actionsOf('endSession')).to.have.length(1);
      });

      it('ignores a connectionLost after the core closed the connection itself', () => {
        const h = new Harness();
        h.connect(v, persistent(v));
        h.send({ cmd: 'disconnect' });
        const n = h.actions.length;
        h.drop();
        expect(h.actions.length).to.equal(n);
        expect(h.core.state).to.equal(SessionState.Offline);
      });

      it('ends the session on shutdown (v5 DISCONNECT 0x8B) and on an administrative end (0x98)', () => {
        const a = new Harness();
        a.connect(v, persistent(v));
        a.apply(a.core.shutdown(a.now));
        expect(a.ended).to.equal(true);
        if (v === 5) expect(only(a.out, 'disconnect')[0]!.reasonCode).to.equal(0x8b);
        else expect(only(a.out, 'disconnect')).to.have.length(0);
        const b = new Harness();
        b.connect(v, persistent(v));
        b.apply(b.core.end(b.now, 'kicked'));
        expect(b.ended).to.equal(true);
        if (v === 5) expect(only(b.out, 'disconnect')[0]!.reasonCode).to.equal(0x98);
      });
    });
  }

  describe('MQTT 5.0 only', () => {
    it("resends on resume no more than the client's new Receive Maximum, the rest in order as acks come [MQTT-3.3.4-9, MQTT-4.4.0-1]", () => {
      const h = new Harness();
      h.connect(5, persistent(5));
      for (const t of ['one', 'two', 'three']) h.deliver({ topic: t, qos: 1 });
      h.drop();
      h.deliver({ topic: 'four', qos: 1 });
      h.connect(5, { clean: false, properties: { sessionExpiryInterval: 3600, receiveMaximum: 2 } });
      expect(only(h.out, 'publish').map((p) => [p.topic, p.dup])).to.deep.equal([['one', true], ['two', true]]);
      const next = h.send({ cmd: 'puback', messageId: 1 });
      expect(only(next, 'publish').map((p) => [p.topic, p.dup, p.messageId])).to.deep.equal([['three', true, 3]]);
      const last = h.send({ cmd: 'puback', messageId: 2 });
      expect(only(last, 'publish').map((p) => [p.topic, p.dup])).to.deep.equal([['four', false]]);
    });

    it("on resume does not resend an in-flight PUBLISH above the client's new Maximum Packet Size: it is discarded as delivered and counted, as live delivery does [MQTT-3.1.2-24, MQTT-3.1.2-25]", () => {
      const h = new Harness();
      h.connect(5, persistent(5));
      const [big] = h.deliver({ topic: 'big', qos: 1, payload: Buffer.alloc(200) }) as IPublishPacket[];
      const [small] = h.deliver({ topic: 'small', qos: 1 }) as IPublishPacket[];
      h.drop();
      h.deliver({ topic: 'queued-big', qos: 2, payload: Buffer.alloc(200) });
      h.deliver({ topic: 'queued-small', qos: 1 });
      // The new connection allows 64 bytes and one unacknowledged PUBLISH.
      h.connect(5, { clean: false, properties: { sessionExpiryInterval: 3600, maximumPacketSize: 64, receiveMaximum: 1 } });
      for (const p of h.out) expect(encodePacket(p, 5).length, `${p.cmd} size`).to.be.at.most(64);
      // The discarded message takes no place in the window: the next one is resent at once.
      expect(only(h.out, 'publish').map((p) => [p.topic, p.dup, p.messageId])).to.deep.equal([['small', true, small!.messageId]]);
      expect(h.actionsOf('dropped').map((d) => [d.topic, d.cause])).to.deep.equal([['big', 'too-large']]);
      // Nothing waits for its acknowledgement any more: the session holds only what is still owed.
      expect(h.core.stats()).to.deep.include({ inflight: 1, queued: 2 });
      expect(h.send({ cmd: 'puback', messageId: big!.messageId })).to.deep.equal([]);
      const next = h.send({ cmd: 'puback', messageId: small!.messageId });
      expect(only(next, 'publish').map((p) => [p.topic, p.dup])).to.deep.equal([['queued-small', false]]);
      expect(h.core.stats().dropped['too-large']).to.equal(2);
      expect(h.core.stats()).to.deep.include({ inflight: 1, queued: 0 });
    });

    it("on resume resends every PUBREL at once, never held back by the client's Receive Maximum, and they take none of its quota [MQTT-3.3.4-10, MQTT-4.4.0-1] (5.0 section 4.9)", () => {
      const h = new Harness();
      h.connect(5, persistent(5));
      const ids = ['one', 'two', 'three'].map((t) => (h.deliver({ topic: t, qos: 2 })[0] as IPublishPacket).messageId!);
      const four = (h.deliver({ topic: 'four', qos: 1 })[0] as IPublishPacket).messageId!;
      h.send({ cmd: 'pubrec', messageId: ids[0] });
      h.send({ cmd: 'pubrec', messageId: ids[1] });
      h.drop();
      h.connect(5, { clean: false, properties: { sessionExpiryInterval: 3600, receiveMaximum: 1 } });
      // Both PUBRELs, then as many PUBLISHes as Receive Maximum allows (one), in original order.
      expect(h.out.slice(1).map((p) => [p.cmd, p.messageId])).to.deep.equal([
        ['pubrel', ids[0]],
        ['pubrel', ids[1]],
        ['publish', ids[2]],
      ]);
      // A PUBCOMP for a resent PUBREL frees no quota of this connection: 'three' still holds it.
      expect(h.send({ cmd: 'pubcomp', messageId: ids[0] })).to.deep.equal([]);
      expect(h.send({ cmd: 'pubrec', messageId: ids[2] }).map((p) => [p.cmd, p.messageId])).to.deep.equal([['pubrel', ids[2]]]);
      // 'three' counts until its PUBCOMP [MQTT-3.3.4-9]; then 'four' is resent.
      expect(h.send({ cmd: 'pubcomp', messageId: ids[1] })).to.deep.equal([]);
      expect(only(h.send({ cmd: 'pubcomp', messageId: ids[2] }), 'publish').map((p) => [p.topic, p.dup, p.messageId])).to.deep.equal([['four', true, four]]);
    });

    it('ends an offline session after its Session Expiry Interval', () => {
      const h = new Harness();
      h.connect(5, { clean: false, properties: { sessionExpiryInterval: 30 } });
      h.drop();
      expect(h.core.nextDeadline()).to.equal(h.now + 30_000);
      h.advance(29_999);
      expect(h.core.state).to.equal(SessionState.Offline);
      h.advance(1);
      expect(h.core.state).to.equal(SessionState.Ended);
    });

    it('Session Expiry Interval 0xFFFFFFFF never expires', () => {
      const h = new Harness();
      h.connect(5, { clean: false, properties: { sessionExpiryInterval: 0xffffffff } });
      h.drop();
      expect(h.core.nextDeadline()).to.equal(undefined);
    });

    it('DISCONNECT may change the Session Expiry Interval', () => {
      const h = new Harness();
      h.connect(5, { clean: false, properties: { sessionExpiryInterval: 30 } });
      h.send({ cmd: 'disconnect', reasonCode: 0, properties: { sessionExpiryInterval: 0 } });
      expect(h.core.state).to.equal(SessionState.Ended);
    });

    it('DISCONNECT setting a Session Expiry Interval after CONNECT had 0 is a protocol error (section 3.14.2.2.2)', () => {
      const h = new Harness();
      h.connect(5, { clean: false });
      const reply = h.send({ cmd: 'disconnect', reasonCode: 0, properties: { sessionExpiryInterval: 30 } });
      expect(only(reply, 'disconnect')[0]!.reasonCode).to.equal(0x82);
    });

    it('DISCONNECT with a Session Expiry Interval is checked against what CONNECT asked for, not the value the server capped it to (section 3.14.2.2.2)', () => {
      const h = new Harness({ config: { maxSessionExpiryInterval: 0 } });
      expect(h.connect(5, { clean: false, properties: { sessionExpiryInterval: 30 } })!.properties!.sessionExpiryInterval).to.equal(0);
      const reply = h.send({ cmd: 'disconnect', reasonCode: 0, properties: { sessionExpiryInterval: 30 } });
      expect(reply).to.deep.equal([]);
      expect(h.actionsOf('close').map((c) => [c.reason, c.peerFault])).to.deep.equal([['client DISCONNECT', undefined]]);
      // Still capped: the session ends with the connection.
      expect(h.core.state).to.equal(SessionState.Ended);
    });
  });

  it('MQTT 3.1.1: a persistent session lasts maxSessionExpiryInterval when that is set', () => {
    const h = new Harness({ config: { maxSessionExpiryInterval: 10 } });
    h.connect(4, { clean: false });
    h.drop();
    h.advance(10_000);
    expect(h.core.state).to.equal(SessionState.Ended);
  });

  it('the transition table lets nothing leave Ended', () => {
    expect(TRANSITIONS[SessionState.Ended]).to.deep.equal([]);
  });
});
