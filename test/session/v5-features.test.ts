import { expect } from 'chai';
import type { IPublishPacket } from 'mqtt-packet';
import { encodePacket } from '../../src/protocol/encoder.js';
import { Harness, only, publish } from './harness.js';

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

  describe('properties included more than once', () => {
    // mqtt-packet decodes a repeated property into an array of its values.
    const twice = (value: number | string | boolean | Buffer): never => [value, value] as never;

    for (const [name, value] of [
      ['messageExpiryInterval', 10],
      ['topicAlias', 1],
      ['payloadFormatIndicator', true],
      ['contentType', 'text/plain'],
      ['responseTopic', 'reply/here'],
      ['correlationData', Buffer.from('c')],
    ] as const) {
      it(`a PUBLISH with ${name} twice is a protocol error: DISCONNECT 0x82, nothing routed (5.0 section 3.3.2.3)`, () => {
        const h = new Harness();
        h.connect(5);
        const reply = h.send(publish('a', 1, 1, { properties: { [name]: twice(value) } }));
        expect(only(reply, 'disconnect').map((p) => p.reasonCode)).to.deep.equal([0x82]);
        expect(only(reply, 'puback')).to.deep.equal([]);
        expect(h.routed).to.deep.equal([]);
        expect(h.closed).to.equal(true);
      });
    }

    it('a Message Expiry Interval sent twice is never forwarded as 0 [MQTT-3.3.2-6]', () => {
      const h = new Harness();
      h.connect(5);
      h.send(publish('a', 0, undefined, { properties: { messageExpiryInterval: twice(10) } }));
      expect(h.routed.map((m) => m.expiresAt)).to.deep.equal([]);
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
