import { expect } from 'chai';
import type { IPublishPacket } from 'mqtt-packet';
import mqttPacket, { type IPublishPacket as Decoded } from 'mqtt-packet';
import { encodePacket } from '../../src/protocol/encoder.js';
import type { RoutedMessage } from '../../src/session/core/index.js';
import { Harness, only, publish } from './harness.js';

/** `packet` as a client decodes it from the bytes the encoder writes. */
function decoded(packet: IPublishPacket, version: 4 | 5): Decoded {
  const parser = mqttPacket.parser({ protocolVersion: version });
  const out: Decoded[] = [];
  parser.on('packet', (p) => out.push(p as Decoded));
  parser.parse(encodePacket(packet, version));
  expect(out).to.have.length(1);
  return out[0]!;
}

describe('session core: MQTT 5.0 features', () => {
  describe('topic aliases', () => {
    it('resolves an inbound alias set by an earlier PUBLISH [MQTT-3.3.2-12]', () => {
      const h = new Harness({ config: { topicAliasMaximum: 5 } });
      h.connect(5);
      h.send(publish('long/topic', 0, undefined, { properties: { topicAlias: 2 } }));
      h.send(publish('', 0, undefined, { properties: { topicAlias: 2 } }));
      expect(h.routed.map((m) => m.topic)).to.deep.equal(['long/topic', 'long/topic']);
    });

    it('closes with 0x94 on an alias of 0 or above Topic Alias Maximum', () => {
      for (const alias of [0, 6]) {
        const h = new Harness({ config: { topicAliasMaximum: 5 } });
        h.connect(5);
        expect(only(h.send(publish('t', 0, undefined, { properties: { topicAlias: alias } })), 'disconnect')[0]!.reasonCode).to.equal(0x94);
      }
    });

    it('closes with 0x82 on an empty topic with an unmapped alias', () => {
      const h = new Harness();
      h.connect(5);
      expect(only(h.send(publish('', 0, undefined, { properties: { topicAlias: 1 } })), 'disconnect')[0]!.reasonCode).to.equal(0x82);
    });

    it('inbound aliases do not survive a reconnect [MQTT-3.3.2-7]', () => {
      const h = new Harness();
      h.connect(5, { clean: false, properties: { sessionExpiryInterval: 60 } });
      h.send(publish('t', 0, undefined, { properties: { topicAlias: 1 } }));
      h.drop();
      h.connect(5, { clean: false });
      expect(only(h.send(publish('', 0, undefined, { properties: { topicAlias: 1 } })), 'disconnect')[0]!.reasonCode).to.equal(0x82);
    });

    it('uses server→client aliases within the client\'s Topic Alias Maximum [MQTT-3.3.2-9]', () => {
      const h = new Harness();
      h.connect(5, { properties: { topicAliasMaximum: 1 } });
      const [first] = h.deliver({ topic: 'a/b' }) as IPublishPacket[];
      const [second] = h.deliver({ topic: 'a/b' }) as IPublishPacket[];
      const [other] = h.deliver({ topic: 'c' }) as IPublishPacket[];
      expect([first!.topic, first!.properties!.topicAlias]).to.deep.equal(['a/b', 1]);
      expect([second!.topic, second!.properties!.topicAlias]).to.deep.equal(['', 1]);
      expect([other!.topic, other!.properties?.topicAlias]).to.deep.equal(['c', undefined]);
    });

    it('sends no alias when the client allows none or outboundTopicAliases is false', () => {
      const none = new Harness();
      none.connect(5);
      expect((none.deliver({ topic: 'a' })[0] as IPublishPacket).properties).to.equal(undefined);
      const off = new Harness({ config: { outboundTopicAliases: false } });
      off.connect(5, { properties: { topicAliasMaximum: 5 } });
      expect((off.deliver({ topic: 'a' })[0] as IPublishPacket).properties).to.equal(undefined);
    });
  });

  describe('message expiry', () => {
    it('sets expiresAt from the Message Expiry Interval of an inbound PUBLISH', () => {
      const h = new Harness();
      h.connect(5);
      h.send(publish('a', 0, undefined, { properties: { messageExpiryInterval: 10 } }));
      expect(h.routed[0]!.expiresAt).to.equal(h.now + 10_000);
    });

    it('forwards the remaining interval [MQTT-3.3.2-6]', () => {
      const h = new Harness();
      h.connect(5);
      const [p] = h.deliver({ topic: 'a', expiresAt: h.now + 4_500 }) as IPublishPacket[];
      expect(p!.properties!.messageExpiryInterval).to.equal(5);
    });

    it('never delivers an expired message, and drops one that expires in the queue [MQTT-3.3.2-5]', () => {
      const h = new Harness();
      h.connect(5, { clean: false, properties: { sessionExpiryInterval: 600 } });
      expect(h.deliver({ topic: 'old', qos: 1, expiresAt: h.now })).to.deep.equal([]);
      h.drop();
      h.deliver({ topic: 'soon', qos: 1, expiresAt: h.now + 2_000 });
      h.deliver({ topic: 'later', qos: 1, expiresAt: h.now + 60_000 });
      expect(h.core.nextDeadline()).to.equal(h.now + 2_000);
      h.advance(2_000);
      expect(h.core.stats().dropped.expired).to.equal(2);
      h.connect(5, { clean: false });
      expect(only(h.out, 'publish').map((p) => [p.topic, p.properties?.messageExpiryInterval])).to.deep.equal([['later', 58]]);
    });
  });

  describe('Message Expiry Interval 0: a lifetime of zero (MQTT 5.0 section 3.3.2.3.3)', () => {
    /** The message a v5 client's PUBLISH with Message Expiry Interval 0 becomes, routed at the publisher's `now`. */
    function zeroLifetime(qos: 0 | 1 | 2 = 1, extra: Partial<IPublishPacket> = {}): { publisher: Harness; message: RoutedMessage } {
      const publisher = new Harness();
      publisher.connect(5);
      publisher.send(publish('z/t', qos, qos > 0 ? 1 : undefined, { properties: { messageExpiryInterval: 0 }, ...extra }));
      return { publisher, message: publisher.routed[0]! };
    }

    it('is routed as a message of zero lifetime, not as one that expired in the millisecond it arrived', () => {
      const { message } = zeroLifetime();
      expect(message.zeroLifetime).to.equal(true);
      expect(message).to.not.have.property('expiresAt');
    });

    it('goes to a connected subscriber with room in its window whenever the delivery lands, with Message Expiry Interval 0 [MQTT-3.3.2-5,6]', () => {
      for (const later of [0, 1, 1_500, 60_000]) {
        const { publisher, message } = zeroLifetime();
        const sub = new Harness();
        sub.connect(5);
        sub.now = publisher.now + later;
        const sent = sub.deliver(message, { qos: 1 }) as IPublishPacket[];
        expect(sent.map((p) => [p.topic, p.qos, p.properties?.messageExpiryInterval]), `${later} ms later`).to.deep.equal([['z/t', 1, 0]]);
        expect(sub.core.stats().dropped.expired).to.equal(0);
      }
    });

    it('is not queued behind a full in-flight window: dropped as expired, never sent after the window opens [MQTT-3.3.2-5]', () => {
      const { message } = zeroLifetime();
      const sub = new Harness();
      sub.connect(5, { properties: { receiveMaximum: 1 } });
      const [first] = sub.deliver({ topic: 'z/first', qos: 1 }, { qos: 1 }) as IPublishPacket[];
      expect(sub.deliver(message, { qos: 1 })).to.deep.equal([]);
      expect(sub.core.stats().dropped.expired).to.equal(1);
      expect(sub.send({ cmd: 'puback', messageId: first!.messageId! })).to.deep.equal([]);
      // QoS 0 takes no place in the window: it goes at once.
      expect((sub.deliver(message, { qos: 0 }) as IPublishPacket[]).map((p) => p.properties?.messageExpiryInterval)).to.deep.equal([0]);
    });

    it('held back by the host while the socket was behind: dropped as expired when released, a message with time left still sent [MQTT-3.3.2-5]', () => {
      const { message } = zeroLifetime(0);
      const sub = new Harness();
      sub.connect(5);
      expect(sub.deliver(message, { qos: 0 }, true)).to.deep.equal([]);
      expect(sub.core.stats().dropped.expired).to.equal(1);
      const lasting = sub.deliver({ topic: 'z/lasting', qos: 0, expiresAt: sub.now + 1_000 }, { qos: 0 }, true) as IPublishPacket[];
      expect(lasting.map((p) => [p.topic, p.properties?.messageExpiryInterval])).to.deep.equal([['z/lasting', 1]]);
    });

    it('is not queued for an offline session, at any QoS: dropped as expired and not sent on resume [MQTT-3.3.2-5]', () => {
      const sub = new Harness({ config: { queueQoS0Offline: true } });
      sub.connect(5, { clean: false, properties: { sessionExpiryInterval: 600 } });
      sub.drop();
      for (const qos of [0, 1, 2] as const) sub.deliver(zeroLifetime(qos).message, { qos: 2 });
      expect(sub.core.stats().dropped.expired).to.equal(3);
      sub.connect(5, { clean: false });
      expect(only(sub.out, 'publish')).to.deep.equal([]);
    });

    it('once sent, is resent on resume like any message whose delivery started, still with Message Expiry Interval 0', () => {
      const { message } = zeroLifetime();
      const sub = new Harness();
      sub.connect(5, { clean: false, properties: { sessionExpiryInterval: 600 } });
      sub.deliver(message, { qos: 1 });
      sub.drop();
      sub.advance(5_000);
      sub.connect(5, { clean: false });
      expect(only(sub.out, 'publish').map((p) => [p.topic, p.dup, p.properties?.messageExpiryInterval])).to.deep.equal([['z/t', true, 0]]);
    });

    it('is not handed to another member of its shared subscription when the session ends unacknowledged (its lifetime is over)', () => {
      const sub = new Harness();
      sub.connect(5);
      sub.deliver(zeroLifetime().message, { qos: 1, shareGroup: 'g' });
      sub.deliver({ topic: 's/keeps', qos: 1 }, { qos: 1, shareGroup: 'g' });
      sub.drop();
      expect(sub.actionsOf('reshare').map((a) => a.message.topic)).to.deep.equal(['s/keeps']);
      expect(sub.core.stats().dropped['session-ended']).to.equal(1);
    });

    it('with RETAIN is routed but not stored, and deletes the retained message of its topic [MQTT-3.3.1-5, MQTT-3.3.2-5]', () => {
      const h = new Harness();
      h.connect(5);
      h.send(publish('z/r', 0, undefined, { retain: true, payload: Buffer.from('old') }));
      expect(String(h.retained.get('z/r')!.payload)).to.equal('old');
      h.send(publish('z/r', 1, 1, { retain: true, payload: Buffer.from('new'), properties: { messageExpiryInterval: 0 } }));
      expect(h.actionsOf('retain')[1]).to.deep.equal({ kind: 'retain', topic: 'z/r' });
      expect(h.retained.has('z/r')).to.equal(false);
      expect(h.routed.map((m) => [String(m.payload), m.retain, m.zeroLifetime])).to.deep.equal([
        ['old', true, undefined],
        ['new', true, true],
      ]);
    });

    it('a will with Message Expiry Interval 0 is routed with a zero lifetime and, retained, deletes the retained message [MQTT-3.3.2-5]', () => {
      const h = new Harness();
      const will = { topic: 'z/will', payload: Buffer.from('gone'), qos: 1 as const, retain: true, properties: { messageExpiryInterval: 0, willDelayInterval: 10 } };
      h.connect(5, { will, properties: { sessionExpiryInterval: 100 } });
      h.retained.set('z/will', { topic: 'z/will', payload: Buffer.from('old'), qos: 1, retain: true });
      h.drop();
      h.advance(10_000);
      expect(h.routed.map((m) => [m.topic, m.zeroLifetime, m.expiresAt])).to.deep.equal([['z/will', true, undefined]]);
      expect(h.actionsOf('retain')).to.deep.equal([{ kind: 'retain', topic: 'z/will' }]);
      expect(h.retained.has('z/will')).to.equal(false);
    });

    it('a positive interval is forwarded as what is left rounded up, and as 0 (not 1) when a started delivery is resent after it ran out [MQTT-3.3.2-6]', () => {
      const h = new Harness();
      h.connect(5, { clean: false, properties: { sessionExpiryInterval: 600 } });
      const [sent] = h.deliver({ topic: 'p/t', qos: 1, expiresAt: h.now + 1 }) as IPublishPacket[];
      expect(sent!.properties!.messageExpiryInterval).to.equal(1);
      h.drop();
      h.advance(2_000);
      h.connect(5, { clean: false });
      expect(only(h.out, 'publish').map((p) => [p.dup, p.properties?.messageExpiryInterval])).to.deep.equal([[true, 0]]);
    });
  });

  describe('maximum packet size', () => {
    it("does not send a PUBLISH larger than the client's Maximum Packet Size and counts it [MQTT-3.1.2-25]", () => {
      const h = new Harness();
      h.connect(5, { properties: { maximumPacketSize: 64 } });
      expect(h.deliver({ topic: 'a', qos: 1, payload: Buffer.alloc(100) })).to.deep.equal([]);
      expect(h.core.stats()).to.deep.include({ inflight: 0 });
      expect(h.core.stats().dropped['too-large']).to.equal(1);
      expect(h.deliver({ topic: 'a', qos: 1, payload: Buffer.alloc(10) })).to.have.length(1);
    });

    it('advertises maxPacketSize and closes with 0x95 when the decoder reports a packet too large', () => {
      const h = new Harness({ config: { maxPacketSize: 2048 } });
      expect(h.connect(5)!.properties!.maximumPacketSize).to.equal(2048);
      h.apply(h.core.receiveError('too-large', 'packet of 4000 bytes', h.now));
      expect(only(h.out, 'disconnect')[0]!.reasonCode).to.equal(0x95);
      expect(h.closed).to.equal(true);
    });

    it('MQTT 3.1.1: a decoder fault just closes', () => {
      const h = new Harness();
      h.connect(4);
      h.apply(h.core.receiveError('malformed', 'bad', h.now));
      expect(h.out.map((p) => p.cmd)).to.deep.equal(['connack']);
      expect(h.closed).to.equal(true);
    });
  });

  describe('shared subscriptions', () => {
    it("hands a departing member's unacknowledged shared messages back with reshare actions after endSession (5.0 4.8.2)", () => {
      const h = new Harness();
      h.connect(5, { properties: { receiveMaximum: 1 } });
      h.deliver({ topic: 's/1', qos: 1 }, { qos: 1, shareGroup: 'g' }); // in flight, never acknowledged
      h.deliver({ topic: 's/2', qos: 1 }, { qos: 1, shareGroup: 'g' }); // queued behind it
      h.deliver({ topic: 'p/3', qos: 1 }, { qos: 1 }); // not shared: dropped with the session
      h.drop();
      const kinds = h.actions.map((a) => a.kind);
      const reshared = h.actions.filter((a) => a.kind === 'reshare');
      expect(reshared.map((a) => [a.message.topic, a.shareGroup])).to.deep.equal([['s/1', 'g'], ['s/2', 'g']]);
      expect(kinds.indexOf('endSession')).to.be.lessThan(kinds.indexOf('reshare'));
      expect(h.core.stats().dropped['session-ended']).to.equal(1);
    });

    it('keeps a shared QoS 2 message past PUBREC: the client has it', () => {
      const h = new Harness();
      h.connect(5);
      const [sent] = h.deliver({ topic: 's/q2', qos: 2 }, { qos: 2, shareGroup: 'g' }) as IPublishPacket[];
      h.send({ cmd: 'pubrec', messageId: sent!.messageId! });
      h.drop();
      expect(h.actions.filter((a) => a.kind === 'reshare')).to.deep.equal([]);
    });
  });

  describe('subscription identifiers', () => {
    it('puts every matching subscription identifier on the PUBLISH [MQTT-3.3.4-3]', () => {
      const h = new Harness();
      h.connect(5);
      expect((h.deliver({ topic: 'a' }, { subscriptionIds: [4] })[0] as IPublishPacket).properties!.subscriptionIdentifier).to.equal(4);
      expect((h.deliver({ topic: 'a' }, { subscriptionIds: [1, 9] })[0] as IPublishPacket).properties!.subscriptionIdentifier).to.deep.equal([1, 9]);
    });

    it('carries an identifier as often as the register matched it: one per matching subscription [MQTT-3.3.4-4]', () => {
      const h = new Harness();
      h.connect(5);
      const [sent] = h.deliver({ topic: 'a/b' }, { subscriptionIds: [5, 5] }) as IPublishPacket[];
      expect(sent!.properties!.subscriptionIdentifier).to.deep.equal([5, 5]);
      // On the wire: two Subscription Identifier properties, as a client decodes them.
      expect(decoded(sent!, 5).properties?.subscriptionIdentifier).to.deep.equal([5, 5]);
    });

    it('sends no Subscription Identifier for a delivery whose matching subscriptions have none (5.0 section 3.3.4)', () => {
      // "It is a Protocol Error for a PUBLISH packet to contain any Subscription Identifier other
      // than those received in SUBSCRIBE packet which caused it to flow" (non-normative, 3.3.4).
      const h = new Harness();
      h.connect(5);
      const [sent] = h.deliver({ topic: 'a', qos: 1 }, { qos: 1 }) as IPublishPacket[];
      expect(sent!.properties?.subscriptionIdentifier).to.equal(undefined);
      expect(decoded(sent!, 5).properties?.subscriptionIdentifier).to.equal(undefined);
    });

    it('a 3.1.1 connection never carries Subscription Identifiers, even on a session subscribed under 5.0', () => {
      const h = new Harness();
      h.connect(5, { clean: false, properties: { sessionExpiryInterval: 60 } });
      h.drop();
      // Queued while offline with the ids the register gave, then sent on a 3.1.1 connection.
      h.deliver({ topic: 'a/b', qos: 1 }, { qos: 1, subscriptionIds: [5, 5] });
      h.connect(4, { clean: false });
      h.deliver({ topic: 'a/c', qos: 1 }, { qos: 1, subscriptionIds: [7] });
      const sent = h.out.filter((p): p is IPublishPacket => p.cmd === 'publish');
      expect(sent.map((p) => p.topic)).to.deep.equal(['a/b', 'a/c']);
      for (const p of sent) expect(p.properties).to.equal(undefined);
    });

    it('a 3.1.1 SUBSCRIBE gives the register no Subscription Identifier, whatever its packet object holds', () => {
      const h = new Harness();
      h.connect(4);
      h.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a/+', qos: 1 }], properties: { subscriptionIdentifier: 5 } });
      expect(h.actionsOf('subscribe')[0]!.entries.map((e) => e.options)).to.deep.equal([{ qos: 1 }]);
    });

    it('a client PUBLISH carrying a subscription identifier is a protocol error', () => {
      const h = new Harness();
      h.connect(5);
      expect(only(h.send(publish('a', 0, undefined, { properties: { subscriptionIdentifier: 3 } })), 'disconnect')[0]!.reasonCode).to.equal(0x82);
    });
  });

  describe('request problem information', () => {
    it('puts a reason string on DISCONNECT only when not refused by the client [MQTT-3.1.2-29]', () => {
      const asked = new Harness();
      asked.connect(5);
      expect(only(asked.send(publish('a/#', 0)), 'disconnect')[0]!.properties!.reasonString).to.be.a('string');
      const refused = new Harness();
      refused.connect(5, { properties: { requestProblemInformation: false } });
      expect(only(refused.send(publish('a/#', 0)), 'disconnect')[0]).to.deep.equal({ cmd: 'disconnect', reasonCode: 0x90 });
    });

    it("drops the Reason String from a DISCONNECT it would take beyond the client's Maximum Packet Size [MQTT-3.14.2-3]", () => {
      const small = new Harness();
      small.connect(5, { properties: { maximumPacketSize: 16 } });
      const [disconnect] = only(small.send(publish('a/#', 0)), 'disconnect');
      expect(disconnect).to.deep.equal({ cmd: 'disconnect', reasonCode: 0x90 });
      expect(encodePacket(disconnect!, 5).length).to.be.at.most(16);
      const roomy = new Harness();
      roomy.connect(5, { properties: { maximumPacketSize: 1024 } });
      expect(only(roomy.send(publish('a/#', 0)), 'disconnect')[0]!.properties!.reasonString).to.be.a('string');
    });

    it("drops the Reason String from a refusing CONNACK it would take beyond the client's Maximum Packet Size [MQTT-3.2.2-19]", () => {
      const small = new Harness({ config: { maxClientIdLength: 4 } });
      const connack = small.connect(5, { clientId: 'too-long', properties: { maximumPacketSize: 10 } })!;
      expect(connack).to.deep.equal({ cmd: 'connack', sessionPresent: false, reasonCode: 0x85 });
      expect(encodePacket(connack, 5).length).to.be.at.most(10);
      const roomy = new Harness({ config: { maxClientIdLength: 4 } });
      expect(roomy.connect(5, { clientId: 'too-long', properties: { maximumPacketSize: 1024 } })!.properties!.reasonString).to.be.a('string');
    });
  });
});
