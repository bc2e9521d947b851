/**
 * MQTT 5 SUBSCRIBE end to end: subscription options (No Local, Retain As Published, Retain
 * Handling), shared subscriptions and SUBACK/UNSUBACK reason codes, for both placements.
 */
import { expect } from 'chai';
import type { IDisconnectPacket, IPublishPacket, IUnsubackPacket, Packet } from 'mqtt-packet';
import type { MqttClient } from 'mqtt';
import { forceClose, PLACEMENTS, until } from './helpers.js';
import { brokerPerTest, expectNext, packetsUntilClosed, publishes, rawSubscribe, rawV5, v5 } from './v5-helpers.js';

/** Every PUBLISH a client receives from now on, in order. */
function collect(c: MqttClient): IPublishPacket[] {
  const got: IPublishPacket[] = [];
  c.on('message', (_t: string, _p: Buffer, packet: IPublishPacket) => got.push(packet));
  return got;
}

for (const placement of PLACEMENTS) {
  describe(`v5 subscribe: ${placement.name}`, function () {
    this.timeout(10000);
    const { broker, restart } = brokerPerTest(placement.options);

    /**
     * Retained messages for a SUBSCRIBE come back from the retained store in the order the
     * SUBSCRIBEs were made; so a later SUBSCRIBE to a topic with a retained sentinel proves
     * that an earlier one was sent no retained message (no sleep needed).
     */
    async function retainedSentinel(c: MqttClient): Promise<void> {
      await c.subscribeAsync('sentinel/t', { qos: 1, rh: 0 });
    }

    beforeEach(async () => {
      const setter = await v5(broker(), { clientId: 'retainer' });
      await setter.c.publishAsync('sentinel/t', 'sentinel', { qos: 1, retain: true });
      await setter.c.publishAsync('keep/t', 'kept', { qos: 1, retain: true });
      await setter.c.endAsync();
      await until(() => broker().stats().retainedMessages >= 2, 'two retained messages');
    });

    it('No Local: a client is not sent its own PUBLISH on that subscription [MQTT-3.8.3-3]', async () => {
      const self = await v5(broker(), { clientId: 'nl-self' });
      const other = await v5(broker(), { clientId: 'nl-other' });
      try {
        await self.c.subscribeAsync('nl/t', { qos: 1, nl: true });
        await other.c.subscribeAsync('nl/t', { qos: 1 });
        const selfGot = publishes(self.c, 1);
        const otherGot = publishes(other.c, 2);
        await self.c.publishAsync('nl/t', 'own', { qos: 1 });
        await other.c.publishAsync('nl/t', 'theirs', { qos: 1 });
        // Had No Local failed, 'own' would reach self first: it is routed (on self's own thread)
        // before self's PUBACK, and 'theirs' is published only after that PUBACK.
        expect((await selfGot).map((p) => String(p.payload))).to.deep.equal(['theirs']);
        // Without No Local a client is sent its own message (order across publishers is not kept).
        expect((await otherGot).map((p) => String(p.payload)).sort()).to.deep.equal(['own', 'theirs']);
      } finally {
        await forceClose(self.c, other.c);
      }
    });

    it('a SUBSCRIBE to a filter the session holds replaces that subscription, options and Subscription Identifier included [MQTT-3.8.4-3]', async () => {
      const self = await v5(broker(), { clientId: 'resub-self' });
      try {
        await self.c.subscribeAsync('resub/t', { qos: 1, nl: true, properties: { subscriptionIdentifier: 9 } });
        // Replaced: QoS 0, no No Local, no identifier (its absence is stored too, 5.0 3.8.2.1.2).
        await self.c.subscribeAsync('resub/t', { qos: 0 });
        const got = publishes(self.c, 1);
        await self.c.publishAsync('resub/t', 'own', { qos: 1 });
        const [p] = await got;
        expect([String(p!.payload), p!.qos, p!.properties?.subscriptionIdentifier]).to.deep.equal(['own', 0, undefined]);
      } finally {
        await forceClose(self.c);
      }
    });

    it('Retain As Published keeps RETAIN on forwarding; without it RETAIN is cleared [MQTT-3.3.1-12,13]', async () => {
      const keep = await v5(broker(), { clientId: 'rap-1' });
      const clear = await v5(broker(), { clientId: 'rap-0' });
      const pub = await v5(broker(), { clientId: 'rap-pub' });
      try {
        await keep.c.subscribeAsync('rap/t', { qos: 1, rap: true });
        await clear.c.subscribeAsync('rap/t', { qos: 1, rap: false });
        const kept = publishes(keep.c, 1);
        const cleared = publishes(clear.c, 1);
        await pub.c.publishAsync('rap/t', 'r', { qos: 1, retain: true });
        expect([(await kept)[0]!.retain, (await cleared)[0]!.retain]).to.deep.equal([true, false]);
      } finally {
        await forceClose(keep.c, clear.c, pub.c);
      }
    });

    it('Retain Handling 0 sends retained messages on every SUBSCRIBE, 1 only for a new subscription, 2 never [MQTT-3.3.1-9,10,11]', async () => {
      const { c } = await v5(broker(), { clientId: 'rh' });
      const got = collect(c);
      try {
        await c.subscribeAsync('keep/t', { qos: 1, rh: 0 });
        await c.subscribeAsync('keep/t', { qos: 1, rh: 0 }); // replaced: sent again
        await c.subscribeAsync('keep/t', { qos: 1, rh: 1 }); // exists: not sent
        await c.subscribeAsync('keep/+', { qos: 1, rh: 1 }); // new: sent
        await c.subscribeAsync('+/t', { qos: 1, rh: 2 }); // never
        await retainedSentinel(c);
        await until(() => got.length >= 4, () => `four messages, got ${got.map((p) => p.topic).join()}`);
        expect(got.map((p) => [p.topic, p.retain])).to.deep.equal([
          ['keep/t', true],
          ['keep/t', true],
          ['keep/t', true],
          ['sentinel/t', true],
        ]);
      } finally {
        await forceClose(c);
      }
    });

    it('shared subscriptions: one delivery per group per message, spread over the members [MQTT-4.8.2-*]', async () => {
      const a1 = await v5(broker(), { clientId: 'g-a1' });
      const a2 = await v5(broker(), { clientId: 'g-a2' });
      const b1 = await v5(broker(), { clientId: 'g-b1' });
      const plain = await v5(broker(), { clientId: 'g-plain' });
      const pub = await v5(broker(), { clientId: 'g-pub' });
      try {
        await a1.c.subscribeAsync('$share/a/sh/#', { qos: 1 });
        await a2.c.subscribeAsync('$share/a/sh/#', { qos: 1 });
        await b1.c.subscribeAsync('$share/b/sh/+', { qos: 1 });
        await plain.c.subscribeAsync('sh/#', { qos: 1 });
        const [ga1, ga2, gb1] = [collect(a1.c), collect(a2.c), collect(b1.c)];
        const plainGot = publishes(plain.c, 10);
        for (let n = 0; n < 10; n++) await pub.c.publishAsync('sh/t', `m${n}`, { qos: 1 });
        await plainGot;
        await until(() => ga1.length + ga2.length === 10 && gb1.length === 10, () => `10 per group, got a=${ga1.length}+${ga2.length} b=${gb1.length}`);
        const groupA = [...ga1, ...ga2].map((p) => String(p.payload)).sort();
        expect(groupA).to.deep.equal([...Array(10).keys()].map((n) => `m${n}`).sort());
        expect(ga1.length).to.be.greaterThan(0);
        expect(ga2.length).to.be.greaterThan(0);
      } finally {
        await forceClose(a1.c, a2.c, b1.c, plain.c, pub.c);
      }
    });

    it('shared subscriptions: no retained messages on a shared SUBSCRIBE (5.0 4.8.2)', async () => {
      const { c } = await v5(broker(), { clientId: 'sh-ret' });
      const got = collect(c);
      try {
        await c.subscribeAsync('$share/g/keep/t', { qos: 1 });
        await retainedSentinel(c);
        await until(() => got.length >= 1, 'the sentinel');
        expect(got.map((p) => p.topic)).to.deep.equal(['sentinel/t']);
      } finally {
        await forceClose(c);
      }
    });

    it("shared subscriptions: a departing member's unacknowledged messages go to another member (5.0 4.8.2)", async () => {
      const { raw } = await rawV5(broker(), 'sh-leaver', { properties: { receiveMaximum: 1 } });
      const stayer = await v5(broker(), { clientId: 'sh-stayer' });
      const pub = await v5(broker(), { clientId: 'sh-pub' });
      try {
        expect(await rawSubscribe(raw, 1, [{ topic: '$share/w/work/t', qos: 1 }])).to.deep.equal([1]);
        await stayer.c.subscribeAsync('$share/w/work/t', { qos: 1 });
        const stayerGot = collect(stayer.c);
        for (let n = 0; n < 6; n++) await pub.c.publishAsync('work/t', `job${n}`, { qos: 1 });
        // The leaver holds one job in flight (never acknowledged), and more behind it.
        const held = await expectNext<IPublishPacket>(raw, 'publish');
        raw.destroy(); // Session Expiry 0: its session ends with the connection
        await until(() => stayerGot.length === 6, () => `all six jobs at the stayer, got ${stayerGot.map((p) => String(p.payload)).join()}`);
        // Each job exactly once at the stayer, the one the leaver held in flight included.
        expect(stayerGot.map((p) => String(p.payload)).sort()).to.deep.equal(['job0', 'job1', 'job2', 'job3', 'job4', 'job5']);
        expect(String(held.payload)).to.match(/^job[0-5]$/);
      } finally {
        raw.destroy();
        await forceClose(stayer.c, pub.c);
      }
    });

    it('No Local on a shared subscription is a protocol error: DISCONNECT 0x82 [MQTT-3.8.3-4]', async () => {
      const { raw } = await rawV5(broker(), 'sh-nl');
      try {
        raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '$share/g/x', qos: 1, nl: true }] } as Packet);
        const seen = await packetsUntilClosed(raw);
        expect(seen.map((p) => [p.cmd, (p as IDisconnectPacket).reasonCode])).to.deep.equal([['disconnect', 0x82]]);
      } finally {
        raw.destroy();
      }
    });

    it('SUBACK reason codes: granted QoS, 0x8F topic filter invalid, 0x97 quota exceeded (5.0 3.9.3)', async () => {
      await restart({ maxSubscriptions: 2 });
      const { raw } = await rawV5(broker(), 'suback-codes');
      try {
        const granted = await rawSubscribe(raw, 1, [
          { topic: 'ok/one', qos: 2 },
          { topic: 'bad/#/x', qos: 1 },
          { topic: '$share/g/bad#', qos: 1 },
          { topic: 'ok/two', qos: 0 },
          { topic: 'ok/three', qos: 1 },
        ]);
        expect(granted).to.deep.equal([2, 0x8f, 0x8f, 0, 0x97]);
      } finally {
        raw.destroy();
      }
    });

    it('SUBACK reason code 0x8F for a filter deeper than the register holds (32 levels), the others granted', async () => {
      const { raw } = await rawV5(broker(), 'suback-deep');
      try {
        const deep = Array.from({ length: 33 }, () => 'd').join('/');
        const granted = await rawSubscribe(raw, 1, [
          { topic: 'deep/ok', qos: 1 },
          { topic: deep, qos: 1 },
          { topic: Array.from({ length: 32 }, () => 'd').join('/'), qos: 0 },
        ]);
        expect(granted).to.deep.equal([1, 0x8f, 0]);
      } finally {
        raw.destroy();
      }
    });

    it('without shared or wildcard subscriptions: DISCONNECT 0x9E / 0xA2 for a SUBSCRIBE with one (5.0 sections 3.2.2.3.11, 3.2.2.3.13); QoS capped at maximumQoS', async () => {
      await restart({ sharedSubscriptionAvailable: false, wildcardSubscriptionAvailable: false, maximumQoS: 1 });
      const shared = await rawV5(broker(), 'unsupported-shared');
      const wildcard = await rawV5(broker(), 'unsupported-wildcard');
      const plain = await rawV5(broker(), 'unsupported-plain');
      try {
        // CONNACK told the client, so a SUBSCRIBE with one is a Protocol Error, not a SUBACK failure.
        expect([shared.connack.properties?.sharedSubscriptionAvailable, wildcard.connack.properties?.wildcardSubscriptionAvailable]).to.deep.equal([false, false]);
        shared.raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'plain', qos: 1 }, { topic: '$share/g/plain', qos: 1 }] } as Packet);
        wildcard.raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'plain', qos: 1 }, { topic: 'w/+', qos: 1 }] } as Packet);
        const seen = [await packetsUntilClosed(shared.raw), await packetsUntilClosed(wildcard.raw)];
        expect(seen.map((packets) => packets.map((p) => [p.cmd, (p as IDisconnectPacket).reasonCode]))).to.deep.equal([[['disconnect', 0x9e]], [['disconnect', 0xa2]]]);
        expect(await rawSubscribe(plain.raw, 1, [{ topic: 'plain', qos: 2 }])).to.deep.equal([1]);
      } finally {
        shared.raw.destroy();
        wildcard.raw.destroy();
        plain.raw.destroy();
      }
    });

    it('a Subscription Identifier without subscriptionIdentifiersAvailable: DISCONNECT 0xA1 (5.0 3.8.2.1.2)', async () => {
      await restart({ subscriptionIdentifiersAvailable: false });
      const { raw } = await rawV5(broker(), 'sid-unsupported');
      try {
        raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'x', qos: 1 }], properties: { subscriptionIdentifier: 4 } } as Packet);
        const seen = await packetsUntilClosed(raw);
        expect(seen.map((p) => [p.cmd, (p as IDisconnectPacket).reasonCode])).to.deep.equal([['disconnect', 0xa1]]);
      } finally {
        raw.destroy();
      }
    });

    it('UNSUBACK reason codes: 0x00 for a subscription that existed, 0x11 for none, 0x8F for an invalid filter (5.0 3.11.3)', async () => {
      const { raw } = await rawV5(broker(), 'unsuback-codes');
      try {
        await rawSubscribe(raw, 1, [{ topic: 'u/t', qos: 1 }]);
        raw.send({ cmd: 'unsubscribe', messageId: 2, unsubscriptions: ['u/t', 'u/never', 'u/#/bad'] } as Packet);
        const unsuback = await expectNext<IUnsubackPacket>(raw, 'unsuback');
        expect(unsuback.granted).to.deep.equal([0x00, 0x11, 0x8f]);
      } finally {
        raw.destroy();
      }
    });
  });
}
