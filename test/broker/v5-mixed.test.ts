/**
 * MQTT 3.1.1 and MQTT 5 clients talking through the broker, end to end with MQTT.js, for both
 * placements: a message crosses protocol levels with what the receiver's level can carry.
 */
import { expect } from 'chai';
import type { IDisconnectPacket, IPublishPacket } from 'mqtt-packet';
import { client, forceClose, nextMessages, PLACEMENTS, RawClient, until } from './helpers.js';
import { brokerPerTest, closed, expectNext, publishes, serverDisconnect, v5 } from './v5-helpers.js';

for (const placement of PLACEMENTS) {
  describe(`v3.1.1 and v5 together: ${placement.name}`, function () {
    this.timeout(10000);
    const { broker } = brokerPerTest(placement.options);

    it('a v3.1.1 publisher reaches a v5 subscriber, with the v5 subscription identifier added', async () => {
      const sub = await v5(broker(), { clientId: 'mx-v5-sub' });
      const pub = await client(broker(), { clientId: 'mx-v4-pub', protocolVersion: 4 });
      try {
        await sub.c.subscribeAsync('mx/a', { qos: 2, properties: { subscriptionIdentifier: 9 } });
        const got = publishes(sub.c, 3);
        for (const qos of [0, 1, 2] as const) await pub.publishAsync('mx/a', `q${qos}`, { qos });
        const packets = await got;
        expect(packets.map((p) => [String(p.payload), p.qos])).to.deep.equal([['q0', 0], ['q1', 1], ['q2', 2]]);
        expect(packets.map((p) => [p.properties?.subscriptionIdentifier].flat()[0])).to.deep.equal([9, 9, 9]);
        // A 3.1.1 message has no v5 message properties to forward.
        expect(packets.every((p) => p.properties?.userProperties === undefined && p.properties?.contentType === undefined)).to.equal(true);
      } finally {
        await forceClose(sub.c, pub);
      }
    });

    it('a v5 publisher with properties and a topic alias reaches a v3.1.1 subscriber as a plain message on the real topic', async () => {
      const raw = await RawClient.open(broker(), 4);
      const pub = await v5(broker(), { clientId: 'mx-v5-pub', autoAssignTopicAlias: true });
      try {
        await raw.connect('mx-v4-raw');
        raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'mx/b', qos: 1 }] });
        await expectNext(raw, 'suback');
        const properties = { contentType: 'text/plain', userProperties: { k: 'v' }, messageExpiryInterval: 60, responseTopic: 'mx/reply', correlationData: Buffer.from('id') };
        await pub.c.publishAsync('mx/b', 'first', { qos: 1, properties });
        await pub.c.publishAsync('mx/b', 'aliased', { qos: 1, properties }); // sent as alias only
        const [a, b] = [await expectNext<IPublishPacket>(raw, 'publish'), await expectNext<IPublishPacket>(raw, 'publish')];
        expect([a, b].map((p) => [p.topic, String(p.payload), p.qos])).to.deep.equal([
          ['mx/b', 'first', 1],
          ['mx/b', 'aliased', 1],
        ]);
        // Decoded as 3.1.1: the bytes held no properties at all.
        expect(a.properties).to.equal(undefined);
      } finally {
        raw.destroy();
        await forceClose(pub.c);
      }
    });

    it('v3.1.1 and v5 members share one shared subscription group', async () => {
      const m4 = await client(broker(), { clientId: 'mx-sh-v4', protocolVersion: 4 });
      const m5 = await v5(broker(), { clientId: 'mx-sh-v5' });
      const pub = await v5(broker(), { clientId: 'mx-sh-pub' });
      try {
        await m4.subscribeAsync('$share/mixed/mx/s', { qos: 1 });
        await m5.c.subscribeAsync('$share/mixed/mx/s', { qos: 1 });
        const got4: string[] = [];
        const got5: string[] = [];
        m4.on('message', (_t, p) => got4.push(String(p)));
        m5.c.on('message', (_t, p) => got5.push(String(p)));
        for (let n = 0; n < 6; n++) await pub.c.publishAsync('mx/s', `m${n}`, { qos: 1 });
        await until(() => got4.length + got5.length === 6, () => `six deliveries, got ${got4.length}+${got5.length}`);
        expect([...got4, ...got5].sort()).to.deep.equal(['m0', 'm1', 'm2', 'm3', 'm4', 'm5']);
        expect(got4.length).to.be.greaterThan(0);
        expect(got5.length).to.be.greaterThan(0);
      } finally {
        await forceClose(m4, m5.c, pub.c);
      }
    });

    it('a retained message from v5 (with expiry) is sent to a v3.1.1 subscriber; a v3.1.1 will reaches a v5 watcher', async () => {
      const pub = await v5(broker(), { clientId: 'mx-ret-pub' });
      const watcher = await v5(broker(), { clientId: 'mx-watch' });
      const dying = await client(broker(), { clientId: 'mx-dying', protocolVersion: 4, will: { topic: 'mx/will', payload: Buffer.from('v4 gone'), qos: 1, retain: false } });
      try {
        const retainedBefore = broker().stats().retainedMessages;
        await pub.c.publishAsync('mx/r', 'kept', { qos: 1, retain: true, properties: { messageExpiryInterval: 60 } });
        await until(() => broker().stats().retainedMessages === retainedBefore + 1, 'the retained message');
        const v4 = await client(broker(), { clientId: 'mx-ret-v4', protocolVersion: 4 });
        const got = nextMessages(v4, 1);
        await v4.subscribeAsync('mx/r', { qos: 1 });
        expect(await got).to.deep.equal([{ topic: 'mx/r', payload: 'kept', retain: true, qos: 1 }]);
        await forceClose(v4);
        await watcher.c.subscribeAsync('mx/will', { qos: 1 });
        const will = publishes(watcher.c, 1);
        dying.stream.destroy();
        expect((await will).map((p) => String(p.payload))).to.deep.equal(['v4 gone']);
      } finally {
        await forceClose(pub.c, watcher.c, dying);
      }
    });

    it('a message too large for a v5 subscriber still reaches a v3.1.1 subscriber [MQTT-3.1.2-25]', async () => {
      const small = await v5(broker(), { clientId: 'mx-small', properties: { maximumPacketSize: 64 } });
      const v4 = await client(broker(), { clientId: 'mx-big-v4', protocolVersion: 4 });
      const pub = await client(broker(), { clientId: 'mx-big-pub', protocolVersion: 4 });
      try {
        await small.c.subscribeAsync('mx/big', { qos: 1 });
        await v4.subscribeAsync('mx/big', { qos: 1 });
        const got5 = publishes(small.c, 1);
        const got4 = nextMessages(v4, 2);
        await pub.publishAsync('mx/big', 'x'.repeat(200), { qos: 1 });
        await pub.publishAsync('mx/big', 'fits', { qos: 1 });
        expect((await got4).map((m) => m.payload.length)).to.deep.equal([200, 4]);
        expect((await got5).map((p) => String(p.payload))).to.deep.equal(['fits']);
      } finally {
        await forceClose(small.c, v4, pub);
      }
    });

    it('a v3.1.1 connection taking over a v5 one: the v5 connection gets DISCONNECT 0x8E; the reverse just closes [MQTT-3.1.4-3]', async () => {
      const old5 = await v5(broker(), { clientId: 'mx-twin' });
      const kicked = serverDisconnect(old5.c);
      const new4 = await client(broker(), { clientId: 'mx-twin', protocolVersion: 4 });
      try {
        expect(((await kicked) as IDisconnectPacket).reasonCode).to.equal(0x8e);
        // Now a v5 connection takes over from the 3.1.1 one: 3.1.1 has no DISCONNECT from a server.
        const v4Closed = closed(new4);
        let v4SawDisconnect = false;
        new4.on('disconnect', () => (v4SawDisconnect = true));
        const new5 = await v5(broker(), { clientId: 'mx-twin' });
        await v4Closed;
        expect(v4SawDisconnect).to.equal(false);
        expect(new5.c.connected).to.equal(true);
        await forceClose(new5.c);
      } finally {
        await forceClose(old5.c, new4);
      }
    });
  });
}
